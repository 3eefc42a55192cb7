//! Contrastive divergence with one step (CD1) as a local estimate of the score-matching
//! gradient (Bösch et al. 2025, eqs. 10–13; Hyvärinen 2007), for when forces cannot be
//! measured but the dynamics can be observed.
//!
//! `J_CD1 = E_{x_t, w}[−Ê(x_t) + Ê(x_{t+δ})]` (eq. 10) with one Euler–Maruyama step of the
//! training dynamics `x_{t+δ} = x_t − ∇Ê(x_t) δ + sqrt(2 δ k_BT) w` (eq. 11). Its gradient,
//! with the sampled states held fixed, is `dJ_CD1/dθ_i = E[φ_i(x_{t+δ}) − φ_i(x_t)]`
//! (`φ_i = ∂Ê/∂θ_i`, a polynomial of the states: "a difference of polynomials in the
//! states at t and t + δ"), averaged over many noise draws from every start. Expanding to
//! first order in δ: `E_w[φ_i(x_{t+δ}) − φ_i(x_t)] = δ (k_BT Δφ_i − ∇φ_i·∇Ê) + O(δ²)`, hence
//! `dJ_SM/dθ_i = −dJ_CD1/dθ_i / (δ (k_BT)²) + O(δ)` (eq. 12). Eq. 13 (the Duffing example)
//! drops the factor ¼ of `φ_β = ¼ x⁴`: the correct form is `¼ E[x_{t+δ}⁴ − x_t⁴]`.
//!
//! The Monte-Carlo estimator's variance grows like `1/δ` per draw (the `O(sqrt δ)` noise
//! term divided by δ); `antithetic` draws pair `w` with `−w`, which cancels that term exactly
//! and leaves an `O(1)` variance. [`cd1_expected_grad`] gives the exact noise expectation
//! (closed-form Gaussian moments of the polynomial features), the `draws → ∞` limit.

use super::score::{ScoreWorkspace, chunked_sum, force_into};
use crate::dynamics::NoiseKey;
use crate::energy::oscillator::LinearEnergy;
use crate::real::Real;
use anyhow::ensure;
use serde::{Deserialize, Serialize};

fn default_delta() -> f64 {
    1e-3
}
fn default_draws() -> usize {
    16
}

/// CD1 settings (TOML table `[train.cd1]`).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Cd1Config {
    /// Observation time `δ` of the one-step evolution (small against the fastest relaxation
    /// time of the network).
    #[serde(default = "default_delta")]
    pub delta: f64,
    /// Noise draws per start.
    #[serde(default = "default_draws")]
    pub draws: usize,
    /// Pair the draws as `w, −w` (variance reduction; keep `draws` even).
    #[serde(default)]
    pub antithetic: bool,
}

impl Default for Cd1Config {
    fn default() -> Self {
        Self {
            delta: default_delta(),
            draws: default_draws(),
            antithetic: false,
        }
    }
}

impl Cd1Config {
    /// Checks the settings.
    pub fn validate(&self) -> anyhow::Result<()> {
        ensure!(
            self.delta.is_finite() && self.delta > 0.0,
            "train.cd1.delta must be > 0"
        );
        ensure!(self.draws > 0, "train.cd1.draws must be > 0");
        Ok(())
    }
}

