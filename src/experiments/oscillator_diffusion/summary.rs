//! The typed summaries of `physlearn exp oscillator-diffusion`, written to `summary.json`.

use crate::dynamics::energetics::SampleEnergetics;
use crate::learn::cd1::Cd1Config;
use crate::learn::score::ScoreRule;
use crate::real::Precision;
use serde::{Deserialize, Serialize};

/// What the `gmm2d` run simulated.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Gmm2dSetup {
    /// Mode weights (small, large).
    pub weights: [f64; 2],
    /// Mode means.
    pub means: [[f64; 2]; 2],
    /// Mode standard deviations.
    pub stds: [f64; 2],
    /// Training samples.
    pub train_samples: usize,
    /// `k_BT`.
    pub temperature: f64,
    /// Protocol duration τ.
    pub tau: f64,
    /// Time points of the protocol.
    pub time_points: usize,
    /// Optimizer steps per time point.
    pub steps_per_time_point: usize,
    /// Noised samples per step.
    pub batch: usize,
    /// One batch per time point.
    pub fixed_batch: bool,
    /// Step of the reverse-time SDE.
    pub reverse_dt: f64,
    /// Step of the equilibrium chain.
    pub es_dt: f64,
    /// Simulated time of the equilibrium chain, `τ × S`.
    pub es_time: f64,
    /// Samples per method `S`.
    pub samples: usize,
}

/// The reverse-time (SGM) samples.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Sgm {
    /// Share of samples per mode.
    pub mode_weights: [f64; 2],
    /// Energy distance to fresh true samples.
    pub energy_distance: f64,
    /// Work the backwards protocol did on each generated sample, and its heat.
    pub energetics: SampleEnergetics,
}

/// The equilibrium-sampling chain.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Es {
    /// Share of records per mode.
    pub mode_weights: [f64; 2],
    /// Energy distance to fresh true samples.
    pub energy_distance: f64,
    /// Mode switches along the chain.
    pub mode_switches: usize,
}

/// The learned Boltzmann density `exp(−Ê_θ(0)/k_BT)/Z` on the plot grid.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Boltzmann {
    /// Mass per mode.
    pub mode_weights: [f64; 2],
    /// Mass inside the plot window.
    pub mass_in_plot_window: f64,
    /// Energy barrier between the means, `k_BT`.
    #[serde(rename = "barrier_kT")]
    pub barrier_kt: f64,
}

/// `θ(0)` by parameter family.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ThetaByFamily {
    /// `α_n`.
    pub alpha: Vec<f64>,
    /// `β_n`.
    pub beta: Vec<f64>,
    /// `γ_n`.
    pub gamma: Vec<f64>,
    /// `f_n`.
    pub f: Vec<f64>,
    /// `κ_nm`.
    pub kappa: Vec<f64>,
    /// `λ_nm`.
    pub lambda: Vec<f64>,
    /// `χ_nm`.
    pub chi: Vec<f64>,
    /// `χ̂_nm`.
    pub chi_hat: Vec<f64>,
}

/// `θ(0)` against the exact constrained minimiser of the empirical objective.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Oracle {
    /// `‖θ − θ*‖ / ‖θ*‖`.
    pub theta_rel_error: f64,
    /// `J(θ) − J(θ*)`.
    pub objective_gap: f64,
    /// `J(θ*)`.
    pub objective: f64,
}

/// The paper's qualitative claims for Fig. 1.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Gmm2dClaims {
    /// About SGM.
    pub sgm: String,
    /// About ES.
    pub es: String,
}

/// The summary of `oscillator-diffusion gmm2d`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Gmm2dSummary {
    /// `oscillator-diffusion gmm2d`.
    pub experiment: String,
    /// The paper.
    pub paper: String,
    /// Run seed.
    pub seed: u64,
    /// The learning rule.
    pub rule: ScoreRule,
    /// Wall-clock seconds, total.
    pub seconds: f64,
    /// Training seconds.
    pub seconds_train: f64,
    /// Reverse-time sampling seconds.
    pub seconds_sgm_sampling: f64,
    /// Equilibrium sampling seconds.
    pub seconds_es_sampling: f64,
    /// The system.
    pub setup: Gmm2dSetup,
    /// The true mode weights.
    pub true_mode_weights: [f64; 2],
    /// The training data's mode shares.
    pub data_mode_weights: [f64; 2],
    /// Reverse-time samples.
    pub sgm: Sgm,
    /// Equilibrium chain.
    pub es: Es,
    /// Energy distance between two sets of true samples (the noise floor).
    pub reference_energy_distance: f64,
    /// The learned Boltzmann density at t = 0.
    pub boltzmann_t0: Boltzmann,
    /// The true barrier between the means, `k_BT`.
    #[serde(rename = "true_barrier_kT")]
    pub true_barrier_kt: f64,
    /// `θ(0)`.
    pub theta_t0: ThetaByFamily,
    /// `θ(0)` against the exact minimiser (force matching on a fixed batch only).
    pub oracle_t0: Option<Oracle>,
    /// `J_SM` per time point after its last step.
    pub final_sm_objective: Vec<f64>,
    /// Projected gradient norm per time point.
    pub projected_grad_norm: Vec<f64>,
    /// The paper's claims.
    pub paper_claims: Gmm2dClaims,
}

