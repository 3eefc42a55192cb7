//! First-order optimizers over the flat parameter vector.

use serde::{Deserialize, Serialize};

/// Optimizer choice (TOML: `{ kind = "adam", lr = 1e-3 }`).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// Plain or momentum SGD with L2 weight decay, as PyTorch's `SGD`:
    /// `g ← g + λ θ`, `v ← μ v + g`, `θ ← θ − lr v`.
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum μ (0 for plain SGD).
        #[serde(default)]
        momentum: f64,
        /// Weight decay λ (0: none).
        #[serde(default, skip_serializing_if = "is_zero")]
        weight_decay: f64,
    },
    /// Adam (Kingma & Ba 2015) with bias correction.
    Adam {
        /// Learning rate.
        lr: f64,
        /// First-moment decay.
        #[serde(default = "default_b1")]
        beta1: f64,
        /// Second-moment decay.
        #[serde(default = "default_b2")]
        beta2: f64,
        /// Denominator floor.
        #[serde(default = "default_eps")]
        eps: f64,
        /// L2 weight decay λ added to the gradient, as PyTorch's `Adam` (0: none).
        #[serde(default, skip_serializing_if = "is_zero")]
        weight_decay: f64,
    },
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

fn default_b1() -> f64 {
    0.9
}
fn default_b2() -> f64 {
    0.999
}
fn default_eps() -> f64 {
    1e-8
}

impl OptimizerConfig {
    /// Checks the values: `lr` finite and > 0, SGD `momentum` and Adam `beta1`, `beta2` in
    /// `[0, 1)`, Adam `eps` > 0; `key` names the table in messages (e.g.
    /// `training.optimizer`).
    pub fn check(&self, key: &str) -> anyhow::Result<()> {
        use crate::config::check;
        match *self {
            OptimizerConfig::Sgd {
                lr,
                momentum,
                weight_decay,
            } => {
                check::positive(&format!("{key}.lr"), lr)?;
                check::non_negative(&format!("{key}.weight_decay"), weight_decay)?;
                check::fraction(&format!("{key}.momentum"), momentum)
            }
            OptimizerConfig::Adam {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
            } => {
                check::positive(&format!("{key}.lr"), lr)?;
                check::non_negative(&format!("{key}.weight_decay"), weight_decay)?;
                check::fraction(&format!("{key}.beta1"), beta1)?;
                check::fraction(&format!("{key}.beta2"), beta2)?;
                check::positive(&format!("{key}.eps"), eps)
            }
        }
    }
}

/// Optimizer state.
#[derive(Clone, Debug)]
pub struct Optimizer {
    cfg: OptimizerConfig,
    m: Vec<f64>,
    v: Vec<f64>,
    t: u64,
    factor: f64,
}

impl Optimizer {
    /// Fresh state for `n` parameters.
    pub fn new(cfg: OptimizerConfig, n: usize) -> Self {
        Self {
            cfg,
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
            factor: 1.0,
        }
    }

    /// The moment estimates and step count (for checkpoints).
    pub fn state(&self) -> (&[f64], &[f64], u64) {
        (&self.m, &self.v, self.t)
    }

    /// Restores the state saved by [`Optimizer::state`].
    pub fn set_state(&mut self, m: &[f64], v: &[f64], t: u64) {
        self.m.copy_from_slice(m);
        self.v.copy_from_slice(v);
        self.t = t;
    }

    /// Multiplies the configured learning rate by `factor` from now on (a schedule).
    pub fn set_lr_factor(&mut self, factor: f64) {
        self.factor = factor;
    }

    /// One descent step `θ ← θ − update(g)`.
    pub fn step(&mut self, theta: &mut [f64], grad: &[f64]) {
        self.step_scaled(theta, grad, None);
    }

    /// One descent step whose learning rate is multiplied per parameter by `scale` (e.g.
    /// per-layer rates). It scales the *step*, so it acts under Adam too (scaling Adam's
    /// gradient would cancel in its normalisation).
    pub fn step_scaled(&mut self, theta: &mut [f64], grad: &[f64], scale: Option<&[f64]>) {
        self.t += 1;
        let f = self.factor;
        let s = |i: usize| scale.map_or(1.0, |v| v[i]);
        match self.cfg {
            OptimizerConfig::Sgd {
                lr,
                momentum,
                weight_decay,
            } => {
                let lr = lr * f;
                for (i, ((p, m), &g)) in theta.iter_mut().zip(&mut self.m).zip(grad).enumerate() {
                    *m = momentum * *m + g + weight_decay * *p;
                    *p -= lr * (s(i) * *m);
                }
            }
            OptimizerConfig::Adam {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
            } => {
                let lr = lr * f;
                let c1 = 1.0 - beta1.powi(self.t as i32);
                let c2 = 1.0 - beta2.powi(self.t as i32);
                for (i, (((p, m), v), &g)) in theta
                    .iter_mut()
                    .zip(&mut self.m)
                    .zip(&mut self.v)
                    .zip(grad)
                    .enumerate()
                {
                    let g = g + weight_decay * *p;
                    *m = beta1 * *m + (1.0 - beta1) * g;
                    *v = beta2 * *v + (1.0 - beta2) * g * g;
                    *p -= lr * s(i) * (*m / c1) / ((*v / c2).sqrt() + eps);
                }
            }
        }
    }
}
