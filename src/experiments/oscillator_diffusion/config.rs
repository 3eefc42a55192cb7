//! Configuration of the oscillator-diffusion reproductions (`configs/oscillator-gmm2d.toml`;
//! the MNIST defaults are built in and shown by `--print-config`).
//!
//! Both experiments learn a driving protocol `θ(t)` on a time grid with the sequential
//! trainer of [`crate::train::protocol::train_protocol`] (Bösch et al. 2025, eq. 8 for force
//! matching, eqs. 10–12 for CD1) and sample with the reverse-time SDE (eq. 2 run as eq. 6).

use crate::energy::oscillator::{OscillatorConfig, Topology};
use crate::learn::OptimizerConfig;
use crate::learn::cd1::Cd1Config;
use crate::learn::score::ScoreRule;
use crate::train::protocol::ProtocolTrainConfig;
use anyhow::ensure;
use serde::{Deserialize, Serialize};

/// How the points of a [`TimeGrid`] are spaced.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Spacing {
    /// `t_k = t_min + (τ − t_min) k/n`.
    Uniform,
    /// `t_k = t_min + (τ − t_min) (k/n)²`: denser near `t_min`, where `p_t` changes fastest.
    Quadratic,
}

/// The training time grid `t_0 = t_min < … < t_n = τ` (TOML table `[train.grid]`).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TimeGrid {
    /// First time point (0 is the data itself; a small `t > 0` regularises binary data).
    pub t_min: f64,
    /// Final time `τ` of the forward process (`e^{−τ}` should be small).
    pub tau: f64,
    /// Number of intervals `n` (the grid has `n + 1` points).
    pub intervals: usize,
    /// Point spacing.
    pub spacing: Spacing,
}

impl TimeGrid {
    /// The grid times.
    pub fn times(&self) -> Vec<f64> {
        let n = self.intervals as f64;
        (0..=self.intervals)
            .map(|k| {
                let u = k as f64 / n;
                let u = match self.spacing {
                    Spacing::Uniform => u,
                    Spacing::Quadratic => u * u,
                };
                self.t_min + (self.tau - self.t_min) * u
            })
            .collect()
    }

    fn validate(&self) -> anyhow::Result<()> {
        ensure!(
            self.t_min >= 0.0 && self.tau > self.t_min && self.tau.is_finite(),
            "train.grid: need 0 ≤ t_min < tau"
        );
        ensure!(self.intervals >= 1, "train.grid.intervals must be ≥ 1");
        Ok(())
    }
}

/// Settings of the sequential protocol trainer (TOML table `[train]`); the rule is chosen by
/// the experiment (`gmm2d`: `rule`, `mnist01`: force matching and CD1 side by side).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainSection {
    /// `k_BT` of the bath.
    pub temperature: f64,
    /// Time grid.
    pub grid: TimeGrid,
    /// Optimizer steps per time point.
    pub steps: usize,
    /// Steps at the first time point (cold start).
    pub first_steps: usize,
    /// Noised samples per step.
    pub batch: usize,
    /// One batch per time point reused every step (exact minimisation of the empirical
    /// objective) instead of a fresh batch every step.
    pub fixed_batch: bool,
    /// Optimizer (reset at every time point).
    pub optimizer: OptimizerConfig,
    /// Geometric learning-rate decay within a time point, to `lr · lr_final_frac`.
    pub lr_final_frac: f64,
    /// CD1 settings (used where the rule is CD1).
    pub cd1: Cd1Config,
}

impl TrainSection {
    /// The library trainer's configuration for `rule`.
    pub fn protocol_config(&self, rule: ScoreRule) -> ProtocolTrainConfig {
        ProtocolTrainConfig {
            rule,
            temperature: self.temperature,
            times: self.grid.times(),
            steps: self.steps,
            first_steps: Some(self.first_steps),
            batch: self.batch,
            fixed_batch: self.fixed_batch,
            optimizer: self.optimizer,
            lr_final_frac: self.lr_final_frac,
            cd1: self.cd1,
            dsm_min_time: 0.01,
        }
    }

    /// Total optimizer steps over the grid.
    pub fn total_steps(&self) -> usize {
        self.first_steps + self.grid.intervals * self.steps
    }

