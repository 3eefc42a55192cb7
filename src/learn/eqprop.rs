//! Equilibrium Propagation gradient estimators.
//!
//! Phases (symmetric-EqProp paper §5, arXiv 2604.23806): free `x⁰` relaxes `E` from the initial
//! state; each nudged phase relaxes `E + sβ C` starting from the free phase's final state.
//! Estimators, with `R(x) = mean_b ∂_θE(x_b)` the local readout:
//! - `one_sided`:   `g = (R(x^β) − R(x⁰)) / β` (paper eq. for `g_β`),
//! - `symmetric`:   `g = (R(x^β) − R(x^{−β})) / (2β)` (paper Corollary 4),
//! - `random_sign`: `g = (R(x^{sβ}) − R(x⁰)) / (sβ)` with a random sign `s = ±1` per call.
//!
//! At finite temperature the readout is the time average of `∂_θE` over the last
//! `readout_window` steps of a phase (the finite-temperature EqProp of "EqProp without
//! limits": `E_β[∂_θE] − E_0[∂_θE]`), since `∂_θE` is not linear in `x`.

use crate::dynamics::sequence::{NudgedPhase, relax_free_then_nudged};
use crate::dynamics::{
    Diverged, Integrator, Langevin, NewtonOptions, NoiseKey, Nudge, Relaxation, Workspace,
    relax_to_equilibrium, relax_with,
};
use crate::energy::Energy;
use crate::energy::cost::Cost;
use crate::real::Real;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Elements per parallel piece of the readout's elementwise passes (zeroing, f64 conversion).
const PAR_PIECE: usize = 1 << 16;

/// Which EqProp estimator.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    /// `(R(x^β) − R(x⁰))/β`, bias `O(β)`.
    OneSided,
    /// `(R(x^β) − R(x^{−β}))/(2β)`, bias `O(β²)`.
    Symmetric,
    /// One-sided with a random sign of β each call (unbiased at first order on average).
    RandomSign,
}

impl Estimator {
    /// The snake-case name used in configs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Estimator::OneSided => "one_sided",
            Estimator::Symmetric => "symmetric",
            Estimator::RandomSign => "random_sign",
        }
    }
}

/// How one phase is relaxed and read out.
#[derive(Clone, Copy, Debug)]
pub struct PhaseSpec {
    /// Step size, budget and temperature.
    pub dynamics: Relaxation,
    /// After the steps, solve exactly for the equilibrium (zero temperature only).
    pub exact: bool,
    /// Average `∂_θE` over this many final steps (0: read the final state only).
    pub readout_window: usize,
}

impl PhaseSpec {
    /// A phase of `steps` gradient-flow/Langevin steps read at the final state.
    pub fn finite(dynamics: impl Into<Relaxation>) -> Self {
        Self {
            dynamics: dynamics.into(),
            exact: false,
            readout_window: 0,
        }
    }
    /// A phase relaxed to its exact equilibrium (zero temperature).
    pub fn equilibrium() -> Self {
        Self {
            dynamics: Relaxation::Langevin(Langevin {
                dt: 0.0,
                steps: 0,
                temperature: 0.0,
            }),
            exact: true,
            readout_window: 0,
        }
    }
}

/// An EqProp protocol: estimator, nudge strength and how the phases are relaxed.
#[derive(Clone, Copy, Debug)]
pub struct EqProp {
    /// Estimator variant.
    pub estimator: Estimator,
    /// Nudge strength β > 0.
    pub beta: f64,
    /// The free phase.
    pub free: PhaseSpec,
    /// The nudged phase(s).
    pub nudged: PhaseSpec,
}

/// The estimate and the states it came from.
pub struct EqPropOutput<T> {
    /// Gradient estimate (mean over the batch), in f64.
    pub grad: Vec<f64>,
    /// Final free-phase state.
    pub free_state: Vec<T>,
}

