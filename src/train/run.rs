//! The run of `physlearn train`: it claims the run directory, trains epoch by epoch, writes a
//! checkpoint, `metrics.csv` and the running time after every epoch, and continues a run from
//! its checkpoint exactly (`--resume`).
//!
//! The checkpoint `checkpoint.safetensors` holds:
//! - `W_l` (shape `[n_{l+1}, n_l]`, PyTorch's `Linear.weight` layout) and `b_l` (`[n_l]`) in
//!   the run's precision: the weights a user loads;
//! - `resume.params` (`[n_params]`, F64, f32 runs only): the optimizer's f64 master copy of
//!   the parameters, flat in the order of the blocks above (an f64 run's `W_l`, `b_l` are it);
//! - `resume.optimizer_m`, `resume.optimizer_v` (`[n_params]`, F64): the optimizer's moments;
//! - metadata `format = "pt"` and `physlearn.train`, the JSON of [`TrainState`]: epochs done,
//!   optimizer step count, the configuration, and the per-epoch metrics without timings.
//!
//! Nothing in it depends on the wall clock, so two identical runs write identical files;
//! timings live in `metrics.csv` and `meta.json`.

use super::{Confusion, EpochMetrics, EpochResult, StopRequested, TrainConfig, Trainer};
use crate::checkpoint::{self, Checkpoint, Tensor};
use crate::config::{Change, Layered, diff};
use crate::data::{Check, Dataset, ImageSet, Split, load};
use crate::energy::ParamBlock;
use crate::real::Real;
use crate::report::console::Console;
use crate::report::json::{write_csv_atomic, write_json_atomic};
use crate::report::progress::LogTicker;
use crate::report::rundir::{Claim, NewRun, RunDir};
use anyhow::{Context, ensure};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// A flag that asks a run to stop at the next batch boundary (set by a Ctrl-C / SIGTERM
/// handler).
pub type StopFlag = Arc<AtomicBool>;

/// The one configuration key a resumed run may change: more epochs extend it.
pub const EXTENSIBLE_KEY: &str = "training.epochs";

/// Where and how to train.
pub struct TrainOptions {
    /// Resolved configuration.
    pub cfg: TrainConfig,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Run directory.
    pub out: PathBuf,
    /// A new run, a new run replacing the one in `out`, or the continuation of that run.
    pub claim: Claim,
    /// Command line, for the run record.
    pub command: String,
    /// Stop at the next batch boundary once this is set.
    pub stop: Option<StopFlag>,
    /// Where the per-epoch lines, warnings and progress go.
    pub console: Console,
}

/// The final summary of a run (`summary.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainSummary {
    /// Dataset name.
    pub dataset: String,
    /// Layer sizes.
    pub layers: Vec<usize>,
    /// Estimator name.
    pub estimator: String,
    /// Epochs trained.
    pub epochs: usize,
    /// Test error after the last epoch.
    pub test_error: f64,
    /// Training error of the last epoch.
    pub train_error: f64,
    /// Lowest test error over the epochs.
    pub best_test_error: f64,
    /// Mean wall-clock seconds per epoch (over the epochs whose time is known).
    pub seconds_per_epoch: f64,
    /// Training samples per second.
    pub samples_per_second: f64,
    /// Every epoch.
    pub history: Vec<EpochMetrics>,
    /// Test-split confusion matrix after the last epoch trained in this invocation (absent
    /// when a resumed run had nothing left to train).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_confusion: Option<super::Confusion>,
}

/// The resumable state in a checkpoint's metadata (`physlearn.train`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps taken.
    pub optimizer_t: u64,
    /// The configuration (TOML) the checkpoint was trained with.
    pub config: String,
    /// Metrics of every completed epoch, without timings.
    pub history: Vec<EpochResult>,
}

/// A run stopped by [`TrainOptions::stop`]: the directory keeps its last completed epoch.
#[derive(Debug, thiserror::Error)]
#[error(
    "stopped: {} keeps its last completed epoch ({done} of {total}); continue with `{resume}`",
    dir.display()
)]
pub struct Interrupted {
    /// The run directory.
    pub dir: PathBuf,
    /// Epochs completed and kept.
    pub done: usize,
    /// Epochs configured.
    pub total: usize,
    /// The command that continues the run.
    pub resume: String,
}

const STATE_KEY: &str = "physlearn.train";