    fn validate(&self) -> anyhow::Result<()> {
        self.grid.validate()?;
        ensure!(self.first_steps > 0, "train.first_steps must be > 0");
        self.protocol_config(ScoreRule::ForceMatching).validate()?;
        self.cd1.validate()
    }
}

/// Reverse-time and equilibrium sampling (TOML table `[sampling]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SamplingSection {
    /// Samples drawn with the reverse-time SDE (the paper's S = 1000).
    pub samples: usize,
    /// Euler–Maruyama step of the reverse-time SDE (stiffness near t = 0 is about
    /// `2 k_BT / s²` for a mode of width `s`: keep `dt · stiffness ≲ 0.1`).
    pub dt: f64,
    /// Generated samples whose work and heat are measured (the first ones of the sampler:
    /// same keys, so with a multiple of 64 they are exactly the first generated samples).
    #[serde(default = "default_energetics_samples")]
    pub energetics_samples: usize,
}

fn default_energetics_samples() -> usize {
    256
}

/// The 2D Gaussian mixture (TOML table `[data]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MixtureConfig {
    /// Mode weights `ω_1, ω_2` (the first is the smaller mode).
    pub weights: [f64; 2],
    /// Mode means `μ_1, μ_2`.
    pub means: [[f64; 2]; 2],
    /// Isotropic standard deviations of the modes (`Σ_k = s_k² I`).
    pub stds: [f64; 2],
    /// Training set size `M` (the empirical `p^D` of the paper).
    pub train_samples: usize,
}

/// Plot and diagnostic grid (TOML table `[plot]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlotSection {
    /// Half-width of the square `[−extent, extent]²` shown (and integrated over for the
    /// Boltzmann mode weights).
    pub extent: f64,
    /// Grid points per axis.
    pub resolution: usize,
}

/// `physlearn exp oscillator-diffusion gmm2d`: a 2-oscillator network learns a mixture of two
/// 2D Gaussians (paper Fig. 1).
///
/// Setting (documented choice; the paper gives none): weights 0.3 / 0.7, means ±(1.5, 1.5),
/// standard deviation 0.5 per coordinate, `k_BT = 1` (the stationary law `N(0, 1)` has the
/// data's scale), `τ = 4` (`e^{−4} ≈ 0.02`), 41 uniform time points, one fixed batch of 8192
/// noised samples per time point minimised by Adam to convergence. The two modes are 8.5
/// standard deviations apart, so the true barrier is about 9 `k_BT`: a single ES chain of
/// time `τ × S = 4000` should cross it rarely or never.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Gmm2dConfig {
    /// Run seed.
    pub seed: u64,
    /// Learning rule (`force_matching`, the paper's; `cd1` and `dsm` for comparison).
    pub rule: ScoreRule,
    /// The data.
    pub data: MixtureConfig,
    /// The 2-oscillator network.
    pub oscillator: OscillatorConfig,
    /// Training.
    pub train: TrainSection,
    /// Sampling.
    pub sampling: SamplingSection,
    /// Equilibrium sampling baseline: one chain on `Ê_θ(0)` recorded every `τ`, `S` times
    /// (`S = sampling.samples`), with this step.
    pub es_dt: f64,
    /// Plots.
    pub plot: PlotSection,
}

impl Default for Gmm2dConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            rule: ScoreRule::ForceMatching,
            data: MixtureConfig {
                weights: [0.3, 0.7],
                means: [[1.5, 1.5], [-1.5, -1.5]],
                stds: [0.5, 0.5],
                train_samples: 20_000,
            },
            oscillator: OscillatorConfig {
                topology: Topology::Pairs {
                    n: 2,
                    pairs: vec![[0, 1]],
                },
                gamma_min: 1e-3,
                init_alpha: 1.0,
            },
            train: TrainSection {
                temperature: 1.0,
                grid: TimeGrid {
                    t_min: 0.0,
                    tau: 4.0,
                    intervals: 40,
                    spacing: Spacing::Uniform,
                },
                steps: 1500,
                first_steps: 4000,
                batch: 8192,
                fixed_batch: true,
                optimizer: OptimizerConfig::Adam {
                    lr: 0.03,
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-12,
                    weight_decay: 0.0,
                },
                lr_final_frac: 1e-3,
                cd1: Cd1Config {
                    delta: 1e-3,
                    draws: 16,
                    antithetic: true,
                },
            },
            sampling: SamplingSection {
                samples: 1000,
                dt: 0.004,
                energetics_samples: default_energetics_samples(),
            },
            es_dt: 0.004,
            plot: PlotSection {
                extent: 4.0,
                resolution: 161,
            },
        }
    }
}

