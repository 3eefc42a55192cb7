//! Figures of the symmetric-EqProp reproduction (one PNG per paper figure).

use super::cost::Cost;
use super::e1::E1;
use super::e2::E2;
use super::e3::E3;
use crate::report::plot::{LinePlot, Series, save_grid_png};
use std::path::Path;

fn zip(x: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
    x.iter().copied().zip(y.iter().copied()).collect()
}

/// Figure 4 (E1): per-batch cosines, cosine vs relaxation budget, cosine vs β.
pub fn e1(out: &Path, r: &E1) -> anyhow::Result<()> {
    let idx = |v: &[f64]| {
        v.iter()
            .enumerate()
            .map(|(i, &c)| (i as f64, c))
            .collect::<Vec<_>>()
    };
    let per = LinePlot::new(
        format!(
            "E1: cosine with backprop, finite relaxation (β={}, k_BT={})",
            r.finite.beta, r.finite.temperature
        ),
        "batch",
        "cosine",
    )
    .series(Series::points("one-sided", idx(&r.finite.one_sided.values)))
    .series(Series::points("symmetric", idx(&r.finite.symmetric.values)))
    .series(Series::points(
        "one-sided, full relaxation",
        idx(&r.relaxed.one_sided.values),
    ))
    .series(Series::points(
        "symmetric, full relaxation",
        idx(&r.relaxed.symmetric.values),
    ))
    .hline(-0.73, "paper one-sided −0.73")
    .hline(0.77, "paper symmetric +0.77")
    .hline(0.0, "");
    let kx: Vec<f64> = r.k_curve.iter().map(|p| p.x).collect();
    let kplot = LinePlot::new(
        "E1: cosine vs relaxation budget K",
        "K (steps per phase)",
        "cosine",
    )
    .log_x()
    .series(
        Series::line(
            "one-sided vs BPTT(K)",
            zip(
                &kx,
                &r.k_curve.iter().map(|p| p.one_sided.0).collect::<Vec<_>>(),
            ),
        )
        .with_err(r.k_curve.iter().map(|p| p.one_sided.1).collect()),
    )
    .series(
        Series::line(
            "symmetric vs BPTT(K)",
            zip(
                &kx,
                &r.k_curve.iter().map(|p| p.symmetric.0).collect::<Vec<_>>(),
            ),
        )
        .with_err(r.k_curve.iter().map(|p| p.symmetric.1).collect()),
    )
    .series(
        Series::line(
            "one-sided vs implicit",
            zip(
                &kx,
                &r.k_curve
                    .iter()
                    .map(|p| p.one_sided_vs_implicit)
                    .collect::<Vec<_>>(),
            ),
        )
        .dashed(),
    )
    .series(
        Series::line(
            "symmetric vs implicit",
            zip(
                &kx,
                &r.k_curve
                    .iter()
                    .map(|p| p.symmetric_vs_implicit)
                    .collect::<Vec<_>>(),
            ),
        )
        .dashed(),
    )
    .hline(0.0, "");
    let bx: Vec<f64> = r.beta_curve.iter().map(|p| p.x).collect();
    let bplot = LinePlot::new(
        "E1: cosine vs β (finite relaxation)",
        "β",
        "cosine with BPTT",
    )
    .log_x()
    .series(
        Series::line(
            "one-sided",
            zip(
                &bx,
                &r.beta_curve
                    .iter()
                    .map(|p| p.one_sided.0)
                    .collect::<Vec<_>>(),
            ),
        )
        .with_err(r.beta_curve.iter().map(|p| p.one_sided.1).collect()),
    )
    .series(
        Series::line(
            "symmetric",
            zip(
                &bx,
                &r.beta_curve
                    .iter()
                    .map(|p| p.symmetric.0)
                    .collect::<Vec<_>>(),
            ),
        )
        .with_err(r.beta_curve.iter().map(|p| p.symmetric.1).collect()),
    )
    .hline(0.0, "");
    save_grid_png(
        &out.join("e1_gradient_agreement.png"),
        &[per, kplot, bplot],
        3,
    )
}

