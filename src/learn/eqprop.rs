//! Equilibrium Propagation gradient estimators.
//!
//! Phases (symmetric-EqProp paper §5, arXiv 2604.23806): free `x⁰` relaxes `E` from the initial
//! state; each nudged phase relaxes `E + sβ C` starting from the free phase's final state.
//! Estimators, with `R(x) = mean_b ∂_θE(x_b)` the local readout:
//! - `one_sided`:   `g = (R(x^β) − R(x⁰)) / β` (paper eq. for `g_β`),
//! - `negative`:    `g = (R(x⁰) − R(x^{−β})) / β`,
//! - `symmetric`:   `g = (R(x^β) − R(x^{−β})) / (2β)` (paper Corollary 4),
//! - `random_sign`: `g = (R(x^{sβ}) − R(x⁰)) / (sβ)` with a random sign `s = ±1` per call.
//!
//! Each is the estimator of a nudging pair `(β₁, β₂)`, `g = (R(x^{β₂}) − R(x^{β₁})) / (β₂ − β₁)`
//! ("Energy-based learning algorithms for analog computing: a comparative study", Scellier et
//! al. 2023, whose "positive", "negative" and "centered" EP are `(0, β)`, `(−β, 0)` and
//! `(−β, β)`). Their "alternative formula" ([`Formula::Alternative`]) reads the parameter
//! gradient at the free state along the finite difference of the two nudged states instead:
//! `g = mean_b ∂_θ(∇_x E(x⁰_b) · v_b)`, `v = (x^{β₂} − x^{β₁}) / (β₂ − β₁)`, which agrees with
//! the standard formula to first order in `β`.
//!
//! At finite temperature the readout is the time average of `∂_θE` over the last
//! `readout_window` steps of a phase (the finite-temperature EqProp of "EqProp without
//! limits": `E_β[∂_θE] − E_0[∂_θE]`), since `∂_θE` is not linear in `x`.

use crate::dynamics::Phase;
use crate::dynamics::sequence::{Sequence, relax_free_then_nudged};
use crate::dynamics::{
    Diverged, Integrator, Langevin, NewtonOptions, NoiseKey, Nudge, Relaxation, Workspace, relax,
    relax_to_equilibrium,
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
    /// `(R(x⁰) − R(x^{−β}))/β`, bias `O(β)` (the opposite sign of `one_sided`'s).
    Negative,
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
            Estimator::Negative => "negative",
            Estimator::Symmetric => "symmetric",
            Estimator::RandomSign => "random_sign",
        }
    }
}

/// How the two states of a nudging pair become a parameter gradient.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Formula {
    /// `(R(x^{β₂}) − R(x^{β₁})) / (β₂ − β₁)`: the difference of two local readouts.
    #[default]
    Standard,
    /// `mean_b ∂_θ(∇_x E(x⁰_b) · v_b)` with `v = (x^{β₂} − x^{β₁}) / (β₂ − β₁)`: the mixed
    /// second derivative at the free state (Scellier et al. 2023's alternative formula).
    Alternative,
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
    /// How the pair of states becomes a gradient.
    pub formula: Formula,
}

