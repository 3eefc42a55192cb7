//! Heat and work from trajectories (Sekimoto's stochastic energetics, `dynamics::energetics`):
//! along Langevin phases with protocol changes between them — a nudge switched on, then the
//! parameters moved — the first law `ΔU = W − Q` must hold per sample within the midpoint
//! rule's discretisation error, shrinking with the step.

use super::config::HeatConfig;
use super::systems::bilinear_parts;
use crate::dynamics::Phase;
use crate::dynamics::{Energetics, Langevin, NoiseKey, Nudge, Potential, Workspace, relax};
use crate::energy::Energy;
use crate::linalg::loglog_slope;
use serde::{Deserialize, Serialize};

/// The first law at one step size.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HeatPoint {
    /// Langevin step.
    pub dt: f64,
    /// Mean over samples of `|ΔU − W + Q| / (|ΔU| + |W| + |Q|)`.
    pub first_law_rel_error: f64,
    /// Mean `|Q|` given to the bath per sample (units of energy).
    pub mean_abs_heat: f64,
    /// Mean work done on the system per sample.
    pub mean_work: f64,
}

/// The first-law check at every step size.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Heat {
    /// Temperature.
    pub temperature: f64,
    /// One point per step size, coarsest first.
    pub points: Vec<HeatPoint>,
    /// The first point's relative error (the summary's `heat.first_law_rel_error`).
    pub first_law_rel_error: f64,
    /// Fitted order of the error in `dt` (NaN with one step size).
    pub error_order: f64,
}

/// The protocol free → nudged (β = 1) → parameters `θ·1.1 + 0.01` (nudge kept), each phase of
/// total time 1, at step `dt` on the bilinear substrate at `seed`.
pub fn protocol(cfg: &HeatConfig, dt: f64, seed: u64) -> anyhow::Result<HeatPoint> {
    let (e, batch) = bilinear_parts(5 + seed, cfg.batch)?;
    let mut e2 = e.clone();
    let theta: Vec<f64> = e.params().iter().map(|v| v * 1.1 + 0.01).collect();
    e2.set_params(&theta)?;
    let cost = batch.cost::<f64>(e.output_block().0);
    let nc = 3;
    let mut x = batch.initial_state::<f64>(e.dim());
    let free = Potential::new(&e, None);
    let nudged = Potential::new(&e, Some(Nudge::new(&cost, 1.0)));
    let moved = Potential::new(&e2, Some(Nudge::new(&cost, 1.0)));
    let lang = Langevin {
        dt,
        steps: (1.0 / dt).round() as usize,
        temperature: cfg.temperature,
    };
    let mut en = Energetics::new(&free, &x, nc);
    let mut ws = Workspace::new();
    let key = NoiseKey::new(11 + seed, 0);
    for (k, u) in [free, nudged, moved].into_iter().enumerate() {
        if k == 1 {
            en.switch(&free, &nudged);
        }
        if k == 2 {
            en.switch(&nudged, &moved);
        }
        let mut obs = |_: usize, xs: &[f64]| en.step(&u, xs);
        let phase = ["free", "nudged", "moved"][k];
        relax(
            u.energy,
            &mut x,
            &lang,
            &Phase {
                nc,
                nudge: u.nudge,
                key: key.child(k as u64),
                name: phase,
            },
            &mut ws,
            Some(&mut obs),
        )?;
    }
    let err = en.first_law_rel_error(&moved);
    let n = err.len() as f64;
    Ok(HeatPoint {
        dt,
        first_law_rel_error: err.iter().sum::<f64>() / n,
        mean_abs_heat: en.heat.iter().map(|q| q.abs()).sum::<f64>() / n,
        mean_work: en.work.iter().sum::<f64>() / n,
    })
}

/// The check at every step size of `cfg`.
pub fn run(cfg: &HeatConfig, seed: u64) -> anyhow::Result<Heat> {
    let points = cfg
        .dts
        .iter()
        .map(|&dt| protocol(cfg, dt, seed))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let dts: Vec<f64> = points.iter().map(|p| p.dt).collect();
    let errs: Vec<f64> = points.iter().map(|p| p.first_law_rel_error).collect();
    Ok(Heat {
        temperature: cfg.temperature,
        first_law_rel_error: errs[0],
        error_order: loglog_slope(&dts, &errs).0,
        points,
    })
}
