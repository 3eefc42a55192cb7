//! The bilinear low-rank Langevin substrate of the symmetric-EqProp paper
//! ("Symmetric Equilibrium Propagation for Thermodynamic Diffusion Training", arXiv 2604.23806).
//!
//! `E_θ(x) = Σ_i (½ a x_i² + ¼ c x_i⁴) − Σ_{i free} h_i x_i + Σ_{(m,m')} x^(m)ᵀ U_mm' V_mm'ᵀ x^(m')`
//!
//! (paper eq. for `E_θ` in §3–4, with the self-energy `E0` made explicit as the paper's setup
//! suggests: stiffness `a > 0`, quartic `c ≥ 0`, bias `h`; the quartic term makes symmetric
//! EqProp inexact so that its `O(β²)` bias is visible). The state is `L` modules laid out one
//! after another; the first `input_modules` modules are the input block `I` (clamped to the
//! noisy datum), the last `output_modules` are the output block `O` (the score readout), the
//! rest hidden. Trainable parameters θ: every `U_mm'`, `V_mm'` (`d_m × k`, `d_m' × k`) and the
//! bias `h` of the free cells. The couplings are assembled once per parameter update into the
//! dense symmetric operator `J` (`E_coupling = ½ xᵀ J x`), so one step of the whole batch is a
//! single GEMM; for `k ≪ d` a factored product would be cheaper and is left for later.

use super::{Energy, ParamBlock};
use crate::linalg::{gemm, view, view_mut};
use crate::real::Real;
use anyhow::{Context, bail, ensure};
use faer::{Mat, MatMut, MatRef, Side};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// Configuration of the bilinear substrate (TOML table `[substrate]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BilinearConfig {
    /// Module sizes `d_m` (the paper: four modules of 16, `D = 64`).
    pub modules: Vec<usize>,
    /// How many leading modules form the clamped input block.
    pub input_modules: usize,
    /// How many trailing modules form the output (score readout) block.
    pub output_modules: usize,
    /// Coupling rank `k`.
    pub rank: usize,
    /// Coupled module pairs `[m, m']` with `m < m'`; omitted means all pairs.
    #[serde(default)]
    pub pairs: Option<Vec<[usize; 2]>>,
    /// Quadratic self-energy coefficient `a` (stiffness), must be > 0.
    pub stiffness: f64,
    /// Quartic self-energy coefficient `c`, must be ≥ 0.
    pub quartic: f64,
    /// Spectral norm of the initial coupling operator `J`, as a fraction of `stiffness`
    /// (below 1 keeps the initial energy strongly convex).
    pub init_coupling: f64,
    /// Standard deviation of the initial biases `h`.
    #[serde(default)]
    pub init_bias: f64,
}

impl Default for BilinearConfig {
    fn default() -> Self {
        Self {
            modules: vec![16; 4],
            input_modules: 1,
            output_modules: 1,
            rank: 16,
            pairs: None,
            stiffness: 1.0,
            quartic: 0.5,
            init_coupling: 0.6,
            init_bias: 0.0,
        }
    }
}

