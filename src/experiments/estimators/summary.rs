//! The typed summary of `physlearn exp estimators`, written to `summary.json`.

use super::bias::SubstrateBias;
use super::budget::Budget;
use super::heat::Heat;
use super::quadrature::Quadrature;
use super::variance::Variance;
use serde::{Deserialize, Serialize};

/// Everything measured on one substrate. The bias curves are flattened into this struct, so
/// `<substrate>.<rule>.bias_slope` is a key of the JSON.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SubstrateSummary {
    /// State dimension.
    pub dim: usize,
    /// Number of parameters.
    pub n_params: usize,
    /// Bias against β of every EqProp rule.
    #[serde(flatten)]
    pub bias: SubstrateBias,
    /// Cosine with the exact gradient against the relaxation budget.
    pub budget: Budget,
    /// Variance against β at finite temperature.
    pub variance: Variance,
}

/// The summary of the whole comparison.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// `estimators`.
    pub experiment: String,
    /// Run seed.
    pub seed: u64,
    /// The `--quick` settings were used.
    pub quick: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// The bilinear low-rank substrate.
    pub bilinear: SubstrateSummary,
    /// The dense Hopfield net.
    pub hopfield_dense: SubstrateSummary,
    /// The convolutional Hopfield net.
    pub hopfield_conv: SubstrateSummary,
    /// The finite-nudge quadrature check (`finite_nudge.max_abs_z`).
    pub finite_nudge: Quadrature,
    /// The first law along a Langevin protocol (`heat.first_law_rel_error`).
    pub heat: Heat,
}

impl Summary {
    /// `(name, substrate)` in report order.
    pub fn substrates(&self) -> [(&'static str, &SubstrateSummary); 3] {
        [
            ("bilinear", &self.bilinear),
            ("hopfield_dense", &self.hopfield_dense),
            ("hopfield_conv", &self.hopfield_conv),
        ]
    }
}
