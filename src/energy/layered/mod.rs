//! A layered Hopfield energy built from couplings between layers of any shape: the energy of
//! deep convolutional Hopfield networks (Ernoult et al. 2019; Laborieux et al. 2021, "Scaling
//! Equilibrium Propagation to deep ConvNets", eq. 5; Scellier et al. 2023, "Energy-based
//! learning algorithms for analog computing", whose energy is a sum of interactions).
//!
//! `E(s) = ½ Σ_l ‖s_l‖² − Σ_l b_lᵀ s_l − Σ_{(a→b)} ⟨f_W(s_a), s_b⟩` over the layers `s_l`
//! (feature maps `C × H × W` or flat vectors, see [`Shape`]) and the couplings `a → b`
//! ([`Coupling`]: [`Dense`], [`ConvPool`]). A map layer's bias is per channel (shared over
//! positions, as PyTorch's `Conv2d` bias), a flat layer's per unit. Units are hard sigmoids
//! `ρ(s) = clip(s, 0, 1)`: as for [`crate::energy::hopfield::Hopfield`], the box `[0, 1]` is
//! the dynamics' business ([`Energy::bounds`]) and this module implements the energy inside
//! it. Layer 0 is the clamped input, the last layer the output. The output layer may instead
//! be linear ([`OutputUnits::Linear`], [`Layered::with_output`]): outside the box, so its
//! equilibrium is `W s + b` (the output layer of Scellier et al.'s energy-based-learning
//! code, "Energy-based learning algorithms for analog computing", NeurIPS 2023). A
//! hard-sigmoid output whose drive is below `−β` for every sample of its class receives no
//! EqProp signal in either nudged phase and stays dead; a linear one cannot.
//!
//! A chain of dense couplings between flat layers (the MLP, [`Layered::is_dense_chain`]) is
//! computed by the fused kernels of [`crate::energy::hopfield`] instead of coupling by
//! coupling; [`Layered::generic`] turns that off.

mod conv;
mod coupling;
mod dense;
mod shape;

pub use conv::{ConvPool, ConvSpec, PoolKind};
pub use coupling::{Block, BlockMut, Coupling};
pub use dense::{Dense, DenseInit};
pub use shape::Shape;

use super::hopfield::Hopfield;
use super::{Classifier, Energy, FastPaths, ParamBlock};
use crate::linalg::{view, view_mut};
use crate::real::Real;
use anyhow::ensure;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// One stage of a layered network: the coupling from the current top layer to a new layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stage {
    /// A convolution followed by pooling, onto a feature map.
    Conv(ConvSpec),
    /// A dense coupling onto `units` flat units.
    Dense {
        /// Units of the new layer.
        units: usize,
        /// How its weights are drawn.
        init: DenseInit,
    },
}

/// The units of the output layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputUnits {
    /// Hard sigmoids in `[0, 1]`, as every hidden layer (the default).
    #[default]
    HardSigmoid,
    /// Linear units, unbounded.
    Linear,
}

/// A coupling and where it sits: from layer `from` to layer `to`, weights at `w_off` in θ.
#[derive(Debug)]
struct Link<T> {
    from: usize,
    to: usize,
    w_off: usize,
    coupling: Box<dyn Coupling<T>>,
}

/// A layered Hopfield network of any couplings (see the module docs).
#[derive(Debug)]
pub struct Layered<T: Real> {
    shapes: Vec<Shape>,
    offs: Vec<usize>,
    links: Vec<Link<T>>,
    /// Offset of layer `l`'s bias (`l ≥ 1`) in θ, indexed by `l − 1`.
    b_off: Vec<usize>,
    theta: Vec<T>,
    output: OutputUnits,
    /// The fused kernels of a chain of dense couplings between flat layers
    /// ([`Layered::is_dense_chain`]): every derivative of such a net is computed by them
    /// instead of coupling by coupling (see [`Layered::generic`]). They hold θ, and `theta`
    /// above is stale while they are attached.
    chain: Option<Box<Hopfield<T>>>,
}

