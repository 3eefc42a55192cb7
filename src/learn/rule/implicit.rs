//! Implicit differentiation as a rule: relax the free phase, then solve `H λ = ∇C` at its final
//! state and read `−∂_θ(∇_x E · λ)` ([`crate::learn::exact::implicit_gradient`]). Exact when the
//! free phase ends at an equilibrium: a phase solved exactly (`exact`), or one long enough.

use super::{Batch, Estimate, Phases, Rule, RuleError, diagnostics};
use crate::dynamics::{NoiseKey, Workspace};
use crate::energy::Energy;
use crate::learn::exact::implicit_gradient;
use crate::real::Real;

/// Implicit differentiation at the free state (dense Hessian per sample: small systems).
#[derive(Clone, Copy, Debug)]
pub struct Implicit;

impl<T: Real> Rule<T> for Implicit {
    fn name(&self) -> String {
        "implicit".into()
    }

    fn check(&self, phases: &Phases) -> Result<(), RuleError> {
        if phases.free.dynamics.is_noisy() {
            return Err(RuleError::Unsupported {
                rule: "implicit".into(),
                what: "at finite temperature: implicit differentiation needs the free phase \
                       at an equilibrium point, not a sample"
                    .into(),
            });
        }
        Ok(())
    }

    fn gradient(
        &self,
        energy: &dyn Energy<T>,
        batch: &Batch<'_, T>,
        phases: &Phases,
        key: NoiseKey,
        ws: &mut Workspace<T>,
    ) -> Result<Estimate<T>, RuleError> {
        <Self as Rule<T>>::check(self, phases)?;
        let x = phases.relax_free(energy, batch, key, ws)?;
        let grad = implicit_gradient(energy, &x, batch.nc, batch.cost);
        let diagnostics = diagnostics(&["free"], batch, &x, energy.dim());
        Ok(Estimate {
            grad,
            free_state: x,
            diagnostics,
        })
    }
}
