//! Fused coupling kernel for a thin layer above a wide one (e.g. the 10 output units above
//! the 500 hidden units of the MNIST MLP).
//!
//! For a coupling `W` (`nb × na`, row-major, `nb ≤ MAX_THIN`) between a wide layer `a` and a
//! thin layer `b` above it, one pass over `W` per sample computes both halves of the
//! coupling force of [`super::Hopfield`]'s energy:
//! `out_a = a + drive_a − Wᵀ b` (written) and `out_b −= W a` (accumulated).
//! Two faer products of this shape (k = 10 for `Wᵀ b`, n = 10 for `W a`) run far below the
//! GEMM peak — the first streams its whole output for ten multiply-adds per element — while
//! here each loaded block of `W` feeds both products, and the state's own term and the cached
//! drive are added in the same pass.
//!
//! `W` is read from a packed copy ([`pack`]): column blocks of [`BLOCK`], each holding its
//! `nb` row pieces one after another, so a block's loads sit at fixed offsets from one
//! pointer. On x86-64 machines with AVX-512 the kernel runs 16 lanes wide (checked at run
//! time), elsewhere 8 (one AVX2 vector of f32). Both widths sum each lane's products in
//! column order and reduce the lanes in a fixed tree, so results depend on the machine's
//! vector width but never on threads or batching.

use crate::real::Real;

/// Largest thin layer the fused kernel handles (its partial sums stay in registers).
pub const MAX_THIN: usize = 16;

/// Columns per packed block.
pub const BLOCK: usize = 16;

/// Writes into `p` (reusing its allocation) the packed copy of `W` (`nb × na`, row-major):
/// for each full block of [`BLOCK`] columns, the `nb` rows' pieces in turn. The `na % BLOCK`
/// trailing columns are read from `W` itself.
pub fn pack<T: Real>(w: &[T], nb: usize, na: usize, p: &mut Vec<T>) {
    let nblk = na / BLOCK;
    p.clear();
    for blk in 0..nblk {
        for k in 0..nb {
            p.extend_from_slice(&w[k * na + blk * BLOCK..k * na + (blk + 1) * BLOCK]);
        }
    }
}

/// A projected gradient-flow step fused into the pair: the wide layer is overwritten by
/// `clip(a − dt ∂E/∂a, lo, hi)` instead of having its force written out.
#[derive(Clone, Copy, Debug)]
pub struct Flow<T> {
    /// Step size.
    pub dt: T,
    /// Lower wall of the box.
    pub lo: T,
    /// Upper wall of the box.
    pub hi: T,
}

/// The wide layer of a pair: read (its force goes to `out`), or stepped in place.
pub enum Wide<'a, T> {
    /// `a` is read and `out_a = a + drive_a − Wᵀ b` is written.
    Force { a: &'a [T], out: &'a mut [T] },
    /// `a` is replaced by `clip(a − dt (a + drive_a − Wᵀ b), lo, hi)`.
    Flow { a: &'a mut [T], flow: Flow<T> },
}

impl<T: Real> Wide<'_, T> {
    fn len(&self) -> usize {
        match self {
            Wide::Force { a, .. } => a.len(),
            Wide::Flow { a, .. } => a.len(),
        }
    }
}

