//! Figures of the estimator comparison: one PNG per measurement, one panel per substrate.

use super::summary::Summary;
use crate::report::plot::{LinePlot, Series, save_grid_png};
use std::path::Path;

fn zip(x: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
    x.iter().copied().zip(y.iter().copied()).collect()
}

/// Writes `bias.png`, `budget.png`, `variance.png`, `finite_nudge.png` and `heat.png`.
pub fn all(out: &Path, s: &Summary) -> anyhow::Result<()> {
    let subs = s.substrates();
    let bias: Vec<LinePlot> = subs
        .iter()
        .map(|(name, sub)| {
            let mut p = LinePlot::new(
                format!("{name}: EqProp bias against β"),
                "β",
                "‖g_β − ∇L‖ / ‖∇L‖",
            )
            .log_x()
            .log_y();
            for (rule, c) in sub.bias.rules() {
                let label = format!("{rule} (slope {:.2})", c.bias_slope);
                let mut series = Series::line(label, zip(&c.betas, &c.rel_bias));
                if rule.ends_with("alternative") {
                    series = series.dashed();
                }
                p = p.series(series);
            }
            p
        })
        .collect();
    save_grid_png(&out.join("bias.png"), &bias, 3)?;

    let budget: Vec<LinePlot> = subs
        .iter()
        .map(|(name, sub)| {
            let b = &sub.budget;
            let k: Vec<f64> = b.budgets.iter().map(|k| *k as f64).collect();
            LinePlot::new(
                format!("{name}: cosine with ∇L (β = {}, dt = {})", b.beta, b.dt),
                "K (steps per phase)",
                "cosine",
            )
            .log_x()
            .series(Series::line("one_sided", zip(&k, &b.one_sided)))
            .series(Series::line("symmetric", zip(&k, &b.symmetric)))
            .series(Series::line("bptt", zip(&k, &b.bptt)))
            .hline(1.0, "")
        })
        .collect();
    save_grid_png(&out.join("budget.png"), &budget, 3)?;

    let variance: Vec<LinePlot> = subs
        .iter()
        .map(|(name, sub)| {
            let v = &sub.variance;
            LinePlot::new(
                format!("{name}: variance at k_BT = {}", v.temperature),
                "β",
                "Σ Var[g]",
            )
            .log_x()
            .log_y()
            .series(Series::line(
                format!("one_sided (slope {:.2})", v.one_sided.variance_slope),
                zip(&v.betas, &v.one_sided.total_variance),
            ))
            .series(Series::line(
                format!("symmetric (slope {:.2})", v.symmetric.variance_slope),
                zip(&v.betas, &v.symmetric.total_variance),
            ))
        })
        .collect();
    save_grid_png(&out.join("variance.png"), &variance, 3)?;

    let q = &s.finite_nudge;
    let fnp: Vec<LinePlot> = q
        .points
        .iter()
        .map(|p| {
            let idx = |v: &[f64]| {
                v.iter()
                    .enumerate()
                    .map(|(i, y)| (i as f64, *y))
                    .collect::<Vec<_>>()
            };
            LinePlot::new(
                format!("{} at β = {} (max |z| {:.2})", p.rule, p.beta, p.max_abs_z),
                "parameter",
                "∇_θ (F_β − F_0) / β",
            )
            .series(Series::line("quadrature", idx(&p.quadrature)))
            .series(
                Series::points("sampled ± s.e.", idx(&p.sampled))
                    .with_err(p.standard_error.clone()),
            )
        })
        .collect();
    save_grid_png(&out.join("finite_nudge.png"), &fnp, 3)?;

    let h = &s.heat;
    let dts: Vec<f64> = h.points.iter().map(|p| p.dt).collect();
    let errs: Vec<f64> = h.points.iter().map(|p| p.first_law_rel_error).collect();
    LinePlot::new(
        format!(
            "first law ΔU = W − Q along a Langevin protocol (order {:.2})",
            h.error_order
        ),
        "dt",
        "mean |ΔU − W + Q| / (|ΔU| + |W| + |Q|)",
    )
    .log_x()
    .log_y()
    .series(Series::line("measured", zip(&dts, &errs)))
    .save_png(&out.join("heat.png"))?;
    Ok(())
}