impl<T: Real> Layered<T> {
    /// A chain of `stages` on an `input` layer, weights drawn from `seed` (each coupling's
    /// own initialisation) and zero biases. Shapes that do not chain are refused with a
    /// message naming the layer.
    pub fn new(input: Shape, stages: &[Stage], seed: u64) -> anyhow::Result<Self> {
        ensure!(
            !stages.is_empty(),
            "a layered network needs at least one coupling"
        );
        ensure!(!input.is_empty(), "the input layer {input} has no unit");
        let mut shapes = vec![input];
        let mut couplings: Vec<Box<dyn Coupling<T>>> = vec![];
        for (i, st) in stages.iter().enumerate() {
            let below = *shapes.last().unwrap();
            let name = format!("layer {} ({})", i + 1, stage_name(st));
            let c: Box<dyn Coupling<T>> = match *st {
                Stage::Conv(spec) => Box::new(ConvPool::new(&name, below, spec)?),
                Stage::Dense { units, init } => {
                    ensure!(units > 0, "{name}: a dense layer needs at least one unit");
                    Box::new(Dense::with_init(below, units, init))
                }
            };
            shapes.push(c.output());
            couplings.push(c);
        }
        let chain = couplings
            .into_iter()
            .enumerate()
            .map(|(i, c)| (i, i + 1, c));
        Self::from_links(shapes, chain.collect(), seed)
    }

