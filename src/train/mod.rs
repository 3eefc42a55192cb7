//! `physlearn train`: supervised EqProp training of layered Hopfield classifiers on image data
//! (SYSTEMS.md C; the classic EqProp setup of Scellier & Bengio 2017 and the cSB-EqProp paper).
//!
//! Each step relaxes a batch with the input clamped (free phase), then nudges the output
//! towards the one-hot label with `β C`, `C = ½‖s_out − y‖²` (one or two nudged phases), and
//! applies the EqProp estimate with SGD/Adam and per-layer learning-rate multipliers. Every
//! epoch writes a row of `metrics.csv`, a safetensors checkpoint (`checkpoint.safetensors`:
//! the parameters, plus `optimizer_m` / `optimizer_v` state and the epoch in the metadata) and
//! `summary.json`; `--resume DIR` continues from the last checkpoint exactly.

pub mod config;
pub mod seeds;

pub use config::TrainConfig;
pub use seeds::train_seeds;

use crate::checkpoint;
use crate::data::registry::{Check, Dataset, ImageSet, Split, load};
use crate::dynamics::{NoiseKey, Workspace, relax_with};
use crate::energy::Energy;
use crate::energy::cost::WeightedSquaredError;
use crate::energy::hopfield::Hopfield;
use crate::learn::{EqProp, Optimizer, PhaseSpec};
use crate::real::Real;
use crate::report::json::{write_csv_atomic, write_json_atomic};
use crate::report::rundir::RunDir;
use anyhow::{Context, ensure};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where and how to train.
pub struct TrainOptions {
    /// Resolved configuration.
    pub cfg: TrainConfig,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Run directory.
    pub out: PathBuf,
    /// Continue the run in `out` from its last checkpoint.
    pub resume: bool,
    /// Command line, for the run record.
    pub command: String,
}

/// One epoch's metrics.
#[derive(Clone, Debug, serde::Serialize)]
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
    /// Wall-clock seconds of the epoch's training part.
    pub seconds: f64,
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
    let n_in = set.dim();
    let (rows, cols) = (set.rows as isize, set.cols as isize);
    let mut x = vec![T::zero(); idx.len() * dim];
    let mut y = vec![T::zero(); idx.len() * set.classes];
    for (b, &i) in idx.iter().enumerate() {
        let dst = &mut x[b * dim..b * dim + n_in];
        let img = set.image(i);
        if shift == 0 {
            for (d, &p) in dst.iter_mut().zip(img) {
                *d = T::of(p as f64 / 255.0);
            }
        } else {
            let s = shift as i64;
            let mut rng = key.rng(i as u64, 0);
            let dy = rand::Rng::random_range(&mut rng, -s..=s) as isize;
            let dx = rand::Rng::random_range(&mut rng, -s..=s) as isize;
            for (dch, ich) in dst
                .chunks_exact_mut((rows * cols) as usize)
                .zip(img.chunks_exact((rows * cols) as usize))
            {
                for r in 0..rows {
                    let sr = r - dy;
                    if !(0..rows).contains(&sr) {
                        continue;
                    }
                    for q in 0..cols {
                        let sq = q - dx;
                        if (0..cols).contains(&sq) {
                            dch[(r * cols + q) as usize] =
                                T::of(ich[(sr * cols + sq) as usize] as f64 / 255.0);
                        }
                    }
                }
            }
        }
        y[b * set.classes + set.labels[i] as usize] = T::one();
    }
    (x, y)
}

/// Test-split error of the network: free phase with the configured dynamics, argmax output.
pub fn evaluate<T: Real>(
    net: &Hopfield<T>,
    cfg: &TrainConfig,
    set: &ImageSet,
    key: NoiseKey,
) -> anyhow::Result<f64> {
    Ok(evaluate_energies(net, cfg, set, key)?.0)
}

