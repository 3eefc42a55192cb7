//! E1: cosine of the one-sided and symmetric EqProp gradients with the exact gradient.
//!
//! Finite relaxation: free phase `K` Euler–Maruyama steps from the zero state, each nudged
//! phase `K` steps from the free phase's end (the free-phase residual keeps relaxing during
//! the nudged phase). Reference: backprop through the same `K` free steps and the same noise
//! (the paper's "true back-propagation"); the cosine with the equilibrium (implicit) gradient
//! is reported too. Full relaxation: every phase solved to its exact equilibrium, reference
//! the implicit gradient.
//!
//! Why the one-sided cosine is negative at finite `K`: its nudged phase starts at the free
//! phase's end and carries on the free phase's unfinished relaxation (and, at finite
//! temperature, `K` more steps of noise), and dividing by β turns that motion into a
//! gradient. E1 measures this directly. Beside each one-sided estimate it runs a free phase
//! continued for `K` more steps from the same state with the nudged phase's noise, and reports
//! the one-sided estimate against that continuation (`one_sided_drift_corrected`:
//! `(R(s_β) − R(s_cont)) / β`), the size of the removed term relative to the exact gradient
//! (`drift_to_gradient`) and the RMS force on the free coordinates at the start of the nudge
//! (`free_residual_rms`). The symmetric estimator cancels the same term between its two
//! nudged phases.

use super::ctx::{Ctx, Prepared, stream};
use crate::dynamics::{Langevin, NoiseKey, Nudge, Phase, Workspace};
use crate::energy::Energy;
use crate::learn::eqprop::run_phase;
use crate::learn::exact::bptt_gradient;
use crate::learn::{EqProp, Estimator, PhaseSpec};
use crate::linalg::{cosine, mean_std, norm};
use crate::real::Real;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Cosines of one estimator over batches.
#[derive(Clone, Debug, Serialize, Deserialize)]
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
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pair {
    /// One-sided estimator.
    pub one_sided: CosStats,
    /// Symmetric estimator.
    pub symmetric: CosStats,
    /// The one-sided estimate against a free phase continued from the same state with the
    /// nudged phase's noise (the unfinished relaxation removed).
    pub one_sided_drift_corrected: CosStats,
    /// Mean over batches of the RMS force `‖∇_s E‖` on the free coordinates at the end of
    /// the free phase (0 at an equilibrium; at finite temperature it includes the thermal
    /// part).
    pub free_residual_rms: f64,
    /// Mean over batches of `‖R(s_cont) − R(s_free)‖ / (β ‖g_exact‖)`: the term the
    /// unfinished relaxation adds to the one-sided estimate, relative to the exact gradient.
    pub drift_to_gradient: f64,
    /// β used.
    pub beta: f64,
    /// Temperature `k_BT` used.
    pub temperature: f64,
}

/// One point of a cosine curve.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Abscissa (K or β).
    pub x: f64,
    /// One-sided cosine with BPTT(K): mean, std.
    pub one_sided: (f64, f64),
    /// Symmetric cosine with BPTT(K): mean, std.
    pub symmetric: (f64, f64),
    /// Drift-corrected one-sided cosine with BPTT(K): mean, std.
    pub one_sided_drift_corrected: (f64, f64),
    /// Mean RMS free-phase residual force at the start of the nudge.
    pub free_residual_rms: f64,
    /// Mean relative size of the removed drift term.
    pub drift_to_gradient: f64,
    /// One-sided cosine with the implicit gradient: mean.
    pub one_sided_vs_implicit: f64,
    /// Symmetric cosine with the implicit gradient: mean.
    pub symmetric_vs_implicit: f64,
}

/// E1 results.
#[derive(Clone, Debug, Serialize, Deserialize)]
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

#[derive(Clone, Copy)]
struct BatchCos {
    os: f64,
    sym: f64,
    os_i: f64,
    sym_i: f64,
    os_dc: f64,
    os_dc_i: f64,
    residual: f64,
    drift: f64,
}

/// What [`one_sided_drift`] measured on one batch.
struct Drift {
    /// `(R(s_β) − R(s_cont)) / β`.
    corrected: Vec<f64>,
    /// `(R(s_cont) − R(s_free)) / β`.
    drift: Vec<f64>,
    /// RMS free-coordinate force at the end of the free phase.
    residual_rms: f64,
}

