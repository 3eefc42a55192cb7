//! Bias of each EqProp rule against the exact gradient as β shrinks, after a long
//! zero-temperature relaxation: the order of the fitted log–log slope is the order of the
//! nudging pair's finite difference (1 for `one_sided` `(0, β)` and `negative` `(−β, 0)`, 2
//! for `symmetric` `(−β, β)`; Scellier et al. 2023, "Energy-based learning algorithms for
//! analog computing", Sec. 3), for the standard readout and the alternative formula that also
//! uses the free state.

use super::config::BiasConfig;
use super::systems::System;
use crate::dynamics::{Langevin, NoiseKey, Workspace};
use crate::learn::rule::Phases;
use crate::learn::{Formula, PhaseSpec, RuleKind, RuleSettings};
use crate::linalg::{dist, loglog_slope, norm};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

/// One rule's bias curve.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RuleBias {
    /// The order the nudging pair predicts.
    pub expected_order: f64,
    /// Fitted slope of `log bias` against `log β`.
    pub bias_slope: f64,
    /// The β grid.
    pub betas: Vec<f64>,
    /// `‖g_β − ∇L‖ / ‖∇L‖` at each β.
    pub rel_bias: Vec<f64>,
}

/// The bias curves of every EqProp rule on one substrate.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SubstrateBias {
    /// `‖∇L‖` of the exact gradient (implicit differentiation at the relaxed free state).
    pub exact_norm: f64,
    /// `(0, +β)`, standard formula.
    pub one_sided: RuleBias,
    /// `(−β, 0)`, standard formula.
    pub negative: RuleBias,
    /// `(−β, +β)`, standard formula.
    pub symmetric: RuleBias,
    /// `(0, sβ)` with a random sign per call: the RMS bias over the noise keys (each call is
    /// first-order biased; only the mean over signs is the symmetric estimate).
    pub random_sign: RuleBias,
    /// `(0, +β)`, alternative formula.
    pub one_sided_alternative: RuleBias,
    /// `(−β, 0)`, alternative formula.
    pub negative_alternative: RuleBias,
    /// `(−β, +β)`, alternative formula.
    pub symmetric_alternative: RuleBias,
}

impl SubstrateBias {
    /// `(name, curve)` for every rule, in report order.
    pub fn rules(&self) -> [(&'static str, &RuleBias); 7] {
        [
            ("one_sided", &self.one_sided),
            ("negative", &self.negative),
            ("symmetric", &self.symmetric),
            ("random_sign", &self.random_sign),
            ("one_sided_alternative", &self.one_sided_alternative),
            ("negative_alternative", &self.negative_alternative),
            ("symmetric_alternative", &self.symmetric_alternative),
        ]
    }
}

/// Zero-temperature phases of `steps` gradient-flow steps of size `dt`.
pub fn flow_phases(dt: f64, steps: usize) -> Phases {
    let p = PhaseSpec::finite(Langevin {
        dt,
        steps,
        temperature: 0.0,
    });
    Phases { free: p, nudged: p }
}

/// The gradient a rule estimates on `sys` with `phases` and noise `key`.
pub fn gradient(
    sys: &System,
    settings: RuleSettings,
    phases: &Phases,
    key: NoiseKey,
) -> anyhow::Result<Vec<f64>> {
    let est = settings.build::<f64>().gradient(
        &*sys.energy,
        &sys.batch(),
        phases,
        key,
        &mut Workspace::new(),
    )?;
    Ok(est.grad)
}

/// The exact gradient: implicit differentiation at the free state after the long relaxation.
pub fn exact(sys: &System, cfg: &BiasConfig) -> anyhow::Result<Vec<f64>> {
    let phases = flow_phases(cfg.dt, cfg.steps);
    gradient(
        sys,
        RuleSettings::new(RuleKind::Implicit, 0.0),
        &phases,
        NoiseKey::new(0, 0),
    )
}

/// The number of rule evaluations [`run`] makes (for the progress bar).
pub fn work(cfg: &BiasConfig) -> u64 {
    (cfg.points * (6 + cfg.random_sign_keys)) as u64
}

/// Measures every rule's bias curve on `sys` against `exact`.
pub fn run(
    sys: &System,
    exact: &[f64],
    cfg: &BiasConfig,
    seed: u64,
    pb: &ProgressBar,
) -> anyhow::Result<SubstrateBias> {
    let phases = flow_phases(cfg.dt, cfg.steps);
    let betas: Vec<f64> = (0..cfg.points)
        .map(|k| sys.beta * 0.5f64.powi(k as i32))
        .collect();
    let scale = norm(exact);
    let curve = |kind: RuleKind, formula: Formula, order: f64| -> anyhow::Result<RuleBias> {
        let rel_bias = betas
            .iter()
            .map(|&beta| {
                let s = RuleSettings::new(kind, beta).with_formula(formula);
                let g = gradient(sys, s, &phases, NoiseKey::new(seed, 0))?;
                pb.inc(1);
                Ok(dist(&g, exact) / scale)
            })
            .collect::<anyhow::Result<Vec<f64>>>()?;
        Ok(fit(order, &betas, rel_bias))
    };
    let random_sign = betas
        .iter()
        .map(|&beta| {
            let s = RuleSettings::new(RuleKind::RandomSign, beta);
            let mut sq = 0.0;
            for k in 0..cfg.random_sign_keys {
                let g = gradient(sys, s, &phases, NoiseKey::new(seed, 100 + k as u64))?;
                sq += dist(&g, exact).powi(2);
                pb.inc(1);
            }
            Ok((sq / cfg.random_sign_keys as f64).sqrt() / scale)
        })
        .collect::<anyhow::Result<Vec<f64>>>()?;
    use Formula::{Alternative, Standard};
    use RuleKind::{Negative, OneSided, Symmetric};
    Ok(SubstrateBias {
        exact_norm: scale,
        one_sided: curve(OneSided, Standard, 1.0)?,
        negative: curve(Negative, Standard, 1.0)?,
        symmetric: curve(Symmetric, Standard, 2.0)?,
        random_sign: fit(1.0, &betas, random_sign),
        one_sided_alternative: curve(OneSided, Alternative, 1.0)?,
        negative_alternative: curve(Negative, Alternative, 1.0)?,
        symmetric_alternative: curve(Symmetric, Alternative, 2.0)?,
    })
}

fn fit(expected_order: f64, betas: &[f64], rel_bias: Vec<f64>) -> RuleBias {
    RuleBias {
        expected_order,
        bias_slope: loglog_slope(betas, &rel_bias).0,
        betas: betas.to_vec(),
        rel_bias,
    }
}
