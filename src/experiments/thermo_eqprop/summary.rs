//! The typed summary of `physlearn exp thermo-eqprop`, written to `summary.json`.

use super::cost::Cost;
use super::e1::E1;
use super::e2::E2;
use super::e3::{BiasVariance, Run};
use crate::real::Precision;
use serde::{Deserialize, Serialize};

/// The system the run simulated.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Setup {
    /// State dimension.
    #[serde(rename = "D")]
    pub dim: usize,
    /// Module sizes of the bilinear substrate.
    pub modules: Vec<usize>,
    /// Coupling rank.
    pub rank: usize,
    /// Steps per phase.
    #[serde(rename = "K")]
    pub steps: usize,
    /// Euler–Maruyama step.
    pub dt: f64,
    /// `k_BT` of the bath.
    pub temperature: f64,
    /// Samples per batch.
    pub batch_size: usize,
    /// Measured smallest free-Hessian eigenvalue at equilibrium.
    pub lambda_star: f64,
    /// `1 / λ⋆`.
    pub relaxation_time: f64,
    /// `K · dt`, the relaxation time a phase is given.
    #[serde(rename = "K_dt")]
    pub k_dt: f64,
}

/// Final figures of the E3 training runs. A loss is `None` when the run has no evaluation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainSummary {
    /// Final K-step validation loss, symmetric run.
    pub final_loss_symmetric: Option<f64>,
    /// Final K-step validation loss, one-sided run.
    pub final_loss_one_sided: Option<f64>,
    /// Final K-step validation loss, exact (BPTT) run.
    pub final_loss_exact: Option<f64>,
    /// Final equilibrium validation loss, symmetric run.
    pub final_loss_equilibrium_symmetric: Option<f64>,
    /// Final equilibrium validation loss, one-sided run.
    pub final_loss_equilibrium_one_sided: Option<f64>,
    /// Final equilibrium validation loss, exact run.
    pub final_loss_equilibrium_exact: Option<f64>,
    /// Initial K-step validation loss.
    pub initial_loss: Option<f64>,
    /// Initial equilibrium validation loss.
    pub initial_loss_equilibrium: Option<f64>,
    /// Bayes-optimal DSM loss.
    pub loss_floor: f64,
    /// Alignment of the symmetric run at its first evaluation.
    pub alignment_start: f64,
    /// Mean alignment over the last fifth of the symmetric run's evaluations.
    pub alignment_end: f64,
    /// `estimator_error_norm / grad_norm` of the symmetric run at its first evaluation.
    pub error_ratio_start: f64,
    /// The same over the last fifth of the evaluations.
    pub error_ratio_end: f64,
    /// `λ⋆` at the validation equilibrium, symmetric run, first evaluation.
    pub lambda_star_start: f64,
    /// The same at the last evaluation.
    pub lambda_star_end: f64,
    /// The runs.
    pub runs: Vec<Run>,
}

/// E3's figures.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct E3Summary {
    /// Fitted variance slope (theory −2).
    pub variance_slope: f64,
    /// Measured MSE minimiser.
    pub beta_opt_measured: f64,
    /// `(A / (2 K2²))^{1/6}`.
    pub beta_opt_predicted: f64,
    /// `(A / K2²)^{1/6}` as the paper prints it.
    pub beta_opt_paper_form: f64,
    /// The bias–variance curves.
    pub bias_variance: BiasVariance,
    /// The training runs.
    pub train: TrainSummary,
}

/// The cost accounting's headline figures, with the details.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CostSummary {
    /// Digital / substrate energy per training step.
    pub advantage: f64,
    /// Substrate energy per step and sample, J (analytic).
    pub e_analog_j: f64,
    /// Digital energy per step and sample, J.
    pub e_digital_j: f64,
    /// Measured heat per symmetric step and sample, in `k_BT`.
    pub measured_heat_kbt: f64,
    /// Analytic `3 N_cells c_init / (2 λ⋆)`, in `k_BT`.
    pub analytic_heat_kbt: f64,
    /// Measured heat, J.
    pub measured_heat_j: f64,
    /// Digital energy over the measured heat.
    pub advantage_from_measured_heat: f64,
    /// Energy per cell and equilibration the paper's 10^3.5 would need, J.
    pub cell_energy_for_paper_ratio_j: f64,
    /// The same in units of `k_BT` at the cost model's temperature.
    pub cell_energy_for_paper_ratio_kbt: f64,
    /// Largest first-law violation of the heat measurement.
    pub first_law_rel_error: f64,
    /// Everything the accounting computed.
    pub details: Cost,
}

/// The paper's figures this run is compared with.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PaperValues {
    /// E1, finite relaxation, one-sided cosine.
    #[serde(rename = "e1.finite.one_sided.cos_mean")]
    pub e1_one_sided: f64,
    /// E1, finite relaxation, symmetric cosine.
    #[serde(rename = "e1.finite.symmetric.cos_mean")]
    pub e1_symmetric: f64,
    /// E2, one-sided bias slope.
    #[serde(rename = "e2.finite.one_sided.slope")]
    pub e2_one_sided: f64,
    /// E2, symmetric bias slope.
    #[serde(rename = "e2.finite.symmetric.slope")]
    pub e2_symmetric: f64,
    /// E3 variance slope.
    #[serde(rename = "e3.variance_slope")]
    pub e3_variance_slope: f64,
    /// E3 alignment at the start of training.
    #[serde(rename = "e3.train.alignment_start")]
    pub e3_alignment_start: f64,
    /// E3 alignment at the end of training.
    #[serde(rename = "e3.train.alignment_end")]
    pub e3_alignment_end: f64,
    /// The quoted range of the cost advantage.
    #[serde(rename = "cost.advantage")]
    pub cost_advantage: String,
}

impl Default for PaperValues {
    fn default() -> Self {
        Self {
            e1_one_sided: -0.73,
            e1_symmetric: 0.77,
            e2_one_sided: 0.41,
            e2_symmetric: 2.0,
            e3_variance_slope: -2.0,
            e3_alignment_start: 0.6,
            e3_alignment_end: 0.9,
            cost_advantage: "1e3..1e4".into(),
        }
    }
}

/// The summary of the reproduction.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    /// `thermo-eqprop`.
    pub experiment: String,
    /// The paper reproduced.
    pub paper: String,
    /// Run seed.
    pub seed: u64,
    /// Simulation precision.
    pub precision: Precision,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// The system.
    pub setup: Setup,
    /// Gradient agreement.
    pub e1: E1,
    /// Bias scaling.
    pub e2: E2,
    /// Bias–variance and training.
    pub e3: E3Summary,
    /// Physical-unit cost accounting.
    pub cost: CostSummary,
    /// The paper's figures.
    pub paper_values: PaperValues,
}
