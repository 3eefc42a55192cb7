//! `physlearn train`: supervised EqProp training of layered Hopfield classifiers on image data
//! (the classic EqProp setup of Scellier & Bengio 2017 and the cSB-EqProp paper).
//!
//! Each step relaxes a batch with the input clamped (free phase), then nudges the output
//! towards the one-hot label with `β C`, `C = ½‖s_out − y‖²` (one or two nudged phases), and
//! applies the EqProp estimate with SGD/Adam and per-layer learning-rate multipliers. The run
//! and its directory (checkpoints, metrics, resumption, stopping) are in [`run`]; several
//! seeds of one configuration in [`seeds`].

pub mod config;
pub mod confusion;
pub mod protocol;
pub mod run;
pub mod seeds;
pub mod step;

pub use config::TrainConfig;
pub use confusion::Confusion;
pub use run::{
    Interrupted, StopFlag, TrainOptions, TrainState, TrainSummary, load_sets, resume_config, train,
};
pub use seeds::{SeedsSummary, train_seeds};

use crate::data::ImageSet;
use crate::dynamics::Phase;
use crate::dynamics::{NoiseKey, Workspace, relax};
use crate::energy::Classifier;
use crate::energy::cost::WeightedSquaredError;
use crate::energy::layered::Layered;
use crate::learn::rule::{Batch, Phases, Rule, RuleSettings};
use crate::learn::{Optimizer, PhaseSpec};
use crate::real::Real;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use std::time::Instant;
use step::Stepper;

/// What one epoch measured, without its timing (what a checkpoint keeps).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EpochResult {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Error rate on the training batches (free-phase predictions during training).
    pub train_error: f64,
    /// Error rate on the test split.
    pub test_error: f64,
    /// Mean free-phase energy over the training batches (without the clamped input's own
    /// `½‖x_in‖²`, a per-image constant).
    pub train_energy: f64,
}

impl EpochResult {
    /// These metrics with the epoch's wall-clock `seconds`.
    pub fn with_seconds(self, seconds: f64) -> EpochMetrics {
        EpochMetrics {
            epoch: self.epoch,
            train_error: self.train_error,
            test_error: self.test_error,
            train_energy: self.train_energy,
            seconds,
        }
    }
}

/// A training epoch was abandoned at a batch boundary because a stop was requested.
#[derive(Debug, thiserror::Error)]
#[error("stop requested")]
pub struct StopRequested;

/// One epoch's metrics (a row of `metrics.csv`).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct EpochMetrics {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Error rate on the training batches (free-phase predictions during training).
    pub train_error: f64,
    /// Error rate on the test split.
    pub test_error: f64,
    /// Mean free-phase energy over the training batches (without the clamped input's own
    /// `½‖x_in‖²`, a per-image constant).
    pub train_energy: f64,
    /// Wall-clock seconds of the epoch's training part (NaN where a resumed run lost it).
    pub seconds: f64,
}

impl EpochMetrics {
    /// The metrics without the timing.
    pub fn result(&self) -> EpochResult {
        EpochResult {
            epoch: self.epoch,
            train_error: self.train_error,
            test_error: self.test_error,
            train_energy: self.train_energy,
        }
    }
}

fn argmax<T: Real>(v: &[T]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

/// Where an image sits in the input layer: a `rows × cols` frame (at least the image's
/// size), the image centred in it and the border zero (`model.pad_to`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Rows of the frame.
    pub rows: usize,
    /// Columns of the frame.
    pub cols: usize,
}

impl Frame {
    /// The frame of `cfg`'s model for the images of `set`.
    pub fn of(cfg: &TrainConfig, set: &ImageSet) -> Self {
        let p = cfg.model.pad_to;
        if p > 0 {
            Frame { rows: p, cols: p }
        } else {
            Frame {
                rows: set.rows,
                cols: set.cols,
            }
        }
    }
}

/// The initial states (inputs in `[0, 1]` clamped, free units at 0) and one-hot targets of
/// the images `idx` of `set`, for a network of state dimension `dim`.
pub fn batch_state<T: Real>(set: &ImageSet, idx: &[usize], dim: usize) -> (Vec<T>, Vec<T>) {
    batch_state_shifted(set, idx, dim, 0, NoiseKey::new(0, 0))
}

