//! Variance of the EqProp estimates over independent thermal noise at finite temperature,
//! against β: the readout difference of two noisy phases is divided by β (or 2β), so the
//! variance falls like `k_BT / (β² τ)` with `τ` the readout window (slope −2), the trade-off
//! against the bias that grows with β ("Symmetric Equilibrium Propagation for Thermodynamic
//! Diffusion Training", arXiv 2604.23806, Sec. 4).

use super::bias::gradient;
use super::config::VarianceConfig;
use super::systems::System;
use crate::dynamics::{Langevin, NoiseKey};
use crate::learn::rule::Phases;
use crate::learn::{PhaseSpec, RuleKind, RuleSettings};
use crate::linalg::loglog_slope;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

/// One rule's variance curve.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RuleVariance {
    /// `Σ_i Var[g_i]` over the noise realisations, at each β.
    pub total_variance: Vec<f64>,
    /// Fitted slope of `log variance` against `log β` (expected −2).
    pub variance_slope: f64,
}

/// The variance curves on one substrate.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Variance {
    /// Temperature `k_BT`.
    pub temperature: f64,
    /// The β grid.
    pub betas: Vec<f64>,
    /// `(0, +β)`.
    pub one_sided: RuleVariance,
    /// `(−β, +β)`.
    pub symmetric: RuleVariance,
}

/// The rules compared.
pub const RULES: [RuleKind; 2] = [RuleKind::OneSided, RuleKind::Symmetric];

/// The number of rule evaluations [`run`] makes.
pub fn work(cfg: &VarianceConfig) -> u64 {
    (cfg.betas.len() * RULES.len() * cfg.reps) as u64
}

/// Measures the variance curves on `sys`; realisation `r` is keyed `(seed, 200 + r)`.
pub fn run(
    sys: &System,
    cfg: &VarianceConfig,
    seed: u64,
    pb: &ProgressBar,
) -> anyhow::Result<Variance> {
    let p = PhaseSpec {
        dynamics: Langevin {
            dt: cfg.dt,
            steps: cfg.steps,
            temperature: cfg.temperature,
        }
        .into(),
        exact: false,
        readout_window: cfg.readout_steps,
    };
    let phases = Phases { free: p, nudged: p };
    let mut curves = vec![];
    for kind in RULES {
        let mut total_variance = vec![];
        for &beta in &cfg.betas {
            let runs = (0..cfg.reps)
                .map(|r| {
                    let g = gradient(
                        sys,
                        RuleSettings::new(kind, beta),
                        &phases,
                        NoiseKey::new(seed, 200 + r as u64),
                    );
                    pb.inc(1);
                    g
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            total_variance.push(total_var(&runs));
        }
        let variance_slope = loglog_slope(&cfg.betas, &total_variance).0;
        curves.push(RuleVariance {
            total_variance,
            variance_slope,
        });
    }
    let symmetric = curves.pop().expect("two rules");
    let one_sided = curves.pop().expect("two rules");
    Ok(Variance {
        temperature: cfg.temperature,
        betas: cfg.betas.clone(),
        one_sided,
        symmetric,
    })
}

/// `Σ_i` of the unbiased sample variance of component `i` over `runs`.
pub fn total_var(runs: &[Vec<f64>]) -> f64 {
    let n = runs.len() as f64;
    (0..runs[0].len())
        .map(|i| {
            let m = runs.iter().map(|g| g[i]).sum::<f64>() / n;
            runs.iter().map(|g| (g[i] - m).powi(2)).sum::<f64>() / (n - 1.0)
        })
        .sum()
}