/// One sample of the fused pair with a compile-time thin width `NB` and lane count `L`
/// (`BLOCK` a multiple of `L`); see the module docs. With `FLOW` the wide layer is stepped in
/// place ([`Wide::Flow`]: each lane's old value is loaded before its new one is stored, and
/// `W a` uses the old values) and the NaN detector `Σ v · 0` over the unprojected new values
/// is returned; otherwise zero.
#[inline(always)]
fn pair_n<T: Real, const NB: usize, const L: usize, const FLOW: bool>(
    w: &[T],
    wp: &[T],
    wide: Wide<'_, T>,
    drive_a: &[T],
    b: &[T],
    out_b: &mut [T],
) -> T {
    let (a_in, io, flow): (&[T], &mut [T], Flow<T>) = match wide {
        Wide::Force { a, out } => (
            a,
            out,
            Flow {
                dt: T::zero(),
                lo: T::zero(),
                hi: T::zero(),
            },
        ),
        Wide::Flow { a, flow } => (&[], a, flow),
    };
    let na = drive_a.len();
    let bk: [T; NB] = std::array::from_fn(|k| -b[k]);
    let mut dot = [[T::zero(); L]; NB];
    let mut nan = [T::zero(); L];
    // Same operations as the separate update pass (`x − dt f`, then the clip), so a fused
    // step gives the same bits.
    let step = |a: T, f: T, nan: &mut T| {
        let v = a - flow.dt * f;
        *nan += v * T::zero();
        crate::real::clip(v, flow.lo, flow.hi)
    };
    let nblk = na / BLOCK;
    for (blk, wb) in wp.chunks_exact(NB * BLOCK).enumerate().take(nblk) {
        for h in 0..BLOCK / L {
            let i0 = blk * BLOCK + h * L;
            let av: [T; L] = if FLOW {
                io[i0..i0 + L].try_into().unwrap()
            } else {
                a_in[i0..i0 + L].try_into().unwrap()
            };
            let dv: &[T; L] = drive_a[i0..i0 + L].try_into().unwrap();
            let mut acc = [T::zero(); L];
            for j in 0..L {
                acc[j] = av[j] + dv[j];
            }
            for k in 0..NB {
                let wk: &[T; L] = wb[k * BLOCK + h * L..k * BLOCK + h * L + L]
                    .try_into()
                    .unwrap();
                for j in 0..L {
                    acc[j] = wk[j].mul_add(bk[k], acc[j]);
                    dot[k][j] = wk[j].mul_add(av[j], dot[k][j]);
                }
            }
            if FLOW {
                for j in 0..L {
                    acc[j] = step(av[j], acc[j], &mut nan[j]);
                }
            }
            io[i0..i0 + L].copy_from_slice(&acc);
        }
    }
    let mut tail = [T::zero(); NB];
    let mut tail_nan = T::zero();
    for i in nblk * BLOCK..na {
        let ai = if FLOW { io[i] } else { a_in[i] };
        let mut acc = ai + drive_a[i];
        for k in 0..NB {
            let wki = w[k * na + i];
            acc = wki.mul_add(bk[k], acc);
            tail[k] = wki.mul_add(ai, tail[k]);
        }
        io[i] = if FLOW {
            step(ai, acc, &mut tail_nan)
        } else {
            acc
        };
    }
    for k in 0..NB {
        // Lane tree sum in a fixed order.
        let mut s = dot[k];
        let mut width = L / 2;
        while width > 0 {
            for j in 0..width {
                s[j] += s[j + width];
            }
            width /= 2;
        }
        out_b[k] -= s[0] + tail[k];
    }
    nan.iter().fold(tail_nan, |s, &v| s + v)
}

