//! The first coupling over a sparse clamped input. MNIST and Fashion-MNIST images are mostly
//! zero pixels (MNIST about 81 %), so the input drive `W₀ x_b` of each sample and the
//! first layer's readout `Σ_b u_b x_bᵀ` need only the nonzero pixels: both become sums of
//! contiguous rows, `x_bi · W₀ᵀ[i]` and `x_bi · u_b`, over the nonzeros, at about a fifth of the
//! dense products' work. A batch denser than [`MAX_DENSITY`] keeps the dense products.
//!
//! Both kernels sum in a fixed order (pixels, then samples, in index order) that depends on
//! neither the thread count nor the chunking, so the same inputs give the same bits.

use crate::real::Real;
use rayon::prelude::*;
use std::cell::RefCell;

/// The largest fraction of nonzero inputs for which the sparse kernels are used.
pub const MAX_DENSITY: f64 = 0.4;

/// Pixels per tile of the readout: the tile's sums stay in L1 until written.
const TILE: usize = 64;

/// Index scratch of one thread: the nonzeros of a batch by sample (CSR) and, for the
/// readout, by pixel (CSC) with their values.
struct Index {
    /// Nonzero pixel positions, sample after sample.
    idx: Vec<u32>,
    /// Row starts of `idx` (one per sample, plus the end).
    start: Vec<usize>,
    /// Sample numbers of the nonzeros, pixel after pixel.
    col_idx: Vec<u32>,
    /// Row starts of `col_idx` (one per pixel, plus the end).
    col_start: Vec<usize>,
    /// The nonzero values in the order of `col_idx` (as f64, exact for f32 and f64).
    col_val: Vec<f64>,
    /// Fill cursors, one per pixel.
    next: Vec<usize>,
}

impl Index {
    const fn new() -> Self {
        Self {
            idx: Vec::new(),
            start: Vec::new(),
            col_idx: Vec::new(),
            col_start: Vec::new(),
            col_val: Vec::new(),
            next: Vec::new(),
        }
    }

    /// Fills `idx` and `start` with the nonzero positions among the first `c` entries of
    /// each sample of `x` (rows of `d`). Branch-free: every position is written and the
    /// cursor moves past the nonzeros only, because which pixels are zero is data a branch
    /// would mispredict about once per nonzero.
    fn by_sample<T: Real>(&mut self, x: &[T], d: usize, c: usize) {
        self.idx.clear();
        self.start.clear();
        self.start.push(0);
        for xs in x.chunks_exact(d) {
            let base = self.idx.len();
            self.idx.resize(base + c, 0);
            let out = &mut self.idx[base..];
            let mut k = 0;
            for (i, v) in xs[..c].iter().enumerate() {
                out[k] = i as u32;
                k += usize::from(*v != T::zero());
            }
            self.idx.truncate(base + k);
            self.start.push(self.idx.len());
        }
    }

    /// From [`Index::by_sample`]'s lists, the same nonzeros by pixel (a counting sort of the
    /// entries, in sample order within each pixel) with their values.
    fn by_pixel<T: Real>(&mut self, x: &[T], d: usize, c: usize) {
        let nnz = self.idx.len();
        self.col_start.clear();
        self.col_start.resize(c + 1, 0);
        for &i in &self.idx {
            self.col_start[i as usize + 1] += 1;
        }
        for i in 0..c {
            self.col_start[i + 1] += self.col_start[i];
        }
        self.next.clear();
        self.next.extend_from_slice(&self.col_start[..c]);
        self.col_idx.resize(nnz, 0);
        self.col_val.resize(nnz, 0.0);
        for b in 0..self.start.len() - 1 {
            for &i in &self.idx[self.start[b]..self.start[b + 1]] {
                let at = &mut self.next[i as usize];
                self.col_idx[*at] = b as u32;
                self.col_val[*at] = x[b * d + i as usize].f64();
                *at += 1;
            }
        }
    }
}

thread_local! {
    static INDEX: RefCell<Index> = const { RefCell::new(Index::new()) };
}

/// Runs `f` with this thread's index scratch.
fn with_index<R>(f: impl FnOnce(&mut Index) -> R) -> R {
    INDEX.with(|cell| {
        let mut ix = std::mem::replace(&mut *cell.borrow_mut(), Index::new());
        let r = f(&mut ix);
        *cell.borrow_mut() = ix;
        r
    })
}

