//! Layered Hopfield energy with the hard sigmoid, as used by Equilibrium Propagation
//! (Scellier & Bengio 2017; the cSB-EqProp paper, arXiv 2606.09112).
//!
//! `E(s) = ½ Σ_i s_i² − Σ_l ρ(s_{l+1})ᵀ W_l ρ(s_l) − Σ_{i ∉ input} b_i ρ(s_i)`,
//! `ρ(s) = clip(s, 0, 1)`. The dynamics keep every unit inside the box `[0, 1]`
//! ([`Energy::bounds`]): projected gradient flow, the fixed-point iteration
//! `s_l ← ρ(W_{l−1} s_{l−1} + W_lᵀ s_{l+1} + b_l)` (its `dt = 1` case) and cSB with inelastic
//! walls. Inside the box `ρ(s) = s`, so this module implements the smooth energy
//! `E(s) = ½‖s‖² − Σ_l s_{l+1}ᵀ W_l s_l − bᵀ s` whose derivatives are exact there; the box is
//! the dynamics' business. Layer 0 is the (clamped) input, the last layer the output.
//!
//! This is the dense special case of [`crate::energy::layered::Layered`] (a chain of dense
//! couplings between flat layers), with fused kernels for it: a thin top pair relaxed in one
//! pass ([`thin`]) and the sparse input's drive and readout ([`sparse`]). `Layered` computes
//! the derivatives of such a chain with this type ([`crate::energy::layered::Layered::dense`]).

mod sparse;
mod thin;

use super::{Classifier, Energy, FastPaths, ParamBlock};
use crate::linalg::{gemm, view, view_mut};
use crate::real::Real;
use anyhow::ensure;
use faer::{MatMut, MatRef};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// A layered Hopfield network: sizes, weights `W_l` (`n_{l+1} × n_l`) and biases.
#[derive(Clone, Debug)]
pub struct Hopfield<T: Real> {
    sizes: Vec<usize>,
    offs: Vec<usize>,
    /// Offset of `W_l` in θ.
    w_off: Vec<usize>,
    /// Offset of `b_l` (l ≥ 1) in θ, indexed by `l − 1`.
    b_off: Vec<usize>,
    theta: Vec<T>,
    /// [`thin::pack`]ed copy of `W_l` for every pair whose upper layer is thin (else empty).
    packed: Vec<Vec<T>>,
    /// `W₀ᵀ` (`n₀ × n₁`), the rows the sparse input kernels sum ([`sparse`]).
    input_t: Vec<T>,
}

