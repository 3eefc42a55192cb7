//! Score matching for a physical diffusion model whose score is a force, `−∇Ê_θ(t)/k_BT ≈
//! ∇ log p_t` (Bösch et al. 2025): the local force-matching rule (paper eq. 8),
//! denoising score matching (for comparison) and the exact quadratic-form oracle (CD1 lives
//! in [`super::cd1`]; each is a [`crate::learn::Rule`], and the sequential per-time-point
//! trainer of the driving protocol is [`crate::train::protocol::train_protocol`]).
//!
//! **Objective.** Hyvärinen score matching with the model score `s = −∇Ê/k_BT`:
//! `J_SM = E_{x ~ p_t}[ ½‖∇Ê‖²/(k_BT)² − Tr ∇²Ê / k_BT ]`. The paper's eq. 7 prints
//! `J_SM = −E{Tr ∇²Ê/k_BT + ½‖∇Ê‖²/(k_BT)²}`, a stray overall sign and a wrong relative
//! sign (that objective is unbounded below); its gradient, eq. 8, is the correct one:
//! `dJ/dθ_i = E[ Σ_n ∂_n φ_i · ∂_n Ê /(k_BT)² − Δφ_i / k_BT ]` with `φ_i = ∂Ê/∂θ_i`.
//! It is local: `∂_n Ê` is the force measured on oscillator `n` with the network clamped at
//! the sample, and `∂_n φ_i`, `Δφ_i` are fixed polynomials of the oscillators parameter `i`
//! touches. Eq. 9 (the Duffing example, `E[−3x_n²/k_BT + x_n³ f_n/(k_BT)²]`) is this
//! `dJ_SM/dβ_n`; the paper labels it `dJ_CD1/dβ_n` by mistake.
//!
//! **Quadratic form.** Since `Ê = Σ_i θ_i φ_i`, `J_SM = ½ θᵀAθ − bᵀθ` exactly, with
//! `A_ij = E[∇φ_i·∇φ_j]/(k_BT)²`, `b_i = E[Δφ_i]/k_BT` ([`QuadraticForm`]); its minimiser
//! under `γ_n ≥ γ_min` is what every local rule should converge to.
//!
//! **DSM.** With `x_t = e^{−t} x_0 + σ_t ε`, `σ_t² = k_BT (1 − e^{−2t})`, the conditional
//! score is `−ε/σ_t` and `J_DSM = E ½‖∇Ê(x_t)/k_BT − ε/σ_t‖²` (unweighted; it equals `J_SM`
//! of the noised data up to a θ-independent constant, and Adam is invariant to the
//! per-time-point weighting). Its gradient is local too: the measured force minus a target.
//!
//! All batch gradients are cut into chunks of [`CHUNK`] samples processed in parallel into
//! per-chunk partial sums that are added in chunk order: the result does not depend on the
//! number of threads.

use crate::dynamics::NoiseKey;
use crate::dynamics::langevin::CHUNK;
use crate::energy::oscillator::LinearEnergy;
use crate::real::Real;
use anyhow::{bail, ensure};
use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// The learning rule used by [`train_protocol`].
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ScoreRule {
    /// Local force matching, the score-matching gradient of eq. 8 ([`force_matching_grad`]).
    ForceMatching,
    /// Contrastive divergence with one step, eqs. 10–12 ([`super::cd1::cd1_grad`]).
    Cd1,
    /// Denoising score matching ([`dsm_grad`]).
    Dsm,
}

impl From<ScoreRule> for crate::learn::rule::RuleKind {
    fn from(r: ScoreRule) -> Self {
        match r {
            ScoreRule::ForceMatching => Self::ForceMatching,
            ScoreRule::Cd1 => Self::Cd1,
            ScoreRule::Dsm => Self::Dsm,
        }
    }
}

/// Reusable buffers of the batch gradients (per-chunk partial sums).
#[derive(Default)]
pub struct ScoreWorkspace<T> {
    pub(crate) partial: Vec<T>,
}

