//! E1: cosine of the one-sided and symmetric EqProp gradients with the exact gradient.
//!
//! Finite relaxation: free phase `K` Euler–Maruyama steps from the zero state, each nudged
//! phase `K` steps from the free phase's end (the free-phase residual keeps relaxing during
//! the nudged phase). Reference: backprop through the same `K` free steps and the same noise
//! (the paper's "true back-propagation"); the cosine with the equilibrium (implicit) gradient
//! is reported too. Full relaxation: every phase solved to its exact equilibrium, reference
//! the implicit gradient.

use super::ctx::{Ctx, stream};
use crate::dynamics::{Langevin, NoiseKey, Workspace};
use crate::learn::exact::bptt_gradient;
use crate::learn::{EqProp, Estimator, PhaseSpec};
use crate::linalg::{cosine, mean_std};
use crate::real::Real;
use rayon::prelude::*;
use serde::Serialize;

/// Cosines of one estimator over batches.
#[derive(Clone, Debug, Serialize)]
pub struct CosStats {
    /// Mean cosine with the primary reference.
    pub cos_mean: f64,
    /// Standard deviation over batches.
    pub cos_std: f64,
    /// Mean cosine with the equilibrium (implicit) gradient.
    pub cos_mean_vs_implicit: f64,
    /// Its standard deviation.
    pub cos_std_vs_implicit: f64,
    /// Per-batch cosines with the primary reference.
    pub values: Vec<f64>,
}

impl CosStats {
    fn new(primary: Vec<f64>, implicit: &[f64]) -> Self {
        let (m, s) = mean_std(&primary);
        let (mi, si) = mean_std(implicit);
        Self {
            cos_mean: m,
            cos_std: s,
            cos_mean_vs_implicit: mi,
            cos_std_vs_implicit: si,
            values: primary,
        }
    }
}

/// Both estimators in one regime.
#[derive(Clone, Debug, Serialize)]
pub struct Pair {
    /// One-sided estimator.
    pub one_sided: CosStats,
    /// Symmetric estimator.
    pub symmetric: CosStats,
    /// β used.
    pub beta: f64,
    /// Temperature `k_BT` used.
    pub temperature: f64,
}

/// One point of a cosine curve.
#[derive(Clone, Debug, Serialize)]
pub struct CurvePoint {
    /// Abscissa (K or β).
    pub x: f64,
    /// One-sided cosine with BPTT(K): mean, std.
    pub one_sided: (f64, f64),
    /// Symmetric cosine with BPTT(K): mean, std.
    pub symmetric: (f64, f64),
    /// One-sided cosine with the implicit gradient: mean.
    pub one_sided_vs_implicit: f64,
    /// Symmetric cosine with the implicit gradient: mean.
    pub symmetric_vs_implicit: f64,
}

/// E1 results.
#[derive(Clone, Debug, Serialize)]
pub struct E1 {
    /// Finite relaxation at the configured temperature.
    pub finite: Pair,
    /// Finite relaxation at zero temperature.
    pub finite_zero_temperature: Pair,
    /// Full relaxation (exact equilibria), zero temperature.
    pub relaxed: Pair,
    /// Cosine against the relaxation budget K (configured temperature).
    pub k_curve: Vec<CurvePoint>,
    /// Cosine against β at the configured K and temperature.
    pub beta_curve: Vec<CurvePoint>,
}

struct BatchCos {
    os: f64,
    sym: f64,
    os_i: f64,
    sym_i: f64,
}

fn finite_cos<T: Real>(
    ctx: &Ctx<'_, T>,
    i: u64,
    dyn_: Langevin,
    beta: f64,
    g_impl: &[f64],
    ws: &mut Workspace<T>,
) -> anyhow::Result<BatchCos> {
    let p = ctx.batch(stream::E1, i);
    let key = ctx.key.child(stream::E1).child(1000 + i);
    // EqProp's free phase draws from key.child(0): BPTT differentiates that same trajectory.
    let (gb, _) = bptt_gradient(&ctx.energy, &p.x0, ctx.nc, &dyn_, &p.cost, key.child(0), ws)?;
    let est = |e: Estimator, ws: &mut Workspace<T>| {
        ctx.estimate(&p, &EqProp::new(e, beta, PhaseSpec::finite(dyn_)), key, ws)
    };
    let go = est(Estimator::OneSided, ws)?;
    let gs = est(Estimator::Symmetric, ws)?;
    Ok(BatchCos {
        os: cosine(&go, &gb),
        sym: cosine(&gs, &gb),
        os_i: cosine(&go, g_impl),
        sym_i: cosine(&gs, g_impl),
    })
}