/// The lowest free layer of one sample in a force pass: read, or stepped in place by the
/// fused pair above it ([`FastPaths::grad_free_flow`]).
enum Lowest<'a, T> {
    Read(&'a [T]),
    Flow(&'a mut [T], thin::Flow<T>),
}

impl<T: Real> Hopfield<T> {
    /// A network of layer sizes `sizes` (input first) with Glorot-uniform weights drawn from
    /// `seed` and zero biases.
    pub fn new(sizes: &[usize], seed: u64) -> anyhow::Result<Self> {
        ensure!(
            sizes.len() >= 2,
            "a Hopfield network needs at least an input and an output layer (got sizes {sizes:?})"
        );
        ensure!(
            sizes.iter().all(|&n| n > 0),
            "every layer size must be > 0 (got {sizes:?})"
        );
        let weights: Option<usize> = sizes.windows(2).try_fold(0usize, |a, w| {
            a.checked_add(w[0].checked_mul(w[1])?.checked_add(w[1])?)
        });
        crate::mem::check(
            &format!("a Hopfield network of layer sizes {sizes:?}"),
            weights.map(|p| p as u128 * 2 * std::mem::size_of::<T>() as u128),
        )?;
        let mut offs = vec![0];
        for &n in sizes {
            offs.push(offs.last().unwrap() + n);
        }
        let mut p = 0;
        let mut w_off = vec![];
        for l in 0..sizes.len() - 1 {
            w_off.push(p);
            p += sizes[l + 1] * sizes[l];
        }
        let mut b_off = vec![];
        for &n in &sizes[1..] {
            b_off.push(p);
            p += n;
        }
        let mut theta = vec![T::zero(); p];
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x040F_1E1D);
        for l in 0..sizes.len() - 1 {
            let lim = (6.0 / (sizes[l] + sizes[l + 1]) as f64).sqrt();
            for v in &mut theta[w_off[l]..w_off[l] + sizes[l + 1] * sizes[l]] {
                *v = T::of(rand::Rng::random_range(&mut rng, -lim..lim));
            }
        }
        let mut net = Self {
            sizes: sizes.to_vec(),
            offs,
            w_off,
            b_off,
            theta,
            packed: vec![],
            input_t: vec![],
        };
        net.repack();
        Ok(net)
    }

    /// Layer sizes.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }
    /// Size of the clamped input layer.
    pub fn n_clamped(&self) -> usize {
        self.sizes[0]
    }
    /// Output layer as `(start, len)`.
    pub fn output_block(&self) -> (usize, usize) {
        let l = self.sizes.len() - 1;
        (self.offs[l], self.sizes[l])
    }
    /// Layer `l` as a coordinate range.
    pub fn layer(&self, l: usize) -> std::ops::Range<usize> {
        self.offs[l]..self.offs[l + 1]
    }

    /// Rebuilds the packed copies of the thin-layer couplings from θ.
    fn repack(&mut self) {
        self.pack_thin();
        let (r, c) = (self.sizes[1], self.sizes[0]);
        sparse::transpose(
            &self.theta[self.w_off[0]..][..r * c],
            r,
            c,
            &mut self.input_t,
        );
    }

    /// The packed copies of the thin layers' weights ([`thin::pack`]).
    fn pack_thin(&mut self) {
        self.packed.resize(self.sizes.len() - 1, vec![]);
        for (l, p) in self.packed.iter_mut().enumerate() {
            let (r, c) = (self.sizes[l + 1], self.sizes[l]);
            if r <= thin::MAX_THIN {
                thin::pack(&self.theta[self.w_off[l]..self.w_off[l] + r * c], r, c, p);
            }
        }
    }

    fn w(&self, l: usize) -> MatRef<'_, T> {
        let (r, c) = (self.sizes[l + 1], self.sizes[l]);
        MatRef::from_row_major_slice(&self.theta[self.w_off[l]..self.w_off[l] + r * c], r, c)
    }

    fn b(&self, l: usize) -> &[T] {
        &self.theta[self.b_off[l - 1]..self.b_off[l - 1] + self.sizes[l]]
    }

    /// `out_rows(layer l) += −(W_{l−1} s_{l−1} + W_lᵀ s_{l+1})` restricted to layers
    /// `first..` for both the written layer and the source layers; `out` is `B × (D − off)`
    /// with `off = offs[first]`.
    fn acc_couplings(&self, x: &[T], first: usize, out: &mut [T]) {
        self.couplings(x, first, out, true, |_| false);
    }

    /// The lowest free layer: 1 when the input layer is clamped (`nc > 0`), else 0.
    fn first_free(nc: usize) -> usize {
        usize::from(nc > 0)
    }

    /// Whether the coupling pair `(l, l + 1)` goes through the fused thin-layer kernel in
    /// [`Energy::grad_free`]: both layers free (`l ≥ first`) and the upper one thin.
    fn thin_pair(&self, l: usize, first: usize) -> bool {
        l >= first && l + 1 < self.sizes.len() && self.sizes[l + 1] <= thin::MAX_THIN
    }

    /// As [`Self::acc_couplings`], but with `accumulate = false` each layer's rows are
    /// overwritten by its first coupling product (a layer with no coupling is zeroed), so no
    /// separate clearing pass is needed; the pairs `(l, l + 1)` with `skip(l)` are left out.
    fn couplings(
        &self,
        x: &[T],
        first: usize,
        out: &mut [T],
        accumulate: bool,
        skip: impl Fn(usize) -> bool,
    ) {
        let d = self.offs[self.sizes.len()];
        let off = self.offs[first];
        let nf = d - off;
        let xv = view(x, d);
        let mut ov = view_mut(out, nf);
        let nl = self.sizes.len();
        for l in first..nl {
            let rows = self.offs[l] - off..self.offs[l + 1] - off;
            let mut acc = accumulate;
            if l > first && !skip(l - 1) {
                let src = xv.subrows(self.offs[l - 1], self.sizes[l - 1]);
                gemm(
                    ov.as_mut().subrows_mut(rows.start, rows.len()),
                    acc,
                    self.w(l - 1),
                    src,
                    -T::one(),
                );
                acc = true;
            }
            if l + 1 < nl && !skip(l) {
                let src = xv.subrows(self.offs[l + 1], self.sizes[l + 1]);
                gemm(
                    ov.as_mut().subrows_mut(rows.start, rows.len()),
                    acc,
                    self.w(l).transpose(),
                    src,
                    -T::one(),
                );
                acc = true;
            }
            if !acc {
                ov.as_mut()
                    .subrows_mut(rows.start, rows.len())
                    .fill(T::zero());
            }
        }
    }

    /// One sample's share of [`Energy::grad_free`] before the faer products: every free
    /// layer's `s + drive` and the fused thin pairs. `low` is the lowest free layer `first`,
    /// `upper` the sample's coordinates from layer `first + 1` on, `o` and `dr` its free rows
    /// (from `nc`). Returns the NaN detector of a [`Lowest::Flow`] step (else zero).
    fn sample_pass(
        &self,
        nc: usize,
        first: usize,
        low: Lowest<'_, T>,
        upper: &[T],
        dr: &[T],
        o: &mut [T],
    ) -> T {
        let nl = self.sizes.len();
        let up = self.offs[first + 1];
        let layer = |l: usize| &upper[self.offs[l] - up..self.offs[l + 1] - up];
        let thin = |l: usize| self.thin_pair(l, first);
        for l in (first..nl).filter(|&l| !thin(l)) {
            let s = match (&low, l == first) {
                (Lowest::Read(s), true) => *s,
                (Lowest::Flow(..), true) => unreachable!("a stepped layer has a thin pair"),
                (_, false) => layer(l),
            };
            let rf = self.offs[l] - nc..self.offs[l + 1] - nc;
            for ((o, &s), &dv) in o[rf.clone()].iter_mut().zip(s).zip(&dr[rf]) {
                *o = s + dv;
            }
        }
        let mut low = Some(low);
        let mut nan = T::zero();
        // Descending, so a thin layer that is itself the wide half of the pair above it is
        // written before the pair below accumulates into it.
        for l in (first..nl).rev().filter(|&l| thin(l)) {
            let (ra, rb) = (self.layer(l), self.layer(l + 1));
            let (oa, ob) = o.split_at_mut(rb.start - nc);
            let out = &mut oa[ra.start - nc..];
            // Layer `first` is the last (lowest) pair of the descending loop, so `low` is
            // still there when it comes.
            let wide = if l == first {
                match low.take().expect("one pair per wide layer") {
                    Lowest::Read(a) => thin::Wide::Force { a, out },
                    Lowest::Flow(a, flow) => thin::Wide::Flow { a, flow },
                }
            } else {
                thin::Wide::Force { a: layer(l), out }
            };
            let (r, c) = (self.sizes[l + 1], self.sizes[l]);
            nan += thin::pair(
                &self.theta[self.w_off[l]..self.w_off[l] + r * c],
                &self.packed[l],
                wide,
                &dr[ra.start - nc..ra.end - nc],
                layer(l + 1),
                &mut ob[..rb.len()],
            );
        }
        nan
    }

    /// `out += Σ_b w_b u_b v_bᵀ` into a row-major `rows × cols` block (`u`: rows × B, `v`: cols × B).
    fn acc_outer(out: &mut [T], u: MatRef<'_, T>, v: MatRef<'_, T>, w: &[T], scale: T) {
        let (rows, cols, n) = (u.nrows(), v.nrows(), u.ncols());
        T::with_scratch(cols * n, |buf| {
            let mut vw = MatMut::from_column_major_slice_mut(buf, cols, n);
            for (j, &wj) in w.iter().enumerate() {
                for i in 0..cols {
                    vw[(i, j)] = v[(i, j)] * wj;
                }
            }
            let o = MatMut::from_row_major_slice_mut(out, rows, cols);
            gemm(o, true, u, vw.as_ref().transpose(), scale);
        });
    }
}

