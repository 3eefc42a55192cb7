//! What the score rules ([`super::ForceMatching`], [`super::Dsm`], [`super::Cd1`]) share: the
//! substrate as an energy linear in its parameters, the bath temperature of their dynamics,
//! and the gradient buffers, taken from and handed back to the dynamics workspace.

use super::{Batch, Diagnostics, Estimate, Phases, RuleError};
use crate::dynamics::{Relaxation, Workspace};
use crate::energy::Energy;
use crate::energy::oscillator::LinearEnergy;
use crate::learn::score::ScoreWorkspace;
use crate::real::Real;

/// The bath temperature `k_BT` of a score rule's dynamics (the model score is `−∇E/k_BT`).
pub(crate) fn temperature(rule: &str, phases: &Phases) -> Result<f64, RuleError> {
    let refuse = |what: &str| RuleError::Unsupported {
        rule: rule.into(),
        what: what.into(),
    };
    match phases.free.dynamics {
        Relaxation::Langevin(l) if l.temperature > 0.0 => Ok(l.temperature),
        Relaxation::Langevin(_) => Err(refuse(
            "at zero temperature: the model score −∇E/k_BT needs a bath at k_BT > 0",
        )),
        Relaxation::Csb(_) => Err(refuse(
            "for cSB dynamics: the score of a physical diffusion model is that of Langevin \
             dynamics in a bath",
        )),
    }
}

/// The substrate as a linear energy, or the refusal naming the rule.
pub(crate) fn linear<'e, T: Real>(
    rule: &str,
    energy: &'e dyn Energy<T>,
) -> Result<&'e dyn LinearEnergy<T>, RuleError> {
    energy.linear().ok_or_else(|| RuleError::Unsupported {
        rule: rule.into(),
        what: "for a substrate that is not linear in its parameters: the score rules need the \
               features φ_i = ∂E/∂θ_i and their derivatives (the oscillator network has them)"
            .into(),
    })
}

/// Runs `f(linear energy, k_BT, score workspace, gradient)` with the workspace's buffers and
/// wraps the result as the rule's estimate (the batch's states stand for the free state;
/// `phases` names what the rule measured, for the diagnostics).
pub(crate) fn estimate<T: Real>(
    rule: &str,
    phases_run: &[&str],
    energy: &dyn Energy<T>,
    batch: &Batch<'_, T>,
    phases: &Phases,
    ws: &mut Workspace<T>,
    f: impl FnOnce(&dyn LinearEnergy<T>, f64, &mut ScoreWorkspace<T>, &mut [f64]),
) -> Result<Estimate<T>, RuleError> {
    let kt = temperature(rule, phases)?;
    let e = linear(rule, energy)?;
    let mut grad = std::mem::take(&mut ws.spare);
    grad.resize(energy.n_params(), 0.0);
    let mut sw = ScoreWorkspace {
        partial: std::mem::take(&mut ws.partial),
    };
    f(e, kt, &mut sw, &mut grad);
    ws.partial = sw.partial;
    Ok(Estimate {
        grad,
        free_state: ws.state_from(batch.x0),
        diagnostics: Diagnostics {
            phases: phases_run.iter().map(|p| p.to_string()).collect(),
            free_cost: crate::learn::exact::mean_cost(batch.cost, batch.x0, energy.dim()),
        },
    })
}