/// Figure 5 (E2): bias against β, relaxed and finite.
pub fn e2(out: &Path, r: &E2) -> anyhow::Result<()> {
    let b = &r.betas;
    let fitline = |slope: f64, bias: &[f64]| -> Vec<(f64, f64)> {
        // Anchor the fitted power law at the smallest β.
        let (b0, y0) = (b[0], bias[0]);
        b.iter()
            .filter(|x| **x <= r.fit_max_beta * 1.0001)
            .map(|&x| (x, y0 * (x / b0).powf(slope)))
            .collect()
    };
    let mk = |title: &str, reg: &super::e2::Regime| {
        LinePlot::new(title, "β", "‖E[g_β] − reference‖")
            .log_x()
            .log_y()
            .series(Series::points(
                format!("one-sided (slope {:.3})", reg.one_sided.slope),
                zip(b, &reg.one_sided.bias),
            ))
            .series(Series::points(
                format!("symmetric (slope {:.3})", reg.symmetric.slope),
                zip(b, &reg.symmetric.bias),
            ))
            .series(Series::line("fit", fitline(reg.one_sided.slope, &reg.one_sided.bias)).dashed())
            .series(Series::line("fit", fitline(reg.symmetric.slope, &reg.symmetric.bias)).dashed())
            .vline(r.fit_max_beta, "fit range")
    };
    save_grid_png(
        &out.join("e2_bias_scaling.png"),
        &[
            mk("E2: full relaxation (vs implicit ∇L)", &r.relaxed),
            mk("E2: finite relaxation K (vs β→0 limit at K)", &r.finite),
            mk(
                "E2: finite relaxation K (vs implicit ∇L)",
                &r.finite_vs_equilibrium_gradient,
            ),
        ],
        3,
    )
}

/// Figure 2 (bias–variance) and Figure 6 (training).
pub fn e3(out: &Path, r: &E3) -> anyhow::Result<()> {
    let bv = &r.bias_variance;
    let b = &bv.betas;
    let var = LinePlot::new(
        format!("E3: variance (slope {:.2}, theory −2)", bv.variance_slope),
        "β",
        "tr Cov[g_β]",
    )
    .log_x()
    .log_y()
    .series(Series::points("measured", zip(b, &bv.variance)))
    .series(
        Series::line(
            "A β⁻²",
            b.iter()
                .map(|&x| (x, bv.variance_coeff / (x * x)))
                .collect(),
        )
        .dashed(),
    );
    let mse = LinePlot::new(
        "E3: mean-squared error of symmetric EqProp",
        "β",
        "E‖g_β − ∇L‖²",
    )
    .log_x()
    .log_y()
    .series(Series::points("MSE", zip(b, &bv.mse)))
    .series(Series::points("bias²", zip(b, &bv.bias_sq)))
    .series(
        Series::line(
            "A β⁻² + K2² β⁴",
            b.iter()
                .map(|&x| {
                    (
                        x,
                        bv.variance_coeff / (x * x) + bv.k2_symmetric.powi(2) * x.powi(4),
                    )
                })
                .collect(),
        )
        .dashed(),
    )
    .vline(
        bv.beta_opt_measured,
        format!("β† measured {:.3}", bv.beta_opt_measured),
    )
    .vline(
        bv.beta_opt_predicted,
        format!("β† predicted {:.3}", bv.beta_opt_predicted),
    );
    save_grid_png(&out.join("e3_bias_variance.png"), &[var, mse], 2)?;
    let mut loss = LinePlot::new(
        "E3: training loss (validation, at equilibrium)",
        "step",
        "DSM loss",
    )
    .log_y()
    .hline(r.loss_floor, "Bayes-optimal score");
    let mut lossk = LinePlot::new(
        "E3: training loss (validation, after K steps)",
        "step",
        "DSM loss",
    )
    .log_y()
    .hline(r.loss_floor, "Bayes-optimal score");
    let mut align = LinePlot::new(
        "E3: alignment with backprop during training",
        "step",
        "cosine with BPTT gradient",
    )
    .hline(0.0, "");
    for run in &r.runs {
        let s: Vec<f64> = run.evals.iter().map(|e| e.step as f64).collect();
        loss = loss.series(Series::line(
            &run.method,
            zip(
                &s,
                &run.evals
                    .iter()
                    .map(|e| e.loss_equilibrium)
                    .collect::<Vec<_>>(),
            ),
        ));
        lossk = lossk.series(Series::line(
            &run.method,
            zip(
                &s,
                &run.evals.iter().map(|e| e.loss_finite).collect::<Vec<_>>(),
            ),
        ));
        if run.method != "exact" {
            align = align.series(Series::line(
                &run.method,
                zip(
                    &s,
                    &run.evals.iter().map(|e| e.alignment).collect::<Vec<_>>(),
                ),
            ));
        }
    }
    save_grid_png(&out.join("e3_training.png"), &[loss, lossk, align], 3)
}