impl BilinearConfig {
    /// Checks the configuration, with errors that name the offending key.
    pub fn validate(&self) -> anyhow::Result<()> {
        ensure!(
            !self.modules.is_empty(),
            "substrate.modules must list at least one module"
        );
        ensure!(
            self.modules.iter().all(|&d| d > 0),
            "substrate.modules: every module size must be > 0 (got {:?})",
            self.modules
        );
        let l = self.modules.len();
        ensure!(
            self.input_modules + self.output_modules <= l && self.output_modules > 0,
            "substrate.input_modules ({}) + substrate.output_modules ({}) must be ≤ the number of modules ({l}), with at least one output module",
            self.input_modules,
            self.output_modules
        );
        ensure!(
            self.stiffness.is_finite() && self.stiffness > 0.0,
            "substrate.stiffness must be > 0 (got {}): the self-energy must be strongly convex",
            self.stiffness
        );
        ensure!(
            self.quartic.is_finite() && self.quartic >= 0.0,
            "substrate.quartic must be ≥ 0 (got {})",
            self.quartic
        );
        ensure!(self.rank > 0, "substrate.rank must be > 0");
        // Every module pair holds two d_m × k factors: at most 2·L·d·k parameters.
        let d = self
            .modules
            .iter()
            .try_fold(0usize, |a, &m| a.checked_add(m));
        let params = d.and_then(|d| crate::mem::product(&[2, self.modules.len(), d, self.rank]));
        crate::mem::check(
            &format!(
                "substrate.modules = {:?} with rank {}",
                self.modules, self.rank
            ),
            params.map(|p| p as u128 * 4 * 8),
        )?;
        ensure!(
            self.init_coupling.is_finite() && self.init_coupling >= 0.0,
            "substrate.init_coupling must be ≥ 0 (got {})",
            self.init_coupling
        );
        ensure!(
            self.init_bias.is_finite() && self.init_bias >= 0.0,
            "substrate.init_bias must be ≥ 0"
        );
        let pairs = self.pair_list();
        ensure!(
            !pairs.is_empty(),
            "substrate.pairs is empty: no module is coupled"
        );
        for (i, &[m, mp]) in pairs.iter().enumerate() {
            ensure!(
                m < mp && mp < l,
                "substrate.pairs[{i}] = [{m}, {mp}]: need m < m' < {l}"
            );
            ensure!(
                self.rank <= self.modules[m].min(self.modules[mp]),
                "substrate.rank = {} exceeds the size of module {m} or {mp}",
                self.rank
            );
            ensure!(
                !pairs[..i].contains(&[m, mp]),
                "substrate.pairs lists [{m}, {mp}] twice"
            );
        }
        Ok(())
    }

    /// The coupled pairs (all `m < m'` when none are listed).
    pub fn pair_list(&self) -> Vec<[usize; 2]> {
        match &self.pairs {
            Some(p) => p.clone(),
            None => {
                let l = self.modules.len();
                (0..l)
                    .flat_map(|m| (m + 1..l).map(move |mp| [m, mp]))
                    .collect()
            }
        }
    }

    /// State dimension `D`.
    pub fn dim(&self) -> usize {
        self.modules.iter().sum()
    }
    /// Size of the clamped input block (a prefix).
    pub fn input_dim(&self) -> usize {
        self.modules[..self.input_modules].iter().sum()
    }
    /// Size of the output block (a suffix).
    pub fn output_dim(&self) -> usize {
        self.modules[self.modules.len() - self.output_modules..]
            .iter()
            .sum()
    }
}

#[derive(Clone, Debug)]
struct Pair {
    m: usize,
    mp: usize,
    off_m: usize,
    off_mp: usize,
    d_m: usize,
    d_mp: usize,
    u_off: usize,
    v_off: usize,
}

/// The bilinear substrate with its parameters and the assembled coupling operator.
#[derive(Clone, Debug)]
pub struct Bilinear<T: Real> {
    cfg: BilinearConfig,
    d: usize,
    nc: usize,
    k: usize,
    pairs: Vec<Pair>,
    h_off: usize,
    theta: Vec<T>,
    a: T,
    c: T,
    /// Dense symmetric coupling operator `J` (`D × D`).
    j: Mat<T>,
    /// `h` padded with zeros over the clamped prefix (length `D`).
    h_full: Vec<T>,
}