/// The configuration of a run to resume: `record` (the run's `config.toml`), or the `text`
/// of `--config` if given, with the `sets` on top. Refused, naming each key, when it differs
/// from the recorded configuration in anything but [`EXTENSIBLE_KEY`]; returns it with the
/// accepted changes.
pub fn resume_config(
    record: &Path,
    text: Option<&str>,
    sets: &[String],
) -> anyhow::Result<(TrainConfig, Vec<Change>)> {
    let recorded_text = std::fs::read_to_string(record).with_context(|| {
        format!(
            "cannot resume: {} is missing or unreadable, so {} holds no run to continue",
            record.display(),
            record.parent().unwrap_or(Path::new(".")).display()
        )
    })?;
    let recorded = TrainConfig::load(Some(&recorded_text), &[])
        .with_context(|| format!("the recorded configuration {}", record.display()))?;
    let wanted = TrainConfig::load(Some(text.unwrap_or(&recorded_text)), sets)?;
    let changes = diff(&recorded, &wanted)?;
    check_changes(record, &changes)?;
    Ok((wanted, changes))
}

/// Refuses `changes` to the configuration recorded in `record` other than to
/// [`EXTENSIBLE_KEY`], naming each.
pub(crate) fn check_changes(record: &Path, changes: &[Change]) -> anyhow::Result<()> {
    let refused: Vec<String> = changes
        .iter()
        .filter(|c| c.key != EXTENSIBLE_KEY)
        .map(|c| c.to_string())
        .collect();
    ensure!(
        refused.is_empty(),
        "a resumed run keeps the configuration it was started with ({}); these values differ \
         from it:\n  {}\nOnly {EXTENSIBLE_KEY} may change (to extend the run). Start a new run \
         (or seed set) with --out for other values.",
        record.display(),
        refused.join("\n  ")
    );
    Ok(())
}

/// Trains, writing the run directory; returns the final summary.
pub fn train(opts: &TrainOptions) -> anyhow::Result<TrainSummary> {
    struct Job<'a>(&'a TrainOptions);
    impl crate::real::PrecisionJob for Job<'_> {
        type Output = anyhow::Result<TrainSummary>;
        fn run<T: Real>(self) -> Self::Output {
            train_typed::<T>(self.0)
        }
    }
    opts.cfg.precision.dispatch(Job(opts))
}

/// The configured dataset's train and test splits (checked, limited, shape-validated); an
/// epoch without a full batch is an error.
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
    if cfg.model.is_conv() {
        let out = *cfg
            .model
            .dense
            .last()
            .expect("validated: model.dense is not empty");
        ensure!(
            out == train_set.classes,
            "model.dense = {:?} does not fit {}: the output layer must have {} units",
            cfg.model.dense,
            ds.name(),
            train_set.classes
        );
    } else {
        ensure!(
            cfg.model.layers[0] == train_set.dim()
                && *cfg.model.layers.last().unwrap() == train_set.classes,
            "model.layers = {:?} does not fit {}: the input layer must have {} units and the output layer {}",
            cfg.model.layers,
            ds.name(),
            train_set.dim(),
            train_set.classes
        );
    }
    ensure!(
        train_set.n >= cfg.training.batch_size,
        "an epoch would have no batch: {} training images (data.train_limit = {}) are fewer \
         than training.batch_size = {}",
        train_set.n,
        cfg.data.train_limit,
        cfg.training.batch_size
    );
    Ok((train_set, test_set))
}

/// The checkpoint's tensors beyond the weights: what exact resumption needs.
fn resume_blocks(np: usize, master: bool) -> Vec<ParamBlock> {
    let names: &[&str] = if master {
        &["resume.params", "resume.optimizer_m", "resume.optimizer_v"]
    } else {
        &["resume.optimizer_m", "resume.optimizer_v"]
    };
    names
        .iter()
        .enumerate()
        .map(|(i, n)| ParamBlock {
            name: n.to_string(),
            shape: vec![np],
            offset: i * np,
        })
        .collect()
}

fn is_f64<T: Real>() -> bool {
    std::mem::size_of::<T>() == 8
}

fn write_checkpoint<T: Real>(
    path: &Path,
    tr: &Trainer<T>,
    cfg: &TrainConfig,
    history: &[EpochMetrics],
) -> anyhow::Result<()> {
    let (m, v, t) = tr.step.opt.state();
    let blocks = tr.net.param_blocks();
    let np = tr.step.theta.len();
    let mut tensors = checkpoint::tensors_of(&blocks, tr.net.params());
    if !is_f64::<T>() {
        tensors.push(Tensor::f64("resume.params", &[np], &tr.step.theta));
    }
    tensors.push(Tensor::f64("resume.optimizer_m", &[np], m));
    tensors.push(Tensor::f64("resume.optimizer_v", &[np], v));
    let state = TrainState {
        epoch: history.len(),
        optimizer_t: t,
        config: cfg.to_toml(),
        history: history.iter().map(EpochMetrics::result).collect(),
    };
    let meta: BTreeMap<String, String> = [
        ("format".to_string(), "pt".to_string()),
        (STATE_KEY.to_string(), serde_json::to_string(&state)?),
    ]
    .into();
    checkpoint::write(path, &tensors, &meta)
}