impl<T: Real> Energy<T> for Hopfield<T> {
    fn dim(&self) -> usize {
        self.offs[self.sizes.len()]
    }

    fn params(&self) -> &[T] {
        &self.theta
    }

    fn set_params(&mut self, theta: &[T]) -> anyhow::Result<()> {
        super::check_params(
            "Hopfield network",
            || self.param_blocks(),
            theta,
            self.theta.len(),
        )?;
        // W₀ is copied in the pass that transposes it for the sparse drive; the rest here.
        let (r, c) = (self.sizes[1], self.sizes[0]);
        let w0 = self.w_off[0]..self.w_off[0] + r * c;
        self.theta[..w0.start].copy_from_slice(&theta[..w0.start]);
        self.theta[w0.end..].copy_from_slice(&theta[w0.end..]);
        sparse::transpose_copy(
            &theta[w0.clone()],
            r,
            c,
            &mut self.input_t,
            Some(&mut self.theta[w0]),
        );
        self.pack_thin();
        Ok(())
    }

    fn param_blocks(&self) -> Vec<ParamBlock> {
        let mut v = vec![];
        for l in 0..self.sizes.len() - 1 {
            v.push(ParamBlock {
                name: format!("W_{l}"),
                shape: vec![self.sizes[l + 1], self.sizes[l]],
                offset: self.w_off[l],
            });
        }
        for l in 1..self.sizes.len() {
            v.push(ParamBlock {
                name: format!("b_{l}"),
                shape: vec![self.sizes[l]],
                offset: self.b_off[l - 1],
            });
        }
        v
    }