impl<T: Real> Bilinear<T> {
    /// Builds the substrate with parameters drawn from `seed` (see [`BilinearConfig`]).
    pub fn new(cfg: &BilinearConfig, seed: u64) -> anyhow::Result<Self> {
        cfg.validate()?;
        let k = cfg.rank;
        let mut offs = vec![0usize];
        for &dm in &cfg.modules {
            offs.push(offs.last().unwrap() + dm);
        }
        let mut pairs = Vec::new();
        let mut p = 0;
        for [m, mp] in cfg.pair_list() {
            let (d_m, d_mp) = (cfg.modules[m], cfg.modules[mp]);
            pairs.push(Pair {
                m,
                mp,
                off_m: offs[m],
                off_mp: offs[mp],
                d_m,
                d_mp,
                u_off: p,
                v_off: p + d_m * k,
            });
            p += (d_m + d_mp) * k;
        }
        let d = cfg.dim();
        let nc = cfg.input_dim();
        let n = p + (d - nc);
        let mut s = Self {
            cfg: cfg.clone(),
            d,
            nc,
            k,
            pairs,
            h_off: p,
            theta: vec![T::zero(); n],
            a: T::of(cfg.stiffness),
            c: T::of(cfg.quartic),
            j: Mat::zeros(d, d),
            h_full: vec![T::zero(); d],
        };
        // Random U, V, then rescale so that ‖J‖₂ = init_coupling · stiffness.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0xB111_7EA5);
        let mut th: Vec<f64> = (0..n).map(|_| f64::randn(&mut rng)).collect();
        for v in &mut th[p..] {
            *v *= cfg.init_bias;
        }
        let th_t: Vec<T> = th.iter().map(|&v| T::of(v)).collect();
        s.set_params(&th_t)?;
        let norm = s.coupling_norm();
        if norm > 0.0 {
            let f = (cfg.init_coupling * cfg.stiffness / norm).sqrt();
            for v in &mut th[..p] {
                *v *= f;
            }
        }
        let th_t: Vec<T> = th.iter().map(|&v| T::of(v)).collect();
        s.set_params(&th_t)?;
        Ok(s)
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &BilinearConfig {
        &self.cfg
    }
    /// Size of the clamped input prefix.
    pub fn n_clamped(&self) -> usize {
        self.nc
    }
    /// Output block as `(start, len)`.
    pub fn output_block(&self) -> (usize, usize) {
        let o = self.cfg.output_dim();
        (self.d - o, o)
    }
    /// Range of the coupling parameters (all `U`, `V`) in θ.
    pub fn coupling_range(&self) -> std::ops::Range<usize> {
        0..self.h_off
    }
    /// Spectral norm of the coupling operator `J`.
    pub fn coupling_norm(&self) -> f64 {
        let jf = Mat::<f64>::from_fn(self.d, self.d, |i, j| self.j[(i, j)].f64());
        jf.self_adjoint_eigenvalues(Side::Lower)
            .map(|e| e.iter().fold(0.0f64, |m, &x| m.max(x.abs())))
            .unwrap_or(f64::NAN)
    }
    /// Multiply-accumulates of one force evaluation of one sample with the factored couplings
    /// (what a digital implementation of the same substrate would do): `2 (d_m + d_m') k` per
    /// pair plus the self-energy.
    pub fn macs_per_force(&self) -> usize {
        self.pairs
            .iter()
            .map(|p| 2 * (p.d_m + p.d_mp) * self.k)
            .sum::<usize>()
            + 3 * self.d
    }
    /// The assembled `J`.
    pub fn coupling_matrix(&self) -> MatRef<'_, T> {
        self.j.as_ref()
    }

    fn rebuild(&mut self) {
        let k = self.k;
        self.j.fill(T::zero());
        for p in &self.pairs {
            let u =
                MatRef::from_row_major_slice(&self.theta[p.u_off..p.u_off + p.d_m * k], p.d_m, k);
            let v =
                MatRef::from_row_major_slice(&self.theta[p.v_off..p.v_off + p.d_mp * k], p.d_mp, k);
            let mut w = Mat::<T>::zeros(p.d_m, p.d_mp);
            gemm(w.as_mut(), false, u, v.transpose(), T::one());
            self.j
                .as_mut()
                .submatrix_mut(p.off_m, p.off_mp, p.d_m, p.d_mp)
                .copy_from(w.as_ref());
            self.j
                .as_mut()
                .submatrix_mut(p.off_mp, p.off_m, p.d_mp, p.d_m)
                .copy_from(w.transpose());
        }
        self.h_full[..self.nc].fill(T::zero());
        self.h_full[self.nc..].copy_from_slice(&self.theta[self.h_off..]);
    }

