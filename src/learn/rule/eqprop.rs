//! The EqProp family as one rule: a nudging pair `(β₁, β₂)` chosen by the estimator and a
//! readout formula ([`crate::learn::eqprop`] runs the phases).

use super::{Batch, Estimate, Phases, Rule, RuleError, diagnostics};
use crate::dynamics::{NoiseKey, Workspace};
use crate::energy::Energy;
use crate::learn::eqprop::{EqProp, Estimator, Formula};
use crate::real::Real;

/// EqProp with the pair of `estimator` at strength `beta`, read out by `formula`.
#[derive(Clone, Copy, Debug)]
pub struct EqPropRule {
    /// Which nudging pair.
    pub estimator: Estimator,
    /// Nudge strength β > 0.
    pub beta: f64,
    /// How the pair becomes a gradient.
    pub formula: Formula,
}

impl EqPropRule {
    /// The protocol of this rule under `phases`.
    pub fn protocol(&self, phases: &Phases) -> EqProp {
        EqProp {
            estimator: self.estimator,
            beta: self.beta,
            free: phases.free,
            nudged: phases.nudged,
            formula: self.formula,
        }
    }
}

impl<T: Real> Rule<T> for EqPropRule {
    fn name(&self) -> String {
        match self.formula {
            Formula::Standard => self.estimator.name().to_string(),
            Formula::Alternative => format!("{} (alternative formula)", self.estimator.name()),
        }
    }

    fn gradient(
        &self,
        energy: &dyn Energy<T>,
        batch: &Batch<'_, T>,
        phases: &Phases,
        key: NoiseKey,
        ws: &mut Workspace<T>,
    ) -> Result<Estimate<T>, RuleError> {
        let out = self
            .protocol(phases)
            .gradient(energy, batch.x0, batch.nc, batch.cost, key, ws)?;
        let names: &[&str] = match self.estimator {
            Estimator::OneSided => &["free", "nudged(+beta)"],
            Estimator::Negative => &["free", "nudged(-beta)"],
            Estimator::Symmetric => &["free", "nudged(+beta)", "nudged(-beta)"],
            Estimator::RandomSign => &["free", "nudged(random sign)"],
        };
        let diagnostics = diagnostics(names, batch, &out.free_state, energy.dim());
        Ok(Estimate {
            grad: out.grad,
            free_state: out.free_state,
            diagnostics,
        })
    }
}
