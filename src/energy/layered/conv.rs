//! The convolutional coupling `−⟨pool(conv_W(s_a)), s_b⟩` of a deep convolutional Hopfield
//! network (Ernoult et al. 2019, "Updates of EqProp match gradients of BPTT", eq. for the
//! conv Φ; Laborieux et al. 2021, "Scaling Equilibrium Propagation to deep ConvNets", §2; the
//! DCHN of Scellier et al. 2023, "Energy-based learning algorithms for analog computing").
//!
//! `conv_W` is a `k × k` cross-correlation (PyTorch's `Conv2d`, no bias: biases belong to the
//! layers) with stride and zero padding, `W` in PyTorch's `[out, in, kh, kw]` layout; `pool`
//! is a `q × q` max- or average-pooling with stride `q` (or none). Inside one argmax pattern
//! of the max-pool the coupling is linear in `s_a`: `J(s_a)ᵀ s_b` routes each pooled unit's
//! state back to the argmax position of its window (the unpool) and through the transposed
//! convolution.
//!
//! The forward convolution is an im2col product on faer (`Y = W · col(s_a)`, a few samples
//! per product so it is wide enough to run near the GEMM peak). The feedback exploits the
//! max-pool's sparsity: only the argmax position of each window receives signal, so
//! `col(J(s_a)ᵀ s_b)` is built by one axpy of a row of `W` per pooled unit (a quarter of the
//! dense transposed product for 2 × 2 windows) and folded back by col2im. The weight
//! derivative is likewise one axpy of an im2col column per pooled unit. All scratch comes from
//! per-thread buffers, so a step allocates nothing.

use super::coupling::{Block, BlockMut, Coupling, col, col_mut};
use super::shape::Shape;
use crate::linalg::gemm;
use crate::real::Real;
use anyhow::ensure;
use faer::{MatMut, MatRef};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;

/// Pooling after a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    /// `q × q` max-pooling (stride `q`).
    #[default]
    Max,
    /// `q × q` average pooling (stride `q`).
    Avg,
}

/// The geometry of a convolution followed by pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvSpec {
    /// Output channels.
    pub channels: usize,
    /// Kernel size `k` (square).
    pub kernel: usize,
    /// Stride of the convolution.
    pub stride: usize,
    /// Zero padding on each side.
    pub padding: usize,
    /// Pooling window `q` (1: no pooling).
    pub pool: usize,
    /// Max or average pooling.
    pub pool_kind: PoolKind,
}

/// A convolution + pooling coupling between feature maps.
#[derive(Clone, Debug)]
pub struct ConvPool {
    input: Shape,
    spec: ConvSpec,
    /// Convolution output height and width (before pooling).
    ho: usize,
    wo: usize,
    /// `K = C_in · k · k`, the length of an im2col column.
    kk: usize,
}

/// The per-thread scratch of one group of samples.
struct Group<'a, T> {
    /// im2col columns of the group (`K × nb·P`).
    cols: &'a mut [T],
    /// The group's convolution outputs (`O × nb·P`).
    y: &'a mut [T],
    /// One sample's feedback columns (`K × P`).
    dcols: &'a mut [T],
    /// Channel states of every pooled unit, sorted by window offset (`O · U`).
    vals: &'a mut [T],
    /// Pooling argmax positions of the group (`nb · O · U`).
    args: &'a mut [u32],
    /// Channels of every pooled unit sorted by window offset (`O · U`), then each unit's
    /// offset starts (`U · (q² + 1)`).
    order: &'a mut [u32],
}

/// Lanes of one column block of the max-pool feedback, summed in registers: 64 f32 lanes
/// are eight 8-lane (or four 16-lane) accumulators, enough independent FMA chains to hide
/// the FMA latency (a 32-lane block left the loop latency-bound at half the FMA rate).
const LANES: usize = 64;

/// `dst = Σ_i vals_i · W_{chans_i}[k0..k0 + L]` over rows of `W` (row length `kk`), summed
/// in `L` register lanes and written once (zero for no channel).
#[inline(always)]
fn combine_block<T: Real, const L: usize>(
    w: &[T],
    kk: usize,
    k0: usize,
    chans: &[u32],
    vals: &[T],
    dst: &mut [T; L],
) {
    let mut acc = [T::zero(); L];
    for (&c, &v) in chans.iter().zip(vals) {
        let wr: &[T; L] = w[c as usize * kk + k0..][..L].try_into().unwrap();
        for j in 0..L {
            acc[j] = v.mul_add(wr[j], acc[j]);
        }
    }
    *dst = acc;
}

