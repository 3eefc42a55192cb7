//! Coupled learning (Stern, Hexner, Rocks and Liu, "Supervised learning in physical
//! networks: from machine learning to learning machines", Phys. Rev. X 11, 021045 (2021),
//! Eq. 4): the clamped phase holds the output at `η y + (1 − η) s_out` (a nudge of the free
//! output toward the target by a fraction η), and the gradient is
//! `(R(x_clamped) − R(x_free)) / η` with `R = mean_b ∂_θE`. At η = 1 it is
//! [`super::Contrastive`]; as η → 0 it approaches EqProp with a hard nudge.

use super::contrastive::Clamp;
use super::{Batch, Estimate, Phases, Rule, RuleError};
use crate::dynamics::{NoiseKey, Workspace};
use crate::energy::Energy;
use crate::real::Real;

/// Coupled learning with nudge amplitude `eta ∈ (0, 1]`.
#[derive(Clone, Copy, Debug)]
pub struct Coupled {
    /// The fraction η of the way from the free output to the target.
    pub eta: f64,
}

impl Coupled {
    fn clamp(&self) -> Clamp {
        Clamp {
            rule: "coupled",
            eta: self.eta,
        }
    }
}

impl<T: Real> Rule<T> for Coupled {
    fn name(&self) -> String {
        format!("coupled (eta {})", self.eta)
    }

    fn check(&self, phases: &Phases) -> Result<(), RuleError> {
        self.clamp().check(phases)
    }

    fn gradient(
        &self,
        energy: &dyn Energy<T>,
        batch: &Batch<'_, T>,
        phases: &Phases,
        key: NoiseKey,
        ws: &mut Workspace<T>,
    ) -> Result<Estimate<T>, RuleError> {
        self.clamp().gradient(energy, batch, phases, key, ws)
    }
}
