//! Finite-nudge EqProp at finite temperature (Litman, "Equilibrium Propagation Without Limits",
//! arXiv 2511.22024).
//!
//! With the states Gibbs–Boltzmann distributed, `p_β ∝ exp(−(E + βC)/k_BT)`, and
//! `F_β = −k_BT log ∫ exp(−(E + βC)/k_BT)` the Helmholtz free energy of the nudged system,
//! `∇_θ F_β = E_β[∂_θE]` for every `β`, so
//!
//! `∇_θ (F_β − F_0) = E_β[∂_θE] − E_0[∂_θE]`                                    (difference)
//!
//! exactly, for any finite `β`: no small-β limit and no convexity. Since `∂_β F_b = E_b[C]` and
//! `∂_θ E_b[C] = −Cov_b(C, ∂_θE)/k_BT`, the same gradient is also the path integral
//!
//! `∇_θ (F_β − F_0) = −(1/k_BT) ∫₀^β Cov_b(C, ∂_θE) db`                          (covariance)
//!
//! (the paper's generalised rule), which this file evaluates by Gauss–Legendre quadrature over
//! `b`, each node a nudged phase whose covariance is a time average over its readout window.
//!
//! Both rules return `∇_θ L_β` with `L_β = (F_β − F_0)/β`, the objective whose `β → 0` limit is
//! the expected cost `E_0[C]`, so they are on the scale of the other rules' gradients.
//! Expectations are time averages of each chain over the phase's readout window (the final
//! state when it is 0) and the mean over the batch's chains.

use super::{Batch, Estimate, Phases, Rule, RuleError, diagnostics};
use crate::dynamics::Phase;
use crate::dynamics::{Diverged, Integrator, NoiseKey, Nudge, Relaxation, Workspace, relax};
use crate::energy::Energy;
use crate::learn::eqprop::{EqProp, Estimator, Formula, PhaseSpec};
use crate::real::Real;

/// Which identity turns the phases into `∇_θ L_β`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FiniteNudgeForm {
    /// `(E_β[∂_θE] − E_0[∂_θE]) / β`: one free and one nudged phase.
    Difference,
    /// `−(1/(k_BT β)) ∫₀^β Cov_b(C, ∂_θE) db` with this many Gauss–Legendre nodes.
    Covariance(usize),
}

/// The finite-nudge rule at strength `beta` (any `β > 0`, not only small ones).
#[derive(Clone, Copy, Debug)]
pub struct FiniteNudge {
    /// Nudge strength β > 0.
    pub beta: f64,
    /// Which identity.
    pub form: FiniteNudgeForm,
}

/// Gauss–Legendre nodes and weights on `[0, 1]` (Newton's iteration on `P_n`).
pub fn gauss_legendre(n: usize) -> Vec<(f64, f64)> {
    (0..n)
        .map(|i| {
            let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
            let mut dp = 1.0;
            for _ in 0..100 {
                // P_n(x) and P_n'(x) by the three-term recurrence.
                let (mut p0, mut p1) = (1.0, x);
                for k in 2..=n {
                    let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
                    p0 = p1;
                    p1 = p2;
                }
                let p = if n == 0 { 1.0 } else { p1 };
                let pm = if n == 1 { 1.0 } else { p0 };
                dp = n as f64 * (x * p - pm) / (x * x - 1.0);
                let dx = p / dp;
                x -= dx;
                if dx.abs() < 1e-15 {
                    break;
                }
            }
            let w = 2.0 / ((1.0 - x * x) * dp * dp);
            (0.5 * (1.0 - x), 0.5 * w)
        })
        .collect()
}

/// Per-phase averages of the covariance form: `E[C ∂_θE]`, `E[∂_θE]` and `E[C]`.
struct Moments<T> {
    c_grad: Vec<T>,
    grad: Vec<T>,
    cost: f64,
}

impl FiniteNudge {
    fn temperature(phases: &Phases, rule: &str) -> Result<f64, RuleError> {
        match phases.nudged.dynamics {
            Relaxation::Langevin(l) if l.temperature > 0.0 => Ok(l.temperature),
            Relaxation::Langevin(_) if rule == "finite_nudge" => Ok(0.0),
            Relaxation::Langevin(_) => Err(RuleError::Unsupported {
                rule: rule.into(),
                what: "at zero temperature: the covariance form divides by k_BT (use \
                       `finite_nudge`, whose zero-temperature limit is one-sided EqProp at the \
                       minima)"
                    .into(),
            }),
            Relaxation::Csb(_) => Err(RuleError::Unsupported {
                rule: rule.into(),
                what: "for cSB dynamics: the identities hold for Gibbs–Boltzmann states, which \
                       Langevin dynamics sample and cSB does not"
                    .into(),
            }),
        }
    }