/// As [`batch_state`], with each image translated by a random `(dy, dx) ∈ [−shift, shift]²`
/// whole pixels (zero fill), drawn from `key` keyed by the image's index in `set`, so the
/// shift of an image does not depend on batching or threads; `shift = 0` copies.
pub fn batch_state_shifted<T: Real>(
    set: &ImageSet,
    idx: &[usize],
    dim: usize,
    shift: usize,
    key: NoiseKey,
) -> (Vec<T>, Vec<T>) {
    let frame = Frame {
        rows: set.rows,
        cols: set.cols,
    };
    batch_state_framed(set, idx, dim, frame, shift, key)
}

/// As [`batch_state_shifted`], with each image centred in `frame` (zero border).
pub fn batch_state_framed<T: Real>(
    set: &ImageSet,
    idx: &[usize],
    dim: usize,
    frame: Frame,
    shift: usize,
    key: NoiseKey,
) -> (Vec<T>, Vec<T>) {
    let mut x = vec![T::zero(); idx.len() * dim];
    let mut y = vec![T::zero(); idx.len() * set.classes];
    batch_state_into(set, idx, (dim, frame), (shift, key), &mut x, &mut y);
    (x, y)
}

/// [`batch_state_framed`] into buffers of the batch's size (`x`: `idx.len() × dim`, `y`:
/// `idx.len() × classes`), every entry written, so a training loop reuses one pair of
/// buffers across batches. Samples are filled in parallel; each depends only on its image
/// and its key, so the result does not depend on the thread count.
pub fn batch_state_into<T: Real>(
    set: &ImageSet,
    idx: &[usize],
    (dim, frame): (usize, Frame),
    (shift, key): (usize, NoiseKey),
    x: &mut [T],
    y: &mut [T],
) {
    use rayon::prelude::*;
    assert_eq!(x.len(), idx.len() * dim, "state buffer of the batch's size");
    assert_eq!(
        y.len(),
        idx.len() * set.classes,
        "target buffer of the batch's size"
    );
    let (rows, cols) = (set.rows as isize, set.cols as isize);
    let (fr, fc) = (frame.rows as isize, frame.cols as isize);
    let (top, left) = ((fr - rows) / 2, (fc - cols) / 2);
    let n_in = set.channels * frame.rows * frame.cols;
    let plain = shift == 0 && (fr, fc) == (rows, cols);
    // Pixel byte → value in [0, 1], once per batch instead of a division per pixel.
    let lut: Vec<T> = (0..256).map(|p| T::of(p as f64 / 255.0)).collect();
    let fill = |(xs, ys): (&mut [T], &mut [T]), i: usize| {
        let (dst, rest) = xs.split_at_mut(n_in);
        rest.fill(T::zero());
        let img = set.image(i);
        if plain {
            for (d, &p) in dst.iter_mut().zip(img) {
                *d = lut[p as usize];
            }
        } else {
            dst.fill(T::zero());
            let (dy, dx) = if shift == 0 {
                (0, 0)
            } else {
                let s = shift as i64;
                let mut rng = key.rng(i as u64, 0);
                let dy = rand::Rng::random_range(&mut rng, -s..=s) as isize;
                let dx = rand::Rng::random_range(&mut rng, -s..=s) as isize;
                (dy, dx)
            };
            for (dch, ich) in dst
                .chunks_exact_mut((fr * fc) as usize)
                .zip(img.chunks_exact((rows * cols) as usize))
            {
                for r in 0..fr {
                    let sr = r - top - dy;
                    if !(0..rows).contains(&sr) {
                        continue;
                    }
                    for q in 0..fc {
                        let sq = q - left - dx;
                        if (0..cols).contains(&sq) {
                            dch[(r * fc + q) as usize] =
                                lut[ich[(sr * cols + sq) as usize] as usize];
                        }
                    }
                }
            }
        }
        ys.fill(T::zero());
        ys[set.labels[i] as usize] = T::one();
    };
    x.par_chunks_mut(dim)
        .zip(y.par_chunks_mut(set.classes))
        .zip(idx.par_iter())
        .with_min_len(16)
        .for_each(|(pair, &i)| fill(pair, i));
}