fn pair(v: &[BatchCos], beta: f64, temperature: f64) -> Pair {
    let col = |f: fn(&BatchCos) -> f64| v.iter().map(f).collect::<Vec<_>>();
    Pair {
        one_sided: CosStats::new(col(|c| c.os), &col(|c| c.os_i)),
        symmetric: CosStats::new(col(|c| c.sym), &col(|c| c.sym_i)),
        beta,
        temperature,
    }
}

fn curve_point(x: f64, v: &[BatchCos]) -> CurvePoint {
    let col = |f: fn(&BatchCos) -> f64| v.iter().map(f).collect::<Vec<_>>();
    CurvePoint {
        x,
        one_sided: mean_std(&col(|c| c.os)),
        symmetric: mean_std(&col(|c| c.sym)),
        one_sided_vs_implicit: mean_std(&col(|c| c.os_i)).0,
        symmetric_vs_implicit: mean_std(&col(|c| c.sym_i)).0,
    }
}

/// Runs E1.
pub fn run<T: Real>(ctx: &Ctx<'_, T>) -> anyhow::Result<E1> {
    let c = &ctx.cfg.e1;
    let k = ctx.cfg.dynamics.steps;
    let temp = ctx.cfg.dynamics.temperature;
    let beta = c.beta;
    ctx.pb.set_message("E1: gradient agreement");
    struct PerBatch {
        fin: BatchCos,
        fin0: BatchCos,
        rel: BatchCos,
        kc: Vec<BatchCos>,
        bc: Vec<BatchCos>,
    }
    let per: Vec<PerBatch> = (0..c.batches as u64)
        .into_par_iter()
        .map(|i| -> anyhow::Result<PerBatch> {
            let mut ws = Workspace::new();
            let p = ctx.batch(stream::E1, i);
            let gi = ctx.implicit(&ctx.energy, &p)?;
            let fin = finite_cos(ctx, i, ctx.dynamics(k, temp), beta, &gi, &mut ws)?;
            let fin0 = finite_cos(ctx, i, ctx.dynamics(k, 0.0), beta, &gi, &mut ws)?;
            let rel = {
                let est = |e| {
                    ctx.estimate(
                        &p,
                        &EqProp::new(e, beta, PhaseSpec::equilibrium()),
                        NoiseKey::new(0, 0),
                        &mut Workspace::new(),
                    )
                };
                let (go, gs) = (est(Estimator::OneSided)?, est(Estimator::Symmetric)?);
                BatchCos {
                    os: cosine(&go, &gi),
                    sym: cosine(&gs, &gi),
                    os_i: cosine(&go, &gi),
                    sym_i: cosine(&gs, &gi),
                }
            };
            let kc = c
                .k_curve
                .iter()
                .map(|&kk| finite_cos(ctx, i, ctx.dynamics(kk, temp), beta, &gi, &mut ws))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let bc = c
                .beta_curve
                .iter()
                .map(|&b| finite_cos(ctx, i, ctx.dynamics(k, temp), b, &gi, &mut ws))
                .collect::<anyhow::Result<Vec<_>>>()?;
            ctx.pb.inc(1);
            Ok(PerBatch {
                fin,
                fin0,
                rel,
                kc,
                bc,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let take = |f: &dyn Fn(&PerBatch) -> &BatchCos| {
        per.iter()
            .map(|p| {
                let b = f(p);
                BatchCos {
                    os: b.os,
                    sym: b.sym,
                    os_i: b.os_i,
                    sym_i: b.sym_i,
                }
            })
            .collect::<Vec<_>>()
    };
    let k_curve = c
        .k_curve
        .iter()
        .enumerate()
        .map(|(j, &kk)| curve_point(kk as f64, &take(&|p| &p.kc[j])))
        .collect();
    let beta_curve = c
        .beta_curve
        .iter()
        .enumerate()
        .map(|(j, &b)| curve_point(b, &take(&|p| &p.bc[j])))
        .collect();
    Ok(E1 {
        finite: pair(&take(&|p| &p.fin), beta, temp),
        finite_zero_temperature: pair(&take(&|p| &p.fin0), beta, 0.0),
        relaxed: pair(&take(&|p| &p.rel), beta, 0.0),
        k_curve,
        beta_curve,
    })
}
