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

pub use config::ThermoConfig;

use crate::checkpoint;
use crate::config::Layered;
use crate::energy::Energy;
use crate::experiments::ExpConfig;
use crate::real::Real;
use crate::report::console::Console;
use crate::report::json::{write_csv_atomic, write_json_atomic};
use crate::report::rundir::RunDir;
use crate::report::table::{Table, fmt_num, fmt_pm};
use ctx::Ctx;
use indicatif::ProgressBar;
use serde_json::{Value, json};
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
pub fn run(opts: &Options) -> anyhow::Result<Value> {
    let cfg = resolve_config(opts)?;
    let dir = opts.run_dir(&cfg.to_toml(), cfg.seed)?;
    let summary = match cfg.precision.as_str() {
        "f32" => run_typed::<f32>(&cfg, &dir, &opts.console)?,
        _ => run_typed::<f64>(&cfg, &dir, &opts.console)?,
    };
    dir.finish(&summary)?;
    Ok(summary)
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
) -> anyhow::Result<Value> {
    let t0 = Instant::now();
    let ctx = Ctx::<T>::new(cfg, progress(cfg, console))?;
    let r1 = e1::run(&ctx)?;
    let r2 = e2::run(&ctx)?;
    let r3 = e3::run(&ctx)?;
    let rc = cost::run(&ctx)?;
    ctx.pb.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();

    let run_of = |m: &str| r3.runs.iter().find(|r| r.method == m).expect("run exists");
    // The trained machine's score readout is the state after its K-step free phase, and the
    // digital baseline is backprop through those K steps: compare final losses there, and
    // report the exact-equilibrium loss beside it.
    let last_loss = |m: &str| {
        run_of(m)
            .evals
            .last()
            .map(|e| e.loss_finite)
            .unwrap_or(f64::NAN)
    };
    let last_loss_eq = |m: &str| {
        run_of(m)
            .evals
            .last()
            .map(|e| e.loss_equilibrium)
            .unwrap_or(f64::NAN)
    };
    let sym = run_of("symmetric");
    let n_al = (sym.evals.len() / 5).max(1);
    let al: Vec<f64> = sym.evals.iter().map(|e| e.alignment).collect();
    let alignment_start = al.first().copied().unwrap_or(f64::NAN);
    let alignment_end =
        al[al.len().saturating_sub(n_al)..].iter().sum::<f64>() / n_al.min(al.len()).max(1) as f64;
    let bv = &r3.bias_variance;
    let summary = json!({
        "experiment": "thermo-eqprop",
        "paper": "symmetric-eqprop-thermodynamic-diffusion (arXiv:2604.23806)",
        "seed": cfg.seed,
        "precision": cfg.precision,
        "seconds": secs,
        "setup": {
            "D": cfg.substrate.dim(), "modules": cfg.substrate.modules, "rank": cfg.substrate.rank,
            "K": cfg.dynamics.steps, "dt": cfg.dynamics.dt, "temperature": cfg.dynamics.temperature,
            "batch_size": cfg.batch_size, "lambda_star": rc.nominal.lambda_star,
            "relaxation_time": 1.0 / rc.nominal.lambda_star, "K_dt": cfg.dynamics.steps as f64 * cfg.dynamics.dt,
        },
        "e1": r1,
        "e2": r2,
        "e3": {
            "variance_slope": bv.variance_slope,
            "beta_opt_measured": bv.beta_opt_measured,
            "beta_opt_predicted": bv.beta_opt_predicted,
            "beta_opt_paper_form": bv.beta_opt_paper_form,
            "bias_variance": bv,
            "train": {
                "final_loss_symmetric": last_loss("symmetric"),
                "final_loss_one_sided": last_loss("one_sided"),
                "final_loss_exact": last_loss("exact"),
                "final_loss_equilibrium_symmetric": last_loss_eq("symmetric"),
                "final_loss_equilibrium_one_sided": last_loss_eq("one_sided"),
                "final_loss_equilibrium_exact": last_loss_eq("exact"),
                "initial_loss": sym.evals.first().map(|e| e.loss_finite).unwrap_or(f64::NAN),
                "initial_loss_equilibrium": sym.evals.first().map(|e| e.loss_equilibrium).unwrap_or(f64::NAN),
                "loss_floor": r3.loss_floor,
                "alignment_start": alignment_start,
                "alignment_end": alignment_end,
                "runs": r3.runs,
            },
        },
        "cost": {
            "advantage": rc.nominal.advantage,
            "e_analog_j": rc.nominal.e_analog_j,
            "e_digital_j": rc.nominal.e_digital_j,
            "measured_heat_kbt": rc.measured_heat_kbt,
            "analytic_heat_kbt": rc.analytic_heat_kbt,
            "measured_heat_j": rc.measured_heat_j,
            "first_law_rel_error": rc.first_law_rel_error,
            "details": rc,
        },
        "paper_values": {
            "e1.finite.one_sided.cos_mean": -0.73, "e1.finite.symmetric.cos_mean": 0.77,
            "e2.finite.one_sided.slope": 0.41, "e2.finite.symmetric.slope": 2.0,
            "e3.variance_slope": -2.0, "e3.train.alignment_start": 0.6, "e3.train.alignment_end": 0.9,
            "cost.advantage": "1e3..1e4",
        },
    });
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

    let f = &r1.finite;
    let mut t = Table::new(
        format!(
            "thermo-eqprop: D={} k={} L={} K={} dt={} k_BT={} ({:.1} s)",
            cfg.substrate.dim(),
            cfg.substrate.rank,
            cfg.substrate.modules.len(),
            cfg.dynamics.steps,
            cfg.dynamics.dt,
            cfg.dynamics.temperature,
            secs
        ),
        ["quantity", "paper", "measured"],
    );
    t.push([
        "E1 cos one-sided, finite (vs BPTT)",
        "−0.73 ± 0.07",
        &fmt_pm(f.one_sided.cos_mean, f.one_sided.cos_std),
    ]);
    t.push([
        "E1 cos symmetric, finite (vs BPTT)",
        "+0.77 ± 0.05",
        &fmt_pm(f.symmetric.cos_mean, f.symmetric.cos_std),
    ]);
    let f0 = &r1.finite_zero_temperature;
    t.push([
        "E1 cos one-sided, finite, k_BT=0",
        "—",
        &fmt_pm(f0.one_sided.cos_mean, f0.one_sided.cos_std),
    ]);
    t.push([
        "E1 cos symmetric, finite, k_BT=0",
        "—",
        &fmt_pm(f0.symmetric.cos_mean, f0.symmetric.cos_std),
    ]);
    t.push([
        "E1 cos one-sided, full relaxation",
        "—",
        &fmt_pm(r1.relaxed.one_sided.cos_mean, r1.relaxed.one_sided.cos_std),
    ]);
    t.push([
        "E1 cos symmetric, full relaxation",
        "—",
        &fmt_pm(r1.relaxed.symmetric.cos_mean, r1.relaxed.symmetric.cos_std),
    ]);
    t.push([
        "E2 slope one-sided, full relaxation",
        "1 (theory)",
        &fmt_num(r2.relaxed.one_sided.slope),
    ]);
    t.push([
        "E2 slope symmetric, full relaxation",
        "2 (theory)",
        &fmt_num(r2.relaxed.symmetric.slope),
    ]);
    t.push([
        "E2 slope one-sided, finite (vs β→0 limit at K)",
        "0.41",
        &fmt_num(r2.finite.one_sided.slope),
    ]);
    t.push([
        "E2 slope symmetric, finite (vs β→0 limit at K)",
        "2.000",
        &fmt_num(r2.finite.symmetric.slope),
    ]);
    let fe = &r2.finite_vs_equilibrium_gradient;
    t.push([
        "E2 slope one-sided, finite (vs equilibrium ∇L)",
        "—",
        &fmt_num(fe.one_sided.slope),
    ]);
    t.push([
        "E2 slope symmetric, finite (vs equilibrium ∇L)",
        "—",
        &fmt_num(fe.symmetric.slope),
    ]);
    t.push(["E3 variance slope", "−2", &fmt_num(bv.variance_slope)]);
    t.push([
        "E3 β† measured (MSE minimum)",
        "= predicted",
        &fmt_num(bv.beta_opt_measured),
    ]);
    t.push([
        "E3 β† predicted (A/(2K2²))^(1/6)",
        "—",
        &fmt_num(bv.beta_opt_predicted),
    ]);
    t.push([
        "E3 alignment start → end (symmetric)",
        "0.6 → 0.9",
        &format!("{} → {}", fmt_num(alignment_start), fmt_num(alignment_end)),
    ]);
    let init = sym.evals.first().map(|e| e.loss_finite).unwrap_or(f64::NAN);
    t.push(["E3 loss (K-step readout): initial", "—", &fmt_num(init)]);
    t.push([
        "E3 final loss symmetric / exact (BPTT)",
        "overlap",
        &format!(
            "{} / {}",
            fmt_num(last_loss("symmetric")),
            fmt_num(last_loss("exact"))
        ),
    ]);
    t.push([
        "E3 final loss one-sided",
        "—",
        &fmt_num(last_loss("one_sided")),
    ]);
    t.push([
        "E3 final equilibrium loss sym / exact / one-sided",
        "—",
        &format!(
            "{} / {} / {}",
            fmt_num(last_loss_eq("symmetric")),
            fmt_num(last_loss_eq("exact")),
            fmt_num(last_loss_eq("one_sided"))
        ),
    ]);
    t.push(["E3 Bayes-optimal loss floor", "—", &fmt_num(r3.loss_floor)]);
    t.push([
        "cost: digital / substrate energy",
        "1e3..1e4",
        &fmt_num(rc.nominal.advantage),
    ]);
    console.result(t.to_string());
    let mut ct = Table::new(
        format!(
            "cost per training step and sample: k_BT = {} J ({} K), N_MAC = {}, E_MAC = {} J",
            fmt_num(rc.kbt_j),
            cfg.cost_model.temperature_kelvin,
            fmt_num(rc.n_mac),
            fmt_num(cfg.cost_model.e_mac_j)
        ),
        ["stiffness a", "λ⋆", "substrate J", "digital J", "advantage"],
    );
    for p in &rc.sweep {
        ct.push([
            fmt_num(p.stiffness),
            fmt_num(p.lambda_star),
            fmt_num(p.e_analog_j),
            fmt_num(p.e_digital_j),
            fmt_num(p.advantage),
        ]);
    }
    console.result(ct.to_string());
    console.result(format!(
        "heat to the bath per symmetric step and sample (Stratonovich, from the trajectories): \
         measured {} k_BT = {} J; analytic 3 N_cells c_init / (2 λ⋆) = {} k_BT; digital \
         estimate {} J; largest first-law violation {}",
        fmt_num(rc.measured_heat_kbt),
        fmt_num(rc.measured_heat_j),
        fmt_num(rc.analytic_heat_kbt),
        fmt_num(rc.nominal.e_digital_j),
        fmt_num(rc.first_law_rel_error),
    ));
    console.note(format!("wrote {}", dir.path.display()));
    Ok(summary)
}