    /// `out += A · diag(w) · (M_mᵀ B)ᵀ` for one parameter block: `A` is `d1 × n`, `B` is
    /// `d2 × n`, `M` (`d2 × k`, row-major) is the partner factor, `out` is `d1 × k` row-major.
    fn acc_outer(out: &mut [T], a: MatRef<'_, T>, b: MatRef<'_, T>, m: &[T], k: usize, w: &[T]) {
        let d2 = b.nrows();
        let n = b.ncols();
        let mm = MatRef::from_row_major_slice(m, d2, k);
        T::with_scratch(k * n, |buf| {
            let mut p = MatMut::from_column_major_slice_mut(buf, k, n);
            gemm(p.as_mut(), false, mm.transpose(), b, T::one());
            for (j, &wj) in w.iter().enumerate() {
                for r in 0..k {
                    p[(r, j)] *= wj;
                }
            }
            let o = MatMut::from_row_major_slice_mut(out, a.nrows(), k);
            gemm(o, true, a, p.as_ref().transpose(), T::one());
        });
    }
}

impl<T: Real> Energy<T> for Bilinear<T> {
    fn dim(&self) -> usize {
        self.d
    }

    fn params(&self) -> &[T] {
        &self.theta
    }

    fn set_params(&mut self, theta: &[T]) -> anyhow::Result<()> {
        if theta.len() != self.theta.len() {
            bail!(
                "bilinear substrate: parameter vector has length {}, expected {}",
                theta.len(),
                self.theta.len()
            );
        }
        if let Some(i) = crate::real::first_non_finite(theta) {
            let b = self
                .param_blocks()
                .into_iter()
                .find(|b| i >= b.offset && i < b.offset + b.len())
                .map(|b| b.name)
                .unwrap_or_default();
            return Err(anyhow::anyhow!("non-finite parameter value at index {i}"))
                .with_context(|| format!("bilinear substrate: parameter {b} is NaN or Inf"));
        }
        self.theta.copy_from_slice(theta);
        self.rebuild();
        Ok(())
    }

    fn param_blocks(&self) -> Vec<ParamBlock> {
        let mut v = Vec::new();
        for p in &self.pairs {
            v.push(ParamBlock {
                name: format!("U_{}_{}", p.m, p.mp),
                shape: vec![p.d_m, self.k],
                offset: p.u_off,
            });
            v.push(ParamBlock {
                name: format!("V_{}_{}", p.m, p.mp),
                shape: vec![p.d_mp, self.k],
                offset: p.v_off,
            });
        }
        v.push(ParamBlock {
            name: "h".into(),
            shape: vec![self.d - self.nc],
            offset: self.h_off,
        });
        v
    }

    fn energy(&self, x: &[T], out: &mut [T]) {
        let d = self.d;
        let (half, quarter) = (T::of(0.5), T::of(0.25));
        T::with_scratch(x.len(), |jx| {
            gemm(
                view_mut(jx, d),
                false,
                self.j.as_ref(),
                view(x, d),
                T::one(),
            );
            for (b, o) in out.iter_mut().enumerate() {
                let xs = &x[b * d..(b + 1) * d];
                let js = &jx[b * d..(b + 1) * d];
                let mut e = T::zero();
                for i in 0..d {
                    let xi = xs[i];
                    let x2 = xi * xi;
                    e += half * self.a * x2 + quarter * self.c * x2 * x2 - self.h_full[i] * xi
                        + half * xi * js[i];
                }
                *o = e;
            }
        });
    }

    fn clamped_drive(&self, x: &[T], nc: usize, drive: &mut [T]) {
        let d = self.d;
        let nf = d - nc;
        let n = x.len() / d;
        for b in 0..n {
            for (o, &h) in drive[b * nf..(b + 1) * nf]
                .iter_mut()
                .zip(&self.h_full[nc..])
            {
                *o = -h;
            }
        }
        if nc > 0 {
            let jfc = self.j.as_ref().submatrix(nc, 0, nf, nc);
            gemm(
                view_mut(drive, nf),
                true,
                jfc,
                view(x, d).subrows(0, nc),
                T::one(),
            );
        }
    }

