//! `physlearn train --seeds 0,1,2,3`: one configuration trained once per seed, each run in
//! its own directory `<out>/seed-<s>/`, and the spread of the final test error over the seeds
//! (mean, sample standard deviation, min, max) in `<out>/seeds.json`, `<out>/seeds.csv` and a
//! table on the terminal. A single seed can be picked favourably; the spread is the number to
//! compare with a target.
//!
//! The set directory follows the rules of every run directory
//! ([`crate::report::rundir::claim`]): a new set needs a missing or empty `<out>`; one that
//! holds a set is refused unless `--overwrite` (delete it first) or `--resume <out>` (continue
//! it: finished seeds are read back, checkpointed ones resume, seeds that had not finished an
//! epoch start again). `<out>/seed-set.toml` records the configuration, which a resumed set
//! keeps, as a resumed run does.

use super::run::{Interrupted, check_changes, resume_config};
use super::{TrainConfig, TrainOptions, TrainSummary, train};
use crate::config::{Layered, diff};
use crate::report::json::{write_atomic, write_csv_atomic, write_json_atomic};
use crate::report::rundir::Claim;
use crate::report::rundir::claim::{ClaimSpec, claim, contents};
use crate::report::table::Table;
use anyhow::{Context, ensure};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file of a seed set that records its configuration.
pub const SEED_SET_CONFIG: &str = "seed-set.toml";

/// Mean, sample standard deviation (0 for one value), min and max.
pub fn spread(v: &[f64]) -> (f64, f64, f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (mean, var.sqrt(), min, max)
}

/// Mean, sample standard deviation, min and max of a metric over the seeds.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct Spread {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for one seed).
    pub std: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl Spread {
    fn of(v: &[f64]) -> Spread {
        let (mean, std, min, max) = spread(v);
        Spread {
            mean,
            std,
            min,
            max,
        }
    }
}

/// One seed's final numbers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SeedRun {
    /// The seed.
    pub seed: u64,
    /// Final test error.
    pub test_error: f64,
    /// Final training error.
    pub train_error: f64,
    /// Lowest test error over the epochs.
    pub best_test_error: f64,
    /// Epochs trained.
    pub epochs: usize,
    /// Mean seconds per epoch.
    pub seconds_per_epoch: f64,
}

/// `seeds.json`: the spread over the seeds and every seed's numbers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SeedsSummary {
    /// Dataset name.
    pub dataset: String,
    /// Layer sizes.
    pub layers: Vec<usize>,
    /// Estimator name.
    pub estimator: String,
    /// The seeds, in order.
    pub seeds: Vec<u64>,
    /// Final test error over the seeds.
    pub test_error: Spread,
    /// Final training error over the seeds.
    pub train_error: Spread,
    /// Every seed.
    pub runs: Vec<SeedRun>,
}

/// The command that continues the seed set `seeds` in `out`.
fn resume_command(out: &Path, seeds: &[u64]) -> String {
    let list: Vec<String> = seeds.iter().map(|s| s.to_string()).collect();
    format!(
        "physlearn train --resume {} --seeds {}",
        out.display(),
        list.join(",")
    )
}

fn seed_set_spec(resume: &str) -> ClaimSpec<'static> {
    ClaimSpec {
        what: "seed set",
        is_marker: &|name, is_dir| {
            ["seeds.json", "seeds.csv", SEED_SET_CONFIG].contains(&name)
                || (is_dir && name.starts_with("seed-"))
        },
        resume_hint: Some(format!("continue it with `{resume}`")),
    }
}

/// How seed `cfg.seed`'s directory `dir` of a resumed set continues: read back (finished
/// with this configuration), resumed (checkpointed), or started (again).
fn seed_claim(dir: &Path, cfg: &TrainConfig) -> anyhow::Result<Option<Claim>> {
    let (markers, _) = contents(dir, &ClaimSpec::run(None))?;
    if markers.is_empty() {
        return Ok(Some(Claim::New));
    }
    if dir.join("summary.json").exists() {
        let recorded = TrainConfig::load(
            Some(
                &std::fs::read_to_string(dir.join("config.toml"))
                    .with_context(|| format!("reading {}/config.toml", dir.display()))?,
            ),
            &[],
        )?;
        if diff(&recorded, cfg)?.is_empty() {
            return Ok(None);
        }
    }
    if dir.join("checkpoint.safetensors").exists() {
        return Ok(Some(Claim::Resume));
    }
    // The seed stopped before its first epoch: nothing of it is worth keeping.
    Ok(Some(Claim::Overwrite))
}

