//! Configuration of `physlearn train` (`configs/mnist-*.toml`).

use crate::dynamics::{Langevin, Relaxation};
use crate::learn::{Estimator, OptimizerConfig};
use anyhow::ensure;
use serde::{Deserialize, Serialize};

/// Whole training configuration.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Seed of the initial weights, the shuffling and all noise.
    pub seed: u64,
    /// "f32" (default) or "f64".
    pub precision: String,
    /// The network.
    pub model: ModelConfig,
    /// The data.
    pub data: DataConfig,
    /// The learning rule and its dynamics.
    pub training: TrainingConfig,
}

/// A layered Hopfield network.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Layer sizes, input first (e.g. `[784, 500, 10]`).
    pub layers: Vec<usize>,
}

/// Which data.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// "mnist", "fashion-mnist" or "cifar10".
    pub dataset: String,
    /// Verify the published checksums before loading.
    pub verify: bool,
    /// Use only the first N training samples (0: all).
    pub train_limit: usize,
    /// Use only the first N test samples (0: all).
    pub test_limit: usize,
    /// Training-time augmentation: each training image is translated by a random whole
    /// number of pixels in `[−shift, shift]` along each axis (fresh per epoch, zero fill);
    /// 0 (default): none. Test images are never shifted.
    #[serde(default)]
    pub shift: usize,
}

/// EqProp training settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// Epochs.
    pub epochs: usize,
    /// Samples per batch.
    pub batch_size: usize,
    /// `one_sided`, `symmetric` or `random_sign`.
    pub estimator: Estimator,
    /// Nudge strength β.
    pub beta: f64,
    /// Free-phase relaxation.
    pub free: Relaxation,
    /// Nudged-phase relaxation.
    pub nudged: Relaxation,
    /// Optimizer.
    pub optimizer: OptimizerConfig,
    /// Learning-rate multiplier per layer `l` (applied to `W_l` and `b_{l+1}`); empty: all 1.
    pub layer_lr: Vec<f64>,
    /// Learning-rate schedule over epochs (default: constant).
    #[serde(default)]
    pub lr_schedule: LrSchedule,
}

/// Learning-rate schedule over epochs.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedule {
    /// The configured rate throughout.
    #[default]
    Constant,
    /// Cosine annealing: epoch `e` (0-based) of `E` uses `lr · ½(1 + cos(π e / E))`.
    Cosine,
}

impl LrSchedule {
    /// The learning-rate factor of 0-based `epoch` out of `epochs`.
    pub fn factor(self, epoch: usize, epochs: usize) -> f64 {
        match self {
            LrSchedule::Constant => 1.0,
            LrSchedule::Cosine => {
                0.5 * (1.0 + (std::f64::consts::PI * epoch as f64 / epochs as f64).cos())
            }
        }
    }
}

impl Default for TrainConfig {
    /// The classic EqProp setup (Scellier & Bengio 2017): 784-500-10 on MNIST, fixed-point
    /// iteration as projected gradient steps of size ε = 0.5 (the paper's `s ← ρ(s − ε ∂E/∂s)`),
    /// 20 free and 4 nudged steps, β = 1, SGD with per-layer rates 0.1 / 0.05, batch 20.
    fn default() -> Self {
        Self {
            seed: 0,
            precision: "f32".into(),
            model: ModelConfig {
                layers: vec![784, 500, 10],
            },
            data: DataConfig {
                dataset: "mnist".into(),
                verify: true,
                train_limit: 0,
                test_limit: 0,
                shift: 0,
            },
            training: TrainingConfig {
                epochs: 25,
                batch_size: 20,
                estimator: Estimator::OneSided,
                beta: 1.0,
                free: Relaxation::Langevin(Langevin {
                    dt: 0.5,
                    steps: 20,
                    temperature: 0.0,
                }),
                nudged: Relaxation::Langevin(Langevin {
                    dt: 0.5,
                    steps: 4,
                    temperature: 0.0,
                }),
                optimizer: OptimizerConfig::Sgd {
                    lr: 1.0,
                    momentum: 0.0,
                },
                layer_lr: vec![0.1, 0.05],
                lr_schedule: LrSchedule::Constant,
            },
        }
    }
}

impl TrainConfig {
    /// Checks the values, naming the key.
    pub fn validate(&self) -> anyhow::Result<()> {
        ensure!(
            self.precision == "f32" || self.precision == "f64",
            "precision must be \"f32\" or \"f64\""
        );
        ensure!(
            self.model.layers.len() >= 2,
            "model.layers needs at least an input and an output layer"
        );
        ensure!(self.training.epochs > 0, "training.epochs must be > 0");
        ensure!(
            self.training.batch_size > 0,
            "training.batch_size must be > 0"
        );
        crate::config::check::positive("training.beta", self.training.beta)?;
        self.training.free.check("training.free")?;
        self.training.nudged.check("training.nudged")?;
        self.training.optimizer.check("training.optimizer")?;
        ensure!(
            self.training
                .layer_lr
                .iter()
                .all(|r| r.is_finite() && *r > 0.0),
            "training.layer_lr must hold rates > 0 (got {:?})",
            self.training.layer_lr
        );
        ensure!(
            self.model.layers.iter().all(|&n| n > 0),
            "model.layers = {:?}: every layer needs at least one unit",
            self.model.layers
        );
        ensure!(
            self.training.layer_lr.is_empty()
                || self.training.layer_lr.len() == self.model.layers.len() - 1,
            "training.layer_lr has {} entries, expected one per weight layer ({})",
            self.training.layer_lr.len(),
            self.model.layers.len() - 1
        );
        self.check_memory()?;
        let ds = self.data.dataset.parse::<crate::data::Dataset>()?;
        let (_, rows, cols) = ds.shape();
        ensure!(
            self.data.shift < rows.min(cols),
            "data.shift = {} is not smaller than the {rows}×{cols} image",
            self.data.shift
        );
        Ok(())
    }
}

impl TrainConfig {
    /// Checks, before anything is allocated, that the network and its training state fit in
    /// memory: the parameters in the run's precision plus the f64 master copy, gradient,
    /// optimizer moments and rate scales, and the states of the batch's phases.
    fn check_memory(&self) -> anyhow::Result<()> {
        let l = &self.model.layers;
        let prec: u128 = if self.precision == "f64" { 8 } else { 4 };
        let mut params: Option<u128> = Some(0);
        for w in l.windows(2) {
            params = params.and_then(|p| {
                (w[0] as u128)
                    .checked_mul(w[1] as u128)
                    .and_then(|m| p.checked_add(m + w[1] as u128))
            });
        }
        let dim: u128 = l.iter().map(|&n| n as u128).sum();
        let batch = (self.training.batch_size as u128).max(1000);
        let bytes = params.and_then(|p| {
            p.checked_mul(prec + 6 * 8)?
                .checked_add(batch.checked_mul(dim)?.checked_mul(prec * 8)?)
        });
        crate::mem::check(
            &format!(
                "model.layers = {l:?} ({} parameters) with batches of {}",
                params.map_or("too many".to_string(), |p| p.to_string()),
                self.training.batch_size
            ),
            bytes,
        )
    }
}

impl crate::config::Layered for TrainConfig {
    fn check(&self) -> anyhow::Result<()> {
        self.validate()
    }
}