    fn bounds(&self) -> Option<(f64, f64)> {
        Some((0.0, 1.0))
    }

    fn fast(&self) -> Option<&dyn FastPaths<T>> {
        Some(self)
    }

    fn energy(&self, x: &[T], out: &mut [T]) {
        let d = self.dim();
        let half = T::of(0.5);
        // E = ½‖s‖² − bᵀs + ½ sᵀ(∂E/∂s − s + b) over the couplings: use the coupling force.
        T::with_scratch(x.len(), |c| {
            self.acc_couplings(x, 0, c);
            for (b, o) in out.iter_mut().enumerate() {
                let xs = &x[b * d..(b + 1) * d];
                let cs = &c[b * d..(b + 1) * d];
                let mut e = T::zero();
                for i in 0..d {
                    e += half * xs[i] * xs[i] + half * xs[i] * cs[i];
                }
                for l in 1..self.sizes.len() {
                    for (&bi, &si) in self.b(l).iter().zip(&xs[self.layer(l)]) {
                        e -= bi * si;
                    }
                }
                *o = e;
            }
        });
    }

    fn clamped_drive(&self, x: &[T], nc: usize, drive: &mut [T]) {
        assert!(
            nc == 0 || nc == self.sizes[0],
            "Hopfield: the clamped prefix must be the whole input layer or nothing"
        );
        let d = self.dim();
        let nf = d - nc;
        let first = Self::first_free(nc);
        for db in drive.chunks_exact_mut(nf) {
            for l in first.max(1)..self.sizes.len() {
                let r = self.offs[l] - nc..self.offs[l + 1] - nc;
                for (o, &b) in db[r].iter_mut().zip(self.b(l)) {
                    *o = -b;
                }
            }
            if first == 0 {
                db[..self.sizes[0]].fill(T::zero());
            }
        }
        let r = self.sizes[1];
        if nc > 0 && !sparse::drive(x, d, nc, (&self.input_t, r), -T::one(), drive, nf) {
            let xin = view(x, d).subrows(0, nc);
            let mut dv = view_mut(drive, nf);
            gemm(
                dv.as_mut().subrows_mut(0, self.sizes[1]),
                true,
                self.w(0),
                xin,
                -T::one(),
            );
        }
    }