/// The network `cfg` describes, freshly initialised from its seed, for images of `image`
/// shape `(channels, rows, cols)`: a layered energy, a chain of dense couplings for
/// `model.layers` (initialised as the dense Hopfield net, [`Layered::dense`]) or the conv
/// net for `model.conv`.
pub fn build_net<T: Real>(
    cfg: &TrainConfig,
    image: (usize, usize, usize),
) -> anyhow::Result<Box<dyn Classifier<T>>> {
    if cfg.model.is_conv() {
        let (input, stages) = cfg.model.stages(image);
        Ok(Box::new(
            Layered::<T>::new(input, &stages, cfg.seed)?.with_output(cfg.model.output),
        ))
    } else {
        Ok(Box::new(Layered::<T>::dense(&cfg.model.layers, cfg.seed)?))
    }
}

/// Test-split error of the network: free phase with the configured dynamics, argmax output.
pub fn evaluate<T: Real>(
    net: &dyn Classifier<T>,
    cfg: &TrainConfig,
    set: &ImageSet,
    key: NoiseKey,
) -> anyhow::Result<f64> {
    Ok(evaluate_energies(net, cfg, set, key)?.0)
}

/// Error rate and per-sample free-phase energies (at the end of the configured free phase) of
/// the network on `set`.
pub fn evaluate_energies<T: Real>(
    net: &dyn Classifier<T>,
    cfg: &TrainConfig,
    set: &ImageSet,
    key: NoiseKey,
) -> anyhow::Result<(f64, Vec<f64>)> {
    let ev = evaluate_all(net, cfg, set, key)?;
    Ok((ev.error, ev.energies))
}

/// What a free-phase evaluation of a classifier on a split measured.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// Error rate.
    pub error: f64,
    /// Free-phase energy of every sample, in order (without the input's own `½‖x_in‖²`).
    pub energies: Vec<f64>,
    /// True against predicted classes.
    pub confusion: Confusion,
}

/// Error rate, per-sample free-phase energies and the confusion matrix of the network on
/// `set` (free phase with the configured dynamics, argmax output).
pub fn evaluate_all<T: Real>(
    net: &dyn Classifier<T>,
    cfg: &TrainConfig,
    set: &ImageSet,
    key: NoiseKey,
) -> anyhow::Result<Evaluation> {
    let d = net.dim();
    let nc = net.n_clamped();
    let (start, len) = net.output_block();
    let bs = 1000.min(set.n).max(1);
    let mut confusion = Confusion::new(set.classes.max(len));
    let mut energies = Vec::with_capacity(set.n);
    let mut ws = Workspace::new();
    let frame = Frame::of(cfg, set);
    for (bi, chunk) in (0..set.n).collect::<Vec<_>>().chunks(bs).enumerate() {
        let (mut x, _) = batch_state_framed::<T>(set, chunk, d, frame, 0, NoiseKey::new(0, 0));
        relax(
            net,
            &mut x,
            &cfg.training.free,
            &Phase::free("free (evaluation)", nc, key.child(bi as u64)),
            &mut ws,
            None,
        )?;
        for (b, &i) in chunk.iter().enumerate() {
            let predicted = argmax(&x[b * d + start..b * d + start + len]);
            confusion.add(set.labels[i] as usize, predicted);
        }
        let mut e = vec![T::zero(); chunk.len()];
        state_energies(net, &x, ws.drive(), &mut e, &mut energies);
    }
    Ok(Evaluation {
        error: confusion.error(),
        energies,
        confusion,
    })
}

