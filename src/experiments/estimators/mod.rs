//! `physlearn exp estimators`: the learning rules of the EqProp family compared on one
//! footing, on embedded synthetic systems (a bilinear low-rank substrate, a dense and a
//! convolutional Hopfield net):
//!
//! - the bias of every EqProp rule against the exact gradient as β shrinks, with fitted
//!   log–log slopes (order 1 for `one_sided` and `negative`, 2 for `symmetric`; Scellier et
//!   al. 2023, "Energy-based learning algorithms for analog computing");
//! - the cosine with the exact gradient against the relaxation budget, for EqProp and for
//!   backprop through time;
//! - the variance against β at finite temperature;
//! - finite-nudge EqProp against the quadrature gradient of `(F_β − F_0)/β` (Litman,
//!   "Equilibrium Propagation Without Limits", arXiv 2511.22024);
//! - the first law of stochastic energetics along a Langevin protocol.
//!
//! Writes `summary.json` ([`Summary`]), one PNG per measurement and a terminal table each.

pub mod bias;
pub mod budget;
pub mod config;
pub mod heat;
pub mod plots;
pub mod quadrature;
pub mod summary;
pub mod systems;
pub mod variance;

pub use config::EstimatorsConfig;
pub use summary::{SubstrateSummary, Summary};

use crate::experiments::{ExpConfig, ExpOptions};
use crate::report::console::Console;
use crate::report::json::write_json_atomic;
use crate::report::table::{Table, fmt_num};
use std::time::Instant;

impl ExpConfig for EstimatorsConfig {
    fn quick_settings(self) -> Self {
        self.quick()
    }
    fn seed_mut(&mut self) -> &mut u64 {
        &mut self.seed
    }
}

/// The resolved configuration of `opts`.
pub fn resolve_config(opts: &ExpOptions) -> anyhow::Result<EstimatorsConfig> {
    EstimatorsConfig::resolve(opts)
}

/// Runs the comparison; returns the summary written to `summary.json`.
pub fn run(opts: &ExpOptions) -> anyhow::Result<Summary> {
    use crate::config::Layered;
    let cfg = resolve_config(opts)?;
    let dir = opts.run_dir(&cfg.to_toml(), cfg.seed)?;
    let summary = measure(&cfg, opts.quick, &opts.console)?;
    write_json_atomic(&dir.file("summary.json"), &summary)?;
    plots::all(&dir.path, &summary)?;
    for t in tables(&summary) {
        opts.console.result(t.to_string());
    }
    dir.finish(&serde_json::to_value(&summary)?)?;
    Ok(summary)
}

/// Every measurement of `cfg`, with a progress bar on `console`.
pub fn measure(cfg: &EstimatorsConfig, quick: bool, console: &Console) -> anyhow::Result<Summary> {
    let t0 = Instant::now();
    let per_substrate =
        bias::work(&cfg.bias) + budget::work(&cfg.budget) + variance::work(&cfg.variance);
    let total = 3 * per_substrate + quadrature::work(&cfg.finite_nudge) + cfg.heat.dts.len() as u64;
    let pb = console.labelled_bar(total, "estimators");
    let mut subs = vec![];
    for sys in systems::all(cfg.seed)? {
        let exact = bias::exact(&sys, &cfg.bias)?;
        anyhow::ensure!(
            crate::linalg::norm(&exact) > 1e-6,
            "{}: the exact gradient vanishes, so relative biases are meaningless",
            sys.name
        );
        subs.push(SubstrateSummary {
            dim: sys.energy.dim(),
            n_params: sys.energy.n_params(),
            bias: bias::run(&sys, &exact, &cfg.bias, cfg.seed, &pb)?,
            budget: budget::run(&sys, &exact, &cfg.budget, &pb)?,
            variance: variance::run(&sys, &cfg.variance, cfg.seed, &pb)?,
        });
    }
    let finite_nudge = quadrature::run(&cfg.finite_nudge, cfg.seed, &pb)?;
    let heat = heat::run(&cfg.heat, cfg.seed)?;
    pb.inc(cfg.heat.dts.len() as u64);
    pb.finish_and_clear();
    let hopfield_conv = subs.pop().expect("three systems");
    let hopfield_dense = subs.pop().expect("three systems");
    let bilinear = subs.pop().expect("three systems");
    Ok(Summary {
        experiment: "estimators".into(),
        seed: cfg.seed,
        quick,
        seconds: t0.elapsed().as_secs_f64(),
        bilinear,
        hopfield_dense,
        hopfield_conv,
        finite_nudge,
        heat,
    })
}

