//! Cosine between a rule's estimate and the exact equilibrium gradient against the relaxation
//! budget `K` (steps per phase, zero temperature): how long a physical system must relax
//! before EqProp's readout, or backprop through its `K` steps, points the right way.

use super::bias::{flow_phases, gradient};
use super::config::BudgetConfig;
use super::systems::System;
use crate::dynamics::NoiseKey;
use crate::learn::{RuleKind, RuleSettings};
use crate::linalg::cosine;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

/// Cosine with the exact gradient at each budget, per rule.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Budget {
    /// The nudge strength of the EqProp rules.
    pub beta: f64,
    /// Gradient-flow step.
    pub dt: f64,
    /// Steps per phase.
    pub budgets: Vec<usize>,
    /// `one_sided` at each budget.
    pub one_sided: Vec<f64>,
    /// `symmetric` at each budget.
    pub symmetric: Vec<f64>,
    /// Backprop through the `K`-step free phase at each budget.
    pub bptt: Vec<f64>,
}

/// The rules the curve compares.
pub const RULES: [RuleKind; 3] = [RuleKind::OneSided, RuleKind::Symmetric, RuleKind::Bptt];

/// The number of rule evaluations [`run`] makes.
pub fn work(cfg: &BudgetConfig) -> u64 {
    (cfg.budgets.len() * RULES.len()) as u64
}

/// Measures the cosines on `sys` against `exact`.
pub fn run(
    sys: &System,
    exact: &[f64],
    cfg: &BudgetConfig,
    pb: &ProgressBar,
) -> anyhow::Result<Budget> {
    let mut cos = [vec![], vec![], vec![]];
    for &k in &cfg.budgets {
        let phases = flow_phases(cfg.dt, k);
        for (c, kind) in cos.iter_mut().zip(RULES) {
            let g = gradient(
                sys,
                RuleSettings::new(kind, sys.beta),
                &phases,
                NoiseKey::new(0, 0),
            )?;
            c.push(cosine(&g, exact));
            pb.inc(1);
        }
    }
    let [one_sided, symmetric, bptt] = cos;
    Ok(Budget {
        beta: sys.beta,
        dt: cfg.dt,
        budgets: cfg.budgets.clone(),
        one_sided,
        symmetric,
        bptt,
    })
}