/// Nonzero positions grouped by row (a sample, or a pixel): row `k` is
/// `idx[start[k]..start[k + 1]]`.
#[derive(Clone, Copy)]
struct Nonzeros<'a> {
    idx: &'a [u32],
    start: &'a [usize],
}

impl<'a> Nonzeros<'a> {
    /// Entry range of row `k`.
    fn range(&self, k: usize) -> std::ops::Range<usize> {
        self.start[k]..self.start[k + 1]
    }
    /// Positions in row `k`.
    fn row(&self, k: usize) -> &'a [u32] {
        &self.idx[self.range(k)]
    }
}

/// Whether `nnz` nonzeros out of `total` entries are sparse enough for these kernels.
fn sparse_enough(nnz: usize, total: usize) -> bool {
    (nnz as f64) <= MAX_DENSITY * total as f64
}

/// `wt ← W₀ᵀ` packed by column block: `wt[(jb·c + i)·B + k] = W₀[jb·B + k][i]`, zeros past
/// `r`, so one block's rows lie contiguously in memory. `B` columns are 256 bytes, the sums
/// one sample keeps in 8 AVX2 registers. `w` is `W₀` (`r × c` row-major).
pub fn transpose<T: Real>(w: &[T], r: usize, c: usize, wt: &mut Vec<T>) {
    transpose_copy(w, r, c, wt, None);
}

/// [`transpose`], also copying `w` into `copy` (of the same length) in the same pass, so a
/// parameter write reads `W₀` once.
pub fn transpose_copy<T: Real>(
    w: &[T],
    r: usize,
    c: usize,
    wt: &mut Vec<T>,
    copy: Option<&mut [T]>,
) {
    if std::mem::size_of::<T>() == 4 {
        transpose_b::<T, 64>(w, r, c, wt, copy);
    } else {
        transpose_b::<T, 32>(w, r, c, wt, copy);
    }
}

fn transpose_b<T: Real, const B: usize>(
    w: &[T],
    r: usize,
    c: usize,
    wt: &mut Vec<T>,
    copy: Option<&mut [T]>,
) {
    wt.resize(r.div_ceil(B) * c * B, T::zero());
    let blocks = wt.par_chunks_mut(c * B).enumerate();
    match copy {
        Some(copy) => {
            assert_eq!(copy.len(), w.len(), "a copy of W₀'s size");
            blocks
                .zip(copy.par_chunks_mut(c * B))
                .for_each(|((jb, blk), cp)| transpose_block::<T, B>(w, r, c, jb * B, blk, cp))
        }
        None => blocks.for_each(|(jb, blk)| transpose_block::<T, B>(w, r, c, jb * B, blk, &mut [])),
    }
}

/// Block `j0..j0 + B` of the packed `W₀ᵀ` (`blk`, `c × B`), through square tiles of
/// [`T_TILE`] rows and pixels: [`T_TILE`] rows of `W₀` at a time are read left to right (few
/// enough streams for the hardware prefetcher; all `B` rows at once left it waiting on
/// memory), the block itself staying in L2. Rows `j0..` of `W₀` are also copied to `copy`
/// unless it is empty.
#[inline(never)]
fn transpose_block<T: Real, const B: usize>(
    w: &[T],
    r: usize,
    c: usize,
    j0: usize,
    blk: &mut [T],
    copy: &mut [T],
) {
    let tj = B.min(r - j0);
    let mut tile = [[T::zero(); T_TILE]; T_TILE];
    let full = c - c % T_TILE;
    for k0 in (0..B).step_by(T_TILE) {
        let mut job = TileJob {
            w,
            c,
            j0,
            k0,
            tk: T_TILE.min(tj.saturating_sub(k0)),
            blk: &mut *blk,
            copy: &mut *copy,
        };
        // Whole tiles with the width known at compile time (one `memcpy` call per tile row
        // otherwise), then the partial one.
        for i0 in (0..full).step_by(T_TILE) {
            job.tile::<B>(&mut tile, i0, T_TILE);
        }
        if full < c {
            job.tile::<B>(&mut tile, full, c - full);
        }
    }
}

/// Rows and pixels per tile of [`transpose_block`].
const T_TILE: usize = 16;

