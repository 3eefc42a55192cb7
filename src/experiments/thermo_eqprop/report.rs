//! The terminal tables of `physlearn exp thermo-eqprop`: the paper's figures beside the
//! measured ones, the cost accounting, and the measurements that explain the deltas.

use super::config::ThermoConfig;
use super::summary::Summary;
use crate::report::console::Console;
use crate::report::table::{Table, fmt_num, fmt_pm};

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), fmt_num)
}

fn last_of<'a>(s: &'a Summary, method: &str) -> Option<&'a super::e3::EvalPoint> {
    s.e3.train
        .runs
        .iter()
        .find(|r| r.method == method)
        .and_then(|r| r.evals.last())
}

/// The paper's figures beside the measured ones.
fn headline(s: &Summary) -> Table {
    let mut t = Table::new(
        format!(
            "thermo-eqprop: D={} k={} L={} K={} dt={} k_BT={} ({:.1} s)",
            s.setup.dim,
            s.setup.rank,
            s.setup.modules.len(),
            s.setup.steps,
            s.setup.dt,
            s.setup.temperature,
            s.seconds
        ),
        ["quantity", "paper", "measured"],
    );
    let (e1, e2, e3, tr) = (&s.e1, &s.e2, &s.e3, &s.e3.train);
    let pm = |c: &super::e1::CosStats| fmt_pm(c.cos_mean, c.cos_std);
    let rows: Vec<[String; 3]> = vec![
        row(
            "E1 cos one-sided, finite (vs BPTT)",
            "−0.73 ± 0.07",
            pm(&e1.finite.one_sided),
        ),
        row(
            "E1 cos symmetric, finite (vs BPTT)",
            "+0.77 ± 0.05",
            pm(&e1.finite.symmetric),
        ),
        row(
            "E1 cos one-sided, finite, k_BT=0",
            "—",
            pm(&e1.finite_zero_temperature.one_sided),
        ),
        row(
            "E1 cos symmetric, finite, k_BT=0",
            "—",
            pm(&e1.finite_zero_temperature.symmetric),
        ),
        row(
            "E1 cos one-sided, full relaxation",
            "—",
            pm(&e1.relaxed.one_sided),
        ),
        row(
            "E1 cos symmetric, full relaxation",
            "—",
            pm(&e1.relaxed.symmetric),
        ),
        row(
            "E2 slope one-sided, full relaxation",
            "1 (theory)",
            fmt_num(e2.relaxed.one_sided.slope),
        ),
        row(
            "E2 slope symmetric, full relaxation",
            "2 (theory)",
            fmt_num(e2.relaxed.symmetric.slope),
        ),
        row(
            "E2 slope one-sided, finite (vs β→0 limit at K)",
            "0.41",
            fmt_num(e2.finite.one_sided.slope),
        ),
        row(
            "E2 slope symmetric, finite (vs β→0 limit at K)",
            "2.000",
            fmt_num(e2.finite.symmetric.slope),
        ),
        row(
            "E2 slope one-sided, finite (vs equilibrium ∇L)",
            "—",
            fmt_num(e2.finite_vs_equilibrium_gradient.one_sided.slope),
        ),
        row(
            "E2 slope symmetric, finite (vs equilibrium ∇L)",
            "—",
            fmt_num(e2.finite_vs_equilibrium_gradient.symmetric.slope),
        ),
        row("E3 variance slope", "−2", fmt_num(e3.variance_slope)),
        row(
            "E3 β† measured (MSE minimum)",
            "= predicted",
            fmt_num(e3.beta_opt_measured),
        ),
        row(
            "E3 β† predicted (A/(2K2²))^(1/6)",
            "—",
            fmt_num(e3.beta_opt_predicted),
        ),
        row(
            "E3 alignment start → end (symmetric)",
            "0.6 → 0.9",
            format!(
                "{} → {}",
                fmt_num(tr.alignment_start),
                fmt_num(tr.alignment_end)
            ),
        ),
        row(
            "E3 loss (K-step readout): initial",
            "—",
            opt(tr.initial_loss),
        ),
        row(
            "E3 final loss symmetric / exact (BPTT)",
            "overlap",
            format!(
                "{} / {}",
                opt(tr.final_loss_symmetric),
                opt(tr.final_loss_exact)
            ),
        ),
        row("E3 final loss one-sided", "—", opt(tr.final_loss_one_sided)),
        row(
            "E3 final equilibrium loss sym / exact / one-sided",
            "—",
            format!(
                "{} / {} / {}",
                opt(tr.final_loss_equilibrium_symmetric),
                opt(tr.final_loss_equilibrium_exact),
                opt(tr.final_loss_equilibrium_one_sided)
            ),
        ),
        row("E3 Bayes-optimal loss floor", "—", fmt_num(tr.loss_floor)),
        row(
            "cost: digital / substrate energy",
            "1e3..1e4",
            fmt_num(s.cost.advantage),
        ),
    ];
    for r in rows {
        t.push(r);
    }
    t
}

fn row(q: &str, paper: &str, measured: String) -> [String; 3] {
    [q.to_string(), paper.to_string(), measured]
}

