//! Contrastive divergence with one step as a rule (Bösch et al. 2025, eqs. 10–12): from each
//! of the batch's states, one Euler–Maruyama step of the overdamped dynamics of length `δ`,
//! and the feature difference `φ(x_{t+δ}) − φ(x_t)` rescaled to an estimate of `dJ_SM/dθ`
//! ([`crate::learn::cd1::cd1_grad`]). Its noise is drawn from the rule's key.

use super::{Batch, Estimate, Phases, Rule, RuleError, score};
use crate::dynamics::{NoiseKey, Workspace};
use crate::energy::Energy;
use crate::learn::cd1::{Cd1Config, cd1_grad};
use crate::real::Real;

/// CD1 with its step, draws and antithetic pairing.
#[derive(Clone, Copy, Debug)]
pub struct Cd1 {
    /// The one-step settings.
    pub cfg: Cd1Config,
}

impl<T: Real> Rule<T> for Cd1 {
    fn name(&self) -> String {
        "cd1".into()
    }

    fn check(&self, phases: &Phases) -> Result<(), RuleError> {
        score::temperature("cd1", phases).map(|_| ())
    }

    fn gradient(
        &self,
        energy: &dyn Energy<T>,
        batch: &Batch<'_, T>,
        phases: &Phases,
        key: NoiseKey,
        ws: &mut Workspace<T>,
    ) -> Result<Estimate<T>, RuleError> {
        score::estimate(
            "cd1",
            &["samples", "one step"],
            energy,
            batch,
            phases,
            ws,
            |e, kt, sw, g| cd1_grad(e, batch.x0, kt, &self.cfg, key, sw, g),
        )
    }
}
