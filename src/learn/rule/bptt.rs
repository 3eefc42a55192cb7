//! Backprop through time of the free phase as a rule: the exact gradient of the cost at the
//! end of a finite relaxation ([`crate::learn::exact::bptt_gradient`]).

use super::{Batch, Estimate, Phases, Rule, RuleError, diagnostics};
use crate::dynamics::{Langevin, NoiseKey, Relaxation, Workspace};
use crate::energy::Energy;
use crate::learn::exact::bptt_gradient;
use crate::real::Real;

/// Backprop through the free phase's steps (Euler–Maruyama / projected gradient flow).
#[derive(Clone, Copy, Debug)]
pub struct Bptt;

impl Bptt {
    /// The free phase's steps, which must be Euler–Maruyama steps.
    fn steps(phases: &Phases) -> Result<Langevin, RuleError> {
        let Relaxation::Langevin(dynamics) = phases.free.dynamics else {
            return Err(RuleError::Unsupported {
                rule: "bptt".into(),
                what: "for cSB dynamics: backprop through time differentiates Euler–Maruyama \
                       (gradient-flow / Langevin) steps only"
                    .into(),
            });
        };
        if phases.free.exact {
            return Err(RuleError::Unsupported {
                rule: "bptt".into(),
                what: "for a phase solved to its exact equilibrium: there are no steps to \
                       differentiate (use `implicit`)"
                    .into(),
            });
        }
        Ok(dynamics)
    }
}

impl<T: Real> Rule<T> for Bptt {
    fn name(&self) -> String {
        "bptt".into()
    }

    fn check(&self, phases: &Phases) -> Result<(), RuleError> {
        Self::steps(phases).map(|_| ())
    }

    fn gradient(
        &self,
        energy: &dyn Energy<T>,
        batch: &Batch<'_, T>,
        phases: &Phases,
        key: NoiseKey,
        ws: &mut Workspace<T>,
    ) -> Result<Estimate<T>, RuleError> {
        let dynamics = Self::steps(phases)?;
        // Stream 0 is the free phase's, as in EqProp, so BPTT differentiates the same path.
        let (grad, free_state) = bptt_gradient(
            energy,
            batch.x0,
            batch.nc,
            &dynamics,
            batch.cost,
            key.child(0),
            ws,
        )?;
        let diagnostics = diagnostics(&["free"], batch, &free_state, energy.dim());
        Ok(Estimate {
            grad,
            free_state,
            diagnostics,
        })
    }
}