/// Restores the trainer from the run's checkpoint; returns the training state.
fn read_checkpoint<T: Real>(
    dir: &RunDir,
    tr: &mut Trainer<T>,
    recorded: &TrainConfig,
) -> anyhow::Result<TrainState> {
    let path = dir.file("checkpoint.safetensors");
    let d = dir.path.display();
    let ck = Checkpoint::read(&path)?;
    let state: TrainState =
        serde_json::from_str(&ck.meta_value::<String>(STATE_KEY)?).map_err(|e| {
            anyhow::anyhow!(
                "checkpoint {}: metadata {STATE_KEY:?} is not valid: {e}",
                path.display()
            )
        })?;
    let trained = TrainConfig::load(Some(&state.config), &[]).with_context(|| {
        format!(
            "checkpoint {}: the configuration in its metadata",
            path.display()
        )
    })?;
    let foreign: Vec<String> = diff(&trained, recorded)?
        .iter()
        .filter(|c| c.key != EXTENSIBLE_KEY)
        .map(|c| c.to_string())
        .collect();
    ensure!(
        foreign.is_empty(),
        "{d}/config.toml does not belong to {}: they differ in\n  {}\nThe directory mixes two \
         runs; refusing to resume it.",
        path.display(),
        foreign.join("\n  ")
    );
    ensure!(
        state.history.len() == state.epoch,
        "checkpoint {}: {} epochs of metrics for {} epochs trained",
        path.display(),
        state.history.len(),
        state.epoch
    );
    let np = tr.step.theta.len();
    let master = !is_f64::<T>();
    let extra = ck.params::<f64>(&resume_blocks(np, master))?;
    let theta = if master {
        extra[..np].to_vec()
    } else {
        ck.params::<f64>(&tr.net.param_blocks())?
    };
    let moments = &extra[if master { np } else { 0 }..];
    tr.step
        .opt
        .set_state(&moments[..np], &moments[np..2 * np], state.optimizer_t);
    tr.set_theta(&theta).with_context(|| {
        format!(
            "the parameters read from checkpoint {} are not valid",
            path.display()
        )
    })?;
    Ok(state)
}

/// The seconds per epoch recorded in `metrics.csv` (absent or unreadable: none).
fn recorded_seconds(path: &Path) -> BTreeMap<usize, f64> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return BTreeMap::new();
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let (Some(ie), Some(is)) = (
        header.iter().position(|h| *h == "epoch"),
        header.iter().position(|h| *h == "seconds"),
    ) else {
        return BTreeMap::new();
    };
    lines
        .filter_map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            let e: f64 = cells.get(ie)?.parse().ok()?;
            Some((e as usize, cells.get(is)?.parse().ok()?))
        })
        .collect()
}

fn claim_dir(opts: &TrainOptions, cfg: &TrainConfig) -> anyhow::Result<RunDir> {
    let d = opts.out.display();
    let dir = match opts.claim {
        Claim::Resume => RunDir::resume(&opts.out, &opts.command)?,
        how => RunDir::create(
            &opts.out,
            how,
            &NewRun {
                config_toml: &cfg.to_toml(),
                seed: cfg.seed,
                command: &opts.command,
                resume_hint: Some(format!("continue it with `physlearn train --resume {d}`")),
            },
        )?,
    };
    for w in dir.warnings() {
        opts.console.warn(w);
    }
    Ok(dir)
}