/// Figure 3 (cost): energy per step and advantage against stiffness.
pub fn cost(out: &Path, r: &Cost) -> anyhow::Result<()> {
    let a: Vec<f64> = r.sweep.iter().map(|p| p.stiffness).collect();
    let e = LinePlot::new("Energy per training step and sample", "stiffness a", "J")
        .log_x()
        .log_y()
        .series(Series::line(
            "substrate (symmetric EqProp)",
            zip(
                &a,
                &r.sweep.iter().map(|p| p.e_analog_j).collect::<Vec<_>>(),
            ),
        ))
        .series(Series::line(
            "digital backprop",
            zip(
                &a,
                &r.sweep.iter().map(|p| p.e_digital_j).collect::<Vec<_>>(),
            ),
        ));
    let adv = LinePlot::new(
        "Energy advantage vs stiffness",
        "stiffness a",
        "E_digital / E_substrate",
    )
    .log_x()
    .log_y()
    .series(Series::line(
        "advantage",
        zip(&a, &r.sweep.iter().map(|p| p.advantage).collect::<Vec<_>>()),
    ))
    .hline(1e3, "paper 1e3")
    .hline(1e4, "paper 1e4");
    save_grid_png(&out.join("cost_accounting.png"), &[e, adv], 2)
}

/// The measured reasons behind the deltas to the paper: the one-sided cosine against the
/// relaxation time `K·dt` and against the free-phase residual at the start of the nudge,
/// with the unfinished relaxation removed beside it; and the gradient norm and the
/// estimator's error norm over training (the alignment of E3 is their balance).
pub fn explained(out: &Path, r1: &E1, r3: &E3, dt: f64) -> anyhow::Result<()> {
    let kc = &r1.k_curve;
    let t: Vec<f64> = kc.iter().map(|p| p.x * dt).collect();
    let res: Vec<f64> = kc.iter().map(|p| p.free_residual_rms).collect();
    let col = |f: fn(&super::e1::CurvePoint) -> f64| kc.iter().map(f).collect::<Vec<_>>();
    let vs_time = LinePlot::new(
        "E1: one-sided cosine vs relaxation time",
        "K·dt",
        "cosine with BPTT(K)",
    )
    .log_x()
    .series(Series::line("one-sided", zip(&t, &col(|p| p.one_sided.0))))
    .series(Series::line(
        "one-sided, drift removed",
        zip(&t, &col(|p| p.one_sided_drift_corrected.0)),
    ))
    .series(Series::line("symmetric", zip(&t, &col(|p| p.symmetric.0))).dashed())
    .hline(0.0, "");
    let vs_res = LinePlot::new(
        "E1: one-sided cosine vs free-phase residual",
        "RMS force at the start of the nudge",
        "cosine with BPTT(K)",
    )
    .log_x()
    .series(Series::points(
        "one-sided",
        zip(&res, &col(|p| p.one_sided.0)),
    ))
    .series(Series::points(
        "one-sided, drift removed",
        zip(&res, &col(|p| p.one_sided_drift_corrected.0)),
    ))
    .hline(0.0, "");
    let carried = LinePlot::new(
        "E1: what the nudged phase carries over from the free phase",
        "K·dt",
        "size",
    )
    .log_x()
    .log_y()
    .series(Series::line(
        "‖Δ‖ / (β ‖g_BPTT‖), unfinished relaxation over β",
        zip(&t, &col(|p| p.drift_to_gradient)),
    ))
    .series(Series::line("RMS residual force", zip(&t, &res)).dashed());
    let mut norms = LinePlot::new(
        "E3: gradient norm and estimator error over training",
        "step",
        "norm (validation batch)",
    )
    .log_y();
    for (i, run) in r3.runs.iter().enumerate() {
        let s: Vec<f64> = run.evals.iter().map(|e| e.step as f64).collect();
        let v = |f: fn(&super::e3::EvalPoint) -> f64| run.evals.iter().map(f).collect::<Vec<_>>();
        if i == 0 {
            norms = norms
                .series(Series::line(
                    format!("‖g_BPTT‖ ({} run)", run.method),
                    zip(&s, &v(|e| e.grad_norm)),
                ))
                .series(
                    Series::line(
                        "‖g_BPTT − g_implicit‖ (budget bias)",
                        zip(&s, &v(|e| e.budget_bias_norm)),
                    )
                    .dashed(),
                );
        }
        if run.method != "exact" {
            norms = norms.series(Series::line(
                format!("‖g − g_BPTT‖ {}", run.method),
                zip(&s, &v(|e| e.estimator_error_norm)),
            ));
        }
    }
    save_grid_png(
        &out.join("explained.png"),
        &[vs_time, vs_res, carried, norms],
        2,
    )
}