    /// `∂E/∂s` of the free layers: each layer's `s + drive`, minus its couplings. A thin
    /// upper layer (`≤ 16` units, like a classifier's output) and the layer below it go through
    /// one fused pass per sample (`thin::pair`, which also writes the wide layer's own term);
    /// every other layer starts from `s + drive` and gets its faer products on top.
    fn grad_free(&self, x: &[T], nc: usize, drive: &[T], out: &mut [T]) {
        let d = self.dim();
        let first = Self::first_free(nc);
        let nf = d - nc;
        for ((o, xs), dr) in out
            .chunks_exact_mut(nf)
            .zip(x.chunks_exact(d))
            .zip(drive.chunks_exact(nf))
        {
            let (lower, upper) = xs.split_at(self.offs[first + 1]);
            let low = Lowest::Read(&lower[self.offs[first]..]);
            self.sample_pass(nc, first, low, upper, dr, o);
        }
        self.couplings(x, first, out, true, |l| self.thin_pair(l, first));
    }

    fn hvp(&self, _x: &[T], v: &[T], out: &mut [T]) {
        out.fill(T::zero());
        self.acc_couplings(v, 0, out);
        for (o, &vi) in out.iter_mut().zip(v) {
            *o += vi;
        }
    }

    fn grad_theta(&self, x: &[T], w: &[T], out: &mut [T]) {
        let d = self.dim();
        let xv = view(x, d);
        for l in 0..self.sizes.len() - 1 {
            let (r, c) = (self.sizes[l + 1], self.sizes[l]);
            let u = xv.subrows(self.offs[l + 1], r);
            let v = xv.subrows(self.offs[l], c);
            Self::acc_outer(
                &mut out[self.w_off[l]..self.w_off[l] + r * c],
                u,
                v,
                w,
                -T::one(),
            );
        }
        for l in 1..self.sizes.len() {
            let (bo, n, lo) = (self.b_off[l - 1], self.sizes[l], self.offs[l]);
            for (xs, &wb) in x.chunks_exact(d).zip(w) {
                for (o, &s) in out[bo..bo + n].iter_mut().zip(&xs[lo..lo + n]) {
                    *o -= wb * s;
                }
            }
        }
    }

    fn grad_theta_dir(&self, x: &[T], v: &[T], w: &[T], out: &mut [T]) {
        let d = self.dim();
        let (xv, vv) = (view(x, d), view(v, d));
        for l in 0..self.sizes.len() - 1 {
            let (r, c) = (self.sizes[l + 1], self.sizes[l]);
            let o = &mut out[self.w_off[l]..self.w_off[l] + r * c];
            Self::acc_outer(
                o,
                vv.subrows(self.offs[l + 1], r),
                xv.subrows(self.offs[l], c),
                w,
                -T::one(),
            );
            Self::acc_outer(
                o,
                xv.subrows(self.offs[l + 1], r),
                vv.subrows(self.offs[l], c),
                w,
                -T::one(),
            );
        }
        for l in 1..self.sizes.len() {
            let (bo, n, lo) = (self.b_off[l - 1], self.sizes[l], self.offs[l]);
            for (vs, &wb) in v.chunks_exact(d).zip(w) {
                for (o, &s) in out[bo..bo + n].iter_mut().zip(&vs[lo..lo + n]) {
                    *o -= wb * s;
                }
            }
        }
    }
}

