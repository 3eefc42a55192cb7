//! Reproduction of "Symmetric Equilibrium Propagation for Thermodynamic Diffusion Training"
//! (arXiv 2604.23806):
//! `physlearn exp thermo-eqprop`.
//!
//! E1 gradient agreement, E2 bias scaling, E3 bias–variance and training, and the
//! physical-unit cost accounting, each printed beside the paper's figure and written to
//! `summary.json` plus one PNG per figure.

pub mod config;
pub mod cost;
pub mod ctx;
pub mod e1;
pub mod e2;
pub mod e3;
pub mod plots;
mod report;
pub mod summary;

pub use config::ThermoConfig;
pub use summary::Summary;

use crate::checkpoint;
use crate::config::Layered;
use crate::energy::Energy;
use crate::experiments::ExpConfig;
use crate::real::Real;
use crate::report::console::Console;
use crate::report::json::{write_csv_atomic, write_json_atomic};
use crate::report::rundir::RunDir;
use ctx::Ctx;
use indicatif::ProgressBar;
use std::time::Instant;

pub use super::ExpOptions as Options;

/// The resolved configuration of `opts`.
pub fn resolve_config(opts: &Options) -> anyhow::Result<ThermoConfig> {
    ThermoConfig::resolve(opts)
}

impl crate::experiments::ExpConfig for ThermoConfig {
    fn quick_settings(self) -> Self {
        self.quick()
    }
    fn seed_mut(&mut self) -> &mut u64 {
        &mut self.seed
    }
}

/// Runs the whole reproduction; returns the summary that was written to `summary.json`.
pub fn run(opts: &Options) -> anyhow::Result<Summary> {
    let cfg = resolve_config(opts)?;
    let dir = opts.run_dir(&cfg.to_toml(), cfg.seed)?;
    struct Job<'a> {
        cfg: &'a ThermoConfig,
        dir: &'a RunDir,
        console: &'a Console,
    }
    impl crate::real::PrecisionJob for Job<'_> {
        type Output = anyhow::Result<Summary>;
        fn run<T: Real>(self) -> Self::Output {
            run_typed::<T>(self.cfg, self.dir, self.console)
        }
    }
    let summary = cfg.precision.dispatch(Job {
        cfg: &cfg,
        dir: &dir,
        console: &opts.console,
    })?;
    dir.finish(&serde_json::to_value(&summary)?)?;
    Ok(summary)
}

/// Mean of the last fifth (at least one) of `v`.
fn tail_mean(v: &[f64]) -> f64 {
    let n = (v.len() / 5).max(1).min(v.len());
    v[v.len() - n..].iter().sum::<f64>() / n.max(1) as f64
}

