//! E2: bias `‖E[g_β] − ∇L‖` against β, with log-log slopes (paper Theorem 2, Corollary 4).
//!
//! `E[g_β]` and `∇L` are means over `e2.batches` batches at the initial parameters, at zero
//! temperature so the curves are noise-free:
//! - relaxed: every phase solved to its exact equilibrium, `∇L` the implicit gradient —
//!   theory: one-sided slope 1, symmetric slope 2;
//! - finite: `K`-step phases. Two references: the `β → 0` limit of the symmetric estimator
//!   under the same budget (forward-mode tangent, [`crate::learn::exact::finite_budget_limit`]),
//!   which isolates the β-dependence of the bias (`e2.finite`), and the exact equilibrium
//!   gradient `∇L` (`e2.finite_vs_equilibrium_gradient`), which adds the budget's own
//!   β-independent bias, so that curve flattens at small β.
//!
//! Slopes are least-squares fits of `log bias` on `log β` over `β ≤ e2.fit_max_beta`.

use super::ctx::{Ctx, mean_vec, stream};
use crate::dynamics::Phase;
use crate::dynamics::{NoiseKey, Workspace, relax};
use crate::learn::exact::finite_budget_limit;
use crate::learn::{EqProp, Estimator, PhaseSpec};
use crate::linalg::{dist, loglog_slope, mean_std};
use crate::real::Real;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Bias curve of one estimator against one reference.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Curve {
    /// `‖E[g_β] − ref‖` per β.
    pub bias: Vec<f64>,
    /// Fitted log-log slope over the fit range.
    pub slope: f64,
}

/// Both estimators against one reference.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Regime {
    /// One-sided estimator.
    pub one_sided: Curve,
    /// Symmetric estimator.
    pub symmetric: Curve,
}

/// E2 results.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct E2 {
    /// β grid.
    pub betas: Vec<f64>,
    /// Largest β in the fits.
    pub fit_max_beta: f64,
    /// Exact equilibria, reference the implicit gradient.
    pub relaxed: Regime,
    /// `K`-step phases, reference the finite-budget limit `lim_{β→0} g_β^sym` (the bias due
    /// to β alone, at the relaxation budget the hardware has).
    pub finite: Regime,
    /// `K`-step phases, reference the exact equilibrium gradient `∇L` (adds the budget's own,
    /// β-independent bias).
    pub finite_vs_equilibrium_gradient: Regime,
    /// Symmetric relaxed slope fitted batch by batch (rate constancy): mean, std.
    pub relaxed_symmetric_slope_per_batch: (f64, f64),
    /// `‖∇L‖` (scale of the biases).
    pub grad_norm: f64,
    /// Relative distance between the finite-budget limit and `∇L`.
    pub budget_limit_rel_error: f64,
    /// `K2_sym`: fitted `bias_sym ≈ K2 β²` (relaxed, small β).
    pub k2_symmetric: f64,
}

fn fit(betas: &[f64], bias: &[f64], max_beta: f64) -> f64 {
    let (x, y): (Vec<f64>, Vec<f64>) = betas
        .iter()
        .zip(bias)
        .filter(|(b, _)| **b <= max_beta * (1.0 + 1e-9))
        .map(|(a, b)| (*a, *b))
        .unzip();
    loglog_slope(&x, &y).0
}

fn curve(betas: &[f64], g: &[Vec<Vec<f64>>], reference: &[f64], max_beta: f64) -> Curve {
    // g[batch][beta] → mean over batches per beta.
    let bias: Vec<f64> = (0..betas.len())
        .map(|j| {
            let m = mean_vec(&g.iter().map(|gb| gb[j].clone()).collect::<Vec<_>>());
            dist(&m, reference)
        })
        .collect();
    let slope = fit(betas, &bias, max_beta);
    Curve { bias, slope }
}

struct PerBatch {
    implicit: Vec<f64>,
    limit: Vec<f64>,
    rel_os: Vec<Vec<f64>>,
    rel_sym: Vec<Vec<f64>>,
    fin_os: Vec<Vec<f64>>,
    fin_sym: Vec<Vec<f64>>,
}

