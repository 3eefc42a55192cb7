//! Denoising score matching as a rule (Vincent 2011; the comparison rule of Bösch et al.
//! 2025): with the batch's states `x_t = e^{−t} x_0 + σ_t ε` and their noise `ε`, the gradient
//! of `J_DSM = mean_b ½‖∇E(x_t)/k_BT − ε/σ_t‖²` ([`crate::learn::score::dsm_grad`]).

use super::{Batch, Estimate, Phases, Rule, RuleError, score};
use crate::dynamics::{NoiseKey, Workspace};
use crate::energy::Energy;
use crate::learn::score::dsm_grad;
use crate::real::Real;

/// Denoising score matching at noise scale `σ_t`.
#[derive(Clone, Copy, Debug)]
pub struct Dsm {
    /// `σ_t` of the batch's noise (`> 0`).
    pub sigma: f64,
}

impl<T: Real> Rule<T> for Dsm {
    fn name(&self) -> String {
        "dsm".into()
    }

    fn check(&self, phases: &Phases) -> Result<(), RuleError> {
        score::temperature("dsm", phases).map(|_| ())
    }

    fn gradient(
        &self,
        energy: &dyn Energy<T>,
        batch: &Batch<'_, T>,
        phases: &Phases,
        _key: NoiseKey,
        ws: &mut Workspace<T>,
    ) -> Result<Estimate<T>, RuleError> {
        let refuse = |what: &str| RuleError::Unsupported {
            rule: "dsm".into(),
            what: what.into(),
        };
        let Some(eps) = batch.noise else {
            return Err(refuse(
                "for a batch without its forward-process noise ε (Batch::noise)",
            ));
        };
        if !(self.sigma > 0.0 && self.sigma.is_finite()) {
            return Err(refuse(
                "at σ_t = 0: the conditional score ε/σ_t is undefined",
            ));
        }
        score::estimate(
            "dsm",
            &["samples"],
            energy,
            batch,
            phases,
            ws,
            |e, kt, sw, g| dsm_grad(e, batch.x0, eps, self.sigma, kt, sw, g),
        )
    }
}