    /// A network of layers `shapes` and couplings `(from, to, coupling)` with `from < to`,
    /// each coupling's shapes matching its layers.
    pub fn from_links(
        shapes: Vec<Shape>,
        couplings: Vec<(usize, usize, Box<dyn Coupling<T>>)>,
        seed: u64,
    ) -> anyhow::Result<Self> {
        let mut offs = vec![0];
        for s in &shapes {
            offs.push(offs.last().unwrap() + s.len());
        }
        let mut p = 0usize;
        let mut links = vec![];
        for (from, to, c) in couplings {
            ensure!(
                from < to && to < shapes.len(),
                "coupling {from} → {to}: needs from < to < {} layers",
                shapes.len()
            );
            ensure!(
                c.input() == shapes[from] && c.output() == shapes[to],
                "coupling {from} → {to} ({}) maps {} to {}, but the layers are {} and {}",
                c.kind(),
                c.input(),
                c.output(),
                shapes[from],
                shapes[to]
            );
            links.push(Link {
                from,
                to,
                w_off: p,
                coupling: c,
            });
            p += links.last().unwrap().coupling.n_weights();
        }
        let mut b_off = vec![];
        for s in &shapes[1..] {
            b_off.push(p);
            p += s.c;
        }
        crate::mem::check(
            &format!("a layered network of layers {}", shape_list(&shapes)),
            Some(p as u128 * 2 * std::mem::size_of::<T>() as u128),
        )?;
        let mut theta = vec![T::zero(); p];
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x1A7E_12ED);
        for l in &links {
            let n = l.coupling.n_weights();
            l.coupling.init(&mut rng, &mut theta[l.w_off..l.w_off + n]);
        }
        let mut net = Self {
            shapes,
            offs,
            links,
            b_off,
            theta,
            output: OutputUnits::HardSigmoid,
            chain: None,
        };
        net.attach_chain()?;
        Ok(net)
    }

    /// The dense Hopfield net of layer sizes `sizes` (input first): a chain of dense
    /// couplings with the weights [`Hopfield::new`] draws from `seed` (Glorot-uniform, its
    /// own random stream), so an MLP run reproduces the dense net's runs bit for bit. It is
    /// relaxed and read out by the fused dense-chain kernels.
    pub fn dense(sizes: &[usize], seed: u64) -> anyhow::Result<Self> {
        let h = Hopfield::<T>::new(sizes, seed)?;
        let stages: Vec<Stage> = sizes[1..]
            .iter()
            .map(|&units| Stage::Dense {
                units,
                init: DenseInit::Glorot,
            })
            .collect();
        let mut net = Self::new(Shape::flat(sizes[0]), &stages, seed)?;
        net.chain = Some(Box::new(h));
        Ok(net)
    }

    /// True when the network is a chain of dense couplings between flat layers, layer `l`
    /// to `l + 1`, with a hard-sigmoid output: the dense Hopfield net of
    /// `energy::hopfield`, whose fused kernels (the thin top pair stepped in one pass, the
    /// sparse input's drive and readout) then compute its derivatives.
    pub fn is_dense_chain(&self) -> bool {
        self.output == OutputUnits::HardSigmoid
            && self.shapes.iter().all(Shape::is_flat)
            && self.links.len() + 1 == self.shapes.len()
            && self
                .links
                .iter()
                .enumerate()
                .all(|(i, l)| l.from == i && l.to == i + 1 && l.coupling.kind() == "dense")
    }

    /// Builds the dense-chain kernels when [`Layered::is_dense_chain`] (else drops them).
    fn attach_chain(&mut self) -> anyhow::Result<()> {
        self.chain = None;
        if self.is_dense_chain() {
            let sizes: Vec<usize> = self.shapes.iter().map(Shape::len).collect();
            let mut h = Hopfield::<T>::new(&sizes, 0)?;
            h.set_params(&self.theta)?;
            self.chain = Some(Box::new(h));
        }
        Ok(())
    }

    /// This network computed coupling by coupling even when it is a dense chain (the
    /// reference the fused kernels are tested against, and for benchmarks).
    pub fn generic(mut self) -> Self {
        if let Some(h) = self.chain.take() {
            self.theta.copy_from_slice(h.params());
        }
        self
    }

    /// True when the fused dense-chain kernels compute this network's derivatives.
    pub fn uses_dense_chain(&self) -> bool {
        self.chain.is_some()
    }

    /// This network with output units `output` (a linear output leaves the dense-chain
    /// kernels, which assume hard-sigmoid units throughout).
    pub fn with_output(mut self, output: OutputUnits) -> Self {
        self.output = output;
        if output == OutputUnits::HardSigmoid {
            self
        } else {
            self.generic()
        }
    }

    /// The units of the output layer.
    pub fn output(&self) -> OutputUnits {
        self.output
    }

    /// The layers' shapes, input first.
    pub fn shapes(&self) -> &[Shape] {
        &self.shapes
    }

    /// The couplings as `(from, to, coupling)`.
    pub fn couplings(&self) -> impl Iterator<Item = (usize, usize, &dyn Coupling<T>)> {
        self.links.iter().map(|l| (l.from, l.to, &*l.coupling))
    }

    /// Layer `l` as a coordinate range.
    pub fn layer(&self, l: usize) -> std::ops::Range<usize> {
        self.offs[l]..self.offs[l + 1]
    }

    fn weights(&self, l: &Link<T>) -> &[T] {
        &self.theta[l.w_off..l.w_off + l.coupling.n_weights()]
    }

    fn bias(&self, l: usize) -> &[T] {
        &self.theta[self.b_off[l - 1]..self.b_off[l - 1] + self.shapes[l].c]
    }

    /// The lowest free layer: 1 when the input layer is clamped (`nc > 0`), else 0.
    fn first_free(&self, nc: usize) -> usize {
        assert!(
            nc == 0 || nc == self.shapes[0].len(),
            "layered network: the clamped prefix must be the whole input layer or nothing"
        );
        usize::from(nc > 0)
    }

    /// Layer `l` of a batch of stride `d`.
    fn block<'a>(&self, x: &'a [T], d: usize, l: usize) -> Block<'a, T> {
        view(x, d).subrows(self.offs[l], self.shapes[l].len())
    }

    /// `out_l += Σ_links −J(at_from)ᵀ v_to` and `out_to += −J(at_from) v_from` over all
    /// coordinates (the coupling part of the Hessian–vector product).
    fn hvp_links(&self, at: &[T], v: &[T], out: &mut [T]) {
        let d = self.dim();
        for l in &self.links {
            let w = self.weights(l);
            let a = self.block(at, d, l.from);
            let mut ov = view_mut(out, d);
            let (top, bot) = ov.as_mut().split_at_row_mut(self.offs[l.to]);
            let fa = top.subrows_mut(self.offs[l.from], self.shapes[l.from].len());
            let fb = bot.subrows_mut(0, self.shapes[l.to].len());
            l.coupling
                .apply_t(w, a, self.block(v, d, l.to), fa, -T::one());
            l.coupling
                .apply(w, a, self.block(v, d, l.from), fb, true, -T::one());
        }
    }

    /// `out += −Σ_j c_j ∂E_couplings/∂W` at `x` (links whose lower layer is below `first`
    /// are left out) and the biases' `−Σ_j c_j Σ_pos s`.
    fn readout(&self, x: &[T], c: &[T], first: usize, out: &mut [T]) {
        let d = self.dim();
        for l in self.links.iter().filter(|l| l.from >= first) {
            let a = self.block(x, d, l.from);
            let n = l.coupling.n_weights();
            l.coupling.grad_w(
                self.weights(l),
                a,
                a,
                self.block(x, d, l.to),
                c,
                (&mut out[l.w_off..l.w_off + n], -T::one()),
            );
        }
        self.bias_readout(x, c, out);
    }

    /// `out_b −= Σ_j c_j Σ_pos v_l[c, pos]` for every layer's bias.
    fn bias_readout(&self, v: &[T], c: &[T], out: &mut [T]) {
        let d = self.dim();
        for l in 1..self.shapes.len() {
            let (bo, s) = (self.b_off[l - 1], self.shapes[l]);
            for (vs, &cj) in v.chunks_exact(d).zip(c) {
                let layer = &vs[self.layer(l)];
                for (ch, o) in out[bo..bo + s.c].iter_mut().enumerate() {
                    let sum: T = layer[ch * s.area()..(ch + 1) * s.area()]
                        .iter()
                        .copied()
                        .sum();
                    *o -= cj * sum;
                }
            }
        }
    }

    /// `Σ_links ⟨f_W(s_a), s_b⟩` per sample into `out` (links below `first` left out).
    fn coupling_energy(&self, x: &[T], first: usize, out: &mut [T]) {
        let d = self.dim();
        out.fill(T::zero());
        for l in self.links.iter().filter(|l| l.from >= first) {
            let nb = self.shapes[l.to].len();
            let n = out.len();
            let mut f = vec![T::zero(); nb * n];
            let a = self.block(x, d, l.from);
            let fv = view_mut(&mut f, nb);
            l.coupling.apply(self.weights(l), a, a, fv, false, T::one());
            for (j, o) in out.iter_mut().enumerate() {
                let sb = &x[j * d + self.offs[l.to]..j * d + self.offs[l.to + 1]];
                *o += crate::linalg::dot(&f[j * nb..(j + 1) * nb], sb);
            }
        }
    }
}