impl<T: Real> ScoreWorkspace<T> {
    /// An empty workspace (grows on first use).
    pub fn new() -> Self {
        Self {
            partial: Vec::new(),
        }
    }
}

/// Runs `f(chunk, samples, partial)` for every chunk of [`CHUNK`] samples out of `n`
/// (in parallel when there is more than one), each into its own zeroed `np`-long partial
/// sum, then writes the chunk-ordered total into `out`. Deterministic for any thread count.
pub(crate) fn chunked_sum<T: Real>(
    n: usize,
    np: usize,
    ws: &mut ScoreWorkspace<T>,
    out: &mut [f64],
    f: impl Fn(usize, Range<usize>, &mut [T]) + Sync,
) {
    let nchunks = n.div_ceil(CHUNK).max(1);
    ws.partial.clear();
    ws.partial.resize(nchunks * np, T::zero());
    let run = |(ci, p): (usize, &mut [T])| {
        f(ci, ci * CHUNK..((ci + 1) * CHUNK).min(n), p);
    };
    if nchunks > 1 {
        ws.partial.par_chunks_mut(np).enumerate().for_each(run);
    } else {
        ws.partial.chunks_mut(np).enumerate().for_each(run);
    }
    out.fill(0.0);
    for p in ws.partial.chunks_exact(np) {
        for (o, &v) in out.iter_mut().zip(p) {
            *o += v.f64();
        }
    }
}

/// `∇_x Ê` of a sample-major chunk into `force`, using `drive` as scratch.
#[inline]
pub(crate) fn force_into<T: Real, E: LinearEnergy<T> + ?Sized>(
    e: &E,
    x: &[T],
    drive: &mut [T],
    force: &mut [T],
) {
    e.clamped_drive(x, 0, drive);
    e.grad_free(x, 0, drive, force);
}

/// Per-sample score-matching terms and their mean: `J_SM` of eq. 7 (sign corrected, see the
/// module docs) on the batch `x`, `mean_b[½‖∇Ê(x_b)‖²/(k_BT)² − Tr ∇²Ê(x_b)/k_BT]`.
/// Not a hot path (allocates).
pub fn sm_objective<T: Real, E: LinearEnergy<T> + ?Sized>(e: &E, x: &[T], kt: f64) -> f64 {
    let d = e.dim();
    let b = x.len() / d;
    let mut drive = vec![T::zero(); x.len()];
    let mut force = vec![T::zero(); x.len()];
    force_into(e, x, &mut drive, &mut force);
    let mut lap = vec![T::zero(); b];
    e.laplacian(x, &mut lap);
    let mut s = 0.0;
    for (f, l) in force.chunks_exact(d).zip(&lap) {
        let f2: f64 = f.iter().map(|v| v.f64() * v.f64()).sum();
        s += 0.5 * f2 / (kt * kt) - l.f64() / kt;
    }
    s / b as f64
}

/// The local force-matching rule (paper eq. 8): `out = dJ_SM/dθ`, the batch mean of
/// `Σ_n ∂_nφ_i(x) F_n(x)/(k_BT)² − Δφ_i(x)/k_BT` where `F = ∇Ê(x)` is the force measured on
/// the clamped oscillators. Overwrites `out` (length `n_params`); no allocation once `ws`
/// and the per-thread scratch have grown.
pub fn force_matching_grad<T: Real, E: LinearEnergy<T> + ?Sized>(
    e: &E,
    x: &[T],
    kt: f64,
    ws: &mut ScoreWorkspace<T>,
    out: &mut [f64],
) {
    let d = e.dim();
    let b = x.len() / d;
    let c_force = T::of(1.0 / (b as f64 * kt * kt));
    let c_lap = T::of(-1.0 / (b as f64 * kt));
    chunked_sum(b, e.n_params(), ws, out, |_, r, part| {
        let nb = r.len();
        let xc = &x[r.start * d..r.end * d];
        T::with_scratch(2 * nb * d + nb, |buf| {
            let (drive, rest) = buf.split_at_mut(nb * d);
            let (force, w) = rest.split_at_mut(nb * d);
            force_into(e, xc, drive, force);
            w.fill(c_force);
            e.grad_theta_dir(xc, force, w, part);
            w.fill(c_lap);
            e.grad_theta_laplacian(xc, w, part);
        });
    });
}

