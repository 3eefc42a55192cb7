//! Configuration of the estimator comparison (`physlearn exp estimators`).

use crate::config::check;
use serde::{Deserialize, Serialize};

/// Whole experiment configuration. Everything runs in f64: the point is to resolve biases
/// far below f32's rounding.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EstimatorsConfig {
    /// Run seed: offsets the systems' seeds and keys every noise stream.
    pub seed: u64,
    /// Bias against β.
    pub bias: BiasConfig,
    /// Cosine with the exact gradient against the relaxation budget.
    pub budget: BudgetConfig,
    /// Variance against β at finite temperature.
    pub variance: VarianceConfig,
    /// The finite-nudge quadrature check.
    pub finite_nudge: QuadratureConfig,
    /// The first law along a Langevin protocol.
    pub heat: HeatConfig,
}

/// Bias of each EqProp rule against the exact gradient, after a long zero-temperature
/// relaxation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BiasConfig {
    /// β grid points per substrate: `β_max · 2^−k` for `k < points`, with `β_max` the
    /// substrate's largest asymptotic β.
    pub points: usize,
    /// Gradient-flow step of every phase.
    pub dt: f64,
    /// Steps of every phase (long enough that the relaxation error is below the bias).
    pub steps: usize,
    /// Noise keys `random_sign` is drawn with (its bias is the RMS over them).
    pub random_sign_keys: usize,
}

/// Cosine with the equilibrium gradient against the steps per phase, at zero temperature.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BudgetConfig {
    /// Steps per phase `K`.
    pub budgets: Vec<usize>,
    /// Gradient-flow step.
    pub dt: f64,
}

/// Variance of the EqProp estimates over independent noise at finite temperature.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VarianceConfig {
    /// β grid.
    pub betas: Vec<f64>,
    /// Temperature `k_BT` of every phase.
    pub temperature: f64,
    /// Langevin step.
    pub dt: f64,
    /// Steps per phase.
    pub steps: usize,
    /// Final steps of each phase whose `∂_θE` is time-averaged into the readout.
    pub readout_steps: usize,
    /// Independent noise realisations per β.
    pub reps: usize,
}

/// Finite-nudge EqProp against the quadrature gradient of `(F_β − F_0)/β` (Litman, arXiv
/// 2511.22024).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QuadratureConfig {
    /// Nudge strengths.
    pub betas: Vec<f64>,
    /// Independent calls per rule and β (the standard error is over them).
    pub reps: usize,
    /// Multiplies the chains per call (192 below β = 1, 48 above for the difference form;
    /// 24 for the covariance form).
    pub chain_scale: f64,
    /// Also check the covariance form (the path integral over β).
    pub covariance: bool,
}

/// First-law check of the stochastic energetics along a free → nudged → moved-parameters
/// protocol.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HeatConfig {
    /// Langevin steps, coarsest first; the first is the one reported.
    pub dts: Vec<f64>,
    /// Samples.
    pub batch: usize,
    /// Temperature `k_BT`.
    pub temperature: f64,
}

impl Default for BiasConfig {
    fn default() -> Self {
        Self {
            points: 5,
            dt: 0.2,
            steps: 4000,
            random_sign_keys: 8,
        }
    }
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            budgets: vec![2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
            dt: 0.2,
        }
    }
}

impl Default for VarianceConfig {
    fn default() -> Self {
        Self {
            betas: vec![0.01, 0.03, 0.1, 0.3, 1.0],
            temperature: 1e-3,
            dt: 0.1,
            steps: 600,
            readout_steps: 400,
            reps: 16,
        }
    }
}

impl Default for QuadratureConfig {
    fn default() -> Self {
        Self {
            betas: vec![0.1, 1.0, 10.0],
            reps: 8,
            chain_scale: 1.0,
            covariance: true,
        }
    }
}

impl Default for HeatConfig {
    fn default() -> Self {
        Self {
            dts: vec![0.01, 0.005, 0.0025],
            batch: 16,
            temperature: 0.5,
        }
    }
}

impl EstimatorsConfig {
    /// The `--quick` settings: fewer β points, budgets and noise realisations, and only the
    /// difference form of the finite-nudge check, with half the chains.
    pub fn quick(mut self) -> Self {
        self.bias.points = 3;
        self.bias.random_sign_keys = 4;
        self.budget.budgets = vec![2, 10, 50, 200, 1000];
        self.variance.betas = vec![0.01, 0.1, 1.0];
        self.variance.reps = 6;
        self.finite_nudge.reps = 6;
        self.finite_nudge.chain_scale = 0.5;
        self.finite_nudge.covariance = false;
        self.heat.dts = vec![0.01, 0.0025];
        self.heat.batch = 8;
        self
    }

    fn validate(&self) -> anyhow::Result<()> {
        let b = &self.bias;
        at_least("bias.points", b.points, 2)?;
        check::positive("bias.dt", b.dt)?;
        check::at_least_one("bias.steps", b.steps)?;
        check::at_least_one("bias.random_sign_keys", b.random_sign_keys)?;
        anyhow::ensure!(
            !self.budget.budgets.is_empty() && self.budget.budgets.iter().all(|k| *k > 0),
            "budget.budgets must be a non-empty list of positive step counts"
        );
        check::positive("budget.dt", self.budget.dt)?;
        let v = &self.variance;
        anyhow::ensure!(
            v.betas.len() >= 2 && v.betas.iter().all(|b| *b > 0.0),
            "variance.betas needs at least two positive values"
        );
        check::positive("variance.temperature", v.temperature)?;
        check::positive("variance.dt", v.dt)?;
        anyhow::ensure!(
            v.readout_steps >= 1 && v.readout_steps <= v.steps,
            "variance.readout_steps must be in 1..=variance.steps ({})",
            v.steps
        );
        at_least("variance.reps", v.reps, 2)?;
        let q = &self.finite_nudge;
        anyhow::ensure!(
            !q.betas.is_empty() && q.betas.iter().all(|b| *b > 0.0),
            "finite_nudge.betas must be a non-empty list of positive values"
        );
        at_least("finite_nudge.reps", q.reps, 3)?;
        check::positive("finite_nudge.chain_scale", q.chain_scale)?;
        let h = &self.heat;
        anyhow::ensure!(
            !h.dts.is_empty() && h.dts.iter().all(|d| *d > 0.0 && *d <= 0.1),
            "heat.dts must be a non-empty list of steps in (0, 0.1]"
        );
        check::at_least_one("heat.batch", h.batch)?;
        check::positive("heat.temperature", h.temperature)?;
        Ok(())
    }
}

/// A count that a fit or a standard error needs at least `min` of.
fn at_least(key: &str, n: usize, min: usize) -> anyhow::Result<()> {
    anyhow::ensure!(n >= min, "{key} must be ≥ {min} (got {n})");
    Ok(())
}

impl crate::config::Layered for EstimatorsConfig {
    fn check(&self) -> anyhow::Result<()> {
        self.validate()
    }
}