/// The fused pair at lane count `L` for any thin width in `1..=MAX_THIN`.
#[inline(always)]
fn pair_l<T: Real, const L: usize>(
    w: &[T],
    wp: &[T],
    wide: Wide<'_, T>,
    drive_a: &[T],
    b: &[T],
    out_b: &mut [T],
) -> T {
    macro_rules! dispatch {
        ($($n:literal)*) => {
            match (b.len(), matches!(wide, Wide::Flow { .. })) {
                $(
                    ($n, false) => pair_n::<T, $n, L, false>(w, wp, wide, drive_a, b, out_b),
                    ($n, true) => pair_n::<T, $n, L, true>(w, wp, wide, drive_a, b, out_b),
                )*
                (n, _) => panic!("thin layer of {n} units: the fused kernel takes 1..={MAX_THIN}"),
            }
        };
    }
    dispatch!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn pair_avx512<T: Real>(
    w: &[T],
    wp: &[T],
    wide: Wide<'_, T>,
    drive_a: &[T],
    b: &[T],
    out_b: &mut [T],
) -> T {
    pair_l::<T, 16>(w, wp, wide, drive_a, b, out_b)
}

/// Whether this machine runs the 16-lane kernel.
pub fn wide_lanes() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The fused pair for one sample, with `W` the `b.len() × a.len()` row-major coupling and
/// `wp` its [`pack`]ed copy (`b.len()` in `1..=MAX_THIN`): `out_b −= W a` and, for the wide
/// layer `a`, either its force `a + drive_a − Wᵀ b` ([`Wide::Force`]) or a projected
/// gradient-flow step of it in place ([`Wide::Flow`]). Returns the NaN detector of a flow
/// step (`Σ v · 0` over the unprojected new values: NaN exactly when one is not finite).
pub fn pair<T: Real>(
    w: &[T],
    wp: &[T],
    wide: Wide<'_, T>,
    drive_a: &[T],
    b: &[T],
    out_b: &mut [T],
) -> T {
    let (na, nb) = (wide.len(), b.len());
    if let Wide::Force { a, out } = &wide {
        assert_eq!(a.len(), out.len());
    }
    assert!(w.len() == nb * na && drive_a.len() == na);
    assert_eq!(wp.len(), (na / BLOCK) * nb * BLOCK);
    assert_eq!(out_b.len(), nb);
    #[cfg(target_arch = "x86_64")]
    if wide_lanes() {
        // SAFETY: the CPU supports AVX-512F (checked above).
        return unsafe { pair_avx512(w, wp, wide, drive_a, b, out_b) };
    }
    pair_l::<T, 8>(w, wp, wide, drive_a, b, out_b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 8- and 16-lane kernels (and the dispatched one) agree with a plain scalar loop for
    /// every thin width and for wide layers with and without a partial block.
    #[test]
    fn both_lane_widths_match_the_scalar_definition() {
        for nb in 1..=MAX_THIN {
            for na in [1usize, 7, 16, 37, 50] {
                let f = |i: usize| ((i * 2_654_435_761) % 1000) as f64 / 500.0 - 1.0;
                let w: Vec<f64> = (0..nb * na).map(f).collect();
                let a: Vec<f64> = (0..na).map(|i| f(i + 7)).collect();
                let da: Vec<f64> = (0..na).map(|i| f(i + 91)).collect();
                let b: Vec<f64> = (0..nb).map(|i| f(i + 13)).collect();
                let mut wp = vec![];
                pack(&w, nb, na, &mut wp);
                let ob0: Vec<f64> = (0..nb).map(|i| f(i + 5)).collect();
                let mut want_a = vec![0.0; na];
                let mut want_b = ob0.clone();
                for i in 0..na {
                    want_a[i] = a[i] + da[i] - (0..nb).map(|k| w[k * na + i] * b[k]).sum::<f64>();
                }
                for k in 0..nb {
                    want_b[k] -= (0..na).map(|i| w[k * na + i] * a[i]).sum::<f64>();
                }
                type Kernel = fn(&[f64], &[f64], Wide<'_, f64>, &[f64], &[f64], &mut [f64]) -> f64;
                let kernels: [(&str, Kernel); 3] = [
                    ("8 lanes", pair_l::<f64, 8>),
                    ("16 lanes", pair_l::<f64, 16>),
                    ("dispatched", pair::<f64>),
                ];
                let flow = Flow {
                    dt: 0.3,
                    lo: -0.2,
                    hi: 0.4,
                };
                // The flow step of the wide layer, from the same force.
                let want_step: Vec<f64> = (0..na)
                    .map(|i| (a[i] - flow.dt * want_a[i]).clamp(flow.lo, flow.hi))
                    .collect();
                let close = |got: &[f64], want: &[f64], ob: &[f64], what: &str| {
                    for (g, e) in got.iter().zip(want).chain(ob.iter().zip(&want_b)) {
                        assert!(
                            (g - e).abs() < 1e-12,
                            "{what}, nb {nb}, na {na}: {g} vs {e}"
                        );
                    }
                };
                for (name, kern) in kernels {
                    let mut oa = vec![f64::NAN; na];
                    let mut ob = ob0.clone();
                    let out = Wide::Force {
                        a: &a,
                        out: &mut oa,
                    };
                    assert_eq!(kern(&w, &wp, out, &da, &b, &mut ob), 0.0);
                    close(&oa, &want_a, &ob, name);
                    let mut sa = a.clone();
                    let mut ob = ob0.clone();
                    let step = Wide::Flow { a: &mut sa, flow };
                    assert_eq!(kern(&w, &wp, step, &da, &b, &mut ob), 0.0);
                    close(&sa, &want_step, &ob, &format!("{name} flow"));
                    // A non-finite drive shows in the detector.
                    let mut bad = da.clone();
                    bad[na - 1] = f64::INFINITY;
                    let mut sa = a.clone();
                    let step = Wide::Flow { a: &mut sa, flow };
                    assert!(kern(&w, &wp, step, &bad, &b, &mut ob0.clone()).is_nan());
                }
            }
        }
    }
}