/// `σ_t = sqrt(k_BT (1 − e^{−2t}))`, the noise scale of the forward process
/// `dx = −x dt + sqrt(2 k_BT) dw` (paper eq. 1) after time `t`.
pub fn forward_sigma(t: f64, kt: f64) -> f64 {
    (kt * (-(-2.0 * t).exp_m1())).max(0.0).sqrt()
}

/// A time `t` of the forward process `dx = −x dt + sqrt(2 k_BT) dw` (paper eq. 1) at bath
/// temperature `k_BT`: `x_t = e^{−t} x_0 + σ_t ε`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Forward {
    /// Diffusion time.
    pub t: f64,
    /// `k_BT`.
    pub kt: f64,
}

impl Forward {
    /// `σ_t` ([`forward_sigma`]).
    pub fn sigma(self) -> f64 {
        forward_sigma(self.t, self.kt)
    }
}

/// Fills a batch of noised data `x_t = e^{−t} x_0 + σ_t ε` (`xt.len() / d` samples; `x_0`
/// drawn uniformly with replacement from the sample-major `data`, `ε ~ N(0, I)` written to
/// `eps`). Chunk `c` of [`CHUNK`] samples draws from `key.rng(step, c)`: deterministic and
/// thread-count independent.
pub fn noise_batch<T: Real>(
    data: &[T],
    d: usize,
    at: Forward,
    key: NoiseKey,
    step: u64,
    xt: &mut [T],
    eps: &mut [T],
) {
    let m = data.len() / d;
    assert!(m > 0, "noise_batch: empty data set");
    let decay = T::of((-at.t).exp());
    let sigma = T::of(at.sigma());
    let fill = |(ci, (xc, ec)): (usize, (&mut [T], &mut [T]))| {
        let mut rng = key.rng(step, ci as u64);
        for (xs, es) in xc.chunks_exact_mut(d).zip(ec.chunks_exact_mut(d)) {
            let j = rng.random_range(0..m);
            let x0 = &data[j * d..(j + 1) * d];
            for ((x, e), &x0) in xs.iter_mut().zip(es.iter_mut()).zip(x0) {
                *e = T::randn(&mut rng);
                *x = decay * x0 + sigma * *e;
            }
        }
    };
    if xt.len() > CHUNK * d {
        xt.par_chunks_mut(CHUNK * d)
            .zip(eps.par_chunks_mut(CHUNK * d))
            .enumerate()
            .for_each(fill);
    } else {
        xt.chunks_mut(CHUNK * d)
            .zip(eps.chunks_mut(CHUNK * d))
            .enumerate()
            .for_each(fill);
    }
}

/// The DSM objective on a noised batch: `mean_b ½‖∇Ê(x_t)/k_BT − ε/σ‖²` (allocates).
pub fn dsm_objective<T: Real, E: LinearEnergy<T> + ?Sized>(
    e: &E,
    xt: &[T],
    eps: &[T],
    sigma: f64,
    kt: f64,
) -> f64 {
    let d = e.dim();
    let b = xt.len() / d;
    let mut drive = vec![T::zero(); xt.len()];
    let mut force = vec![T::zero(); xt.len()];
    force_into(e, xt, &mut drive, &mut force);
    let s: f64 = force
        .iter()
        .zip(eps)
        .map(|(f, e)| {
            let r = f.f64() / kt - e.f64() / sigma;
            0.5 * r * r
        })
        .sum();
    s / b as f64
}