/// The operands of [`transpose_block`]: rows `j0 + k0..j0 + k0 + tk` of `W₀`.
struct TileJob<'a, T> {
    w: &'a [T],
    c: usize,
    j0: usize,
    k0: usize,
    tk: usize,
    blk: &'a mut [T],
    copy: &'a mut [T],
}

impl<T: Real> TileJob<'_, T> {
    /// Pixels `i0..i0 + ti` (`ti ≤ T_TILE`) through `tile`; lanes past the last row of `W₀`
    /// are zero.
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // `di` is the column of a transpose
    fn tile<const B: usize>(&mut self, tile: &mut [[T; T_TILE]; T_TILE], i0: usize, ti: usize) {
        let (c, tk, k0) = (self.c, self.tk, self.k0);
        for (k, t) in tile[..tk].iter_mut().enumerate() {
            let row = (k0 + k) * c + i0;
            let src = &self.w[self.j0 * c + row..][..ti];
            t[..ti].copy_from_slice(src);
            if !self.copy.is_empty() {
                self.copy[row..][..ti].copy_from_slice(src);
            }
        }
        for di in 0..ti {
            let dst: &mut [T; T_TILE] = (&mut self.blk[(i0 + di) * B + k0..][..T_TILE])
                .try_into()
                .expect("a tile row");
            if tk == T_TILE {
                // The common case, with the row count known at compile time.
                for (k, o) in dst.iter_mut().enumerate() {
                    *o = tile[k][di];
                }
            } else {
                for (k, o) in dst.iter_mut().enumerate() {
                    *o = if k < tk { tile[k][di] } else { T::zero() };
                }
            }
        }
    }
}

/// `out[b·stride + j] += α Σ_{i : x_bi ≠ 0} x_bi wt[i·r + j]` for every sample `b` of `x`
/// (rows of `d`, input in `0..c`) and `j < r`; `wt` is `W₀ᵀ` packed by [`transpose`]. Returns
/// `false`, and does
/// nothing, when the inputs are denser than [`MAX_DENSITY`].
pub fn drive<T: Real>(
    x: &[T],
    d: usize,
    c: usize,
    (wt, r): (&[T], usize),
    alpha: T,
    out: &mut [T],
    stride: usize,
) -> bool {
    let n = x.len() / d;
    with_index(|ix| {
        ix.by_sample(x, d, c);
        if !sparse_enough(ix.idx.len(), n * c) {
            return false;
        }
        let job = Rows {
            x,
            d,
            c,
            wt,
            r,
            nz: Nonzeros {
                idx: &ix.idx,
                start: &ix.start,
            },
        };
        if std::mem::size_of::<T>() == 4 {
            job.run::<64>(alpha, out, stride);
        } else {
            job.run::<32>(alpha, out, stride);
        }
        true
    })
}

/// The drive's operands: inputs, `W₀ᵀ` and the nonzeros by sample.
struct Rows<'a, T> {
    x: &'a [T],
    d: usize,
    c: usize,
    wt: &'a [T],
    r: usize,
    /// The nonzero pixels, by sample.
    nz: Nonzeros<'a>,
}

impl<T: Real> Rows<'_, T> {
    /// Column blocks of `B` outer, samples inner: one block of `W₀ᵀ` (`c × B`, contiguous)
    /// stays in cache across the samples, and each sample's `B` sums stay in registers.
    /// Where the CPU has AVX-512F the kernel runs in 16-lane code and sums two samples at a
    /// time ([`sum2`]); else in the build's 8 lanes, one sample at a time. Each lane sums the
    /// same products in the same order either way (FMA), so the bits do not depend on the CPU.
    fn run<const B: usize>(&self, alpha: T, out: &mut [T], stride: usize) {
        #[cfg(target_arch = "x86_64")]
        if super::thin::wide_lanes() {
            // SAFETY: the CPU supports AVX-512F (checked above).
            return unsafe { self.kernel_avx512::<B>(alpha, out, stride) };
        }
        self.kernel::<B, false>(alpha, out, stride)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn kernel_avx512<const B: usize>(&self, alpha: T, out: &mut [T], stride: usize) {
        self.kernel::<B, true>(alpha, out, stride)
    }

    #[inline(always)]
    fn kernel<const B: usize, const PAIRS: bool>(&self, alpha: T, out: &mut [T], stride: usize) {
        let (r, d, n) = (self.r, self.d, self.x.len() / self.d);
        for (jb, blk) in self.wt.chunks_exact(self.c * B).enumerate() {
            let j0 = jb * B;
            let w = B.min(r - j0);
            let terms = |b: usize| {
                let (nz, xs) = (self.nz.row(b), &self.x[b * d..]);
                (nz.len(), move |t: usize| {
                    let i = nz[t] as usize;
                    (xs[i], &blk[i * B..][..B])
                })
            };
            let mut put = |b: usize, acc: &[T; B]| {
                let o = &mut out[b * stride + j0..][..w];
                for (o, &a) in o.iter_mut().zip(acc) {
                    *o += alpha * a;
                }
            };
            let mut b = 0;
            while b < n {
                if PAIRS && b + 1 < n {
                    let (sa, sb) = sum2::<T, B>(terms(b), terms(b + 1));
                    put(b, &sa);
                    put(b + 1, &sb);
                    b += 2;
                } else {
                    put(b, &sum1::<T, B>(terms(b)));
                    b += 1;
                }
            }
        }
    }
}