/// `dst = Σ_i vals_i · W_{chans_i}[k0..k0 + dst.len()]` over rows of `W` (row length `kk`):
/// full [`LANES`] blocks, then a half block, then one lane at a time. Every lane sums the
/// channels in the same order, so the block sizes do not change the bits.
#[inline(always)]
fn combine<T: Real>(w: &[T], kk: usize, k0: usize, chans: &[u32], vals: &[T], dst: &mut [T]) {
    let mut k = 0;
    while dst.len() - k >= LANES {
        let d: &mut [T; LANES] = (&mut dst[k..k + LANES]).try_into().unwrap();
        combine_block(w, kk, k0 + k, chans, vals, d);
        k += LANES;
    }
    const HALF: usize = LANES / 2;
    if dst.len() - k >= HALF {
        let d: &mut [T; HALF] = (&mut dst[k..k + HALF]).try_into().unwrap();
        combine_block(w, kk, k0 + k, chans, vals, d);
        k += HALF;
    }
    for (i, d) in dst[k..].iter_mut().enumerate() {
        let mut a = T::zero();
        for (&c, &v) in chans.iter().zip(vals) {
            a = v.mul_add(w[c as usize * kk + k0 + k + i], a);
        }
        *d = a;
    }
}

/// `d = s` for a kernel row (fixed-size copies for the usual kernel sizes: a `memcpy`
/// call per 3 or 5 scalars dominated im2col).
#[inline(always)]
fn copy_row<T: Real>(d: &mut [T], s: &[T]) {
    fn fixed<T: Copy, const K: usize>(d: &mut [T], s: &[T]) {
        let s: &[T; K] = s.try_into().unwrap();
        let d: &mut [T; K] = d.try_into().unwrap();
        *d = *s;
    }
    let n = d.len();
    let body = n - n % 8;
    for (dc, sc) in d[..body].chunks_exact_mut(8).zip(s[..body].chunks_exact(8)) {
        fixed::<T, 8>(dc, sc);
    }
    let (d, s) = (&mut d[body..], &s[body..]);
    match n % 8 {
        0 => {}
        1 => d[0] = s[0],
        2 => fixed::<T, 2>(d, s),
        3 => fixed::<T, 3>(d, s),
        4 => fixed::<T, 4>(d, s),
        5 => fixed::<T, 5>(d, s),
        6 => fixed::<T, 6>(d, s),
        _ => fixed::<T, 7>(d, s),
    }
}

/// One interior receptive field (`K × K` per channel, top-left at `base` of each plane of
/// `hw` pixels, rows `w` apart) into its im2col column `dst`, with fixed-size row copies.
#[inline(always)]
fn gather<T: Real, const K: usize>(x: &[T], base: usize, hw: usize, w: usize, dst: &mut [T]) {
    for (ci, dc) in dst.chunks_exact_mut(K * K).enumerate() {
        let plane = &x[ci * hw + base..];
        for (kh, d) in dc.chunks_exact_mut(K).enumerate() {
            let s: &[T; K] = plane[kh * w..kh * w + K].try_into().unwrap();
            let d: &mut [T; K] = d.try_into().unwrap();
            *d = *s;
        }
    }
}

/// [`gather`] for any kernel size.
fn gather_any<T: Real>(x: &[T], base: usize, hw: usize, w: usize, k: usize, dst: &mut [T]) {
    for (ci, dc) in dst.chunks_exact_mut(k * k).enumerate() {
        let plane = &x[ci * hw + base..];
        for (kh, d) in dc.chunks_exact_mut(k).enumerate() {
            copy_row(d, &plane[kh * w..kh * w + k]);
        }
    }
}

/// The transpose of [`gather`]: `out += alpha · src` over one interior receptive field.
#[inline(always)]
fn scatter<T: Real, const K: usize>(
    src: &[T],
    base: usize,
    hw: usize,
    w: usize,
    out: &mut [T],
    alpha: T,
) {
    for (ci, sc) in src.chunks_exact(K * K).enumerate() {
        let plane = &mut out[ci * hw + base..];
        for (kh, s) in sc.chunks_exact(K).enumerate() {
            let s: &[T; K] = s.try_into().unwrap();
            let d: &mut [T; K] = (&mut plane[kh * w..kh * w + K]).try_into().unwrap();
            for j in 0..K {
                d[j] += alpha * s[j];
            }
        }
    }
}