    fn grad_free(&self, x: &[T], nc: usize, drive: &[T], out: &mut [T]) {
        let d = self.d;
        let nf = d - nc;
        out.copy_from_slice(drive);
        let jff = self.j.as_ref().submatrix(nc, nc, nf, nf);
        gemm(
            view_mut(out, nf),
            true,
            jff,
            view(x, d).subrows(nc, nf),
            T::one(),
        );
        let (a, c) = (self.a, self.c);
        for (o, xs) in out.chunks_exact_mut(nf).zip(x.chunks_exact(d)) {
            for (o, &xi) in o.iter_mut().zip(&xs[nc..]) {
                *o += xi * (a + c * xi * xi);
            }
        }
    }

    fn hvp(&self, x: &[T], v: &[T], out: &mut [T]) {
        let d = self.d;
        gemm(
            view_mut(out, d),
            false,
            self.j.as_ref(),
            view(v, d),
            T::one(),
        );
        let (a, c3) = (self.a, T::of(3.0) * self.c);
        for ((o, &xi), &vi) in out.iter_mut().zip(x).zip(v) {
            *o += (a + c3 * xi * xi) * vi;
        }
    }

    fn grad_theta(&self, x: &[T], w: &[T], out: &mut [T]) {
        let d = self.d;
        let k = self.k;
        let xv = view(x, d);
        for p in &self.pairs {
            let xm = xv.subrows(p.off_m, p.d_m);
            let xmp = xv.subrows(p.off_mp, p.d_mp);
            let (u, v) = (
                &self.theta[p.u_off..p.v_off],
                &self.theta[p.v_off..p.v_off + p.d_mp * k],
            );
            // ∂E/∂U = x^(m) (Vᵀ x^(m'))ᵀ,  ∂E/∂V = x^(m') (Uᵀ x^(m))ᵀ.
            Self::acc_outer(&mut out[p.u_off..p.v_off], xm, xmp, v, k, w);
            Self::acc_outer(&mut out[p.v_off..p.v_off + p.d_mp * k], xmp, xm, u, k, w);
        }
        let oh = &mut out[self.h_off..];
        for (xs, &wb) in x.chunks_exact(d).zip(w) {
            for (o, &xi) in oh.iter_mut().zip(&xs[self.nc..]) {
                *o -= wb * xi;
            }
        }
    }

    fn grad_theta_dir(&self, x: &[T], v: &[T], w: &[T], out: &mut [T]) {
        let d = self.d;
        let k = self.k;
        let (xv, vv) = (view(x, d), view(v, d));
        for p in &self.pairs {
            let (xm, xmp) = (xv.subrows(p.off_m, p.d_m), xv.subrows(p.off_mp, p.d_mp));
            let (vm, vmp) = (vv.subrows(p.off_m, p.d_m), vv.subrows(p.off_mp, p.d_mp));
            let (u, vf) = (
                &self.theta[p.u_off..p.v_off],
                &self.theta[p.v_off..p.v_off + p.d_mp * k],
            );
            Self::acc_outer(&mut out[p.u_off..p.v_off], vm, xmp, vf, k, w);
            Self::acc_outer(&mut out[p.u_off..p.v_off], xm, vmp, vf, k, w);
            Self::acc_outer(&mut out[p.v_off..p.v_off + p.d_mp * k], vmp, xm, u, k, w);
            Self::acc_outer(&mut out[p.v_off..p.v_off + p.d_mp * k], xmp, vm, u, k, w);
        }
        let oh = &mut out[self.h_off..];
        for (vs, &wb) in v.chunks_exact(d).zip(w) {
            for (o, &vi) in oh.iter_mut().zip(&vs[self.nc..]) {
                *o -= wb * vi;
            }
        }
    }
}