/// The shared-input readout, the input-free energy and the fused gradient-flow step.
impl<T: Real> FastPaths<T> for Hopfield<T> {
    /// `E = ½‖s‖² + s_freeᵀ drive + ½ s_freeᵀ C s_free`, with `C` the couplings among free
    /// layers: the input layer's product is already in the drive.
    fn energy_free(&self, x: &[T], nc: usize, drive: &[T], out: &mut [T]) {
        if nc == 0 {
            return self.energy(x, out);
        }
        let d = self.dim();
        let nf = d - nc;
        T::with_scratch(out.len() * nf, |c| {
            self.couplings(x, 1, c, false, |_| false);
            for (b, o) in out.iter_mut().enumerate() {
                let xs = &x[b * d..(b + 1) * d];
                let (cs, ds) = (&c[b * nf..(b + 1) * nf], &drive[b * nf..(b + 1) * nf]);
                let input = T::of(crate::real::half_sq_norm_f64(&xs[..nc]));
                *o = input + crate::real::quad_lin_sum(&xs[nc..], ds, cs);
            }
        });
    }
    /// The lowest free layer, when a thin layer sits right above it (e.g. the hidden layer of
    /// a 784-500-10 net with its input clamped): its only free neighbour is that thin layer,
    /// so the fused pair has its whole force and steps it in place.
    fn flow_prefix(&self, nc: usize) -> usize {
        let first = Self::first_free(nc);
        if self.thin_pair(first, first) {
            self.sizes[first]
        } else {
            0
        }
    }
    fn grad_free_flow(
        &self,
        x: &mut [T],
        nc: usize,
        drive: &[T],
        step: crate::energy::FlowStep<T>,
        out: &mut [T],
    ) -> T {
        let crate::energy::FlowStep { dt, lo, hi } = step;
        if self.flow_prefix(nc) == 0 {
            self.grad_free(x, nc, drive, out);
            return T::zero();
        }
        let d = self.dim();
        let first = Self::first_free(nc);
        let nf = d - nc;
        let flow = thin::Flow { dt, lo, hi };
        let mut nan = T::zero();
        for ((o, xs), dr) in out
            .chunks_exact_mut(nf)
            .zip(x.chunks_exact_mut(d))
            .zip(drive.chunks_exact(nf))
        {
            let (lower, upper) = xs.split_at_mut(self.offs[first + 1]);
            let low = Lowest::Flow(&mut lower[self.offs[first]..], flow);
            nan += self.sample_pass(nc, first, low, upper, dr, o);
        }
        // The stepped layer's only coupling is the fused pair, so no product below reads it.
        self.couplings(x, first, out, true, |l| self.thin_pair(l, first));
        nan
    }
    /// The first layer's readout is `−(ca s₁ᵃ + cb s₁ᵇ) x₀ᵀ` when both batches share the clamped
    /// input `x₀`: one product over the input instead of two.
    fn grad_theta_pair(
        &self,
        xa: &[T],
        xb: &[T],
        nc: usize,
        w: &[T],
        (ca, cb): (T, T),
        out: &mut [T],
    ) {
        let d = self.dim();
        let n = w.len();
        if nc != self.sizes[0] {
            // No shared input: the generic two-readout form.
            let wa: Vec<T> = w.iter().map(|&v| ca * v).collect();
            let wb: Vec<T> = w.iter().map(|&v| cb * v).collect();
            self.grad_theta(xa, &wa, out);
            self.grad_theta(xb, &wb, out);
            return;
        }
        let (xav, xbv) = (view(xa, d), view(xb, d));
        let (r, c) = (self.sizes[1], self.sizes[0]);
        T::with_scratch(r * n, |u| {
            for (b, &wb) in w.iter().enumerate() {
                let (sa, sb) = (
                    &xa[b * d + self.offs[1]..b * d + self.offs[2]],
                    &xb[b * d + self.offs[1]..b * d + self.offs[2]],
                );
                for ((o, &pa), &pb) in u[b * r..(b + 1) * r].iter_mut().zip(sa).zip(sb) {
                    *o = wb * (ca * pa + cb * pb);
                }
            }
            let o = &mut out[self.w_off[0]..self.w_off[0] + r * c];
            if !sparse::readout(xa, d, c, u, r, -T::one(), o) {
                let o = MatMut::from_row_major_slice_mut(o, r, c);
                let uv = MatRef::from_column_major_slice(u, r, n);
                gemm(o, true, uv, xav.subrows(0, c).transpose(), -T::one());
            }
        });
        T::with_scratch(2 * n, |wab| {
            let (wa, wb) = wab.split_at_mut(n);
            for ((a, b), &v) in wa.iter_mut().zip(wb.iter_mut()).zip(w) {
                *a = ca * v;
                *b = cb * v;
            }
            for l in 1..self.sizes.len() - 1 {
                let (r, c) = (self.sizes[l + 1], self.sizes[l]);
                let o = &mut out[self.w_off[l]..self.w_off[l] + r * c];
                for (xv, ww) in [(xav, &*wa), (xbv, &*wb)] {
                    Self::acc_outer(
                        o,
                        xv.subrows(self.offs[l + 1], r),
                        xv.subrows(self.offs[l], c),
                        ww,
                        -T::one(),
                    );
                }
            }
            for l in 1..self.sizes.len() {
                let (bo, n, lo) = (self.b_off[l - 1], self.sizes[l], self.offs[l]);
                for (x, ww) in [(xa, &*wa), (xb, &*wb)] {
                    for (xs, &wv) in x.chunks_exact(d).zip(ww) {
                        for (o, &s) in out[bo..bo + n].iter_mut().zip(&xs[lo..lo + n]) {
                            *o -= wv * s;
                        }
                    }
                }
            }
        });
    }
}