fn stage_name(s: &Stage) -> String {
    match s {
        Stage::Conv(c) => format!(
            "conv {k}×{k}, {} channels{}",
            c.channels,
            if c.pool > 1 {
                format!(", {:?} pool {q}×{q}", c.pool_kind, q = c.pool).to_lowercase()
            } else {
                String::new()
            },
            k = c.kernel
        ),
        Stage::Dense { units, .. } => format!("dense {units}"),
    }
}

fn shape_list(s: &[Shape]) -> String {
    s.iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(" → ")
}

impl<T: Real> Energy<T> for Layered<T> {
    fn dim(&self) -> usize {
        self.offs[self.shapes.len()]
    }

    /// θ (held by the dense-chain kernels when they are attached; `self.theta` is then stale).
    fn params(&self) -> &[T] {
        match &self.chain {
            Some(h) => h.params(),
            None => &self.theta,
        }
    }

    fn set_params(&mut self, theta: &[T]) -> anyhow::Result<()> {
        if let Some(h) = &mut self.chain {
            // The same layout and names; one check and one copy per write, as the dense net.
            return h.set_params(theta);
        }
        super::check_params(
            "layered network",
            || self.param_blocks(),
            theta,
            self.theta.len(),
        )?;
        self.theta.copy_from_slice(theta);
        Ok(())
    }

    /// `W_i` for coupling `i` (PyTorch layout), `b_l` for layer `l ≥ 1` (one per channel).
    fn param_blocks(&self) -> Vec<ParamBlock> {
        let mut v: Vec<ParamBlock> = self
            .links
            .iter()
            .enumerate()
            .map(|(i, l)| ParamBlock {
                name: format!("W_{i}"),
                shape: l.coupling.weight_shape(),
                offset: l.w_off,
            })
            .collect();
        for l in 1..self.shapes.len() {
            v.push(ParamBlock {
                name: format!("b_{l}"),
                shape: vec![self.shapes[l].c],
                offset: self.b_off[l - 1],
            });
        }
        v
    }

    fn bounds(&self) -> Option<(f64, f64)> {
        Some((0.0, 1.0))
    }

    /// Every unit but a linear output layer's.
    fn box_end(&self) -> usize {
        match self.output {
            OutputUnits::HardSigmoid => self.dim(),
            OutputUnits::Linear => self.offs[self.shapes.len() - 1],
        }
    }

    fn fast(&self) -> Option<&dyn FastPaths<T>> {
        match &self.chain {
            Some(h) => h.fast(),
            None => Some(self),
        }
    }