/// Trains `opts.cfg` once per seed under `opts.out` (claimed as `opts.claim` says) and
/// returns the aggregate (also written to `seeds.json`).
pub fn train_seeds(opts: &TrainOptions, seeds: &[u64]) -> anyhow::Result<SeedsSummary> {
    ensure!(!seeds.is_empty(), "--seeds needs at least one seed");
    for (i, s) in seeds.iter().enumerate() {
        ensure!(
            !seeds[..i].contains(s),
            "--seeds lists seed {s} twice; each seed is one run"
        );
    }
    let resume = resume_command(&opts.out, seeds);
    let spec = seed_set_spec(&resume);
    let (_lock, warnings) = claim(&opts.out, opts.claim, &spec)?;
    for w in &warnings {
        opts.console.warn(w);
    }
    let record = opts.out.join(SEED_SET_CONFIG);
    if opts.claim == Claim::Resume {
        let (recorded, _) = resume_config(&record, None, &[])?;
        check_changes(&record, &diff(&recorded, &opts.cfg)?)?;
    }
    write_atomic(&record, opts.cfg.to_toml().as_bytes())?;
    let mut runs = vec![];
    for &s in seeds {
        let mut cfg = opts.cfg.clone();
        cfg.seed = s;
        let dir = opts.out.join(format!("seed-{s}"));
        let how = match opts.claim {
            Claim::Resume => seed_claim(&dir, &cfg)?,
            _ => Some(Claim::New),
        };
        let summary: TrainSummary = match how {
            None => {
                let p = dir.join("summary.json");
                opts.console.note(format!(
                    "seed {s}: finished earlier, reading {}",
                    p.display()
                ));
                serde_json::from_str(
                    &std::fs::read_to_string(&p)
                        .with_context(|| format!("reading {}", p.display()))?,
                )
                .with_context(|| format!("parsing {}", p.display()))?
            }
            Some(how) => {
                let verb = match how {
                    Claim::Resume => "resuming",
                    Claim::Overwrite => "starting again (no epoch had finished)",
                    Claim::New => "training",
                };
                opts.console
                    .note(format!("seed {s}: {verb} in {}", dir.display()));
                train(&TrainOptions {
                    cfg,
                    data_dir: opts.data_dir.clone(),
                    out: dir,
                    claim: how,
                    command: opts.command.clone(),
                    stop: opts.stop.clone(),
                    console: opts.console.clone(),
                })
                .map_err(|e| match e.downcast::<Interrupted>() {
                    Ok(mut i) => {
                        i.resume = resume.clone();
                        anyhow::Error::from(i)
                    }
                    Err(e) => e,
                })?
            }
        };
        runs.push(SeedRun {
            seed: s,
            test_error: summary.test_error,
            train_error: summary.train_error,
            best_test_error: summary.best_test_error,
            epochs: summary.epochs,
            seconds_per_epoch: summary.seconds_per_epoch,
        });
    }
    let test: Vec<f64> = runs.iter().map(|r| r.test_error).collect();
    let train_err: Vec<f64> = runs.iter().map(|r| r.train_error).collect();
    let out = SeedsSummary {
        dataset: opts.cfg.data.dataset.clone(),
        layers: super::run::layer_sizes(&opts.cfg),
        estimator: opts.cfg.training.estimator.name().to_string(),
        seeds: seeds.to_vec(),
        test_error: Spread::of(&test),
        train_error: Spread::of(&train_err),
        runs,
    };
    write_json_atomic(&opts.out.join("seeds.json"), &out)?;
    let rows: Vec<Vec<f64>> = out
        .runs
        .iter()
        .map(|r| {
            vec![
                r.seed as f64,
                r.test_error,
                r.train_error,
                r.best_test_error,
            ]
        })
        .collect();
    write_csv_atomic(
        &opts.out.join("seeds.csv"),
        &["seed", "test_error", "train_error", "best_test_error"],
        &rows,
    )?;
    opts.console.result(table(&out).to_string());
    Ok(out)
}

/// The terminal table of a seed set.
fn table(s: &SeedsSummary) -> Table {
    let pct = |v: f64| format!("{:.2}", 100.0 * v);
    let mut t = Table::new(
        format!(
            "{} {:?}, {} seeds: test error (%)",
            s.dataset,
            s.layers,
            s.seeds.len()
        ),
        ["seed", "test error", "train error", "best test error"],
    );
    for r in &s.runs {
        t.push([
            r.seed.to_string(),
            pct(r.test_error),
            pct(r.train_error),
            pct(r.best_test_error),
        ]);
    }
    let (te, tr) = (s.test_error, s.train_error);
    t.push([
        "mean ± std".to_string(),
        format!("{:.2} ± {:.2}", 100.0 * te.mean, 100.0 * te.std),
        format!("{:.2} ± {:.2}", 100.0 * tr.mean, 100.0 * tr.std),
        String::new(),
    ]);
    t.push([
        "min / max".to_string(),
        format!("{:.2} / {:.2}", 100.0 * te.min, 100.0 * te.max),
        String::new(),
        String::new(),
    ]);
    t
}
