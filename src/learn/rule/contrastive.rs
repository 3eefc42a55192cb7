//! Contrastive learning (contrastive Hebbian learning, Movellan 1991; the "clamped" phase of
//! Scellier et al. 2023's energy-based-learning code): a free phase against a phase with the
//! output held at its target, read out as `R(x_clamped) − R(x_free)` with `R = mean_b ∂_θE`.
//!
//! This is exactly `∇_θ mean_b [E(x*_clamped) − E(x*_free)]` at equilibria (envelope theorem),
//! the gradient of the contrastive loss, not of the cost: it agrees with `∇_θ C` only as the
//! clamped state approaches the free one. [`super::Coupled`] reads the same pair with the
//! output held part of the way.

use super::{Batch, Estimate, Phases, Rule, RuleError, diagnostics};
use crate::dynamics::{Hold, NoiseKey, Nudge, Phase, Workspace};
use crate::energy::Energy;
use crate::learn::eqprop::run_phase;
use crate::real::Real;

/// Free phase against the output held at the cost's target.
#[derive(Clone, Copy, Debug)]
pub struct Contrastive;

/// How far toward the target the clamped phase holds the output: `η y + (1 − η) s_out`
/// (η = 1: the target itself), and the divisor of the readout difference.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clamp {
    /// The rule's name, for refusals.
    pub rule: &'static str,
    /// `η ∈ (0, 1]`.
    pub eta: f64,
}

impl Clamp {
    /// Refuses a clamped phase solved by Newton's method, which cannot hold coordinates.
    pub fn check(&self, phases: &Phases) -> Result<(), RuleError> {
        if phases.nudged.exact {
            return Err(RuleError::Unsupported {
                rule: self.rule.into(),
                what: "with an exact (Newton) clamped phase: the solve cannot hold the output"
                    .into(),
            });
        }
        Ok(())
    }

    /// `(R(x_held) − R(x_free)) / η`: the free phase on stream 0, then the phase with the
    /// output held at `η y + (1 − η) s_out` from the free state on stream 1.
    pub fn gradient<T: Real>(
        &self,
        energy: &dyn Energy<T>,
        batch: &Batch<'_, T>,
        phases: &Phases,
        key: NoiseKey,
        ws: &mut Workspace<T>,
    ) -> Result<Estimate<T>, RuleError> {
        self.check(phases)?;
        let d = energy.dim();
        let n = batch.x0.len() / d;
        let Some((out, target)) = batch.cost.minimizer(n) else {
            return Err(RuleError::Unsupported {
                rule: self.rule.into(),
                what: "for a cost without a target to clamp the output to".into(),
            });
        };
        let mut free = batch.x0.to_vec();
        let (nc, spec) = (batch.nc, &phases.free);
        let r_free = run_phase(
            energy,
            &mut free,
            spec,
            &Phase::free("free", nc, key.child(0)),
            ws,
            true,
        )?;
        let eta = T::of(self.eta);
        let values: Vec<T> = target
            .chunks_exact(out.len())
            .zip(free.chunks_exact(d))
            .flat_map(|(t, xs)| {
                t.iter()
                    .zip(&xs[out.clone()])
                    .map(move |(&y, &s)| eta * y + (T::one() - eta) * s)
            })
            .collect();
        let nudge = Nudge {
            hold: Some(Hold {
                start: out.start,
                len: out.len(),
                values: &values,
            }),
            ..Nudge::new(batch.cost, T::zero())
        };
        let mut held = free.clone();
        let r_held = run_phase(
            energy,
            &mut held,
            &phases.nudged,
            &Phase {
                nc,
                nudge: Some(nudge),
                key: key.child(1),
                name: "clamped",
            },
            ws,
            true,
        )?;
        let grad = r_held
            .iter()
            .zip(&r_free)
            .map(|(h, f)| (h - f) / self.eta)
            .collect();
        let diagnostics = diagnostics(&["free", "clamped"], batch, &free, d);
        Ok(Estimate {
            grad,
            free_state: free,
            diagnostics,
        })
    }
}

impl<T: Real> Rule<T> for Contrastive {
    fn name(&self) -> String {
        "contrastive".into()
    }

    fn check(&self, phases: &Phases) -> Result<(), RuleError> {
        CONTRASTIVE.check(phases)
    }

    fn gradient(
        &self,
        energy: &dyn Energy<T>,
        batch: &Batch<'_, T>,
        phases: &Phases,
        key: NoiseKey,
        ws: &mut Workspace<T>,
    ) -> Result<Estimate<T>, RuleError> {
        CONTRASTIVE.gradient(energy, batch, phases, key, ws)
    }
}

const CONTRASTIVE: Clamp = Clamp {
    rule: "contrastive",
    eta: 1.0,
};