/// Relaxes `x` under `spec` and returns the phase readout `mean_b ∂_θE(x_b)` (time-averaged
/// over the readout window when it is non-zero), or an empty vector when `readout` is false.
#[allow(clippy::too_many_arguments)]
pub fn run_phase<T: Real, E: Energy<T> + ?Sized>(
    energy: &E,
    x: &mut [T],
    nc: usize,
    spec: &PhaseSpec,
    nudge: Option<Nudge<'_, T>>,
    key: NoiseKey,
    phase: &str,
    ws: &mut Workspace<T>,
    readout: bool,
) -> Result<Vec<f64>, Diverged> {
    let d = energy.dim();
    let n = x.len() / d;
    // The accumulator exists only when the phase is read out (a free phase of the symmetric
    // estimator is not; zeroing a parameter-sized buffer per phase showed up in profiles).
    let mut acc = if readout {
        vec![T::zero(); energy.n_params()]
    } else {
        Vec::new()
    };
    let window = if readout {
        spec.readout_window.min(spec.dynamics.steps())
    } else {
        0
    };
    if window > 0 {
        let w = vec![T::of(1.0 / (n * window) as f64); n];
        let start = spec.dynamics.steps() - window;
        let mut obs = |step: usize, xs: &[T]| {
            if step > start {
                energy.grad_theta(xs, &w, &mut acc);
            }
        };
        relax_with(
            energy,
            x,
            nc,
            &spec.dynamics,
            nudge,
            key,
            phase,
            ws,
            Some(&mut obs),
        )?;
    } else {
        relax_with(energy, x, nc, &spec.dynamics, nudge, key, phase, ws, None)?;
    }
    if spec.exact {
        relax_to_equilibrium(energy, x, nc, nudge, NewtonOptions::default(), phase)?;
    }
    if !readout {
        return Ok(Vec::new());
    }
    if window == 0 {
        let w = vec![T::of(1.0 / n as f64); n];
        energy.grad_theta(x, &w, &mut acc);
    }
    Ok(acc.iter().map(|v| v.f64()).collect())
}

impl EqProp {
    /// A protocol whose free and nudged phases share one spec.
    pub fn new(estimator: Estimator, beta: f64, phases: PhaseSpec) -> Self {
        Self {
            estimator,
            beta,
            free: phases,
            nudged: phases,
        }
    }

    /// Runs the phases from the initial batch `x0` (clamped prefix `0..nc` already set) and
    /// returns the gradient estimate of `mean_b C_b`.
    ///
    /// The drive of the clamped prefix is computed once for all phases. When the phases are
    /// read at their final states, the two readouts of an estimator are contracted in one pass
    /// ([`crate::energy::grad_theta_pair`]), so a shared clamped input is multiplied only once.
    pub fn gradient<T: Real, E: Energy<T> + ?Sized>(
        &self,
        energy: &E,
        x0: &[T],
        nc: usize,
        cost: &dyn Cost<T>,
        key: NoiseKey,
        ws: &mut Workspace<T>,
    ) -> Result<EqPropOutput<T>, Diverged> {
        let windowed = self.free.readout_window > 0 || self.nudged.readout_window > 0;
        if !windowed && !self.free.exact && !self.nudged.exact {
            return self.gradient_chunked(energy, x0, nc, cost, key, ws);
        }
        ws.pin_drive(energy, x0, nc);
        let out = self.gradient_pinned(energy, x0, nc, cost, key, ws);
        ws.unpin_drive();
        out
    }

    /// The sign of the nudge of a random-sign call, drawn from its key.
    fn random_sign(key: NoiseKey) -> f64 {
        use rand::Rng;
        if key.rng(0, u64::MAX).random::<bool>() {
            1.0
        } else {
            -1.0
        }
    }