    fn energy(&self, x: &[T], out: &mut [T]) {
        if let Some(h) = &self.chain {
            return h.energy(x, out);
        }
        let d = self.dim();
        self.coupling_energy(x, 0, out);
        let half = T::of(0.5);
        for (o, xs) in out.iter_mut().zip(x.chunks_exact(d)) {
            let mut e = xs.iter().fold(T::zero(), |a, &v| a + half * v * v) - *o;
            for l in 1..self.shapes.len() {
                let s = self.shapes[l];
                let layer = &xs[self.layer(l)];
                for (ch, &b) in self.bias(l).iter().enumerate() {
                    let sum: T = layer[ch * s.area()..(ch + 1) * s.area()]
                        .iter()
                        .copied()
                        .sum();
                    e -= b * sum;
                }
            }
            *o = e;
        }
    }

    fn clamped_drive(&self, x: &[T], nc: usize, drive: &mut [T]) {
        if let Some(h) = &self.chain {
            return h.clamped_drive(x, nc, drive);
        }
        let first = self.first_free(nc);
        let d = self.dim();
        let nf = d - nc;
        for db in drive.chunks_exact_mut(nf) {
            if first == 0 {
                db[..self.shapes[0].len()].fill(T::zero());
            }
            for l in 1..self.shapes.len() {
                let s = self.shapes[l];
                let r = &mut db[self.offs[l] - nc..self.offs[l + 1] - nc];
                for (ch, &b) in self.bias(l).iter().enumerate() {
                    r[ch * s.area()..(ch + 1) * s.area()].fill(-b);
                }
            }
        }
        for l in self.links.iter().filter(|l| l.from < first) {
            let a = self.block(x, d, l.from);
            let mut dv = view_mut(drive, nf);
            let out = dv
                .as_mut()
                .subrows_mut(self.offs[l.to] - nc, self.shapes[l.to].len());
            l.coupling
                .apply(self.weights(l), a, a, out, true, -T::one());
        }
    }

    /// `∂E/∂s_free = s + drive − Σ_{free couplings} (J(s_a)ᵀ s_b, f_W(s_a))`, each coupling's
    /// two halves in one [`Coupling::force_pair`].
    fn grad_free(&self, x: &[T], nc: usize, drive: &[T], out: &mut [T]) {
        if let Some(h) = &self.chain {
            return h.grad_free(x, nc, drive, out);
        }
        let first = self.first_free(nc);
        let d = self.dim();
        let nf = d - nc;
        for ((o, xs), dr) in out
            .chunks_exact_mut(nf)
            .zip(x.chunks_exact(d))
            .zip(drive.chunks_exact(nf))
        {
            for ((o, &s), &dv) in o.iter_mut().zip(&xs[nc..]).zip(dr) {
                *o = s + dv;
            }
        }
        for l in self.links.iter().filter(|l| l.from >= first) {
            let mut ov = view_mut(out, nf);
            let (top, bot) = ov.as_mut().split_at_row_mut(self.offs[l.to] - nc);
            let fa = top.subrows_mut(self.offs[l.from] - nc, self.shapes[l.from].len());
            let fb = bot.subrows_mut(0, self.shapes[l.to].len());
            l.coupling.force_pair(
                self.weights(l),
                self.block(x, d, l.from),
                self.block(x, d, l.to),
                fa,
                fb,
                -T::one(),
            );
        }
    }

    fn hvp(&self, x: &[T], v: &[T], out: &mut [T]) {
        if let Some(h) = &self.chain {
            return h.hvp(x, v, out);
        }
        out.copy_from_slice(v);
        self.hvp_links(x, v, out);
    }

    fn grad_theta(&self, x: &[T], w: &[T], out: &mut [T]) {
        if let Some(h) = &self.chain {
            return h.grad_theta(x, w, out);
        }
        self.readout(x, w, 0, out);
    }

    fn grad_theta_dir(&self, x: &[T], v: &[T], w: &[T], out: &mut [T]) {
        if let Some(h) = &self.chain {
            return h.grad_theta_dir(x, v, w, out);
        }
        let d = self.dim();
        for l in &self.links {
            let (a, va) = (self.block(x, d, l.from), self.block(v, d, l.from));
            let n = l.coupling.n_weights();
            let g = &mut out[l.w_off..l.w_off + n];
            let wt = self.weights(l);
            l.coupling
                .grad_w(wt, a, va, self.block(x, d, l.to), w, (&mut *g, -T::one()));
            l.coupling
                .grad_w(wt, a, a, self.block(v, d, l.to), w, (g, -T::one()));
        }
        self.bias_readout(v, w, out);
    }
}