/// [`scatter`] for any kernel size.
fn scatter_any<T: Real>(
    src: &[T],
    base: usize,
    hw: usize,
    w: usize,
    k: usize,
    out: &mut [T],
    alpha: T,
) {
    for (ci, sc) in src.chunks_exact(k * k).enumerate() {
        let plane = &mut out[ci * hw + base..];
        for (kh, s) in sc.chunks_exact(k).enumerate() {
            add_row(&mut plane[kh * w..kh * w + k], s, alpha);
        }
    }
}

/// `d += alpha · s` for a kernel row.
#[inline(always)]
fn add_row<T: Real>(d: &mut [T], s: &[T], alpha: T) {
    for (o, &v) in d.iter_mut().zip(s) {
        *o += alpha * v;
    }
}

thread_local! {
    static ARGS: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on the per-thread argmax buffer of `len` entries.
fn with_args<R>(len: usize, f: impl FnOnce(&mut [u32]) -> R) -> R {
    let mut buf = ARGS.with(|c| std::mem::take(&mut *c.borrow_mut()));
    buf.resize(len, 0);
    let r = f(&mut buf);
    ARGS.with(|c| {
        let mut slot = c.borrow_mut();
        if slot.capacity() < buf.capacity() {
            *slot = buf;
        }
    });
    r
}

/// Whether two blocks are the same view (`J(at) x` with `at = x` is `f_W(x)`).
fn same<T: Real>(a: Block<'_, T>, b: Block<'_, T>) -> bool {
    std::ptr::eq(a.as_ptr(), b.as_ptr())
        && a.ncols() == b.ncols()
        && a.col_stride() == b.col_stride()
}

impl ConvPool {
    /// A convolution + pooling on `input`, or an error naming `layer` and the shapes that do
    /// not chain (a kernel larger than the padded map, a stride or pooling window that does
    /// not tile it).
    pub fn new(layer: &str, input: Shape, spec: ConvSpec) -> anyhow::Result<Self> {
        let ConvSpec {
            channels,
            kernel: k,
            stride: s,
            padding: p,
            pool: q,
            ..
        } = spec;
        ensure!(
            channels > 0 && k > 0 && s > 0 && q > 0,
            "{layer}: channels, kernel, stride and pool must be ≥ 1 (got {channels}, {k}, {s}, {q})"
        );
        let (hp, wp) = (input.h + 2 * p, input.w + 2 * p);
        ensure!(
            k <= hp && k <= wp,
            "{layer}: a {k}×{k} kernel does not fit the {}×{} input map{} (layer input {input})",
            hp,
            wp,
            if p > 0 {
                format!(" padded by {p}")
            } else {
                String::new()
            }
        );
        ensure!(
            (hp - k) % s == 0 && (wp - k) % s == 0,
            "{layer}: stride {s} does not tile the {hp}×{wp} padded map with a {k}×{k} kernel (layer input {input})"
        );
        let (ho, wo) = ((hp - k) / s + 1, (wp - k) / s + 1);
        ensure!(
            ho % q == 0 && wo % q == 0,
            "{layer}: a {q}×{q} pooling window does not tile the {ho}×{wo} convolution output (layer input {input}, kernel {k}, padding {p}, stride {s})"
        );
        Ok(Self {
            input,
            spec,
            ho,
            wo,
            kk: input.c * k * k,
        })
    }

    /// Positions of the convolution output.
    fn positions(&self) -> usize {
        self.ho * self.wo
    }

    /// Pooled units per channel.
    fn pooled(&self) -> usize {
        self.positions() / (self.spec.pool * self.spec.pool)
    }

    /// Samples per forward product: enough columns (`≥ 256`) for faer to run near its peak.
    fn per_product(&self) -> usize {
        256usize.div_ceil(self.positions()).max(1)
    }

    /// The input offset of the top-left pixel of output position `(oy, ox)`'s receptive
    /// field when the field lies wholly inside the map (no padding read), else `None`.
    #[inline]
    fn interior(&self, oy: usize, ox: usize) -> Option<usize> {
        let (k, s, p) = (self.spec.kernel, self.spec.stride, self.spec.padding);
        let (y0, x0) = (oy * s, ox * s);
        (y0 >= p && x0 >= p && y0 + k <= self.input.h + p && x0 + k <= self.input.w + p)
            .then(|| (y0 - p) * self.input.w + (x0 - p))
    }

    /// The im2col matrix of one sample (`K × P`, column-major: column `p` is the receptive
    /// field of output position `p`, ordered `(c, kh, kw)` as a row of `W`).
    fn im2col<T: Real>(&self, x: &[T], cols: &mut [T]) {
        let (k, s, p) = (self.spec.kernel, self.spec.stride, self.spec.padding);
        let (h, w) = (self.input.h, self.input.w);
        let kk = self.kk;
        for oy in 0..self.ho {
            for ox in 0..self.wo {
                let dst = &mut cols[(oy * self.wo + ox) * kk..][..kk];
                if let Some(base) = self.interior(oy, ox) {
                    match k {
                        3 => gather::<T, 3>(x, base, h * w, w, dst),
                        5 => gather::<T, 5>(x, base, h * w, w, dst),
                        _ => gather_any(x, base, h * w, w, k, dst),
                    }
                    continue;
                }
                for ci in 0..self.input.c {
                    let plane = &x[ci * h * w..(ci + 1) * h * w];
                    for kh in 0..k {
                        let d = &mut dst[(ci * k + kh) * k..][..k];
                        let iy = (oy * s + kh) as isize - p as isize;
                        if iy < 0 || iy >= h as isize {
                            d.fill(T::zero());
                            continue;
                        }
                        let row = &plane[iy as usize * w..(iy as usize + 1) * w];
                        let x0 = (ox * s) as isize - p as isize;
                        if x0 >= 0 && x0 as usize + k <= w {
                            copy_row(d, &row[x0 as usize..x0 as usize + k]);
                        } else {
                            for (kw, v) in d.iter_mut().enumerate() {
                                let ix = x0 + kw as isize;
                                *v = if ix >= 0 && ix < w as isize {
                                    row[ix as usize]
                                } else {
                                    T::zero()
                                };
                            }
                        }
                    }
                }
            }
        }
    }

    /// `out += alpha · col2im(cols)`: folds a `K × P` column matrix back onto the map.
    fn col2im<T: Real>(&self, cols: &[T], out: &mut [T], alpha: T) {
        let (k, s, p) = (self.spec.kernel, self.spec.stride, self.spec.padding);
        let (h, w) = (self.input.h, self.input.w);
        let kk = self.kk;
        for oy in 0..self.ho {
            for ox in 0..self.wo {
                let src = &cols[(oy * self.wo + ox) * kk..][..kk];
                if let Some(base) = self.interior(oy, ox) {
                    match k {
                        3 => scatter::<T, 3>(src, base, h * w, w, out, alpha),
                        5 => scatter::<T, 5>(src, base, h * w, w, out, alpha),
                        _ => scatter_any(src, base, h * w, w, k, out, alpha),
                    }
                    continue;
                }
                for ci in 0..self.input.c {
                    for kh in 0..k {
                        let iy = (oy * s + kh) as isize - p as isize;
                        if iy < 0 || iy >= h as isize {
                            continue;
                        }
                        let sr = &src[(ci * k + kh) * k..][..k];
                        let row = &mut out[ci * h * w + iy as usize * w..][..w];
                        let x0 = (ox * s) as isize - p as isize;
                        if x0 >= 0 && x0 as usize + k <= w {
                            add_row(&mut row[x0 as usize..x0 as usize + k], sr, alpha);
                        } else {
                            for (kw, &v) in sr.iter().enumerate() {
                                let ix = x0 + kw as isize;
                                if ix >= 0 && ix < w as isize {
                                    row[ix as usize] += alpha * v;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The convolution of samples `j0..j0 + nb` of `x`: their im2col columns into `cols`
    /// (`K × nb·P`, column-major) and `Y = W · cols` into `y` (`O × nb·P`, column-major).
    fn conv<T: Real>(
        &self,
        w: &[T],
        x: Block<'_, T>,
        j0: usize,
        nb: usize,
        cols: &mut [T],
        y: &mut [T],
    ) {
        let (kk, np, o) = (self.kk, self.positions(), self.spec.channels);
        for j in 0..nb {
            self.im2col(col(x, j0 + j), &mut cols[j * np * kk..(j + 1) * np * kk]);
        }
        let lhs = MatRef::from_row_major_slice(w, o, kk);
        let rhs = MatRef::from_column_major_slice(&cols[..nb * np * kk], kk, nb * np);
        let dst = MatMut::from_column_major_slice_mut(&mut y[..nb * np * o], o, nb * np);
        gemm(dst, false, lhs, rhs, T::one());
    }

    /// Output position `p` of pooled unit `u` and window offset `(dy, dx)`.
    #[inline]
    fn window_pos(&self, u: usize, dy: usize, dx: usize) -> usize {
        let q = self.spec.pool;
        let pw = self.wo / q;
        let (py, px) = (u / pw, u % pw);
        (py * q + dy) * self.wo + px * q + dx
    }

    /// Max-pools sample `j` of the product `y` (`O × nb·P`): the argmax position of every
    /// pooled unit into `args` (`O · U`), and, when `out` is given, `out (+)= alpha · max`.
    fn pool_max<T: Real>(
        &self,
        y: &[T],
        j: usize,
        args: &mut [u32],
        mut out: Option<(&mut [T], bool, T)>,
    ) {
        let (o, np, nu, q) = (
            self.spec.channels,
            self.positions(),
            self.pooled(),
            self.spec.pool,
        );
        let ys = &y[j * np * o..(j + 1) * np * o];
        // Channels in blocks of `CB`, branch-free selects over the window: the comparisons
        // are data-dependent, and branching on them cost most of the pass in mispredictions.
        const CB: usize = 16;
        for u in 0..nu {
            // The window's positions; each holds the O channels contiguously.
            let base = self.window_pos(u, 0, 0);
            for c0 in (0..o).step_by(CB) {
                let nc = CB.min(o - c0);
                let mut bv = [T::zero(); CB];
                let mut bp = [base as u32; CB];
                bv[..nc].copy_from_slice(&ys[base * o + c0..][..nc]);
                for dy in 0..q {
                    let row = base + dy * self.wo;
                    for p in row..row + q {
                        if p == base {
                            continue;
                        }
                        let vs = &ys[p * o + c0..][..nc];
                        for ((b, a), &v) in bv.iter_mut().zip(bp.iter_mut()).zip(vs) {
                            let gt = v > *b;
                            *b = if gt { v } else { *b };
                            *a = if gt { p as u32 } else { *a };
                        }
                    }
                }
                for l in 0..nc {
                    args[(c0 + l) * nu + u] = bp[l];
                }
                if let Some((out, acc, alpha)) = out.as_mut() {
                    for l in 0..nc {
                        let t = &mut out[(c0 + l) * nu + u];
                        *t = if *acc {
                            *t + *alpha * bv[l]
                        } else {
                            *alpha * bv[l]
                        };
                    }
                }
            }
        }
    }

    /// Average-pools sample `j` of `y` into `out (+)= alpha · mean`.
    fn pool_avg<T: Real>(&self, y: &[T], j: usize, out: &mut [T], acc: bool, alpha: T) {
        let (o, np, nu, q) = (
            self.spec.channels,
            self.positions(),
            self.pooled(),
            self.spec.pool,
        );
        let ys = &y[j * np * o..(j + 1) * np * o];
        let scale = alpha / T::of((q * q) as f64);
        for u in 0..nu {
            for c in 0..o {
                let mut s = T::zero();
                for dy in 0..q {
                    for dx in 0..q {
                        s += ys[self.window_pos(u, dy, dx) * o + c];
                    }
                }
                let t = &mut out[c * nu + u];
                *t = if acc { *t + scale * s } else { scale * s };
            }
        }
    }

    /// Calls `f(c, u, p, share)` for every pooled unit `(c, u)` and each output position `p`
    /// its state is routed to, with the share of the state `p` receives: the argmax (share
    /// 1) for max-pooling, every window position (share `1/q²`) for average pooling.
    #[inline]
    fn routes<T: Real>(&self, args: &[u32], mut f: impl FnMut(usize, usize, usize, T)) {
        let (o, nu, q) = (self.spec.channels, self.pooled(), self.spec.pool);
        match self.spec.pool_kind {
            PoolKind::Max => {
                for c in 0..o {
                    for u in 0..nu {
                        f(c, u, args[c * nu + u] as usize, T::one());
                    }
                }
            }
            PoolKind::Avg => {
                let share = T::one() / T::of((q * q) as f64);
                for c in 0..o {
                    for u in 0..nu {
                        for dy in 0..q {
                            for dx in 0..q {
                                f(c, u, self.window_pos(u, dy, dx), share);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Counting sort of pooled unit `u`'s channels by the window offset of their argmax:
    /// the channels into `order[u·O..]`, their states into `vals[u·O..]`, and the start of
    /// each offset's run (relative to `u·O`) into `starts` (`q² + 1` entries). Channels whose
    /// state is exactly zero (hard-sigmoid units at their lower bound) send nothing and are
    /// left out.
    fn route_unit<T: Real>(
        &self,
        args: &[u32],
        y: &[T],
        u: usize,
        order: &mut [u32],
        vals: &mut [T],
        starts: &mut [u32],
    ) {
        let (nu, o, q) = (self.pooled(), self.spec.channels, self.spec.pool);
        let q2 = q * q;
        let base = self.window_pos(u, 0, 0);
        let offset = |c: usize| {
            let p = args[c * nu + u] as usize - base;
            (p / self.wo) * q + p % self.wo
        };
        starts.fill(0);
        for c in 0..o {
            if y[c * nu + u] != T::zero() {
                starts[offset(c) + 1] += 1;
            }
        }
        for t in 0..q2 {
            starts[t + 1] += starts[t];
        }
        let mut fill = [0u32; 64];
        assert!(q2 <= fill.len(), "pooling windows up to 8×8");
        fill[..q2].copy_from_slice(&starts[..q2]);
        let (order, vals) = (
            &mut order[u * o..(u + 1) * o],
            &mut vals[u * o..(u + 1) * o],
        );
        for c in 0..o {
            let v = y[c * nu + u];
            if v != T::zero() {
                let t = offset(c);
                order[fill[t] as usize] = c as u32;
                vals[fill[t] as usize] = v;
                fill[t] += 1;
            }
        }
    }

    /// `out += alpha · J(at)ᵀ y` for one sample whose pooling pattern is `args`: the unpool
    /// through `W` into `dcols` (`K × P`), then col2im. Under max-pooling each output
    /// position `p` receives the states of the channels whose window argmax is `p`, so its
    /// column `Σ_{c → p} y_c W_c` is summed in registers ([`combine`]) and written once;
    /// `order` (`O · U + U · (q² + 1)` entries) and `vals` (`O · U` scalars) are scratch.
    fn feedback<T: Real>(
        &self,
        w: &[T],
        args: &[u32],
        y: &[T],
        (dcols, order, vals): (&mut [T], &mut [u32], &mut [T]),
        out: &mut [T],
        alpha: T,
    ) {
        let (kk, nu, o, q) = (self.kk, self.pooled(), self.spec.channels, self.spec.pool);
        if self.spec.pool_kind == PoolKind::Avg {
            dcols.fill(T::zero());
            self.routes::<T>(args, |c, u, p, share| {
                let v = share * y[c * nu + u];
                let wr = &w[c * kk..(c + 1) * kk];
                for (d, &wv) in dcols[p * kk..(p + 1) * kk].iter_mut().zip(wr) {
                    *d = v.mul_add(wv, *d);
                }
            });
            self.col2im(dcols, out, alpha);
            return;
        }
        let q2 = q * q;
        let (order, starts) = order.split_at_mut(o * nu);
        for u in 0..nu {
            self.route_unit(args, y, u, order, vals, &mut starts[u * (q2 + 1)..][..=q2]);
        }
        // Column blocks of `W` outermost: one block of every row (`O · LANES` scalars) stays
        // in L1 while every position of the sample sums its routed channels from it.
        for k0 in (0..kk).step_by(LANES) {
            let nk = LANES.min(kk - k0);
            for u in 0..nu {
                let st = &starts[u * (q2 + 1)..][..=q2];
                for t in 0..q2 {
                    let p = self.window_pos(u, t / q, t % q);
                    let r = u * o + st[t] as usize..u * o + st[t + 1] as usize;
                    let dst = &mut dcols[p * kk + k0..][..nk];
                    combine(w, kk, k0, &order[r.clone()], &vals[r], dst);
                }
            }
        }
        self.col2im(dcols, out, alpha);
    }

    /// Scratch lengths: im2col columns and products for one forward product, and one
    /// sample's feedback columns.
    fn scratch_len(&self) -> (usize, usize, usize) {
        let (nb, np) = (self.per_product(), self.positions());
        (
            nb * np * self.kk,
            nb * np * self.spec.channels,
            np * self.kk,
        )
    }

    /// `alpha · J(at)ᵀ y` of sample `j` of a group into `out`, with the group's scratch.
    fn feedback_in<T: Real>(
        &self,
        w: &[T],
        g: &mut Group<'_, T>,
        j: usize,
        y: &[T],
        out: &mut [T],
        alpha: T,
    ) {
        let m = self.spec.channels * self.pooled();
        self.feedback(
            w,
            &g.args[j * m..(j + 1) * m],
            y,
            (&mut *g.dcols, &mut *g.order, &mut *g.vals),
            out,
            alpha,
        );
    }

    /// Runs `f(j0, nb, group)` over the samples of `n` in groups of [`Self::per_product`],
    /// with per-thread scratch.
    fn in_groups<T: Real>(&self, n: usize, mut f: impl FnMut(usize, usize, &mut Group<'_, T>)) {
        let (lc, ly, ld) = self.scratch_len();
        let (per, o) = (self.per_product(), self.spec.channels);
        let nu = self.pooled();
        let q2 = self.spec.pool * self.spec.pool;
        T::with_scratch(lc + ly + ld + o * nu, |buf| {
            let (cols, rest) = buf.split_at_mut(lc);
            let (y, rest) = rest.split_at_mut(ly);
            let (dcols, vals) = rest.split_at_mut(ld);
            with_args(per * o * nu + o * nu + nu * (q2 + 1), |ints| {
                let (args, order) = ints.split_at_mut(per * o * nu);
                let mut g = Group {
                    cols,
                    y,
                    dcols,
                    vals,
                    args,
                    order,
                };
                for j0 in (0..n).step_by(per) {
                    f(j0, per.min(n - j0), &mut g);
                }
            });
        });
    }

    /// The pooling patterns of the samples `j0..j0 + nb` of `at` (after [`Self::conv`] of
    /// `at` into `y`), `O · U` entries per sample.
    fn patterns<T: Real>(&self, y: &[T], nb: usize, args: &mut [u32]) {
        let m = self.spec.channels * self.pooled();
        if self.spec.pool_kind == PoolKind::Max {
            for j in 0..nb {
                self.pool_max::<T>(y, j, &mut args[j * m..(j + 1) * m], None);
            }
        }
    }
}

impl<T: Real> Coupling<T> for ConvPool {
    fn kind(&self) -> &'static str {
        "conv"
    }
    fn input(&self) -> Shape {
        self.input
    }
    fn output(&self) -> Shape {
        let q = self.spec.pool;
        Shape::map(self.spec.channels, self.ho / q, self.wo / q)
    }
    fn weight_shape(&self) -> Vec<usize> {
        let k = self.spec.kernel;
        vec![self.spec.channels, self.input.c, k, k]
    }
    fn macs(&self) -> usize {
        self.spec.channels * self.kk * self.positions()
    }

    /// PyTorch's default `Conv2d` initialisation: `U(±1/√fan_in)`, `fan_in = C_in k²`.
    fn init(&self, rng: &mut Xoshiro256PlusPlus, w: &mut [T]) {
        let lim = 1.0 / (self.kk as f64).sqrt();
        for v in w {
            *v = T::of(rand::Rng::random_range(rng, -lim..lim));
        }
    }

    fn apply(
        &self,
        w: &[T],
        at: Block<'_, T>,
        x: Block<'_, T>,
        mut out: BlockMut<'_, T>,
        accumulate: bool,
        alpha: T,
    ) {
        let n = x.ncols();
        let shared = same(at, x);
        let m = self.spec.channels * self.pooled();
        let (lc, ly, _) = self.scratch_len();
        self.in_groups::<T>(n, |j0, nb, g| {
            let (cols, y, args) = (&mut *g.cols, &mut *g.y, &mut *g.args);
            if shared || self.spec.pool_kind == PoolKind::Avg {
                self.conv(w, x, j0, nb, cols, y);
                for j in 0..nb {
                    let o = col_mut(out.as_mut(), j0 + j);
                    match self.spec.pool_kind {
                        PoolKind::Max => self.pool_max(
                            y,
                            j,
                            &mut args[j * m..(j + 1) * m],
                            Some((o, accumulate, alpha)),
                        ),
                        PoolKind::Avg => self.pool_avg(y, j, o, accumulate, alpha),
                    }
                }
                return;
            }
            // The pattern of `at`, then `x`'s convolution read at it (not a hot path).
            self.conv(w, at, j0, nb, cols, y);
            self.patterns::<T>(y, nb, args);
            let mut yx = vec![T::zero(); ly];
            let mut cx = vec![T::zero(); lc];
            self.conv(w, x, j0, nb, &mut cx, &mut yx);
            let (o_, np, nu) = (self.spec.channels, self.positions(), self.pooled());
            for j in 0..nb {
                let o = col_mut(out.as_mut(), j0 + j);
                if !accumulate {
                    o.fill(T::zero());
                }
                let a = &args[j * m..(j + 1) * m];
                self.routes::<T>(a, |c, u, p, share| {
                    o[c * nu + u] += alpha * share * yx[(j * np + p) * o_ + c];
                });
            }
        });
    }

    fn apply_t(
        &self,
        w: &[T],
        at: Block<'_, T>,
        y: Block<'_, T>,
        mut out: BlockMut<'_, T>,
        alpha: T,
    ) {
        self.in_groups::<T>(y.ncols(), |j0, nb, g| {
            if self.spec.pool_kind == PoolKind::Max {
                self.conv(w, at, j0, nb, g.cols, g.y);
                self.patterns::<T>(g.y, nb, g.args);
            }
            for j in 0..nb {
                let o = col_mut(out.as_mut(), j0 + j);
                self.feedback_in(w, g, j, col(y, j0 + j), o, alpha);
            }
        });
    }

    fn grad_w(
        &self,
        w: &[T],
        at: Block<'_, T>,
        x: Block<'_, T>,
        y: Block<'_, T>,
        c: &[T],
        (gw, alpha): (&mut [T], T),
    ) {
        let (kk, np, nu) = (self.kk, self.positions(), self.pooled());
        let m = self.spec.channels * nu;
        let shared = same(at, x);
        self.in_groups::<T>(y.ncols(), |j0, nb, g| {
            let (cols, yb, dcols, args) = (&mut *g.cols, &mut *g.y, &mut *g.dcols, &mut *g.args);
            if self.spec.pool_kind == PoolKind::Max {
                self.conv(w, at, j0, nb, cols, yb);
                self.patterns::<T>(yb, nb, args);
            }
            for j in 0..nb {
                let xc: &[T] = if shared && self.spec.pool_kind == PoolKind::Max {
                    &cols[j * np * kk..(j + 1) * np * kk]
                } else {
                    self.im2col(col(x, j0 + j), dcols);
                    dcols
                };
                let ys = col(y, j0 + j);
                let cj = alpha * c[j0 + j];
                self.routes::<T>(&args[j * m..(j + 1) * m], |ch, u, p, share| {
                    let v = cj * share * ys[ch * nu + u];
                    if v != T::zero() {
                        for (g, &xv) in gw[ch * kk..(ch + 1) * kk]
                            .iter_mut()
                            .zip(&xc[p * kk..(p + 1) * kk])
                        {
                            *g += v * xv;
                        }
                    }
                });
            }
        });
    }

    /// One convolution of `a` gives both `f_W(a)` (pooled into `fb`) and the pattern the
    /// feedback `J(a)ᵀ b` into `fa` is routed by.
    fn force_pair(
        &self,
        w: &[T],
        a: Block<'_, T>,
        b: Block<'_, T>,
        mut fa: BlockMut<'_, T>,
        mut fb: BlockMut<'_, T>,
        alpha: T,
    ) {
        let m = self.spec.channels * self.pooled();
        self.in_groups::<T>(a.ncols(), |j0, nb, g| {
            self.conv(w, a, j0, nb, g.cols, g.y);
            for j in 0..nb {
                let ob = col_mut(fb.as_mut(), j0 + j);
                let aj = &mut g.args[j * m..(j + 1) * m];
                match self.spec.pool_kind {
                    PoolKind::Max => self.pool_max(g.y, j, aj, Some((ob, true, alpha))),
                    PoolKind::Avg => self.pool_avg(g.y, j, ob, true, alpha),
                }
                let oa = col_mut(fa.as_mut(), j0 + j);
                self.feedback_in(w, g, j, col(b, j0 + j), oa, alpha);
            }
        });
    }
}