/// Error rate and per-sample free-phase energies (at the end of the configured free phase) of
/// the network on `set`.
pub fn evaluate_energies<T: Real>(
    net: &Hopfield<T>,
    cfg: &TrainConfig,
    set: &ImageSet,
    key: NoiseKey,
) -> anyhow::Result<(f64, Vec<f64>)> {
    let d = net.dim();
    let nc = net.n_clamped();
    let (start, len) = net.output_block();
    let bs = 1000.min(set.n).max(1);
    let mut wrong = 0usize;
    let mut energies = Vec::with_capacity(set.n);
    let mut ws = Workspace::new();
    for (bi, chunk) in (0..set.n).collect::<Vec<_>>().chunks(bs).enumerate() {
        let (mut x, _) = batch_state::<T>(set, chunk, d);
        relax_with(
            net,
            &mut x,
            nc,
            &cfg.training.free,
            None,
            key.child(bi as u64),
            "free (evaluation)",
            &mut ws,
            None,
        )?;
        for (b, &i) in chunk.iter().enumerate() {
            if argmax(&x[b * d + start..b * d + start + len]) != set.labels[i] as usize {
                wrong += 1;
            }
        }
        let mut e = vec![T::zero(); chunk.len()];
        state_energies(net, &x, ws.drive(), &mut e, &mut energies);
    }
    Ok((wrong as f64 / set.n as f64, energies))
}

/// Appends to `energies` the energy of each sample's state `x` given its clamped input,
/// without the input's own `½‖x_in‖²` (a per-image constant that would swamp the
/// differences the dynamics and the training make); `drive` is the batch's cached drive.
fn state_energies<T: Real>(
    net: &Hopfield<T>,
    x: &[T],
    drive: &[T],
    scratch: &mut [T],
    energies: &mut Vec<f64>,
) {
    let (d, nc) = (net.dim(), net.n_clamped());
    net.energy_free(x, nc, drive, scratch);
    for (e, xs) in scratch.iter().zip(x.chunks_exact(d)) {
        let input: f64 = xs[..nc].iter().map(|v| 0.5 * v.f64() * v.f64()).sum();
        energies.push(e.f64() - input);
    }
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
    pub net: Hopfield<T>,
    /// Optimizer state.
    pub opt: Optimizer,
    /// Parameters in f64 (the optimizer's copy).
    pub theta: Vec<f64>,
    cfg: TrainConfig,
    ep: EqProp,
    lr_scale: Vec<f64>,
    key: NoiseKey,
    ws: Workspace<T>,
}

impl<T: Real> Trainer<T> {
    /// A freshly initialised network and optimizer for `cfg`.
    pub fn new(cfg: &TrainConfig) -> anyhow::Result<Self> {
        let net = Hopfield::<T>::new(&cfg.model.layers, cfg.seed)?;
        let blocks = net.param_blocks();
        let np = net.n_params();
        // Per-block learning-rate multipliers: layer l scales W_l and b_{l+1}.
        let mut lr_scale = vec![1.0; np];
        if !cfg.training.layer_lr.is_empty() {
            for b in &blocks {
                let l: usize = b.name[2..].parse().expect("block names W_l / b_l");
                let layer = if b.name.starts_with('W') { l } else { l - 1 };
                let s = cfg.training.layer_lr[layer.min(cfg.training.layer_lr.len() - 1)];
                lr_scale[b.offset..b.offset + b.len()].fill(s);
            }
        }
        Ok(Self {
            opt: Optimizer::new(cfg.training.optimizer, np),
            theta: net.params().iter().map(|v| v.f64()).collect(),
            net,
            cfg: cfg.clone(),
            ep: EqProp {
                estimator: cfg.training.estimator,
                beta: cfg.training.beta,
                free: PhaseSpec::finite(cfg.training.free),
                nudged: PhaseSpec::finite(cfg.training.nudged),
            },
            lr_scale,
            key: NoiseKey::new(cfg.seed, 0x7EA1),
            ws: Workspace::new(),
        })
    }

    /// Sets the parameters (f64) and pushes them into the network.
    pub fn set_theta(&mut self, theta: &[f64]) -> anyhow::Result<()> {
        self.theta.copy_from_slice(theta);
        let th_t: Vec<T> = theta.iter().map(|&v| T::of(v)).collect();
        self.net.set_params(&th_t)
    }