/// The typed summary of the four parts.
fn summarize(
    cfg: &ThermoConfig,
    seconds: f64,
    e1: &e1::E1,
    e2: &e2::E2,
    r3: &e3::E3,
    rc: &cost::Cost,
) -> Summary {
    let run_of = |m: &str| r3.runs.iter().find(|r| r.method == m).expect("run exists");
    // The trained machine's score readout is the state after its K-step free phase, and the
    // digital baseline is backprop through those K steps: compare final losses there, and
    // report the exact-equilibrium loss beside it.
    let last = |m: &str, f: fn(&e3::EvalPoint) -> f64| run_of(m).evals.last().map(f);
    let sym = run_of("symmetric");
    let first = |f: fn(&e3::EvalPoint) -> f64| sym.evals.first().map(f);
    let al: Vec<f64> = sym.evals.iter().map(|e| e.alignment).collect();
    let ratio: Vec<f64> = sym
        .evals
        .iter()
        .map(|e| e.estimator_error_norm / e.grad_norm)
        .collect();
    let train = summary::TrainSummary {
        final_loss_symmetric: last("symmetric", |e| e.loss_finite),
        final_loss_one_sided: last("one_sided", |e| e.loss_finite),
        final_loss_exact: last("exact", |e| e.loss_finite),
        final_loss_equilibrium_symmetric: last("symmetric", |e| e.loss_equilibrium),
        final_loss_equilibrium_one_sided: last("one_sided", |e| e.loss_equilibrium),
        final_loss_equilibrium_exact: last("exact", |e| e.loss_equilibrium),
        initial_loss: first(|e| e.loss_finite),
        initial_loss_equilibrium: first(|e| e.loss_equilibrium),
        loss_floor: r3.loss_floor,
        alignment_start: al.first().copied().unwrap_or(f64::NAN),
        alignment_end: if al.is_empty() {
            f64::NAN
        } else {
            tail_mean(&al)
        },
        error_ratio_start: ratio.first().copied().unwrap_or(f64::NAN),
        error_ratio_end: if ratio.is_empty() {
            f64::NAN
        } else {
            tail_mean(&ratio)
        },
        lambda_star_start: first(|e| e.lambda_star).unwrap_or(f64::NAN),
        lambda_star_end: sym.evals.last().map_or(f64::NAN, |e| e.lambda_star),
        runs: r3.runs.clone(),
    };
    let bv = r3.bias_variance.clone();
    let kbt_j = rc.kbt_j;
    Summary {
        experiment: "thermo-eqprop".into(),
        paper: "symmetric-eqprop-thermodynamic-diffusion (arXiv:2604.23806)".into(),
        seed: cfg.seed,
        precision: cfg.precision,
        seconds,
        setup: summary::Setup {
            dim: cfg.substrate.dim(),
            modules: cfg.substrate.modules.clone(),
            rank: cfg.substrate.rank,
            steps: cfg.dynamics.steps,
            dt: cfg.dynamics.dt,
            temperature: cfg.dynamics.temperature,
            batch_size: cfg.batch_size,
            lambda_star: rc.nominal.lambda_star,
            relaxation_time: 1.0 / rc.nominal.lambda_star,
            k_dt: cfg.dynamics.steps as f64 * cfg.dynamics.dt,
        },
        e1: e1.clone(),
        e2: e2.clone(),
        e3: summary::E3Summary {
            variance_slope: bv.variance_slope,
            beta_opt_measured: bv.beta_opt_measured,
            beta_opt_predicted: bv.beta_opt_predicted,
            beta_opt_paper_form: bv.beta_opt_paper_form,
            bias_variance: bv,
            train,
        },
        cost: summary::CostSummary {
            advantage: rc.nominal.advantage,
            e_analog_j: rc.nominal.e_analog_j,
            e_digital_j: rc.nominal.e_digital_j,
            measured_heat_kbt: rc.measured_heat_kbt,
            analytic_heat_kbt: rc.analytic_heat_kbt,
            measured_heat_j: rc.measured_heat_j,
            advantage_from_measured_heat: rc.nominal.e_digital_j / rc.measured_heat_j,
            cell_energy_for_paper_ratio_j: rc.cell_energy_for_paper_ratio_j,
            cell_energy_for_paper_ratio_kbt: rc.cell_energy_for_paper_ratio_j / kbt_j,
            first_law_rel_error: rc.first_law_rel_error,
            details: rc.clone(),
        },
        paper_values: summary::PaperValues::default(),
    }
}

fn progress(cfg: &ThermoConfig, console: &Console) -> ProgressBar {
    let total = cfg.e1.batches
        + cfg.e2.batches
        + cfg.e3.betas.len() * cfg.e3.reps
        + 3 * (cfg.e3.train.steps + 1)
        + 1;
    console.labelled_bar(total as u64, "thermo-eqprop")
}

fn run_typed<T: Real>(
    cfg: &ThermoConfig,
    dir: &RunDir,
    console: &Console,
) -> anyhow::Result<Summary> {
    let t0 = Instant::now();
    let ctx = Ctx::<T>::new(cfg, progress(cfg, console))?;
    let r1 = e1::run(&ctx)?;
    let r2 = e2::run(&ctx)?;
    let r3 = e3::run(&ctx)?;
    let rc = cost::run(&ctx)?;
    ctx.pb.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();

    let summary = summarize(cfg, secs, &r1, &r2, &r3, &rc);
    write_json_atomic(&dir.file("summary.json"), &summary)?;
    let mut rows = vec![];
    for (mi, run) in r3.runs.iter().enumerate() {
        for e in &run.evals {
            rows.push(vec![
                mi as f64,
                e.step as f64,
                e.loss_equilibrium,
                e.loss_finite,
                e.alignment,
            ]);
        }
    }
    write_csv_atomic(
        &dir.file("train_curves.csv"),
        &[
            "method(0=symmetric,1=one_sided,2=exact)",
            "step",
            "loss_equilibrium",
            "loss_finite",
            "alignment",
        ],
        &rows,
    )?;
    let blocks = ctx.energy.param_blocks();
    let meta = |m: &str| {
        [
            ("method", m.to_string()),
            ("seed", cfg.seed.to_string()),
            ("experiment", "thermo-eqprop".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    };
    checkpoint::save(
        &dir.file("params_init.safetensors"),
        &blocks,
        ctx.energy.params(),
        meta("init"),
    )?;
    for run in &r3.runs {
        let th: Vec<T> = run.theta.iter().map(|&v| T::of(v)).collect();
        checkpoint::save(
            &dir.file(&format!("params_{}.safetensors", run.method)),
            &blocks,
            &th,
            meta(&run.method),
        )?;
    }
    plots::e1(&dir.path, &r1)?;
    plots::e2(&dir.path, &r2)?;
    plots::e3(&dir.path, &r3)?;
    plots::cost(&dir.path, &rc)?;

    plots::explained(&dir.path, &r1, &r3, cfg.dynamics.dt)?;
    report::report(&summary, cfg, console);
    console.note(format!("wrote {}", dir.path.display()));
    Ok(summary)
}