    /// Phases read at their final states: every chunk runs its drive, free phase and nudged
    /// phases in one parallel task ([`relax_free_then_nudged`]); same keys, same states as
    /// the phase-by-phase path.
    fn gradient_chunked<T: Real, E: Energy<T> + ?Sized>(
        &self,
        energy: &E,
        x0: &[T],
        nc: usize,
        cost: &dyn Cost<T>,
        key: NoiseKey,
        ws: &mut Workspace<T>,
    ) -> Result<EqPropOutput<T>, Diverged> {
        let beta = self.beta;
        let phase = |sign: f64, stream: u64, name: &'static str| NudgedPhase {
            nudge: Nudge {
                cost,
                beta: T::of(sign * beta),
            },
            key: key.child(stream),
            name,
        };
        let (phases, den) = match self.estimator {
            Estimator::OneSided => (vec![phase(1.0, 1, "nudged(+beta)")], beta),
            Estimator::Symmetric => (
                vec![
                    phase(1.0, 1, "nudged(+beta)"),
                    phase(-1.0, 2, "nudged(-beta)"),
                ],
                2.0 * beta,
            ),
            Estimator::RandomSign => {
                let s = Self::random_sign(key);
                let name = if s > 0.0 {
                    "nudged(+beta)"
                } else {
                    "nudged(-beta)"
                };
                (vec![phase(s, 3, name)], s * beta)
            }
        };
        let mut xf = x0.to_vec();
        let mut outs = vec![Vec::new(); phases.len()];
        relax_free_then_nudged(
            energy,
            &mut xf,
            nc,
            &self.free.dynamics,
            key.child(0),
            &self.nudged.dynamics,
            &phases,
            &mut outs,
            ws,
        )?;
        let xb = outs.get(1).unwrap_or(&xf);
        let grad = Self::paired_readout(energy, &outs[0], xb, nc, den, ws);
        Ok(EqPropOutput {
            grad,
            free_state: xf,
        })
    }

    /// `(R(xa) − R(xb)) / den` through [`crate::energy::grad_theta_pair`], in the workspace's
    /// readout buffer.
    fn paired_readout<T: Real, E: Energy<T> + ?Sized>(
        energy: &E,
        xa: &[T],
        xb: &[T],
        nc: usize,
        den: f64,
        ws: &mut Workspace<T>,
    ) -> Vec<f64> {
        let n = xa.len() / energy.dim();
        let w = vec![T::of(1.0 / n as f64); n];
        let acc = &mut ws.readout;
        acc.resize(energy.n_params(), T::zero());
        acc.par_chunks_mut(PAR_PIECE)
            .for_each(|p| p.fill(T::zero()));
        let c = T::of(1.0 / den);
        crate::energy::grad_theta_pair(energy, xa, xb, nc, &w, c, -c, acc);
        let mut grad = std::mem::take(&mut ws.spare);
        ws.readout
            .par_iter()
            .with_min_len(PAR_PIECE)
            .map(|v| v.f64())
            .collect_into_vec(&mut grad);
        grad
    }

    fn gradient_pinned<T: Real, E: Energy<T> + ?Sized>(
        &self,
        energy: &E,
        x0: &[T],
        nc: usize,
        cost: &dyn Cost<T>,
        key: NoiseKey,
        ws: &mut Workspace<T>,
    ) -> Result<EqPropOutput<T>, Diverged> {
        let windowed = self.free.readout_window > 0 || self.nudged.readout_window > 0;
        let mut xf = x0.to_vec();
        let r0 = run_phase(
            energy,
            &mut xf,
            nc,
            &self.free,
            None,
            key.child(0),
            "free",
            ws,
            // Only a time-averaged one-sided/random-sign readout needs its own free readout.
            windowed && self.estimator != Estimator::Symmetric,
        )?;
        let beta = self.beta;
        let nudged = |sign: f64,
                      stream: u64,
                      name: &str,
                      ws: &mut Workspace<T>|
         -> Result<(Vec<T>, Vec<f64>), Diverged> {
            let mut xs = xf.clone();
            let nu = Nudge {
                cost,
                beta: T::of(sign * beta),
            };
            let r = run_phase(
                energy,
                &mut xs,
                nc,
                &self.nudged,
                Some(nu),
                key.child(stream),
                name,
                ws,
                windowed,
            )?;
            Ok((xs, r))
        };
        // (state a, readout a, state b, readout b, 1/denominator): g = (R(a) − R(b)) / den.
        let (xa, ra, xb, rb, den) = match self.estimator {
            Estimator::OneSided => {
                let (xp, rp) = nudged(1.0, 1, "nudged(+beta)", ws)?;
                (xp, rp, None, r0, beta)
            }
            Estimator::Symmetric => {
                let (xp, rp) = nudged(1.0, 1, "nudged(+beta)", ws)?;
                let (xm, rm) = nudged(-1.0, 2, "nudged(-beta)", ws)?;
                (xp, rp, Some(xm), rm, 2.0 * beta)
            }
            Estimator::RandomSign => {
                let s = Self::random_sign(key);
                let name = if s > 0.0 {
                    "nudged(+beta)"
                } else {
                    "nudged(-beta)"
                };
                let (xs, r) = nudged(s, 3, name, ws)?;
                (xs, r, None, r0, s * beta)
            }
        };
        let grad: Vec<f64> = if windowed {
            ra.iter().zip(&rb).map(|(a, b)| (a - b) / den).collect()
        } else {
            Self::paired_readout(energy, &xa, xb.as_deref().unwrap_or(&xf), nc, den, ws)
        };
        Ok(EqPropOutput {
            grad,
            free_state: xf,
        })
    }
}