    /// One epoch over `set` (0-based `epoch` keys the shuffle and the noise), with the
    /// configured learning-rate schedule; `pb` ticks once per batch.
    pub fn train_epoch(
        &mut self,
        set: &ImageSet,
        epoch: usize,
        pb: Option<&ProgressBar>,
    ) -> anyhow::Result<EpochStats> {
        let t0 = Instant::now();
        let cfg = &self.cfg;
        self.opt
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
        let mut th_t = vec![T::zero(); self.theta.len()];
        for bi in 0..nb {
            let idx = &order[bi * bs..(bi + 1) * bs];
            let (x0, y) = batch_state_shifted::<T>(
                set,
                idx,
                d,
                cfg.data.shift,
                self.key.child(4).child(epoch as u64),
            );
            let cost = WeightedSquaredError {
                start: out_start,
                len: out_len,
                target: y,
                weight: vec![T::one(); bs],
            };
            let step_key = self.key.child(2).child((epoch * nb + bi) as u64);
            let out = self
                .ep
                .gradient(&self.net, &x0, nc, &cost, step_key, &mut self.ws)?;
            for (b, &i) in idx.iter().enumerate() {
                if argmax(&out.free_state[b * d + out_start..b * d + out_start + out_len])
                    != set.labels[i] as usize
                {
                    wrong += 1;
                }
            }
            state_energies(
                &self.net,
                &out.free_state,
                self.ws.drive(),
                &mut e,
                &mut energies,
            );
            self.opt
                .step_scaled(&mut self.theta, &out.grad, Some(&self.lr_scale));
            for (t, &v) in th_t.iter_mut().zip(&self.theta) {
                *t = T::of(v);
            }
            self.net.set_params(&th_t)?;
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
        evaluate_energies(
            &self.net,
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

/// Trains, writing the run directory; returns the final summary.
pub fn train(opts: &TrainOptions) -> anyhow::Result<serde_json::Value> {
    match opts.cfg.precision.as_str() {
        "f64" => train_typed::<f64>(opts),
        _ => train_typed::<f32>(opts),
    }
}

/// The configured dataset's train and test splits (checked, limited, shape-validated).
pub fn load_sets(cfg: &TrainConfig, data_dir: &Path) -> anyhow::Result<(ImageSet, ImageSet)> {
    let ds: Dataset = cfg.data.dataset.parse()?;
    let check = if cfg.data.verify {
        Check::Published
    } else {
        Check::Skip
    };
    let mut train_set = load(data_dir, ds, Split::Train, check)?;
    let test_set = load(data_dir, ds, Split::Test, check)?;
    if cfg.data.train_limit > 0 && cfg.data.train_limit < train_set.n {
        train_set = train_set.subset(&(0..cfg.data.train_limit).collect::<Vec<_>>());
    }
    let test_set = if cfg.data.test_limit > 0 && cfg.data.test_limit < test_set.n {
        test_set.subset(&(0..cfg.data.test_limit).collect::<Vec<_>>())
    } else {
        test_set
    };
    ensure!(
        cfg.model.layers[0] == train_set.dim()
            && *cfg.model.layers.last().unwrap() == train_set.classes,
        "model.layers = {:?} does not fit {}: the input layer must have {} units and the output layer {}",
        cfg.model.layers,
        ds.name(),
        train_set.dim(),
        train_set.classes
    );
    Ok((train_set, test_set))
}

fn train_typed<T: Real>(opts: &TrainOptions) -> anyhow::Result<serde_json::Value> {
    let cfg = &opts.cfg;
    let (train_set, test_set) = load_sets(cfg, &opts.data_dir)?;
    let mut tr = Trainer::<T>::new(cfg)?;
    let blocks = tr.net.param_blocks();
    let np = tr.net.n_params();
    let dir = if opts.resume {
        RunDir {
            path: opts.out.clone(),
        }
    } else {
        RunDir::create(&opts.out, &toml::to_string(cfg)?, cfg.seed, &opts.command)?
    };
    let ckpt = dir.file("checkpoint.safetensors");
    let mut history: Vec<EpochMetrics> = vec![];
    let mut start_epoch = 0;
    if opts.resume {
        let (th, meta) = checkpoint::load::<f64>(&ckpt, &resume_blocks(&blocks, np))
            .with_context(|| format!("cannot resume from {}", dir.path.display()))?;
        tr.opt.set_state(
            &th[np..2 * np],
            &th[2 * np..3 * np],
            meta.get("optimizer_t")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        );
        start_epoch = meta
            .get("epoch")
            .and_then(|v| v.parse().ok())
            .context("checkpoint has no epoch")?;
        if let Some(h) = meta.get("history") {
            history = serde_json::from_str::<Vec<serde_json::Value>>(h)?
                .into_iter()
                .map(|v| EpochMetrics {
                    epoch: v["epoch"].as_u64().unwrap_or(0) as usize,
                    train_error: v["train_error"].as_f64().unwrap_or(f64::NAN),
                    test_error: v["test_error"].as_f64().unwrap_or(f64::NAN),
                    train_energy: v["train_energy"].as_f64().unwrap_or(f64::NAN),
                    seconds: v["seconds"].as_f64().unwrap_or(f64::NAN),
                })
                .collect();
        }
        tr.set_theta(&th[..np])?;
    }
    let bs = cfg.training.batch_size;
    for epoch in start_epoch..cfg.training.epochs {
        let nb = train_set.n / bs;
        let pb = ProgressBar::new(nb as u64);
        pb.set_style(ProgressStyle::with_template(
            "epoch {msg} [{elapsed_precise}] {bar:40} {pos}/{len} ({per_sec}, eta {eta})",
        )?);
        pb.set_message(format!("{}/{}", epoch + 1, cfg.training.epochs));
        let st = tr.train_epoch(&train_set, epoch, Some(&pb))?;
        pb.finish_and_clear();
        let (test_error, _) = tr.evaluate(&test_set, epoch)?;
        let m = EpochMetrics {
            epoch: epoch + 1,
            train_error: st.train_error,
            test_error,
            train_energy: st.energies.iter().sum::<f64>() / st.samples.max(1) as f64,
            seconds: st.seconds,
        };
        eprintln!(
            "epoch {:>3}: train error {:.2}%  test error {:.2}%  ({:.1} s, {:.0} samples/s)",
            m.epoch,
            100.0 * m.train_error,
            100.0 * m.test_error,
            st.seconds,
            st.samples as f64 / st.seconds
        );
        history.push(m);
        write_checkpoint(&ckpt, &blocks, &tr.theta, &tr.opt, epoch + 1, &history)?;
        write_metrics(&dir, &history)?;
    }
    let last = history
        .last()
        .context("no epoch was trained (epochs = 0?)")?;
    let secs: f64 = history.iter().map(|m| m.seconds).sum::<f64>() / history.len() as f64;
    let summary = json!({
        "dataset": cfg.data.dataset,
        "layers": cfg.model.layers,
        "estimator": cfg.training.estimator.name(),
        "epochs": last.epoch,
        "test_error": last.test_error,
        "train_error": last.train_error,
        "best_test_error": history.iter().map(|m| m.test_error).fold(f64::INFINITY, f64::min),
        "seconds_per_epoch": secs,
        "samples_per_second": (train_set.n / bs * bs) as f64 / secs,
        "history": history,
    });
    write_json_atomic(&dir.file("summary.json"), &summary)?;
    dir.finish(&summary)?;
    Ok(summary)
}

fn resume_blocks(
    blocks: &[crate::energy::ParamBlock],
    np: usize,
) -> Vec<crate::energy::ParamBlock> {
    let mut all = blocks.to_vec();
    all.push(crate::energy::ParamBlock {
        name: "optimizer_m".into(),
        shape: vec![np],
        offset: np,
    });
    all.push(crate::energy::ParamBlock {
        name: "optimizer_v".into(),
        shape: vec![np],
        offset: 2 * np,
    });
    all
}

fn write_checkpoint(
    path: &Path,
    blocks: &[crate::energy::ParamBlock],
    theta: &[f64],
    opt: &Optimizer,
    epoch: usize,
    history: &[EpochMetrics],
) -> anyhow::Result<()> {
    let np = theta.len();
    let (m, v, t) = opt.state();
    let mut flat = theta.to_vec();
    flat.extend_from_slice(m);
    flat.extend_from_slice(v);
    let meta: HashMap<String, String> = [
        ("epoch".to_string(), epoch.to_string()),
        ("optimizer_t".to_string(), t.to_string()),
        ("history".to_string(), serde_json::to_string(history)?),
    ]
    .into();
    checkpoint::save::<f64>(path, &resume_blocks(blocks, np), &flat, meta)
}

fn write_metrics(dir: &RunDir, history: &[EpochMetrics]) -> anyhow::Result<()> {
    let rows: Vec<Vec<f64>> = history
        .iter()
        .map(|m| {
            vec![
                m.epoch as f64,
                m.train_error,
                m.test_error,
                m.train_energy,
                m.seconds,
            ]
        })
        .collect();
    write_csv_atomic(
        &dir.file("metrics.csv"),
        &[
            "epoch",
            "train_error",
            "test_error",
            "train_energy",
            "seconds",
        ],
        &rows,
    )
}