/// Appends to `energies` the energy of each sample's state `x` given its clamped input,
/// without the input's own `½‖x_in‖²` (a per-image constant that would swamp the
/// differences the dynamics and the training make); `drive` is the batch's cached drive.
fn state_energies<T: Real>(
    net: &dyn Classifier<T>,
    x: &[T],
    drive: &[T],
    scratch: &mut [T],
    energies: &mut Vec<f64>,
) {
    use rayon::prelude::*;
    let (d, nc) = (net.dim(), net.n_clamped());
    let nf = d - nc;
    if nc == 0 || drive.len() != scratch.len() * nf {
        crate::energy::energy_free(net, x, nc, drive, scratch);
        for (e, xs) in scratch.iter().zip(x.chunks_exact(d)) {
            energies.push(e.f64() - crate::real::half_sq_norm_f64(&xs[..nc]));
        }
        return;
    }
    let first = energies.len();
    energies.resize(first + scratch.len(), 0.0);
    // Chunks of a fixed number of samples (not one per thread), so the bits do not depend
    // on the thread count.
    const CHUNK: usize = 32;
    scratch
        .par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK * d))
        .zip(drive.par_chunks(CHUNK * nf))
        .zip(energies[first..].par_chunks_mut(CHUNK))
        .for_each(|(((s, x), drive), out)| {
            crate::energy::energy_free(net, x, nc, drive, s);
            for ((o, e), xs) in out.iter_mut().zip(&*s).zip(x.chunks_exact(d)) {
                *o = e.f64() - crate::real::half_sq_norm_f64(&xs[..nc]);
            }
        });
}

/// What one training epoch measured.
#[derive(Clone, Debug)]
pub struct EpochStats {
    /// Error of the free-phase predictions on the training batches.
    pub train_error: f64,
    /// Free-phase energy of every training sample seen, in order (without the clamped
    /// input's own `½‖x_in‖²`).
    pub energies: Vec<f64>,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Samples trained on.
    pub samples: usize,
}

/// An EqProp-trained Hopfield classifier with its optimizer: the training loop of
/// `physlearn train`, reusable by experiments.
pub struct Trainer<T: Real> {
    /// The network (parameters in `T`).
    pub net: Box<dyn Classifier<T>>,
    /// The optimizer, the f64 parameters and the per-layer rates.
    pub step: Stepper<T>,
    cfg: TrainConfig,
    rule: Box<dyn Rule<T>>,
    phases: Phases,
    key: NoiseKey,
    /// When set, [`Trainer::train_epoch`] stops at the next batch boundary with
    /// [`StopRequested`].
    pub stop: Option<run::StopFlag>,
}

impl<T: Real> Trainer<T> {
    /// A freshly initialised network and optimizer for `cfg`.
    pub fn new(cfg: &TrainConfig) -> anyhow::Result<Self> {
        let image = cfg.data.dataset.parse::<crate::data::Dataset>()?.shape();
        let net = build_net::<T>(cfg, image)?;
        let blocks = net.param_blocks();
        let np = net.n_params();
        // Per-block learning-rate multipliers: layer l scales W_l and b_{l+1}. Runs of
        // (first parameter, factor), sorted by offset.
        let mut lr_scale = vec![(0, 1.0)];
        if !cfg.training.layer_lr.is_empty() {
            lr_scale = blocks
                .iter()
                .map(|b| {
                    let l: usize = b.name[2..].parse().expect("block names W_l / b_l");
                    let layer = if b.name.starts_with('W') { l } else { l - 1 };
                    let s = cfg.training.layer_lr[layer.min(cfg.training.layer_lr.len() - 1)];
                    (b.offset, s)
                })
                .collect();
            lr_scale.sort_by_key(|r| r.0);
            anyhow::ensure!(
                lr_scale.first().is_some_and(|r| r.0 == 0),
                "the parameter blocks must start at offset 0"
            );
        }
        let rule = RuleSettings::new(cfg.training.estimator, cfg.training.beta)
            .with_formula(cfg.training.formula)
            .with_eta(cfg.training.eta)
            .build::<T>();
        let window = cfg.training.readout_window;
        let phase = |r| PhaseSpec {
            readout_window: window,
            ..PhaseSpec::finite(r)
        };
        let phases = Phases {
            free: phase(cfg.training.free),
            nudged: phase(cfg.training.nudged),
        };
        rule.check(&phases)
            .map_err(|e| anyhow::anyhow!("training.estimator: {e}"))?;
        let mut step = Stepper::new(Optimizer::new(cfg.training.optimizer, np), &*net);
        step.lr_scale = lr_scale;
        Ok(Self {
            step,
            net,
            cfg: cfg.clone(),
            rule,
            phases,
            key: NoiseKey::new(cfg.seed, 0x7EA1),
            stop: None,
        })
    }

