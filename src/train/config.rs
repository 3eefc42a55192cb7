//! Configuration of `physlearn train` (`configs/mnist-*.toml`).

use crate::dynamics::{Langevin, Relaxation};
use crate::energy::layered::{
    ConvSpec, DenseInit, OutputUnits, PoolKind, Shape, Stage, check_stages,
};
use crate::learn::{Formula, OptimizerConfig, RuleKind};
use anyhow::ensure;
use serde::{Deserialize, Serialize};

/// Whole training configuration.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Seed of the initial weights, the shuffling and all noise.
    pub seed: u64,
    /// The simulation precision: "f32" (default) or "f64".
    pub precision: crate::real::Precision,
    /// The network.
    pub model: ModelConfig,
    /// The data.
    pub data: DataConfig,
    /// The learning rule and its dynamics.
    pub training: TrainingConfig,
}

/// A layered Hopfield network: a dense net (`layers`, input first) or a convolutional one
/// (`conv` stages on the input image, then `dense` layers, the output last).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Dense net: layer sizes, input first (e.g. `[784, 500, 10]`); empty for a conv net.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<usize>,
    /// Conv net: the convolution + pooling stages applied to the input image, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conv: Vec<ConvLayer>,
    /// Conv net: the dense layers after the last conv stage (sizes, the output last).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dense: Vec<usize>,
    /// Conv net: every conv stage's channel count is multiplied by this factor (rounded, at
    /// least 1), so a narrower copy of a net fits a small machine.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub width: f64,
    /// Conv net: images are zero-padded (centred) to `pad_to × pad_to` (0: as the dataset's).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pad_to: usize,
    /// Conv net: the output layer's units, `hard_sigmoid` (default) or `linear`
    /// ([`OutputUnits`]).
    #[serde(default, skip_serializing_if = "is_hard_sigmoid")]
    pub output: OutputUnits,
}

fn is_hard_sigmoid(o: &OutputUnits) -> bool {
    *o == OutputUnits::HardSigmoid
}

fn one() -> f64 {
    1.0
}
fn is_one(v: &f64) -> bool {
    *v == 1.0
}
fn is_zero(v: &usize) -> bool {
    *v == 0
}
fn one_usize() -> usize {
    1
}
fn two() -> usize {
    2
}

/// One convolution + pooling stage of a conv net (`[[model.conv]]`).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConvLayer {
    /// Output channels (before `model.width`).
    pub channels: usize,
    /// Kernel size (square).
    pub kernel: usize,
    /// Zero padding on each side (default 0).
    #[serde(default)]
    pub padding: usize,
    /// Convolution stride (default 1).
    #[serde(default = "one_usize")]
    pub stride: usize,
    /// Pooling window and stride (default 2; 1: no pooling).
    #[serde(default = "two")]
    pub pool: usize,
    /// `max` (default) or `avg` pooling.
    #[serde(default)]
    pub pool_kind: PoolKind,
}

impl ModelConfig {
    /// True for a conv net (`model.conv` given).
    pub fn is_conv(&self) -> bool {
        !self.conv.is_empty()
    }

    /// The input shape and the stages of a conv net for images of `(channels, rows, cols)`.
    pub fn stages(&self, image: (usize, usize, usize)) -> (Shape, Vec<Stage>) {
        let (c, h, w) = image;
        let (h, w) = if self.pad_to > 0 {
            (self.pad_to, self.pad_to)
        } else {
            (h, w)
        };
        let mut stages: Vec<Stage> = self
            .conv
            .iter()
            .map(|l| {
                Stage::Conv(ConvSpec {
                    channels: ((l.channels as f64 * self.width).round() as usize).max(1),
                    kernel: l.kernel,
                    stride: l.stride,
                    padding: l.padding,
                    pool: l.pool,
                    pool_kind: l.pool_kind,
                })
            })
            .collect();
        // PyTorch's default initialisation throughout, as the published conv EP code.
        stages.extend(self.dense.iter().map(|&units| Stage::Dense {
            units,
            init: DenseInit::FanIn,
        }));
        (Shape::map(c, h, w), stages)
    }