fn train_typed<T: Real>(opts: &TrainOptions) -> anyhow::Result<TrainSummary> {
    let cfg = &opts.cfg;
    let (train_set, test_set) = load_sets(cfg, &opts.data_dir)?;
    let mut tr = Trainer::<T>::new(cfg)?;
    tr.stop = opts.stop.clone();
    // What a resumed run is checked against, read before the claim records this command.
    let resumed = if opts.claim == Claim::Resume {
        let record = opts.out.join("config.toml");
        let (recorded, _) = resume_config(&record, None, &[])?;
        let changes = diff(&recorded, cfg)?;
        check_changes(&record, &changes)?;
        let d = opts.out.display();
        ensure!(
            opts.out.join("checkpoint.safetensors").exists(),
            "{d} has no checkpoint yet: the run stopped before its first epoch finished, so \
             there is nothing to continue. Start it again with `physlearn train --config \
             {d}/config.toml --out {d} --overwrite`"
        );
        Some((recorded, changes))
    } else {
        None
    };
    let dir = claim_dir(opts, cfg)?;
    let ckpt = dir.file("checkpoint.safetensors");
    let mut history: Vec<EpochMetrics> = vec![];
    if let Some((recorded, changes)) = resumed {
        let state = read_checkpoint(&dir, &mut tr, &recorded)?;
        ensure!(
            state.epoch <= cfg.training.epochs,
            "{} has trained {} epochs already; training.epochs = {} would shorten it",
            dir.path.display(),
            state.epoch,
            cfg.training.epochs
        );
        if !changes.is_empty() {
            dir.change_config(
                &cfg.to_toml(),
                changes.iter().map(|c| c.to_string()).collect(),
            )?;
        }
        let secs = recorded_seconds(&dir.file("metrics.csv"));
        history = state
            .history
            .iter()
            .map(|r| r.with_seconds(secs.get(&r.epoch).copied().unwrap_or(f64::NAN)))
            .collect();
    }
    let bs = cfg.training.batch_size;
    let nb = train_set.n / bs;
    let console = &opts.console;
    console.note(format!(
        "network {} ({} parameters), {} training / {} test images, batches of {bs}",
        tr.net.describe(),
        tr.net.n_params(),
        train_set.n,
        test_set.n
    ));
    let mut confusion: Option<Confusion> = None;
    for epoch in history.len()..cfg.training.epochs {
        let pb = console.labelled_bar(
            nb as u64,
            &format!("epoch {}/{}", epoch + 1, cfg.training.epochs),
        );
        let ticker = LogTicker::start(
            console,
            &pb,
            format!("epoch {}/{} batches", epoch + 1, cfg.training.epochs),
            Duration::from_secs(120),
        );
        let st = tr.train_epoch(&train_set, epoch, Some(&pb));
        drop(ticker);
        let st = match st {
            Err(e) if e.is::<StopRequested>() => {
                pb.finish_and_clear();
                dir.interrupted()?;
                let d = dir.path.display();
                return Err(Interrupted {
                    dir: dir.path.clone(),
                    done: epoch,
                    total: cfg.training.epochs,
                    resume: format!("physlearn train --resume {d}"),
                }
                .into());
            }
            r => r?,
        };
        pb.finish_and_clear();
        let ev = tr.evaluate_all(&test_set, epoch)?;
        let m = EpochResult {
            epoch: epoch + 1,
            train_error: st.train_error,
            test_error: ev.error,
            train_energy: st.energies.iter().sum::<f64>() / st.samples.max(1) as f64,
        }
        .with_seconds(st.seconds);
        console.note(format!(
            "epoch {:>3}: train error {:.2}%  test error {:.2}%  ({:.1} s, {:.0} samples/s)",
            m.epoch,
            100.0 * m.train_error,
            100.0 * m.test_error,
            st.seconds,
            st.samples as f64 / st.seconds
        ));
        let dead = ev.confusion.never_predicted();
        if !dead.is_empty() {
            console.note(format!(
                "           classes never predicted on the test split: {dead:?}"
            ));
        }
        write_json_atomic(&dir.file("test_confusion.json"), &ev.confusion)?;
        confusion = Some(ev.confusion);
        history.push(m);
        write_checkpoint(&ckpt, &tr, cfg, &history)?;
        write_metrics(&dir, &history)?;
        dir.save_progress()?;
    }
    let mut summary = summarize(cfg, &history, nb * bs)?;
    summary.test_confusion = confusion;
    write_json_atomic(&dir.file("summary.json"), &summary)?;
    dir.finish(&serde_json::to_value(&summary)?)?;
    Ok(summary)
}

fn summarize(
    cfg: &TrainConfig,
    history: &[EpochMetrics],
    samples: usize,
) -> anyhow::Result<TrainSummary> {
    let last = history
        .last()
        .context("no epoch was trained (training.epochs = 0?)")?;
    let times: Vec<f64> = history
        .iter()
        .map(|m| m.seconds)
        .filter(|s| s.is_finite())
        .collect();
    let secs = times.iter().sum::<f64>() / times.len() as f64;
    Ok(TrainSummary {
        dataset: cfg.data.dataset.clone(),
        layers: layer_sizes(cfg),
        estimator: cfg.training.estimator.name().to_string(),
        epochs: last.epoch,
        test_error: last.test_error,
        train_error: last.train_error,
        best_test_error: history
            .iter()
            .map(|m| m.test_error)
            .fold(f64::INFINITY, f64::min),
        seconds_per_epoch: secs,
        samples_per_second: samples as f64 / secs,
        history: history.to_vec(),
        test_confusion: None,
    })
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

/// The number of units of every layer of `cfg`'s network, input first.
pub(crate) fn layer_sizes(cfg: &TrainConfig) -> Vec<usize> {
    cfg.data
        .dataset
        .parse::<crate::data::Dataset>()
        .ok()
        .and_then(|d| cfg.model.layer_sizes(d.shape()).ok())
        .unwrap_or_else(|| cfg.model.layers.clone())
}