/// Runs E2.
pub fn run<T: Real>(ctx: &Ctx<'_, T>) -> anyhow::Result<E2> {
    let c = &ctx.cfg.e2;
    let betas = c.betas.clone();
    let dyn_ = ctx.dynamics(ctx.cfg.dynamics.steps, 0.0);
    ctx.pb.set_message("E2: bias scaling");
    let per: Vec<PerBatch> = (0..c.batches as u64)
        .into_par_iter()
        .map(|i| -> anyhow::Result<PerBatch> {
            let mut ws = Workspace::<T>::new();
            let p = ctx.batch(stream::E2, i);
            let implicit = ctx.implicit(&ctx.energy, &p)?;
            let mut xf = p.x0.clone();
            relax(
                &ctx.energy,
                &mut xf,
                &dyn_,
                &Phase {
                    nc: ctx.nc,
                    nudge: None,
                    key: NoiseKey::new(0, 0),
                    name: "free",
                },
                &mut ws,
                None,
            )?;
            let limit = finite_budget_limit(&ctx.energy, &xf, ctx.nc, &dyn_, &p.cost);
            let mut est = |e, beta, spec: PhaseSpec| {
                ctx.estimate(
                    &p,
                    &EqProp::new(e, beta, spec),
                    NoiseKey::new(0, 0),
                    &mut ws,
                )
            };
            let mut out = PerBatch {
                implicit,
                limit,
                rel_os: vec![],
                rel_sym: vec![],
                fin_os: vec![],
                fin_sym: vec![],
            };
            for &b in &betas {
                out.rel_os
                    .push(est(Estimator::OneSided, b, PhaseSpec::equilibrium())?);
                out.rel_sym
                    .push(est(Estimator::Symmetric, b, PhaseSpec::equilibrium())?);
                out.fin_os
                    .push(est(Estimator::OneSided, b, PhaseSpec::finite(dyn_))?);
                out.fin_sym
                    .push(est(Estimator::Symmetric, b, PhaseSpec::finite(dyn_))?);
            }
            ctx.pb.inc(1);
            Ok(out)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let grad = mean_vec(&per.iter().map(|p| p.implicit.clone()).collect::<Vec<_>>());
    let limit = mean_vec(&per.iter().map(|p| p.limit.clone()).collect::<Vec<_>>());
    let col =
        |f: fn(&PerBatch) -> &Vec<Vec<f64>>| per.iter().map(|p| f(p).clone()).collect::<Vec<_>>();
    let (rel_os, rel_sym, fin_os, fin_sym) = (
        col(|p| &p.rel_os),
        col(|p| &p.rel_sym),
        col(|p| &p.fin_os),
        col(|p| &p.fin_sym),
    );
    let fm = c.fit_max_beta;
    let relaxed = Regime {
        one_sided: curve(&betas, &rel_os, &grad, fm),
        symmetric: curve(&betas, &rel_sym, &grad, fm),
    };
    let per_batch_slopes: Vec<f64> = per
        .iter()
        .map(|p| {
            let bias: Vec<f64> = p.rel_sym.iter().map(|g| dist(g, &p.implicit)).collect();
            fit(&betas, &bias, fm)
        })
        .collect();
    let k2s: Vec<f64> = betas
        .iter()
        .zip(&relaxed.symmetric.bias)
        .filter(|(b, _)| **b <= fm)
        .map(|(b, e)| e / (b * b))
        .collect();
    let k2 = k2s.iter().sum::<f64>() / k2s.len().max(1) as f64;
    Ok(E2 {
        relaxed,
        finite: Regime {
            one_sided: curve(&betas, &fin_os, &limit, fm),
            symmetric: curve(&betas, &fin_sym, &limit, fm),
        },
        finite_vs_equilibrium_gradient: Regime {
            one_sided: curve(&betas, &fin_os, &grad, fm),
            symmetric: curve(&betas, &fin_sym, &grad, fm),
        },
        relaxed_symmetric_slope_per_batch: mean_std(&per_batch_slopes),
        grad_norm: crate::linalg::norm(&grad),
        budget_limit_rel_error: dist(&limit, &grad) / crate::linalg::norm(&grad),
        k2_symmetric: k2,
        betas,
        fit_max_beta: fm,
    })
}