/// Denoising score matching: `out = dJ_DSM/dθ = mean_b Σ_n ∂_nφ_i(x_t) (F_n/k_BT − ε_n/σ)/k_BT`
/// with `F = ∇Ê(x_t)`. Overwrites `out`.
pub fn dsm_grad<T: Real, E: LinearEnergy<T> + ?Sized>(
    e: &E,
    xt: &[T],
    eps: &[T],
    sigma: f64,
    kt: f64,
    ws: &mut ScoreWorkspace<T>,
    out: &mut [f64],
) {
    let d = e.dim();
    let b = xt.len() / d;
    let (ikt, isig) = (T::of(1.0 / kt), T::of(1.0 / sigma));
    let cw = T::of(1.0 / (b as f64 * kt));
    chunked_sum(b, e.n_params(), ws, out, |_, r, part| {
        let nb = r.len();
        let xc = &xt[r.start * d..r.end * d];
        let ec = &eps[r.start * d..r.end * d];
        T::with_scratch(2 * nb * d + nb, |buf| {
            let (drive, rest) = buf.split_at_mut(nb * d);
            let (force, w) = rest.split_at_mut(nb * d);
            force_into(e, xc, drive, force);
            for (f, &ep) in force.iter_mut().zip(ec) {
                *f = *f * ikt - ep * isig;
            }
            w.fill(cw);
            e.grad_theta_dir(xc, force, w, part);
        });
    });
}

/// `J_SM(θ) = ½ θᵀAθ − bᵀθ` on a fixed batch (Bösch et al. 2025): `A_ij = mean_b ∇φ_i·∇φ_j/(k_BT)²`,
/// `b_i = mean_b Δφ_i/k_BT`. The exact oracle for the local rules (dense, `O(n_params²)`
/// memory; building it costs `O(B · Σ_n k_n²)` with `k_n` the features touching oscillator
/// `n`; [`QuadraticForm::minimise`] costs a dense solve per active-set change).
#[derive(Clone, Debug)]
pub struct QuadraticForm {
    /// `A` (symmetric positive semi-definite).
    pub a: Mat<f64>,
    /// `b`.
    pub b: Vec<f64>,
}

impl QuadraticForm {
    /// Builds `A`, `b` from the batch `x` of the energy's features.
    pub fn from_samples<T: Real, E: LinearEnergy<T> + ?Sized>(e: &E, x: &[T], kt: f64) -> Self {
        let d = e.dim();
        let np = e.n_params();
        let nb = x.len() / d;
        let scale = 1.0 / (nb as f64 * kt * kt);
        let mut a = Mat::<f64>::zeros(np, np);
        let mut jac = Vec::new();
        let mut by_coord: Vec<Vec<(usize, f64)>> = vec![Vec::new(); d];
        for xs in x.chunks_exact(d) {
            e.feature_jacobian(xs, &mut jac);
            by_coord.iter_mut().for_each(Vec::clear);
            for &(i, n, v) in &jac {
                by_coord[n].push((i, v.f64()));
            }
            for list in &by_coord {
                for &(i, vi) in list {
                    for &(j, vj) in list {
                        a[(i, j)] += scale * vi * vj;
                    }
                }
            }
        }
        let mut bt = vec![T::zero(); np];
        e.grad_theta_laplacian(x, &vec![T::of(1.0 / (nb as f64 * kt)); nb], &mut bt);
        Self {
            a,
            b: bt.iter().map(|v| v.f64()).collect(),
        }
    }

    /// Number of parameters.
    pub fn dim(&self) -> usize {
        self.b.len()
    }

    /// `½ θᵀAθ − bᵀθ`.
    pub fn value(&self, theta: &[f64]) -> f64 {
        let g = self.a_times(theta);
        theta
            .iter()
            .zip(&g)
            .zip(&self.b)
            .map(|((t, g), b)| 0.5 * t * g - b * t)
            .sum()
    }

    /// The gradient `Aθ − b`.
    pub fn grad(&self, theta: &[f64]) -> Vec<f64> {
        let mut g = self.a_times(theta);
        for (g, b) in g.iter_mut().zip(&self.b) {
            *g -= b;
        }
        g
    }

    fn a_times(&self, theta: &[f64]) -> Vec<f64> {
        let n = self.dim();
        (0..n)
            .map(|i| (0..n).map(|j| self.a[(i, j)] * theta[j]).sum())
            .collect()
    }