/// The nudged phases of one call and which states of them form the pair: `hi` is the state at
/// `β₂`, `lo` the state at `β₁` (`None`: the free state, `β = 0`), `den = β₂ − β₁`.
struct PairPlan<'a, T: Real> {
    phases: Vec<Phase<'a, T>>,
    hi: Option<usize>,
    lo: Option<usize>,
    den: f64,
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
pub fn run_phase<T: Real, E: Energy<T> + ?Sized>(
    energy: &E,
    x: &mut [T],
    spec: &PhaseSpec,
    phase: &Phase<'_, T>,
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
        relax(energy, x, &spec.dynamics, phase, ws, Some(&mut obs))?;
    } else {
        relax(energy, x, &spec.dynamics, phase, ws, None)?;
    }
    if spec.exact {
        relax_to_equilibrium(
            energy,
            x,
            phase.nc,
            phase.nudge,
            NewtonOptions::default(),
            phase.name,
        )?;
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
            formula: Formula::Standard,
        }
    }

    /// The same protocol with the given formula.
    pub fn with_formula(mut self, formula: Formula) -> Self {
        self.formula = formula;
        self
    }

    /// The nudged phases of a call keyed by `key`: `+β` on stream 1, `−β` on stream 2, the
    /// random-sign phase on stream 3.
    fn plan<'a, T: Real>(
        &self,
        cost: &'a dyn Cost<T>,
        nc: usize,
        key: NoiseKey,
    ) -> PairPlan<'a, T> {
        let beta = self.beta;
        let phase = |sign: f64, stream: u64| Phase {
            nc,
            nudge: Some(Nudge::new(cost, T::of(sign * beta))),
            key: key.child(stream),
            name: if sign > 0.0 {
                "nudged(+beta)"
            } else {
                "nudged(-beta)"
            },
        };
        let one = |p, hi, lo, den| PairPlan {
            phases: vec![p],
            hi,
            lo,
            den,
        };
        match self.estimator {
            Estimator::OneSided => one(phase(1.0, 1), Some(0), None, beta),
            Estimator::Negative => one(phase(-1.0, 2), None, Some(0), beta),
            Estimator::Symmetric => PairPlan {
                phases: vec![phase(1.0, 1), phase(-1.0, 2)],
                hi: Some(0),
                lo: Some(1),
                den: 2.0 * beta,
            },
            Estimator::RandomSign => {
                let s = Self::random_sign(key);
                one(phase(s, 3), Some(0), None, s * beta)
            }
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
        let plan = self.plan(cost, nc, key);
        let mut xf = ws.state_from(x0);
        let mut outs: Vec<Vec<T>> = (0..plan.phases.len())
            .map(|_| ws.state_buffer(x0.len()))
            .collect();
        let seq = Sequence {
            free: Phase::free("free", nc, key.child(0)),
            free_integ: &self.free.dynamics,
            nudged: &plan.phases,
            nudged_integ: &self.nudged.dynamics,
        };
        relax_free_then_nudged(energy, &mut xf, &seq, &mut outs, ws)?;
        let pick = |i: Option<usize>| i.map_or(&xf[..], |i| &outs[i][..]);
        let (xa, xb) = (pick(plan.hi), pick(plan.lo));
        let grad = match self.formula {
            Formula::Standard => Self::paired_readout(energy, xa, xb, nc, plan.den, ws),
            Formula::Alternative => Self::alternative_readout(energy, &xf, xa, xb, plan.den),
        };
        for o in outs {
            ws.recycle_state(o);
        }
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
        crate::energy::grad_theta_pair(energy, xa, xb, nc, &w, (c, -c), acc);
        let mut grad = std::mem::take(&mut ws.spare);
        ws.readout
            .par_iter()
            .with_min_len(PAR_PIECE)
            .map(|v| v.f64())
            .collect_into_vec(&mut grad);
        grad
    }

    /// [`Formula::Alternative`]: `mean_b ∂_θ(∇_x E(xf_b) · v_b)`, `v = (xa − xb) / den`.
    fn alternative_readout<T: Real, E: Energy<T> + ?Sized>(
        energy: &E,
        xf: &[T],
        xa: &[T],
        xb: &[T],
        den: f64,
    ) -> Vec<f64> {
        let n = xf.len() / energy.dim();
        let inv = T::of(1.0 / den);
        let v: Vec<T> = xa.iter().zip(xb).map(|(&a, &b)| (a - b) * inv).collect();
        let w = vec![T::of(1.0 / n as f64); n];
        let mut acc = vec![T::zero(); energy.n_params()];
        energy.grad_theta_dir(xf, &v, &w, &mut acc);
        acc.iter().map(|v| v.f64()).collect()
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
        // Time-averaged readouts are differenced directly; the alternative formula reads the
        // final states instead.
        let windowed = (self.free.readout_window > 0 || self.nudged.readout_window > 0)
            && self.formula == Formula::Standard;
        let plan = self.plan(cost, nc, key);
        let mut xf = x0.to_vec();
        let r0 = run_phase(
            energy,
            &mut xf,
            &self.free,
            &Phase::free("free", nc, key.child(0)),
            ws, // Only a time-averaged pair with the free state in it reads the free phase.
            windowed && (plan.hi.is_none() || plan.lo.is_none()),
        )?;
        let mut states = Vec::with_capacity(plan.phases.len());
        let mut reads = Vec::with_capacity(plan.phases.len());
        for p in &plan.phases {
            let mut xs = xf.clone();
            reads.push(run_phase(energy, &mut xs, &self.nudged, p, ws, windowed)?);
            states.push(xs);
        }
        let grad: Vec<f64> = if windowed {
            let read = |i: Option<usize>| i.map_or(&r0[..], |i| &reads[i][..]);
            let (ra, rb) = (read(plan.hi), read(plan.lo));
            ra.iter().zip(rb).map(|(a, b)| (a - b) / plan.den).collect()
        } else {
            let pick = |i: Option<usize>| i.map_or(&xf[..], |i| &states[i][..]);
            let (xa, xb) = (pick(plan.hi), pick(plan.lo));
            match self.formula {
                Formula::Standard => Self::paired_readout(energy, xa, xb, nc, plan.den, ws),
                Formula::Alternative => Self::alternative_readout(energy, &xf, xa, xb, plan.den),
            }
        };
        Ok(EqPropOutput {
            grad,
            free_state: xf,
        })
    }
}