/// The energy per step against stiffness.
fn cost_table(s: &Summary, cfg: &ThermoConfig) -> Table {
    let rc = &s.cost.details;
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
    ct
}

/// The measurements behind each delta to the paper.
fn explanations(s: &Summary) -> Table {
    let mut t = Table::new(
        "why the numbers differ from the paper (measured; see explained.png)",
        ["delta", "measurement", "value"],
    );
    let (f, f0) = (&s.e1.finite, &s.e1.finite_zero_temperature);
    t.push(row(
        "E1 one-sided cos",
        "free-phase residual RMS force at the nudge (k_BT, 0)",
        format!(
            "{} / {}",
            fmt_num(f.free_residual_rms),
            fmt_num(f0.free_residual_rms)
        ),
    ));
    t.push(row(
        "",
        "unfinished-relaxation term ‖Δ‖/(β‖g‖) (k_BT, 0)",
        format!(
            "{} / {}",
            fmt_num(f.drift_to_gradient),
            fmt_num(f0.drift_to_gradient)
        ),
    ));
    t.push(row(
        "",
        "one-sided cos with that term removed (k_BT, 0)",
        format!(
            "{} / {}",
            fmt_pm(
                f.one_sided_drift_corrected.cos_mean,
                f.one_sided_drift_corrected.cos_std
            ),
            fmt_pm(
                f0.one_sided_drift_corrected.cos_mean,
                f0.one_sided_drift_corrected.cos_std
            )
        ),
    ));
    for p in &s.e1.k_curve {
        t.push(row(
            "",
            &format!(
                "K·dt = {}: residual {}, cos raw / corrected",
                fmt_num(p.x * s.setup.dt),
                fmt_num(p.free_residual_rms)
            ),
            format!(
                "{} / {}",
                fmt_num(p.one_sided.0),
                fmt_num(p.one_sided_drift_corrected.0)
            ),
        ));
    }
    let tr = &s.e3.train;
    t.push(row(
        "E3 alignment",
        "‖g − g_BPTT‖ / ‖g_BPTT‖, symmetric run, start → end",
        format!(
            "{} → {}",
            fmt_num(tr.error_ratio_start),
            fmt_num(tr.error_ratio_end)
        ),
    ));
    if let (Some(a), Some(b)) = (
        tr.runs
            .iter()
            .find(|r| r.method == "symmetric")
            .and_then(|r| r.evals.first()),
        last_of(s, "symmetric"),
    ) {
        t.push(row(
            "",
            "‖g_BPTT‖ start → end",
            format!("{} → {}", fmt_num(a.grad_norm), fmt_num(b.grad_norm)),
        ));
        t.push(row(
            "",
            "‖g − g_BPTT‖ start → end",
            format!(
                "{} → {}",
                fmt_num(a.estimator_error_norm),
                fmt_num(b.estimator_error_norm)
            ),
        ));
        t.push(row(
            "",
            "λ⋆ at the validation equilibrium, K·dt·λ⋆, start → end",
            format!(
                "{} → {} (K·dt·λ⋆ {} → {})",
                fmt_num(a.lambda_star),
                fmt_num(b.lambda_star),
                fmt_num(a.lambda_star * s.setup.k_dt),
                fmt_num(b.lambda_star * s.setup.k_dt)
            ),
        ));
        t.push(row(
            "",
            "budget bias ‖g_BPTT − g_implicit‖ start → end",
            format!(
                "{} → {}",
                fmt_num(a.budget_bias_norm),
                fmt_num(b.budget_bias_norm)
            ),
        ));
    }
    let c = &s.cost;
    t.push(row(
        "cost advantage",
        "per-cell energy per equilibration for 10^3.5 (J, k_BT)",
        format!(
            "{} J = {} k_BT",
            fmt_num(c.cell_energy_for_paper_ratio_j),
            fmt_num(c.cell_energy_for_paper_ratio_kbt)
        ),
    ));
    t.push(row(
        "",
        "measured heat per step and sample (k_BT) vs analytic",
        format!(
            "{} vs {}",
            fmt_num(c.measured_heat_kbt),
            fmt_num(c.analytic_heat_kbt)
        ),
    ));
    t.push(row(
        "",
        "digital J / measured heat J",
        fmt_num(c.advantage_from_measured_heat),
    ));
    t
}

/// Prints every table of the run.
pub fn report(s: &Summary, cfg: &ThermoConfig, console: &Console) {
    console.result(headline(s).to_string());
    console.result(cost_table(s, cfg).to_string());
    let c = &s.cost;
    console.result(format!(
        "heat to the bath per symmetric step and sample (Stratonovich, from the trajectories): \
         measured {} k_BT = {} J; analytic 3 N_cells c_init / (2 λ⋆) = {} k_BT; digital \
         estimate {} J; largest first-law violation {}",
        fmt_num(c.measured_heat_kbt),
        fmt_num(c.measured_heat_j),
        fmt_num(c.analytic_heat_kbt),
        fmt_num(c.e_digital_j),
        fmt_num(c.first_law_rel_error),
    ));
    console.result(explanations(s).to_string());
}
