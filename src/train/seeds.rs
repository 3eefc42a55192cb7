//! `physlearn train --seeds 0,1,2,3`: one configuration trained once per seed, each run in
//! its own directory `<out>/seed-<s>/`, and the spread of the final test error over the seeds
//! (mean, sample standard deviation, min, max) in `<out>/seeds.json`, `<out>/seeds.csv` and a
//! table on the terminal. A single seed can be picked favourably; the spread is the number to
//! compare with a target.
//!
//! Re-running the same command continues where it stopped: a seed whose run finished (its
//! `summary.json` exists) is read back, one with a checkpoint resumes from it, and a seed
//! directory written with another configuration is an error rather than overwritten.

use super::{TrainOptions, train};
use crate::report::json::{write_csv_atomic, write_json_atomic};
use crate::report::table::Table;
use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};

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

/// Trains `opts.cfg` once per seed under `opts.out` and returns the aggregate (also written to
/// `seeds.json`).
pub fn train_seeds(opts: &TrainOptions, seeds: &[u64]) -> anyhow::Result<Value> {
    ensure!(!seeds.is_empty(), "--seeds needs at least one seed");
    let mut runs = vec![];
    for &s in seeds {
        let mut cfg = opts.cfg.clone();
        cfg.seed = s;
        let dir = opts.out.join(format!("seed-{s}"));
        let text = toml::to_string(&cfg)?;
        let existing = std::fs::read_to_string(dir.join("config.toml")).ok();
        if let Some(old) = &existing
            && *old != text
        {
            bail!(
                "{} holds a run with another configuration; pick another --out",
                dir.display()
            );
        }
        let summary_path = dir.join("summary.json");
        let summary: Value = if existing.is_some() && summary_path.exists() {
            eprintln!(
                "seed {s}: finished earlier, reading {}",
                summary_path.display()
            );
            serde_json::from_str(
                &std::fs::read_to_string(&summary_path)
                    .with_context(|| format!("reading {}", summary_path.display()))?,
            )?
        } else {
            let resume = existing.is_some() && dir.join("checkpoint.safetensors").exists();
            eprintln!(
                "seed {s}: {} in {}",
                if resume { "resuming" } else { "training" },
                dir.display()
            );
            train(&TrainOptions {
                cfg,
                data_dir: opts.data_dir.clone(),
                out: dir,
                resume,
                command: opts.command.clone(),
            })?
        };
        runs.push(json!({
            "seed": s,
            "test_error": summary["test_error"],
            "train_error": summary["train_error"],
            "best_test_error": summary["best_test_error"],
            "epochs": summary["epochs"],
            "seconds_per_epoch": summary["seconds_per_epoch"],
        }));
    }
    let col = |k: &str| -> Vec<f64> {
        runs.iter()
            .map(|r| r[k].as_f64().unwrap_or(f64::NAN))
            .collect()
    };
    let (test, train_err) = (col("test_error"), col("train_error"));
    let (mean, std, min, max) = spread(&test);
    let (tmean, tstd, _, _) = spread(&train_err);
    let out = json!({
        "dataset": opts.cfg.data.dataset,
        "layers": opts.cfg.model.layers,
        "estimator": opts.cfg.training.estimator.name(),
        "seeds": seeds,
        "test_error": {"mean": mean, "std": std, "min": min, "max": max},
        "train_error": {"mean": tmean, "std": tstd},
        "runs": runs,
    });
    std::fs::create_dir_all(&opts.out)?;
    write_json_atomic(&opts.out.join("seeds.json"), &out)?;
    let rows: Vec<Vec<f64>> = runs
        .iter()
        .map(|r| {
            ["seed", "test_error", "train_error", "best_test_error"]
                .iter()
                .map(|k| r[*k].as_f64().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    write_csv_atomic(
        &opts.out.join("seeds.csv"),
        &["seed", "test_error", "train_error", "best_test_error"],
        &rows,
    )?;
    let pct = |v: &Value| format!("{:.2}", 100.0 * v.as_f64().unwrap_or(f64::NAN));
    let mut t = Table::new(
        format!(
            "{} {:?}, {} seeds: test error (%)",
            opts.cfg.data.dataset,
            opts.cfg.model.layers,
            seeds.len()
        ),
        ["seed", "test error", "train error", "best test error"],
    );
    for r in &runs {
        t.push([
            r["seed"].to_string(),
            pct(&r["test_error"]),
            pct(&r["train_error"]),
            pct(&r["best_test_error"]),
        ]);
    }
    t.push([
        "mean ± std".to_string(),
        format!("{:.2} ± {:.2}", 100.0 * mean, 100.0 * std),
        format!("{:.2} ± {:.2}", 100.0 * tmean, 100.0 * tstd),
        String::new(),
    ]);
    t.push([
        "min / max".to_string(),
        format!("{:.2} / {:.2}", 100.0 * min, 100.0 * max),
        String::new(),
        String::new(),
    ]);
    println!("{t}");
    Ok(out)
}