    /// Relaxes a copy of `from` under nudge `b` and returns its window averages.
    fn moments<T: Real>(
        energy: &dyn Energy<T>,
        batch: &Batch<'_, T>,
        from: &[T],
        spec: &PhaseSpec,
        b: f64,
        key: NoiseKey,
        ws: &mut Workspace<T>,
    ) -> Result<Moments<T>, Diverged> {
        let d = energy.dim();
        let n = from.len() / d;
        let steps = spec.dynamics.steps();
        let window = spec.readout_window.clamp(1, steps.max(1));
        let start = steps.saturating_sub(window);
        let np = energy.n_params();
        let mut m = Moments {
            c_grad: vec![T::zero(); np],
            grad: vec![T::zero(); np],
            cost: 0.0,
        };
        let mut c = vec![T::zero(); n];
        let mut wc = vec![T::zero(); n];
        let w = vec![T::of(1.0 / (n * window) as f64); n];
        let mut x = from.to_vec();
        let mut read = |xs: &[T], m: &mut Moments<T>| {
            batch.cost.value(xs, d, 0, &mut c);
            for (wc, &cv) in wc.iter_mut().zip(&c) {
                *wc = cv * w[0];
            }
            m.cost += c.iter().map(|v| v.f64()).sum::<f64>() / (n * window) as f64;
            energy.grad_theta(xs, &wc, &mut m.c_grad);
            energy.grad_theta(xs, &w, &mut m.grad);
        };
        let nudge = Nudge::new(batch.cost, T::of(b));
        let name = format!("nudged(b={b:.4})");
        if steps == 0 {
            read(&x, &mut m);
            return Ok(m);
        }
        let mut obs = |step: usize, xs: &[T]| {
            if step > start {
                read(xs, &mut m);
            }
        };
        relax(
            energy,
            &mut x,
            &spec.dynamics,
            &Phase {
                nc: batch.nc,
                nudge: Some(nudge),
                key,
                name: &name,
            },
            ws,
            Some(&mut obs),
        )?;
        Ok(m)
    }

    fn covariance<T: Real>(
        &self,
        energy: &dyn Energy<T>,
        batch: &Batch<'_, T>,
        phases: &Phases,
        nodes: usize,
        key: NoiseKey,
        ws: &mut Workspace<T>,
    ) -> Result<Estimate<T>, RuleError> {
        let kt = Self::temperature(phases, "finite_nudge_covariance")?;
        let xf = phases.relax_free(energy, batch, key, ws)?;
        let mut grad = vec![0.0; energy.n_params()];
        let mut names = vec!["free".to_string()];
        for (k, (t, w)) in gauss_legendre(nodes).into_iter().enumerate() {
            let b = t * self.beta;
            let m = Self::moments(
                energy,
                batch,
                &xf,
                &phases.nudged,
                b,
                key.child(10 + k as u64),
                ws,
            )?;
            // −(1/(k_BT β)) · β w_k · Cov_b = −(w_k / k_BT) Cov_b.
            let s = -w / kt;
            for (g, (cg, gm)) in grad.iter_mut().zip(m.c_grad.iter().zip(&m.grad)) {
                *g += s * (cg.f64() - m.cost * gm.f64());
            }
            names.push(format!("nudged(b={b:.4})"));
        }
        let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        let diagnostics = diagnostics(&refs, batch, &xf, energy.dim());
        Ok(Estimate {
            grad,
            free_state: xf,
            diagnostics,
        })
    }
}

impl<T: Real> Rule<T> for FiniteNudge {
    fn name(&self) -> String {
        match self.form {
            FiniteNudgeForm::Difference => "finite_nudge".into(),
            FiniteNudgeForm::Covariance(_) => "finite_nudge_covariance".into(),
        }
    }

    fn check(&self, phases: &Phases) -> Result<(), RuleError> {
        Self::temperature(phases, &<Self as Rule<T>>::name(self)).map(|_| ())
    }

    fn gradient(
        &self,
        energy: &dyn Energy<T>,
        batch: &Batch<'_, T>,
        phases: &Phases,
        key: NoiseKey,
        ws: &mut Workspace<T>,
    ) -> Result<Estimate<T>, RuleError> {
        match self.form {
            FiniteNudgeForm::Difference => {
                Self::temperature(phases, "finite_nudge")?;
                // The difference of time-averaged readouts is one-sided EqProp's, read over
                // each phase's window: the identity makes it exact at any β.
                let ep = EqProp {
                    estimator: Estimator::OneSided,
                    beta: self.beta,
                    free: phases.free,
                    nudged: phases.nudged,
                    formula: Formula::Standard,
                };
                let out = ep.gradient(energy, batch.x0, batch.nc, batch.cost, key, ws)?;
                let diagnostics = diagnostics(
                    &["free", "nudged(+beta)"],
                    batch,
                    &out.free_state,
                    energy.dim(),
                );
                Ok(Estimate {
                    grad: out.grad,
                    free_state: out.free_state,
                    diagnostics,
                })
            }
            FiniteNudgeForm::Covariance(nodes) => {
                self.covariance(energy, batch, phases, nodes, key, ws)
            }
        }
    }
}