impl<T: Real> Classifier<T> for Hopfield<T> {
    fn n_clamped(&self) -> usize {
        self.sizes[0]
    }
    fn output_block(&self) -> (usize, usize) {
        let l = self.sizes.len() - 1;
        (self.offs[l], self.sizes[l])
    }
    fn describe(&self) -> String {
        let s: Vec<String> = self.sizes.iter().map(|n| n.to_string()).collect();
        s.join(" → ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sparse input kernels inside the network: with a mostly-zero input, the clamped
    /// drive is `−b − W₀x` and the paired readout is the sum of the two plain readouts.
    #[test]
    fn a_sparse_input_gives_the_dense_drive_and_readout() {
        let sizes = [40, 9, 3];
        let net = Hopfield::<f64>::new(&sizes, 7).unwrap();
        let (d, nc, n) = (net.dim(), 40, 4);
        let mut rng = crate::dynamics::NoiseKey::new(1, 2).rng(0, 0);
        let mut state = |zero: f64| -> Vec<f64> {
            (0..n * d)
                .map(|k| {
                    let v: f64 = rand::Rng::random(&mut rng);
                    if k % d < nc && v < zero { 0.0 } else { v }
                })
                .collect()
        };
        let xa = state(0.8);
        let mut xb = state(0.0);
        for b in 0..n {
            xb[b * d..b * d + nc].copy_from_slice(&xa[b * d..b * d + nc]);
        }
        let nf = d - nc;
        let mut drive = vec![0.0; n * nf];
        net.clamped_drive(&xa, nc, &mut drive);
        let w0 = net.w(0);
        for b in 0..n {
            for j in 0..sizes[1] {
                let e: f64 = (0..nc).map(|i| w0[(j, i)] * xa[b * d + i]).sum();
                let want = -net.b(1)[j] - e;
                assert!((drive[b * nf + j] - want).abs() < 1e-12, "drive {b} {j}");
            }
        }
        let w = [0.25, 0.5, 1.0, 2.0];
        let mut pair = vec![0.0; net.n_params()];
        net.grad_theta_pair(&xa, &xb, nc, &w, (0.7, -1.3), &mut pair);
        let mut plain = vec![0.0; net.n_params()];
        let scaled = |c: f64| w.iter().map(|v| c * v).collect::<Vec<_>>();
        net.grad_theta(&xa, &scaled(0.7), &mut plain);
        net.grad_theta(&xb, &scaled(-1.3), &mut plain);
        for (k, (p, q)) in pair.iter().zip(&plain).enumerate() {
            assert!((p - q).abs() < 1e-12, "readout entry {k}: {p} vs {q}");
        }
    }
}
