//! The typed results of `physlearn exp csb-eqprop` (`summary.json`): every figure's data and
//! the claims table, as structs rather than JSON read back by key.

use super::ConvRow;
use super::config::Method;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Per-epoch record of one main run (Fig. 2).
#[derive(Default, Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct History {
    /// Test error after each epoch.
    pub test_error: Vec<f64>,
    /// Training error (free-phase predictions) of each epoch.
    pub train_error: Vec<f64>,
    /// Mean free-phase energy of the training samples, per epoch.
    pub train_energy_mean: Vec<f64>,
    /// Mean free-phase energy of the test samples, per epoch.
    pub test_energy_mean: Vec<f64>,
    /// Seconds per training epoch.
    pub seconds: Vec<f64>,
    /// Free-phase energies of the training samples at the histogram epochs.
    #[serde(skip)]
    pub hist: Vec<(usize, Vec<f64>)>,
}

/// One value per training method: EP (gradient flow) and cSB-EP.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PerMethod<X> {
    /// EP (projected gradient flow).
    pub ep: X,
    /// cSB-EP.
    pub csb: X,
}

impl<X> PerMethod<X> {
    /// The value of method `m`.
    pub fn of(&self, m: Method) -> &X {
        match m {
            Method::Ep => &self.ep,
            Method::Csb => &self.csb,
        }
    }

    /// Built from a function of the method.
    pub fn from_fn(mut f: impl FnMut(Method) -> X) -> Self {
        Self {
            ep: f(Method::Ep),
            csb: f(Method::Csb),
        }
    }
}

/// One value per trained network: the EP-trained and the cSB-EP-trained net.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PerNet<X> {
    /// The net trained by EP.
    pub ep_trained: X,
    /// The net trained by cSB-EP.
    pub csb_trained: X,
}

impl<X> PerNet<X> {
    /// The net trained by method `m`.
    pub fn of(&self, m: Method) -> &X {
        match m {
            Method::Ep => &self.ep_trained,
            Method::Csb => &self.csb_trained,
        }
    }

    /// From one value per method, in the order `methods` gives them.
    pub fn from_pairs(v: Vec<(Method, X)>) -> Self {
        let mut ep = None;
        let mut csb = None;
        for (m, x) in v {
            match m {
                Method::Ep => ep = Some(x),
                Method::Csb => csb = Some(x),
            }
        }
        Self {
            ep_trained: ep.expect("a value for the EP-trained net"),
            csb_trained: csb.expect("a value for the cSB-trained net"),
        }
    }
}

/// Free-phase energies and test error of one net relaxed by one dynamics.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct EnergyStats {
    /// Mean free-phase energy over the evaluation images.
    pub energy_mean: f64,
    /// Its standard deviation.
    pub energy_std: f64,
    /// Test error with this relaxation.
    pub test_error: f64,
}

/// One trained net relaxed by cSB, by gradient flow at the paper's budget, and by a long
/// gradient-flow reference.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct SameNetwork {
    /// cSB at the paper's budget.
    pub csb: EnergyStats,
    /// Gradient flow at the paper's budget.
    pub gradient_flow: EnergyStats,
    /// Gradient flow for `reference_steps`.
    pub gradient_flow_reference: EnergyStats,
}

/// The mean energy above the reference after each iteration of one dynamics.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Gap {
    /// Mean energy minus the reference energy, per iteration.
    pub energy_gap: Vec<f64>,
    /// The first iteration within 1e-3 of the reference (NaN if none).
    #[serde(rename = "steps_to_1e-3")]
    pub steps_to_1e_3: f64,
}

/// Convergence of both dynamics on one trained net.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Convergence {
    /// cSB.
    pub csb: Gap,
    /// Gradient flow.
    pub gradient_flow: Gap,
    /// The long gradient-flow reference energy.
    pub reference_energy: f64,
}

/// Fig. 3: accuracy against neuron noise.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct NoiseSweep {
    /// Noise amplitudes σ.
    pub amplitudes: Vec<f64>,
    /// Nudging strengths β.
    pub betas: Vec<f64>,
    /// Epochs per point.
    pub epochs: usize,
    /// Training images per point.
    pub train_samples: usize,
    /// Test accuracy per method, per `beta=β`, per amplitude.
    pub accuracy: PerMethod<BTreeMap<String, Vec<f64>>>,
}

/// Fig. 4(b): accuracy against the iteration budget.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BudgetSweep {
    /// Free iterations of each point.
    pub free_steps: Vec<usize>,
    /// Nudged iterations of each point.
    pub nudged_steps: Vec<usize>,
    /// Epochs per point.
    pub epochs: usize,
    /// Training images per point.
    pub train_samples: usize,
    /// Test accuracy per method, per budget.
    pub accuracy: PerMethod<Vec<f64>>,
}

/// Free and nudged iterations of the main runs.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct Budget {
    /// Free iterations.
    pub free: usize,
    /// Iterations of each nudged phase.
    pub nudged: usize,
}

/// One paper claim beside the measured value.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ClaimRow {
    /// What the paper claims.
    pub claim: String,
    /// The paper's figure.
    pub paper: String,
    /// What was measured.
    pub measured: String,
    /// Whether the measurement agrees (`None`: not decidable from this run).
    pub holds: Option<bool>,
}

/// One row of the paper's Table 1.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PaperRow {
    /// Method and net.
    pub row: String,
    /// MNIST test error % (train error %).
    pub mnist: String,
    /// Fashion-MNIST.
    pub fashion_mnist: String,
    /// CIFAR-10.
    pub cifar10: String,
}

/// Table 1: the paper's rows and the measured conv rows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Table1 {
    /// The paper's rows.
    pub paper: Vec<PaperRow>,
    /// The measured rows (empty when the conv section is off).
    pub measured: Vec<ConvRow>,
}

/// `summary.json` of `physlearn exp csb-eqprop`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CsbSummary {
    /// The paper and the figures reproduced.
    pub paper: String,
    /// The MLP's layer sizes.
    pub layers: Vec<usize>,
    /// Batch size.
    pub batch_size: usize,
    /// Iterations of the main runs.
    pub budget: Budget,
    /// Nudging strength of the main runs.
    pub beta: f64,
    /// Training images of the main runs.
    pub train_samples: usize,
    /// Test images.
    pub test_samples: usize,
    /// Fig. 2: the main runs, per epoch.
    pub main: PerMethod<History>,
    /// The main runs' last test errors.
    pub final_test_error: PerMethod<Option<f64>>,
    /// Each trained net relaxed by each dynamics.
    pub same_network_energies: PerNet<SameNetwork>,
    /// Convergence of each dynamics on each trained net.
    pub convergence: PerNet<Convergence>,
    /// Fig. 3.
    pub noise: NoiseSweep,
    /// Fig. 4(b).
    pub budget_sweep: BudgetSweep,
    /// The paper's claims beside the measurements.
    pub claims: Vec<ClaimRow>,
    /// Table 1.
    pub table1: Table1,
    /// Seconds the whole experiment took.
    pub seconds: f64,
}