    /// The number of units of every layer, input first, for images of `image` shape.
    pub fn layer_sizes(&self, image: (usize, usize, usize)) -> anyhow::Result<Vec<usize>> {
        if !self.is_conv() {
            return Ok(self.layers.clone());
        }
        let (input, stages) = self.stages(image);
        Ok(check_stages(input, &stages)?
            .iter()
            .map(|s| s.len())
            .collect())
    }
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

fn default_eta() -> f64 {
    0.5
}

/// EqProp training settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// Epochs.
    pub epochs: usize,
    /// Samples per batch.
    pub batch_size: usize,
    /// The learning rule ([`RuleKind`]): `one_sided`, `negative`, `symmetric`, `random_sign`
    /// (EqProp), `finite_nudge`, `finite_nudge_covariance`, `contrastive`, `coupled`, or
    /// `bptt` and `implicit` (the exact references).
    pub estimator: RuleKind,
    /// Nudge strength β.
    pub beta: f64,
    /// How an EqProp rule turns its pair of states into a gradient (default `standard`).
    #[serde(default)]
    pub formula: Formula,
    /// Read each phase's `∂_θE` as its average over this many final steps (0, the default:
    /// the final state only), as the finite-temperature rules want.
    #[serde(default)]
    pub readout_window: usize,
    /// The fraction η ∈ (0, 1] of the way to the target at which `coupled` clamps the output
    /// (default 0.5).
    #[serde(default = "default_eta")]
    pub eta: f64,
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
            precision: crate::real::Precision::F32,
            model: ModelConfig {
                layers: vec![784, 500, 10],
                conv: vec![],
                dense: vec![],
                width: 1.0,
                pad_to: 0,
                output: OutputUnits::HardSigmoid,
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
                estimator: RuleKind::OneSided,
                beta: 1.0,
                formula: Formula::Standard,
                readout_window: 0,
                eta: default_eta(),
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
                    weight_decay: 0.0,
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
        self.check_model()?;
        ensure!(self.training.epochs > 0, "training.epochs must be > 0");
        ensure!(
            self.training.batch_size > 0,
            "training.batch_size must be > 0"
        );
        crate::config::check::positive("training.beta", self.training.beta)?;
        let eta = self.training.eta;
        anyhow::ensure!(
            eta > 0.0 && eta <= 1.0,
            "training.eta must be in (0, 1] (the fraction of the way to the target at which \
             coupled learning clamps the output), got {eta}"
        );
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
        let ds = self.data.dataset.parse::<crate::data::Dataset>()?;
        let sizes = self.model.layer_sizes(ds.shape())?;
        ensure!(
            self.training.layer_lr.is_empty() || self.training.layer_lr.len() == sizes.len() - 1,
            "training.layer_lr has {} entries, expected one per weight layer ({})",
            self.training.layer_lr.len(),
            sizes.len() - 1
        );
        self.check_memory(&sizes)?;
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
    /// Checks the model table: a dense net or a conv net (not both), with layers that chain.
    fn check_model(&self) -> anyhow::Result<()> {
        let m = &self.model;
        if !m.is_conv() {
            ensure!(
                m.dense.is_empty()
                    && m.pad_to == 0
                    && m.width == 1.0
                    && m.output == OutputUnits::HardSigmoid,
                "model.dense, model.pad_to, model.width and model.output are for conv nets \
                 (model.conv)"
            );
            ensure!(
                m.layers.len() >= 2,
                "model.layers needs at least an input and an output layer"
            );
            ensure!(
                m.layers.iter().all(|&n| n > 0),
                "model.layers = {:?}: every layer needs at least one unit",
                m.layers
            );
            return Ok(());
        }
        ensure!(
            m.layers.is_empty(),
            "model.layers (a dense net, input first) and model.conv (a conv net) are exclusive: \
             give a conv net's dense layers as model.dense"
        );
        ensure!(
            !m.dense.is_empty(),
            "model.dense must end the conv net with its output layer (e.g. [10])"
        );
        crate::config::check::positive("model.width", m.width)?;
        let ds = self.data.dataset.parse::<crate::data::Dataset>()?;
        let (c, h, w) = ds.shape();
        ensure!(
            m.pad_to == 0 || (m.pad_to >= h && m.pad_to >= w),
            "model.pad_to = {} is smaller than the {h}×{w} images of {}",
            m.pad_to,
            ds.name()
        );
        let (input, stages) = m.stages((c, h, w));
        check_stages(input, &stages).map_err(|e| anyhow::anyhow!("model: {e}"))?;
        Ok(())
    }

    /// Checks, before anything is allocated, that the network and its training state fit in
    /// memory: the parameters in the run's precision plus the f64 master copy, gradient,
    /// optimizer moments and rate scales, and the states of the batch's phases.
    fn check_memory(&self, l: &[usize]) -> anyhow::Result<()> {
        let prec = self.precision.bytes() as u128;
        let mut params: Option<u128> = Some(0);
        if self.model.is_conv() {
            // Conv weights are far fewer than a dense net of the same layers would hold.
            let (input, stages) = self
                .model
                .stages(self.data.dataset.parse::<crate::data::Dataset>()?.shape());
            let mut below = input;
            for st in &stages {
                let (n, out) = match *st {
                    Stage::Conv(c) => {
                        let out = check_stages(below, &[*st])?[1];
                        (c.channels * below.c * c.kernel * c.kernel + c.channels, out)
                    }
                    Stage::Dense { units, .. } => (units * below.len() + units, Shape::flat(units)),
                };
                params = params.and_then(|p| p.checked_add(n as u128));
                below = out;
            }
        } else {
            for w in l.windows(2) {
                params = params.and_then(|p| {
                    (w[0] as u128)
                        .checked_mul(w[1] as u128)
                        .and_then(|m| p.checked_add(m + w[1] as u128))
                });
            }
        }
        let dim: u128 = l.iter().map(|&n| n as u128).sum();
        let batch = (self.training.batch_size as u128).max(1000);
        let bytes = params.and_then(|p| {
            p.checked_mul(prec + 6 * 8)?
                .checked_add(batch.checked_mul(dim)?.checked_mul(prec * 8)?)
        });
        crate::mem::check(
            &format!(
                "{}{l:?} ({} parameters) with batches of {}",
                if self.model.is_conv() {
                    "a conv net of layer sizes "
                } else {
                    "model.layers = "
                },
                params.map_or("too many".to_string(), |p| p.to_string()),
                self.training.batch_size
            ),
            bytes,
        )
    }
}

impl crate::config::Layered for TrainConfig {
    /// A conv net's `model.conv` replaces the default dense `model.layers` and vice versa.
    const EXCLUSIVE: &'static [&'static [&'static str]] = &[&["model.layers", "model.conv"]];

    fn check(&self) -> anyhow::Result<()> {
        self.validate()
    }
}