/// RMS of `∇_s E` over the free coordinates `nc..D` of every sample.
fn residual_rms<T: Real>(energy: &impl Energy<T>, x: &[T], nc: usize) -> f64 {
    let d = energy.dim();
    let mut f = vec![T::zero(); x.len()];
    energy.grad_x(x, &mut f);
    let (mut s, mut n) = (0.0, 0usize);
    for row in f.chunks_exact(d) {
        for v in &row[nc..] {
            s += v.f64() * v.f64();
            n += 1;
        }
    }
    (s / n.max(1) as f64).sqrt()
}

/// The one-sided estimate's phases run one at a time with the keys [`EqProp`] gives them
/// (free on stream 0, `+β` on stream 1), plus a free phase continued from the free state on
/// the nudged phase's stream.
fn one_sided_drift<T: Real>(
    ctx: &Ctx<'_, T>,
    p: &Prepared<T>,
    dyn_: Langevin,
    beta: f64,
    key: NoiseKey,
    ws: &mut Workspace<T>,
) -> anyhow::Result<Drift> {
    let spec = PhaseSpec::finite(dyn_);
    let e = &ctx.energy;
    let mut xf = p.x0.clone();
    let free = Phase::free("free", ctx.nc, key.child(0));
    let r_free = run_phase(e, &mut xf, &spec, &free, ws, true)?;
    let mut from_free = |nudge, name| {
        let mut x = xf.clone();
        let phase = Phase {
            nc: ctx.nc,
            nudge,
            key: key.child(1),
            name,
        };
        run_phase(e, &mut x, &spec, &phase, ws, true)
    };
    let r_beta = from_free(Some(Nudge::new(&p.cost, T::of(beta))), "nudged(+beta)")?;
    let r_cont = from_free(None, "free (continued)")?;
    let diff = |a: &[f64], b: &[f64]| -> Vec<f64> {
        a.iter().zip(b).map(|(a, b)| (a - b) / beta).collect()
    };
    Ok(Drift {
        corrected: diff(&r_beta, &r_cont),
        drift: diff(&r_cont, &r_free),
        residual_rms: residual_rms(e, &xf, ctx.nc),
    })
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
    let dr = one_sided_drift(ctx, &p, dyn_, beta, key, ws)?;
    Ok(BatchCos {
        os: cosine(&go, &gb),
        sym: cosine(&gs, &gb),
        os_i: cosine(&go, g_impl),
        sym_i: cosine(&gs, g_impl),
        os_dc: cosine(&dr.corrected, &gb),
        os_dc_i: cosine(&dr.corrected, g_impl),
        residual: dr.residual_rms,
        drift: norm(&dr.drift) / norm(&gb),
    })
}

fn pair(v: &[BatchCos], beta: f64, temperature: f64) -> Pair {
    let col = |f: fn(&BatchCos) -> f64| v.iter().map(f).collect::<Vec<_>>();
    Pair {
        one_sided: CosStats::new(col(|c| c.os), &col(|c| c.os_i)),
        symmetric: CosStats::new(col(|c| c.sym), &col(|c| c.sym_i)),
        one_sided_drift_corrected: CosStats::new(col(|c| c.os_dc), &col(|c| c.os_dc_i)),
        free_residual_rms: mean_std(&col(|c| c.residual)).0,
        drift_to_gradient: mean_std(&col(|c| c.drift)).0,
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
        one_sided_drift_corrected: mean_std(&col(|c| c.os_dc)),
        free_residual_rms: mean_std(&col(|c| c.residual)).0,
        drift_to_gradient: mean_std(&col(|c| c.drift)).0,
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
                // At exact equilibria there is no unfinished relaxation to remove.
                let os = cosine(&go, &gi);
                BatchCos {
                    os,
                    sym: cosine(&gs, &gi),
                    os_i: os,
                    sym_i: cosine(&gs, &gi),
                    os_dc: os,
                    os_dc_i: os,
                    residual: 0.0,
                    drift: 0.0,
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
    let take = |f: &dyn Fn(&PerBatch) -> &BatchCos| per.iter().map(|p| *f(p)).collect::<Vec<_>>();
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