    /// Largest violation of the KKT conditions of `min J s.t. θ ≥ lower` at `θ`:
    /// `|∂J/∂θ_i|` where `θ_i` is off its bound, `max(0, −∂J/∂θ_i)` where it is at the bound,
    /// and `lower_i − θ_i` where infeasible.
    pub fn kkt_residual(&self, theta: &[f64], lower: &[f64]) -> f64 {
        let g = self.grad(theta);
        let mut r = 0.0f64;
        for i in 0..self.dim() {
            let at = lower[i].is_finite() && theta[i] <= lower[i] + 1e-12 * (1.0 + lower[i].abs());
            r = r.max((lower[i] - theta[i]).max(0.0));
            r = r.max(if at { (-g[i]).max(0.0) } else { g[i].abs() });
        }
        r
    }

    /// The minimiser of `½ θᵀ(A + ridge·I)θ − bᵀθ` subject to `θ ≥ lower` (entries `-∞` are
    /// unconstrained), by a primal active-set method: solve on the free set with the active
    /// bounds fixed, step to the first blocking bound, release the bound with the most
    /// negative multiplier; finite for positive-definite `A + ridge·I`. Errors when it does
    /// not terminate (e.g. a singular `A` with `ridge = 0`).
    pub fn minimise(&self, lower: &[f64], ridge: f64) -> anyhow::Result<Vec<f64>> {
        let n = self.dim();
        ensure!(lower.len() == n, "quadratic form: {n} bounds expected");
        let mut theta: Vec<f64> = lower.iter().map(|&l| l.max(0.0)).collect();
        let mut active: Vec<bool> = (0..n)
            .map(|i| lower[i].is_finite() && theta[i] <= lower[i])
            .collect();
        let scale = 1.0 + self.b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let tol = 1e-11 * scale;
        for _ in 0..(50 + 10 * n) {
            let free: Vec<usize> = (0..n).filter(|&i| !active[i]).collect();
            let mut z = theta.clone();
            if !free.is_empty() {
                let nf = free.len();
                let h = Mat::<f64>::from_fn(nf, nf, |r, c| {
                    self.a[(free[r], free[c])] + if r == c { ridge } else { 0.0 }
                });
                let rhs = Mat::<f64>::from_fn(nf, 1, |r, _| {
                    let i = free[r];
                    self.b[i]
                        - (0..n)
                            .filter(|&j| active[j])
                            .map(|j| self.a[(i, j)] * theta[j])
                            .sum::<f64>()
                });
                let s = match h.llt(Side::Lower) {
                    Ok(ch) => ch.solve(&rhs),
                    Err(_) => h.partial_piv_lu().solve(&rhs),
                };
                for (r, &i) in free.iter().enumerate() {
                    z[i] = s[(r, 0)];
                }
                if z.iter().any(|v| !v.is_finite()) {
                    bail!("quadratic form: singular system on the free set (add a ridge)");
                }
            }
            // Step towards z, stopping at the first bound it would cross.
            let mut alpha = 1.0;
            let mut block = None;
            for &i in &free {
                if lower[i].is_finite() && z[i] < lower[i] {
                    let a = (theta[i] - lower[i]) / (theta[i] - z[i]);
                    if a < alpha {
                        alpha = a;
                        block = Some(i);
                    }
                }
            }
            for i in 0..n {
                theta[i] += alpha * (z[i] - theta[i]);
            }
            if let Some(i) = block {
                theta[i] = lower[i];
                active[i] = true;
                continue;
            }
            // At the free-set minimiser: release the most negative multiplier, if any.
            let mut g = self.grad(&theta);
            for (i, gi) in g.iter_mut().enumerate() {
                *gi += ridge * theta[i];
            }
            let worst = (0..n)
                .filter(|&i| active[i])
                .min_by(|&i, &j| g[i].total_cmp(&g[j]));
            match worst {
                Some(i) if g[i] < -tol => active[i] = false,
                _ => return Ok(theta),
            }
        }
        bail!("quadratic form: active-set method did not terminate")
    }
}