/// `Σ_t v(t) · row(t)` over `t < n` for `(n, f)` with `f(t) = (v(t), row(t))`, `row(t)` of
/// `B` lanes, in the order of `t`.
#[inline(always)]
fn sum1<'a, T: Real + 'a, const B: usize>(
    (n, f): (usize, impl Fn(usize) -> (T, &'a [T])),
) -> [T; B] {
    let mut acc = [T::zero(); B];
    for t in 0..n {
        let (v, row) = f(t);
        let row = &row[..B];
        for k in 0..B {
            acc[k] = v.mul_add(row[k], acc[k]);
        }
    }
    acc
}

/// Two [`sum1`]s interleaved, so that each lane carries two independent FMA chains (one
/// chain of four 16-lane registers leaves the kernel waiting on the FMA latency). Each sum
/// runs in its own order, so the results are the same bits as two [`sum1`]s.
#[inline(always)]
fn sum2<'a, T: Real + 'a, const B: usize>(
    (na, fa): (usize, impl Fn(usize) -> (T, &'a [T])),
    (nb, fb): (usize, impl Fn(usize) -> (T, &'a [T])),
) -> ([T; B], [T; B]) {
    let (mut acc_a, mut acc_b) = ([T::zero(); B], [T::zero(); B]);
    let m = na.min(nb);
    for t in 0..m {
        let ((va, ra), (vb, rb)) = (fa(t), fb(t));
        let (ra, rb) = (&ra[..B], &rb[..B]);
        for k in 0..B {
            acc_a[k] = va.mul_add(ra[k], acc_a[k]);
            acc_b[k] = vb.mul_add(rb[k], acc_b[k]);
        }
    }
    for t in m..na {
        let (v, row) = fa(t);
        let row = &row[..B];
        for k in 0..B {
            acc_a[k] = v.mul_add(row[k], acc_a[k]);
        }
    }
    for t in m..nb {
        let (v, row) = fb(t);
        let row = &row[..B];
        for k in 0..B {
            acc_b[k] = v.mul_add(row[k], acc_b[k]);
        }
    }
    (acc_a, acc_b)
}

/// `g[j·c + i] += α Σ_b u[b·r + j] x_bi` for `j < r`, `i < c` (`g` is `r × c` row-major, the
/// layout of `W₀`), summing over the samples whose pixel `i` is nonzero. Returns `false`, and
/// does nothing, when the inputs are denser than [`MAX_DENSITY`].
pub fn readout<T: Real>(
    x: &[T],
    d: usize,
    c: usize,
    u: &[T],
    r: usize,
    alpha: T,
    g: &mut [T],
) -> bool {
    let n = x.len() / d;
    with_index(|ix| {
        ix.by_sample(x, d, c);
        if !sparse_enough(ix.idx.len(), n * c) {
            return false;
        }
        ix.by_pixel(x, d, c);
        let job = Cols {
            val: &ix.col_val,
            c,
            u,
            r,
            nz: Nonzeros {
                idx: &ix.col_idx,
                start: &ix.col_start,
            },
        };
        if std::mem::size_of::<T>() == 4 {
            job.run::<64>(alpha, g);
        } else {
            job.run::<32>(alpha, g);
        }
        true
    })
}

/// The readout's operands: inputs, the per-sample weights `u` and the nonzeros by pixel.
struct Cols<'a, T> {
    /// The nonzero inputs, by pixel (in the order of `idx`).
    val: &'a [f64],
    c: usize,
    u: &'a [T],
    r: usize,
    /// The samples with a nonzero, by pixel.
    nz: Nonzeros<'a>,
}

impl<T: Real> Cols<'_, T> {
    /// Row blocks of `B` (one parallel task each), pixel tiles of [`TILE`] within: a tile's
    /// `TILE × B` sums are built in registers pixel by pixel, then added to `g` row by row.
    /// Where the CPU has AVX-512F the tiles run in 16-lane code and sum two pixels at a time
    /// ([`sum2`]), else in the build's 8 lanes one pixel at a time: the same bits either way.
    fn run<const B: usize>(&self, alpha: T, g: &mut [T]) {
        let c = self.c;
        g.par_chunks_mut(B * c)
            .enumerate()
            .for_each(|(jb, gb)| self.rows_dispatch::<B>(alpha, jb * B, gb));
    }

    fn rows_dispatch<const B: usize>(&self, alpha: T, j0: usize, gb: &mut [T]) {
        #[cfg(target_arch = "x86_64")]
        if super::thin::wide_lanes() {
            // SAFETY: the CPU supports AVX-512F (checked above).
            return unsafe { self.rows_avx512::<B>(alpha, j0, gb) };
        }
        self.rows::<B, false>(alpha, j0, gb)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn rows_avx512<const B: usize>(&self, alpha: T, j0: usize, gb: &mut [T]) {
        self.rows::<B, true>(alpha, j0, gb)
    }

    /// Rows `j0..` of `g` (`gb`, whole rows of `c`).
    #[inline(always)]
    fn rows<const B: usize, const PAIRS: bool>(&self, alpha: T, j0: usize, gb: &mut [T]) {
        let (c, r) = (self.c, self.r);
        let w = gb.len() / c;
        // The samples of pixel `i` as `sum1` terms (whole blocks only).
        let terms = |i: usize| {
            let (list, val) = (self.nz.row(i), &self.val[self.nz.range(i)]);
            (list.len(), move |t: usize| {
                (T::of(val[t]), &self.u[list[t] as usize * r + j0..][..B])
            })
        };
        let mut tile = [[T::zero(); B]; TILE];
        for i0 in (0..c).step_by(TILE) {
            let ti = TILE.min(c - i0);
            let mut t = 0;
            while t < ti {
                let i = i0 + t;
                if w < B {
                    // A partial block: the sums of its `w` rows, one pixel at a time.
                    let mut acc = [T::zero(); B];
                    let list = self.nz.row(i).iter().zip(&self.val[self.nz.range(i)]);
                    for (&b, &v) in list {
                        let v = T::of(v);
                        let row = &self.u[b as usize * r + j0..][..w];
                        for (a, &uv) in acc.iter_mut().zip(row) {
                            *a = v.mul_add(uv, *a);
                        }
                    }
                    tile[t] = acc;
                    t += 1;
                } else if PAIRS && t + 1 < ti {
                    (tile[t], tile[t + 1]) = sum2::<T, B>(terms(i), terms(i + 1));
                    t += 2;
                } else {
                    tile[t] = sum1::<T, B>(terms(i));
                    t += 1;
                }
            }
            for k in 0..w {
                let o = &mut gb[k * c + i0..][..ti];
                for (o, acc) in o.iter_mut().zip(&tile[..ti]) {
                    *o += alpha * acc[k];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs with about 80 % zeros, like MNIST.
    fn sparse_inputs(n: usize, d: usize, c: usize) -> Vec<f64> {
        (0..n * d)
            .map(|k| {
                let h = crate::dynamics::NoiseKey::new(k as u64, 9).rng(0, 0);
                let v: f64 = rand::Rng::random(&mut { h });
                if k % d < c && v < 0.8 { 0.0 } else { v }
            })
            .collect()
    }

    fn dense(r: usize, c: usize, seed: u64) -> Vec<f64> {
        let mut rng = crate::dynamics::NoiseKey::new(seed, 3).rng(0, 0);
        (0..r * c)
            .map(|_| rand::Rng::random_range(&mut rng, -1.0..1.0))
            .collect()
    }

    #[test]
    fn sparse_drive_and_readout_are_the_dense_products() {
        // r = 70 leaves a partial column block; c = 37 a partial pixel tile.
        let (n, c, r, d) = (5, 37, 70, 37 + 70 + 3);
        let x = sparse_inputs(n, d, c);
        let w = dense(r, c, 1);
        let mut wt = vec![];
        transpose(&w, r, c, &mut wt);
        let stride = r + 4;
        let mut out = vec![0.5; n * stride];
        assert!(drive(&x, d, c, (&wt, r), -2.0, &mut out, stride));
        for b in 0..n {
            for j in 0..r {
                let e: f64 = (0..c).map(|i| w[j * c + i] * x[b * d + i]).sum();
                assert!((out[b * stride + j] - (0.5 - 2.0 * e)).abs() < 1e-12);
            }
            assert!(
                out[b * stride + r..(b + 1) * stride]
                    .iter()
                    .all(|&v| v == 0.5)
            );
        }
        let u = dense(n, r, 2);
        let mut g = vec![1.0; r * c];
        assert!(readout(&x, d, c, &u, r, -0.5, &mut g));
        for j in 0..r {
            for i in 0..c {
                let e: f64 = (0..n).map(|b| u[b * r + j] * x[b * d + i]).sum();
                assert!((g[j * c + i] - (1.0 - 0.5 * e)).abs() < 1e-12);
            }
        }
    }

    /// Summing two samples (drive) or two pixels (readout) at a time, as the AVX-512 path
    /// does, gives the same bits as one at a time, as the AVX2 path does.
    #[test]
    fn paired_sums_are_the_same_bits_as_single_ones() {
        let (n, c, r, d) = (7, 53, 150, 53 + 150);
        let x: Vec<f32> = sparse_inputs(n, d, c).iter().map(|&v| v as f32).collect();
        let w: Vec<f32> = dense(r, c, 1).iter().map(|&v| v as f32).collect();
        let mut wt = vec![];
        transpose(&w, r, c, &mut wt);
        with_index(|ix| {
            ix.by_sample(&x, d, c);
            ix.by_pixel(&x, d, c);
            let nz = Nonzeros {
                idx: &ix.idx,
                start: &ix.start,
            };
            let rows = Rows {
                x: &x,
                d,
                c,
                wt: &wt,
                r,
                nz,
            };
            let (mut one, mut two) = (vec![0.25f32; n * r], vec![0.25f32; n * r]);
            rows.kernel::<64, false>(-1.5, &mut one, r);
            rows.kernel::<64, true>(-1.5, &mut two, r);
            assert!(
                one.iter()
                    .zip(&two)
                    .all(|(a, b)| a.to_bits() == b.to_bits())
            );
            let u: Vec<f32> = dense(n, r, 2).iter().map(|&v| v as f32).collect();
            let cols = Cols {
                val: &ix.col_val,
                c,
                u: &u,
                r,
                nz: Nonzeros {
                    idx: &ix.col_idx,
                    start: &ix.col_start,
                },
            };
            let (mut one, mut two) = (vec![0.5f32; r * c], vec![0.5f32; r * c]);
            for (jb, (a, b)) in one
                .chunks_mut(64 * c)
                .zip(two.chunks_mut(64 * c))
                .enumerate()
            {
                cols.rows::<64, false>(-0.5, jb * 64, a);
                cols.rows::<64, true>(-0.5, jb * 64, b);
            }
            assert!(
                one.iter()
                    .zip(&two)
                    .all(|(a, b)| a.to_bits() == b.to_bits())
            );
        });
    }

    #[test]
    fn dense_inputs_are_left_to_the_products() {
        let (n, c, r, d) = (3, 20, 8, 30);
        let x = vec![0.5; n * d];
        let mut wt = vec![];
        transpose(&dense(r, c, 1), r, c, &mut wt);
        let mut out = vec![0.0; n * r];
        assert!(!drive(&x, d, c, (&wt, r), 1.0, &mut out, r));
        let mut g = vec![0.0; r * c];
        assert!(!readout(&x, d, c, &dense(n, r, 2), r, 1.0, &mut g));
        assert!(out.iter().chain(&g).all(|&v| v == 0.0));
    }
}
