//! Physical-unit cost accounting (paper §8).
//!
//! Substrate: each equilibration dissipates `c_init k_BT / (2 λ⋆)` per cell, and a symmetric
//! step has three phases, so `E_analog = 3 · N_cells · c_init · k_BT / (2 λ⋆)` (with the
//! default `c_init = 2` this is the paper's `3 N_cells k_BT / λ⋆`). `λ⋆` is measured: the
//! smallest eigenvalue of the free Hessian at the free equilibrium, averaged over a batch,
//! in the simulation's units. Digital: backprop through the `K` unrolled steps of the same
//! substrate with its factored couplings, `N_MAC = backprop_factor · K · MACs(force)` per
//! sample, at `e_mac_j` joules per MAC.
//!
//! Measured: the heat the substrate gives to its bath in one symmetric step (free phase, then
//! `+β` and `−β` from the free state, at the configured dynamics), from the trajectories by
//! [`crate::dynamics::energetics`] (Sekimoto's stochastic energetics, Stratonovich), beside
//! the analytic `3 N_cells c_init k_BT / (2 λ⋆)`.

use super::ctx::{Ctx, stream};
use crate::dynamics::Phase;
use crate::energy::Energy;
use crate::energy::bilinear::Bilinear;
use crate::real::Real;
use faer::{Mat, Side};
use serde::{Deserialize, Serialize};

/// Boltzmann constant, J/K.
pub const K_B: f64 = 1.380_649e-23;

/// Costs at one stiffness.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CostPoint {
    /// Stiffness `a`.
    pub stiffness: f64,
    /// Measured `λ⋆`.
    pub lambda_star: f64,
    /// Substrate energy per symmetric training step and sample, J.
    pub e_analog_j: f64,
    /// Digital backprop energy per step and sample, J.
    pub e_digital_j: f64,
    /// `e_digital / e_analog`.
    pub advantage: f64,
}

/// Cost results.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cost {
    /// At the configured stiffness.
    pub nominal: CostPoint,
    /// Stiffness sweep.
    pub sweep: Vec<CostPoint>,
    /// `N_MAC` of one digital step.
    pub n_mac: f64,
    /// Cells of the substrate.
    pub n_cells: usize,
    /// `k_BT` in joules.
    pub kbt_j: f64,
    /// Measured heat given to the bath per symmetric step and sample, in units of the
    /// simulation's `k_BT` (the sum over its three phases).
    pub measured_heat_kbt: f64,
    /// The same in joules (`× k_BT` at `temperature_kelvin`).
    pub measured_heat_j: f64,
    /// The analytic estimate in units of `k_BT`: `3 N_cells c_init / (2 λ⋆)`.
    pub analytic_heat_kbt: f64,
    /// Largest first-law violation `|ΔU − (W − Q)| / (|W| + |Q| + |ΔU|)` over the samples of
    /// the heat measurement.
    pub first_law_rel_error: f64,
    /// Energy per cell and equilibration that would make the analog step cost
    /// `e_digital / 1e3.5` (the paper's quoted advantage, geometric middle of 1e3..1e4), J.
    pub cell_energy_for_paper_ratio_j: f64,
}

fn lambda_star<T: Real>(ctx: &Ctx<'_, T>, energy: &Bilinear<T>) -> anyhow::Result<f64> {
    let p = ctx.batch(stream::E1, 0);
    let x = ctx.equilibrium(energy, &p)?;
    lambda_star_at(energy, &x, ctx.nc, usize::MAX)
}

/// Mean over the first `max_samples` samples of `x` (states at an equilibrium) of the
/// smallest eigenvalue of the free Hessian: the slowest relaxation rate `λ⋆` there.
pub fn lambda_star_at<T: Real>(
    energy: &Bilinear<T>,
    x: &[T],
    nc: usize,
    max_samples: usize,
) -> anyhow::Result<f64> {
    let d = energy.dim();
    let n = (x.len() / d).min(max_samples);
    let mut s = 0.0;
    for b in 0..n {
        let h = energy.hessian_free(&x[b * d..(b + 1) * d], nc);
        let hf = Mat::<f64>::from_fn(h.nrows(), h.ncols(), |i, j| h[(i, j)].f64());
        let ev = hf
            .self_adjoint_eigenvalues(Side::Lower)
            .map_err(|e| anyhow::anyhow!("eigenvalues of the free Hessian: {e:?}"))?;
        s += ev[0];
    }
    Ok(s / n.max(1) as f64)
}