impl Gmm2dConfig {
    /// `--quick`: same physics, coarser grid, fewer steps and smaller batches.
    pub fn quick(mut self) -> Self {
        self.data.train_samples = 4000;
        self.train.grid.intervals = 16;
        self.train.steps = 300;
        self.train.first_steps = 1000;
        self.train.batch = 2048;
        self.plot.resolution = 101;
        self
    }

    /// Checks every section.
    pub fn validate(&self) -> anyhow::Result<()> {
        let d = &self.data;
        ensure!(
            d.weights.iter().all(|w| *w > 0.0) && (d.weights[0] + d.weights[1] - 1.0).abs() < 1e-9,
            "data.weights must be positive and sum to 1"
        );
        ensure!(
            d.weights[0] <= d.weights[1],
            "data.weights: list the smaller mode first"
        );
        ensure!(d.stds.iter().all(|s| *s > 0.0), "data.stds must be > 0");
        ensure!(d.train_samples > 0, "data.train_samples must be > 0");
        ensure!(
            self.oscillator.topology.n_oscillators() == 2,
            "oscillator.topology must have 2 oscillators (the data is 2D)"
        );
        self.oscillator.validate()?;
        self.train.validate()?;
        ensure!(self.sampling.samples > 1, "sampling.samples must be > 1");
        ensure!(
            self.sampling.energetics_samples > 0,
            "sampling.energetics_samples must be > 0"
        );
        crate::config::check::positive("sampling.dt", self.sampling.dt)?;
        crate::config::check::positive("es_dt", self.es_dt)?;
        ensure!(
            self.plot.extent > 0.0 && self.plot.resolution >= 11,
            "plot: need extent > 0, resolution ≥ 11"
        );
        Ok(())
    }
}

/// MNIST preprocessing (TOML table `[data]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MnistSection {
    /// Pixels cropped from each border of the 28×28 image before pooling (MNIST digits sit
    /// in the central 20×20 box: 4 gives 20×20, pooled 2×2 to 10×10).
    pub crop: usize,
    /// Side of the downsampled image (the lattice is `side × side`).
    pub side: usize,
    /// A pooled pixel is "on" when its mean intensity (in `[0, 1]`) exceeds this.
    pub threshold: f64,
    /// Value of an "on" pixel; "off" pixels are `−on_value` (binary pixels as `±a`).
    pub on_value: f64,
    /// Use at most this many training images (0 = all 0s and 1s, about 12 700).
    pub max_train: usize,
}

/// Sample-quality evaluation (TOML table `[eval]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EvalSection {
    /// A classifier label is "confident" when its probability exceeds this.
    pub confident_prob: f64,
    /// Gradient-descent epochs of the logistic-regression classifier.
    pub classifier_epochs: usize,
    /// Its L2 penalty.
    pub classifier_l2: f64,
}