/// The input-free energy and the shared-input readout.
impl<T: Real> FastPaths<T> for Layered<T> {
    /// `E = ½‖s‖² + s_freeᵀ drive − Σ_{free couplings} ⟨f_W(s_a), s_b⟩`: the input's
    /// couplings and the biases are in the drive.
    fn energy_free(&self, x: &[T], nc: usize, drive: &[T], out: &mut [T]) {
        if let Some(h) = &self.chain {
            return h.energy_free(x, nc, drive, out);
        }
        if nc == 0 {
            return self.energy(x, out);
        }
        let first = self.first_free(nc);
        let d = self.dim();
        let nf = d - nc;
        self.coupling_energy(x, first, out);
        let half = T::of(0.5);
        for ((o, xs), ds) in out
            .iter_mut()
            .zip(x.chunks_exact(d))
            .zip(drive.chunks_exact(nf))
        {
            let mut e = xs.iter().fold(T::zero(), |a, &v| a + half * v * v) - *o;
            e += crate::linalg::dot(&xs[nc..], ds);
            *o = e;
        }
    }
    /// The couplings out of the shared clamped input are read once, with
    /// `ca s_bᵃ + cb s_bᵇ` as the upper state (their pattern depends on the input only).
    fn grad_theta_pair(
        &self,
        xa: &[T],
        xb: &[T],
        nc: usize,
        w: &[T],
        (ca, cb): (T, T),
        out: &mut [T],
    ) {
        if let Some(h) = &self.chain {
            return h.grad_theta_pair(xa, xb, nc, w, (ca, cb), out);
        }
        let first = self.first_free(nc);
        let d = self.dim();
        let n = w.len();
        for l in self.links.iter().filter(|l| l.from < first) {
            let (lo, len) = (self.offs[l.to], self.shapes[l.to].len());
            T::with_scratch(len * n, |y| {
                for j in 0..n {
                    let (sa, sb) = (&xa[j * d + lo..][..len], &xb[j * d + lo..][..len]);
                    for ((o, &p), &q) in y[j * len..(j + 1) * len].iter_mut().zip(sa).zip(sb) {
                        *o = ca * p + cb * q;
                    }
                }
                let a = self.block(xa, d, l.from);
                let nw = l.coupling.n_weights();
                l.coupling.grad_w(
                    self.weights(l),
                    a,
                    a,
                    view(y, len),
                    w,
                    (&mut out[l.w_off..l.w_off + nw], -T::one()),
                );
            });
        }
        T::with_scratch(2 * n, |buf| {
            let (wa, wb) = buf.split_at_mut(n);
            for ((a, b), &v) in wa.iter_mut().zip(wb.iter_mut()).zip(w) {
                *a = ca * v;
                *b = cb * v;
            }
            self.readout(xa, wa, first, out);
            self.readout(xb, wb, first, out);
        });
    }
}

impl<T: Real> Classifier<T> for Layered<T> {
    fn n_clamped(&self) -> usize {
        self.shapes[0].len()
    }
    fn output_block(&self) -> (usize, usize) {
        let l = self.shapes.len() - 1;
        (self.offs[l], self.shapes[l].len())
    }
    fn describe(&self) -> String {
        match self.output {
            OutputUnits::HardSigmoid => shape_list(&self.shapes),
            OutputUnits::Linear => format!("{} (linear output)", shape_list(&self.shapes)),
        }
    }
}

/// Checks that a network of `stages` on `input` chains, without allocating its weights:
/// the shapes of its layers, or the error naming the layer that does not fit.
pub fn check_stages(input: Shape, stages: &[Stage]) -> anyhow::Result<Vec<Shape>> {
    let mut shapes = vec![input];
    for (i, st) in stages.iter().enumerate() {
        let below = *shapes.last().unwrap();
        let name = format!("layer {} ({})", i + 1, stage_name(st));
        let out = match *st {
            Stage::Conv(spec) => Coupling::<f32>::output(&ConvPool::new(&name, below, spec)?),
            Stage::Dense { units, .. } => {
                ensure!(units > 0, "{name}: a dense layer needs at least one unit");
                Shape::flat(units)
            }
        };
        shapes.push(out);
    }
    Ok(shapes)
}