fn point<T: Real>(ctx: &Ctx<'_, T>, energy: &Bilinear<T>, n_mac: f64) -> anyhow::Result<CostPoint> {
    let m = &ctx.cfg.cost_model;
    let lam = lambda_star(ctx, energy)?;
    let kbt = K_B * m.temperature_kelvin;
    let e_analog = 3.0 * energy.dim() as f64 * m.c_init * kbt / (2.0 * lam);
    let e_digital = n_mac * m.e_mac_j;
    Ok(CostPoint {
        stiffness: energy.config().stiffness,
        lambda_star: lam,
        e_analog_j: e_analog,
        e_digital_j: e_digital,
        advantage: e_digital / e_analog,
    })
}

/// What [`measured_heat`] measured.
struct Heat {
    /// Mean heat per sample, in units of `k_BT`.
    kbt: f64,
    /// Largest first-law violation.
    first_law: f64,
}

/// Heat of one symmetric step on a batch of stream E1, with the step's work (the nudges
/// switched on and off at fixed states) measured as well so the first law can be checked.
fn measured_heat<T: Real>(ctx: &Ctx<'_, T>) -> anyhow::Result<Heat> {
    use crate::dynamics::{Energetics, Nudge, Potential, Workspace, relax};
    let p = ctx.batch(stream::E1, 1);
    let beta = T::of(ctx.cfg.e1.beta);
    let dynamics = ctx.cfg.dynamics;
    let free = Potential::new(&ctx.energy, None);
    let mut ws = Workspace::new();
    let key = ctx.key.child(stream::E1).child(1 << 20);
    let mut xf = p.x0.clone();
    let mut en = Energetics::new(&free, &xf, ctx.nc);
    let mut obs = |_: usize, x: &[T]| en.step(&free, x);
    relax(
        &ctx.energy,
        &mut xf,
        &dynamics,
        &Phase::free("free", ctx.nc, key.child(0)),
        &mut ws,
        Some(&mut obs),
    )?;
    let mut heat: Vec<f64> = en.heat.clone();
    let mut first_law = en.first_law_rel_error(&free);
    for (sign, stream) in [(1.0, 1), (-1.0, 2)] {
        let nudge = Some(Nudge::new(&p.cost, T::of(sign) * beta));
        let u = Potential::new(&ctx.energy, nudge);
        let mut x = xf.clone();
        let mut en = Energetics::new(&free, &x, ctx.nc);
        en.switch(&free, &u);
        let mut obs = |_: usize, x: &[T]| en.step(&u, x);
        relax(
            &ctx.energy,
            &mut x,
            &dynamics,
            &Phase {
                nc: ctx.nc,
                nudge,
                key: key.child(stream),
                name: "nudged",
            },
            &mut ws,
            Some(&mut obs),
        )?;
        for (h, q) in heat.iter_mut().zip(&en.heat) {
            *h += q;
        }
        first_law.extend(en.first_law_rel_error(&u));
    }
    let kbt = dynamics.temperature;
    anyhow::ensure!(
        kbt > 0.0,
        "the heat per step is measured at a positive temperature"
    );
    Ok(Heat {
        kbt: heat.iter().sum::<f64>() / heat.len() as f64 / kbt,
        first_law: first_law.iter().cloned().fold(0.0, f64::max),
    })
}

/// Runs the cost accounting.
pub fn run<T: Real>(ctx: &Ctx<'_, T>) -> anyhow::Result<Cost> {
    ctx.pb.set_message("cost accounting");
    let m = &ctx.cfg.cost_model;
    let n_mac =
        m.backprop_factor * ctx.cfg.dynamics.steps as f64 * ctx.energy.macs_per_force() as f64;
    let nominal = point(ctx, &ctx.energy, n_mac)?;
    let mut sweep = vec![];
    for &a in &m.stiffness_sweep {
        let mut sc = ctx.cfg.substrate.clone();
        sc.stiffness = a;
        let e = Bilinear::<T>::new(&sc, ctx.cfg.seed)?;
        sweep.push(point(ctx, &e, n_mac)?);
    }
    let kbt = K_B * m.temperature_kelvin;
    let target = nominal.e_digital_j / 10f64.powf(3.5);
    let heat = measured_heat(ctx)?;
    ctx.pb.inc(1);
    Ok(Cost {
        measured_heat_kbt: heat.kbt,
        measured_heat_j: heat.kbt * kbt,
        analytic_heat_kbt: 3.0 * ctx.energy.dim() as f64 * m.c_init / (2.0 * nominal.lambda_star),
        first_law_rel_error: heat.first_law,
        cell_energy_for_paper_ratio_j: target / (3.0 * ctx.energy.dim() as f64),
        nominal,
        sweep,
        n_mac,
        n_cells: ctx.energy.dim(),
        kbt_j: kbt,
    })
}
