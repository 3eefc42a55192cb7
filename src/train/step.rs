//! One optimisation step through a rule: the one place where a training loop turns a batch
//! into new parameters. [`super::Trainer`] (classifiers, epoch after epoch),
//! [`super::protocol::train_protocol`] (a diffusion model's driving protocol, time point
//! after time point) and the training runs of `exp thermo-eqprop` all step through a
//! [`Stepper`]: they differ only in where their batches come from and when they evaluate.

use crate::dynamics::{NoiseKey, Workspace};
use crate::energy::Energy;
use crate::learn::Optimizer;
use crate::learn::rule::{Batch, Estimate, Phases, Rule};
use crate::real::Real;
use anyhow::bail;

/// The optimizer, the parameters and the rule's buffers of one training run.
pub struct Stepper<T: Real> {
    /// Optimizer state.
    pub opt: Optimizer,
    /// Parameters in f64 (the optimizer's copy).
    pub theta: Vec<f64>,
    /// Rate multipliers as sorted runs `(first parameter, factor)` (per-layer rates).
    pub lr_scale: Vec<(usize, f64)>,
    /// The rule's buffers.
    pub ws: Workspace<T>,
    th_t: Vec<T>,
}

impl<T: Real> Stepper<T> {
    /// A stepper at the energy's current parameters, with one rate for all of them.
    pub fn new(opt: Optimizer, energy: &dyn Energy<T>) -> Self {
        let theta: Vec<f64> = energy.params().iter().map(|v| v.f64()).collect();
        Self {
            opt,
            th_t: vec![T::zero(); theta.len()],
            theta,
            lr_scale: vec![(0, 1.0)],
            ws: Workspace::new(),
        }
    }

    /// Sets the parameters (f64) and pushes them into the energy.
    pub fn set_theta(&mut self, energy: &mut dyn Energy<T>, theta: &[f64]) -> anyhow::Result<()> {
        self.theta.copy_from_slice(theta);
        for (t, &v) in self.th_t.iter_mut().zip(theta) {
            *t = T::of(v);
        }
        energy.set_params(&self.th_t)
    }

    /// The rule's estimate on `batch` at the energy's current parameters, followed by
    /// [`Stepper::apply`] of its gradient. Hand the estimate back with [`Stepper::recycle`]
    /// so the next step reuses its buffers.
    pub fn step(
        &mut self,
        rule: &dyn Rule<T>,
        energy: &mut dyn Energy<T>,
        batch: &Batch<'_, T>,
        phases: &Phases,
        key: NoiseKey,
    ) -> anyhow::Result<Estimate<T>> {
        let est = rule.gradient(&*energy, batch, phases, key, &mut self.ws)?;
        self.apply(energy, &est.grad)?;
        Ok(est)
    }

    /// One optimizer step on `grad` (refused, naming the parameter, when it is not finite),
    /// then the projection onto the substrate's feasible set ([`Energy::project_params`]),
    /// then the new parameters pushed into the energy.
    pub fn apply(&mut self, energy: &mut dyn Energy<T>, grad: &[f64]) -> anyhow::Result<()> {
        if let Some(i) = crate::real::first_non_finite(grad) {
            bail!("non-finite gradient (parameter {i} of {})", grad.len());
        }
        self.opt
            .step_into(&mut self.theta, grad, &self.lr_scale, &mut self.th_t);
        if energy.project_params(&mut self.theta) {
            for (t, &v) in self.th_t.iter_mut().zip(&self.theta) {
                *t = T::of(v);
            }
        }
        energy.set_params(&self.th_t)
    }

    /// Hands an estimate's buffers back to the workspace.
    pub fn recycle(&mut self, est: Estimate<T>) {
        self.ws.recycle(est.grad);
        self.ws.recycle_state(est.free_state);
    }
}