/// The terminal tables: bias orders, budget cosines, variance slopes, the quadrature check
/// and the first law.
pub fn tables(s: &Summary) -> Vec<Table> {
    let mut bias = Table::new(
        format!(
            "EqProp bias against β, relative to the exact gradient ({:.1} s in all)",
            s.seconds
        ),
        [
            "substrate",
            "rule",
            "expected order",
            "fitted slope",
            "slope, alternative",
            "bias at smallest β",
        ],
    );
    for (name, sub) in s.substrates() {
        let b = &sub.bias;
        for (rule, std, alt) in [
            ("one_sided", &b.one_sided, Some(&b.one_sided_alternative)),
            ("negative", &b.negative, Some(&b.negative_alternative)),
            ("symmetric", &b.symmetric, Some(&b.symmetric_alternative)),
            ("random_sign (RMS)", &b.random_sign, None),
        ] {
            bias.push([
                name.to_string(),
                rule.to_string(),
                fmt_num(std.expected_order),
                format!("{:.3}", std.bias_slope),
                alt.map_or("".into(), |a| format!("{:.3}", a.bias_slope)),
                fmt_num(*std.rel_bias.last().unwrap_or(&f64::NAN)),
            ]);
        }
    }
    let ks = &s.bilinear.budget.budgets;
    let mut budget = Table::new(
        "cosine with the exact gradient against the steps per phase K",
        std::iter::once("substrate / rule".to_string()).chain(ks.iter().map(|k| format!("K={k}"))),
    );
    for (name, sub) in s.substrates() {
        let b = &sub.budget;
        for (rule, v) in [
            ("one_sided", &b.one_sided),
            ("symmetric", &b.symmetric),
            ("bptt", &b.bptt),
        ] {
            budget.push(
                std::iter::once(format!("{name} {rule}"))
                    .chain(v.iter().map(|c| format!("{c:.3}"))),
            );
        }
    }
    let mut var = Table::new(
        format!(
            "variance against β at k_BT = {} (expected slope −2)",
            s.bilinear.variance.temperature
        ),
        [
            "substrate",
            "rule",
            "slope",
            "Σ Var at smallest β",
            "at largest β",
        ],
    );
    for (name, sub) in s.substrates() {
        let v = &sub.variance;
        for (rule, c) in [("one_sided", &v.one_sided), ("symmetric", &v.symmetric)] {
            var.push([
                name.to_string(),
                rule.to_string(),
                format!("{:.3}", c.variance_slope),
                fmt_num(c.total_variance[0]),
                fmt_num(*c.total_variance.last().unwrap_or(&f64::NAN)),
            ]);
        }
    }
    let q = &s.finite_nudge;
    let mut fnq = Table::new(
        format!(
            "finite-nudge EqProp against quadrature at k_BT = {} ({} calls per point): max |z| = {:.2}",
            q.temperature, q.reps, q.max_abs_z
        ),
        [
            "rule",
            "β",
            "chains",
            "max |z|",
            "‖s.e.‖/‖g‖",
            "‖g_β − g_0‖/‖g_0‖",
        ],
    );
    for p in &q.points {
        fnq.push([
            p.rule.clone(),
            fmt_num(p.beta),
            p.chains.to_string(),
            format!("{:.2}", p.max_abs_z),
            fmt_num(p.rel_standard_error),
            fmt_num(p.distance_from_small_beta),
        ]);
    }
    let h = &s.heat;
    let mut heat = Table::new(
        format!(
            "first law ΔU = W − Q along free → nudged → moved θ at k_BT = {} (order {:.2})",
            h.temperature, h.error_order
        ),
        ["dt", "relative error", "mean |Q|", "mean W"],
    );
    for p in &h.points {
        heat.push([
            fmt_num(p.dt),
            fmt_num(p.first_law_rel_error),
            fmt_num(p.mean_abs_heat),
            fmt_num(p.mean_work),
        ]);
    }
    vec![bias, budget, var, fnq, heat]
}
