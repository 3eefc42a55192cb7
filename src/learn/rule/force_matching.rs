//! Local force matching as a rule (Bösch et al. 2025, "Local Learning Rules for
//! Out-of-Equilibrium Physical Generative Models", eq. 8): the gradient of the Hyvärinen
//! score-matching objective `J_SM = E[½‖∇E‖²/(k_BT)² − Tr ∇²E/k_BT]` on the batch's states,
//! from the force measured on the clamped oscillators
//! ([`crate::learn::score::force_matching_grad`]).

use super::{Batch, Estimate, Phases, Rule, RuleError, score};
use crate::dynamics::{NoiseKey, Workspace};
use crate::energy::Energy;
use crate::learn::score::force_matching_grad;
use crate::real::Real;

/// Force matching on the batch's states, at the temperature of the rule's dynamics.
#[derive(Clone, Copy, Debug)]
pub struct ForceMatching;

impl<T: Real> Rule<T> for ForceMatching {
    fn name(&self) -> String {
        "force_matching".into()
    }

    fn check(&self, phases: &Phases) -> Result<(), RuleError> {
        score::temperature("force_matching", phases).map(|_| ())
    }

    fn gradient(
        &self,
        energy: &dyn Energy<T>,
        batch: &Batch<'_, T>,
        phases: &Phases,
        _key: NoiseKey,
        ws: &mut Workspace<T>,
    ) -> Result<Estimate<T>, RuleError> {
        score::estimate(
            "force_matching",
            &["samples"],
            energy,
            batch,
            phases,
            ws,
            |e, kt, sw, g| force_matching_grad(e, batch.x0, kt, sw, g),
        )
    }
}