    /// Sets the parameters (f64) and pushes them into the network.
    pub fn set_theta(&mut self, theta: &[f64]) -> anyhow::Result<()> {
        self.step.set_theta(&mut *self.net, theta)
    }

    /// One epoch over `set` (0-based `epoch` keys the shuffle and the noise), with the
    /// configured learning-rate schedule; `pb` ticks once per batch. Fails with
    /// [`StopRequested`] at a batch boundary once [`Trainer::stop`] is set (the parameters
    /// then hold a partial epoch: restore them from the last checkpoint).
    pub fn train_epoch(
        &mut self,
        set: &ImageSet,
        epoch: usize,
        pb: Option<&ProgressBar>,
    ) -> anyhow::Result<EpochStats> {
        let t0 = Instant::now();
        let cfg = &self.cfg;
        self.step
            .opt
            .set_lr_factor(cfg.training.lr_schedule.factor(epoch, cfg.training.epochs));
        let order = shuffled(set.n, self.key.child(1).child(epoch as u64));
        let bs = cfg.training.batch_size;
        let nb = set.n / bs;
        let d = self.net.dim();
        let nc = self.net.n_clamped();
        let (out_start, out_len) = self.net.output_block();
        let mut wrong = 0usize;
        let mut energies = Vec::with_capacity(nb * bs);
        let mut e = vec![T::zero(); bs];
        // One state and one target buffer for every batch of the epoch.
        let mut x0 = vec![T::zero(); bs * d];
        let mut cost = WeightedSquaredError {
            start: out_start,
            len: out_len,
            target: vec![T::zero(); bs * set.classes],
            weight: vec![T::one(); bs],
        };
        for bi in 0..nb {
            if self
                .stop
                .as_ref()
                .is_some_and(|s| s.load(Ordering::Relaxed))
            {
                return Err(StopRequested.into());
            }
            let idx = &order[bi * bs..(bi + 1) * bs];
            batch_state_into(
                set,
                idx,
                (d, Frame::of(cfg, set)),
                (cfg.data.shift, self.key.child(4).child(epoch as u64)),
                &mut x0,
                &mut cost.target,
            );
            let step_key = self.key.child(2).child((epoch * nb + bi) as u64);
            let batch = Batch {
                x0: &x0,
                nc,
                cost: &cost,
                noise: None,
            };
            let ws = &mut self.step.ws;
            let out = self
                .rule
                .gradient(&*self.net, &batch, &self.phases, step_key, ws)?;
            for (b, &i) in idx.iter().enumerate() {
                if argmax(&out.free_state[b * d + out_start..b * d + out_start + out_len])
                    != set.labels[i] as usize
                {
                    wrong += 1;
                }
            }
            state_energies(
                &*self.net,
                &out.free_state,
                self.step.ws.drive(),
                &mut e,
                &mut energies,
            );
            // The energies above are those of the free states under the parameters they were
            // relaxed with: only now does the step move them.
            self.step.apply(&mut *self.net, &out.grad)?;
            self.step.recycle(out);
            if let Some(pb) = pb {
                pb.inc(1);
            }
        }
        Ok(EpochStats {
            train_error: wrong as f64 / (nb * bs).max(1) as f64,
            energies,
            seconds: t0.elapsed().as_secs_f64(),
            samples: nb * bs,
        })
    }

    /// Error and per-sample energies on `set` (keyed by `epoch` for noisy dynamics).
    pub fn evaluate(&self, set: &ImageSet, epoch: usize) -> anyhow::Result<(f64, Vec<f64>)> {
        let ev = self.evaluate_all(set, epoch)?;
        Ok((ev.error, ev.energies))
    }

    /// [`Trainer::evaluate`] with the confusion matrix.
    pub fn evaluate_all(&self, set: &ImageSet, epoch: usize) -> anyhow::Result<Evaluation> {
        evaluate_all(
            &*self.net,
            &self.cfg,
            set,
            self.key.child(3).child(epoch as u64),
        )
    }
}

fn shuffled(n: usize, key: NoiseKey) -> Vec<usize> {
    use rand::seq::SliceRandom;
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut key.rng(0, 0));
    idx
}