/// `out = dJ_CD1/dθ` (eq. 10's gradient): the mean over the starts `x` and `cfg.draws`
/// one-step evolutions (eq. 11) of `φ(x_{t+δ}) − φ(x_t)`. Chunk `c` of starts draws its noise
/// from `key.rng(0, c)` (a training loop keys each step by a child key). Overwrites `out`.
pub fn cd1_objective_grad<T: Real, E: LinearEnergy<T> + ?Sized>(
    e: &E,
    x: &[T],
    kt: f64,
    cfg: &Cd1Config,
    key: NoiseKey,
    ws: &mut ScoreWorkspace<T>,
    out: &mut [f64],
) {
    let d = e.dim();
    let b = x.len() / d;
    let r = cfg.draws.max(1);
    let delta = T::of(cfg.delta);
    let amp = T::of((2.0 * cfg.delta * kt).sqrt());
    let (w_start, w_draw) = (T::of(-1.0 / b as f64), T::of(1.0 / (b * r) as f64));
    let two = T::of(2.0);
    chunked_sum(b, e.n_params(), ws, out, |ci, rg, part| {
        let nb = rg.len();
        let xc = &x[rg.start * d..rg.end * d];
        T::with_scratch(3 * nb * d + nb, |buf| {
            let (drive, rest) = buf.split_at_mut(nb * d);
            let (mean, rest) = rest.split_at_mut(nb * d);
            let (xp, w) = rest.split_at_mut(nb * d);
            force_into(e, xc, drive, mean);
            // mean = x − δ ∇Ê(x): the deterministic part of eq. 11.
            for (m, &xv) in mean.iter_mut().zip(xc) {
                *m = xv - delta * *m;
            }
            w.fill(w_start);
            e.grad_theta(xc, w, part);
            w.fill(w_draw);
            let mut rng = key.rng(0, ci as u64);
            for k in 0..r {
                if cfg.antithetic && k % 2 == 1 {
                    for (p, &m) in xp.iter_mut().zip(mean.iter()) {
                        *p = two * m - *p;
                    }
                } else {
                    for (p, &m) in xp.iter_mut().zip(mean.iter()) {
                        *p = m + amp * T::randn(&mut rng);
                    }
                }
                e.grad_theta(xp, w, part);
            }
        });
    });
}

/// Converts `dJ_CD1/dθ` into the score-matching gradient estimate of eq. 12,
/// `dJ_SM/dθ ≈ −dJ_CD1/dθ / (δ (k_BT)²)`, in place.
pub fn cd1_to_sm(g: &mut [f64], delta: f64, kt: f64) {
    let c = -1.0 / (delta * kt * kt);
    for v in g {
        *v *= c;
    }
}

/// The CD1 estimate of `dJ_SM/dθ` (eqs. 10–12): [`cd1_objective_grad`] then [`cd1_to_sm`].
/// This is the rule `cd1` of [`crate::train::protocol::train_protocol`]. Overwrites `out`.
pub fn cd1_grad<T: Real, E: LinearEnergy<T> + ?Sized>(
    e: &E,
    x: &[T],
    kt: f64,
    cfg: &Cd1Config,
    key: NoiseKey,
    ws: &mut ScoreWorkspace<T>,
    out: &mut [f64],
) {
    cd1_objective_grad(e, x, kt, cfg, key, ws, out);
    cd1_to_sm(out, cfg.delta, kt);
}

/// The exact noise expectation of [`cd1_grad`] (infinitely many draws):
/// `−E_w[φ(x − δ∇Ê + sqrt(2δk_BT) w) − φ(x)] / (δ (k_BT)²)`, averaged over the starts, with
/// the Gaussian expectation in closed form ([`LinearEnergy::grad_theta_gaussian`]).
/// Differs from the force-matching gradient by `O(δ)`. Overwrites `out`.
pub fn cd1_expected_grad<T: Real, E: LinearEnergy<T> + ?Sized>(
    e: &E,
    x: &[T],
    kt: f64,
    delta: f64,
    ws: &mut ScoreWorkspace<T>,
    out: &mut [f64],
) {
    let d = e.dim();
    let b = x.len() / d;
    let dl = T::of(delta);
    let var = T::of(2.0 * delta * kt);
    let wb = T::of(1.0 / b as f64);
    chunked_sum(b, e.n_params(), ws, out, |_, rg, part| {
        let nb = rg.len();
        let xc = &x[rg.start * d..rg.end * d];
        T::with_scratch(2 * nb * d + nb, |buf| {
            let (drive, rest) = buf.split_at_mut(nb * d);
            let (mean, w) = rest.split_at_mut(nb * d);
            force_into(e, xc, drive, mean);
            for (m, &xv) in mean.iter_mut().zip(xc) {
                *m = xv - dl * *m;
            }
            w.fill(wb);
            e.grad_theta_gaussian(mean, var, w, part);
            w.fill(-wb);
            e.grad_theta(xc, w, part);
        });
    });
    cd1_to_sm(out, delta, kt);
}