/// `physlearn exp oscillator-diffusion mnist01`: a 10×10 oscillator lattice (grid, couplings
/// up to next-next-nearest neighbours) learns binarized 10×10 MNIST 0s and 1s with force
/// matching and with CD1 (paper Fig. 2).
///
/// Setting (documented choice): pixels `±1`, `k_BT = 1`, time grid from `t_min = 0.02`
/// (`σ ≈ 0.2`: binary pixels make `x² = 1` and the α, β, γ features collinear at `t = 0`)
/// to `τ = 3` with quadratic spacing, fresh batches of 512 per step with geometric
/// learning-rate decay. `γ_min = 0.05`: with `γ_min = 10⁻³` the fitted `β_n` turn negative
/// at intermediate times, the energy is confining only at large `|x|`, and reverse samples
/// that wander there diverge. The reverse step `dt = 5·10⁻⁴` resolves the stiffness of
/// `Ê_θ(t_min)` (curvatures of order 100 at `|x| ≈ 1.5`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Mnist01Config {
    /// Run seed.
    pub seed: u64,
    /// "f32" or "f64".
    pub precision: crate::real::Precision,
    /// Preprocessing.
    pub data: MnistSection,
    /// The lattice (its topology must be a `side × side` grid).
    pub oscillator: OscillatorConfig,
    /// Training (both rules use it; CD1 reads `train.cd1`).
    pub train: TrainSection,
    /// Sampling.
    pub sampling: SamplingSection,
    /// Evaluation.
    pub eval: EvalSection,
}

impl Default for Mnist01Config {
    fn default() -> Self {
        Self {
            seed: 0,
            precision: crate::real::Precision::F32,
            data: MnistSection {
                crop: 4,
                side: 10,
                threshold: 0.35,
                on_value: 1.0,
                max_train: 0,
            },
            oscillator: OscillatorConfig {
                topology: Topology::Grid {
                    rows: 10,
                    cols: 10,
                    shells: 3,
                },
                gamma_min: 0.05,
                init_alpha: 1.0,
            },
            train: TrainSection {
                temperature: 1.0,
                grid: TimeGrid {
                    t_min: 0.02,
                    tau: 3.0,
                    intervals: 40,
                    spacing: Spacing::Quadratic,
                },
                steps: 250,
                first_steps: 1000,
                batch: 512,
                fixed_batch: false,
                optimizer: OptimizerConfig::Adam {
                    lr: 0.01,
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-8,
                    weight_decay: 0.0,
                },
                lr_final_frac: 0.05,
                cd1: Cd1Config {
                    delta: 1e-3,
                    draws: 8,
                    antithetic: true,
                },
            },
            sampling: SamplingSection {
                samples: 1000,
                dt: 5e-4,
                energetics_samples: default_energetics_samples(),
            },
            eval: EvalSection {
                confident_prob: 0.9,
                classifier_epochs: 300,
                classifier_l2: 1e-3,
            },
        }
    }
}

impl Mnist01Config {
    /// `--quick`: same physics, fewer time points, steps and samples.
    pub fn quick(mut self) -> Self {
        self.data.max_train = 4000;
        self.train.grid.intervals = 12;
        self.train.steps = 60;
        self.train.first_steps = 200;
        self.train.cd1.draws = 4;
        self.sampling.samples = 300;
        self.eval.classifier_epochs = 150;
        self
    }

    /// Checks every section.
    pub fn validate(&self) -> anyhow::Result<()> {
        let d = &self.data;
        ensure!(
            d.side >= 2 && 2 * d.crop < 28 && (28 - 2 * d.crop) >= d.side,
            "data: need side ≥ 2 and 28 − 2·crop ≥ side"
        );
        ensure!(
            d.threshold > 0.0 && d.threshold < 1.0 && d.on_value > 0.0,
            "data: need 0 < threshold < 1 and on_value > 0"
        );
        ensure!(
            self.oscillator.topology.n_oscillators() == d.side * d.side,
            "oscillator.topology must have data.side² = {} oscillators",
            d.side * d.side
        );
        self.oscillator.validate()?;
        self.train.validate()?;
        ensure!(self.sampling.samples > 1, "sampling.samples must be > 1");
        ensure!(
            self.sampling.energetics_samples > 0,
            "sampling.energetics_samples must be > 0"
        );
        crate::config::check::positive("sampling.dt", self.sampling.dt)?;
        ensure!(
            self.eval.confident_prob > 0.5 && self.eval.confident_prob < 1.0,
            "eval.confident_prob must be in (0.5, 1)"
        );
        Ok(())
    }
}

impl crate::config::Layered for Gmm2dConfig {
    fn check(&self) -> anyhow::Result<()> {
        self.validate()
    }
}

impl crate::config::Layered for Mnist01Config {
    fn check(&self) -> anyhow::Result<()> {
        self.validate()
    }
}