/// Quality of one set of binary images.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Quality {
    /// Share the classifier labels with confidence above the threshold.
    pub confident_share: f64,
    /// Share labelled "1".
    pub class_balance: f64,
    /// Mean probability of the chosen label.
    pub mean_confidence: f64,
    /// Mean Hamming distance to the nearest training image (pixels).
    pub nn_distance_mean: f64,
    /// Median of the same.
    pub nn_distance_median: u32,
    /// Share that are exact copies of a training image.
    pub exact_copy_share: f64,
    /// Share of "on" pixels.
    pub on_pixel_share: f64,
    /// Images measured.
    pub count: usize,
}

/// One rule's trained protocol and samples in `mnist01`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RuleSamples {
    /// Set when sampling diverged (nothing else was measured then).
    pub diverged: Option<String>,
    /// Training seconds.
    pub seconds_train: f64,
    /// Sampling seconds.
    pub seconds_sampling: Option<f64>,
    /// Optimizer steps per second.
    pub train_steps_per_second: Option<f64>,
    /// The samples' quality (after taking signs).
    #[serde(flatten)]
    pub quality: Option<Quality>,
    /// RMS distance of the raw samples to `±on_value`.
    pub rms_distance_to_binary: Option<f64>,
    /// `J_SM` per time point after its last step.
    pub final_sm_objective: Vec<f64>,
    /// Work the backwards protocol did on each generated sample, and its heat.
    pub energetics: Option<SampleEnergetics>,
}

/// What the `mnist01` run simulated.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Mnist01Setup {
    /// Lattice side.
    pub side: usize,
    /// Oscillators.
    pub oscillators: usize,
    /// Coupled pairs.
    pub pairs: usize,
    /// Training images (0s and 1s).
    pub train_images: usize,
    /// Test images.
    pub test_images: usize,
    /// Binarisation threshold.
    pub threshold: f64,
    /// `k_BT`.
    pub temperature: f64,
    /// Protocol time grid.
    pub times: Vec<f64>,
    /// Optimizer steps per time point.
    pub steps_per_time_point: usize,
    /// Steps at `t_0`.
    pub first_steps: usize,
    /// Noised samples per step.
    pub batch: usize,
    /// CD1 settings.
    pub cd1: Cd1Config,
    /// Step of the reverse-time SDE.
    pub reverse_dt: f64,
    /// Samples per rule.
    pub samples: usize,
}

/// The evaluation classifier's accuracy on real images.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ClassifierAccuracy {
    /// On the training images.
    pub train_accuracy: f64,
    /// On the test images.
    pub test_accuracy: f64,
}

/// The paper's qualitative claims for Fig. 2.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Mnist01Claims {
    /// About the samples.
    pub samples: String,
    /// About the rules.
    pub rules: String,
}

/// The summary of `oscillator-diffusion mnist01`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Mnist01Summary {
    /// `oscillator-diffusion mnist01`.
    pub experiment: String,
    /// The paper.
    pub paper: String,
    /// Run seed.
    pub seed: u64,
    /// Simulation precision.
    pub precision: Precision,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// The system.
    pub setup: Mnist01Setup,
    /// The evaluation classifier.
    pub classifier: ClassifierAccuracy,
    /// Share of "1" in the training set.
    pub train_class_balance: f64,
    /// Real test images (the reference).
    pub real_test: Quality,
    /// Force matching.
    pub force_matching: RuleSamples,
    /// CD1.
    pub cd1: RuleSamples,
    /// The paper's claims.
    pub paper_claims: Mnist01Claims,
}

/// The summary of either reproduction.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Summary {
    /// Fig. 1.
    Gmm2d(Box<Gmm2dSummary>),
    /// Fig. 2.
    Mnist01(Box<Mnist01Summary>),
}
