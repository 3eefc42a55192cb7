//! First-order optimizers over the flat parameter vector.

use crate::real::Real;
use rayon::prelude::*;
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
        let scale = scale.map_or(Scale::One, Scale::Each);
        self.step_kernel::<f64>(theta, grad, scale, None);
    }

    /// [`Optimizer::step_scaled`] with the rate multiplied by `runs` (sorted `(start, factor)`
    /// pairs: parameters `start..` up to the next start take `factor`; the first start is 0),
    /// also writing the new parameters to `out` in the working precision: one pass over θ
    /// instead of a step and a conversion, with no per-parameter scale to read.
    pub fn step_into<T: Real>(
        &mut self,
        theta: &mut [f64],
        grad: &[f64],
        runs: &[(usize, f64)],
        out: &mut [T],
    ) {
        assert!(
            runs.first().is_some_and(|r| r.0 == 0) && runs.windows(2).all(|w| w[0].0 <= w[1].0),
            "scale runs must start at 0 and be sorted"
        );
        assert_eq!(out.len(), theta.len(), "one output entry per parameter");
        self.step_kernel(theta, grad, Scale::Runs(runs), Some(out));
    }

    /// The update, elementwise and so split over threads in fixed pieces (same bits on any
    /// thread count).
    fn step_kernel<T: Real>(
        &mut self,
        theta: &mut [f64],
        grad: &[f64],
        scale: Scale<'_>,
        out: Option<&mut [T]>,
    ) {
        assert_eq!(theta.len(), grad.len(), "one gradient entry per parameter");
        self.t += 1;
        let rule = Rule::of(self.cfg, self.factor, self.t);
        let state = theta
            .par_chunks_mut(PIECE)
            .zip(self.m.par_chunks_mut(PIECE))
            .zip(self.v.par_chunks_mut(PIECE))
            .zip(grad.par_chunks(PIECE))
            .enumerate();
        let piece = |k: usize, p: &mut [f64], m: &mut [f64], v: &mut [f64], g: &[f64]| {
            scale.for_runs(k * PIECE, p.len(), |r, s| match s {
                Some(s) => rule.apply(
                    &mut p[r.clone()],
                    &mut m[r.clone()],
                    &mut v[r.clone()],
                    &g[r.clone()],
                    |i| s[i],
                ),
                None => {
                    let f = scale.factor_at(k * PIECE + r.start);
                    rule.apply(
                        &mut p[r.clone()],
                        &mut m[r.clone()],
                        &mut v[r.clone()],
                        &g[r],
                        |_| f,
                    )
                }
            });
        };
        match out {
            Some(out) => {
                state
                    .zip(out.par_chunks_mut(PIECE))
                    .for_each(|((k, (((p, m), v), g)), o)| {
                        piece(k, p, m, v, g);
                        for (o, &p) in o.iter_mut().zip(p.iter()) {
                            *o = T::of(p);
                        }
                    })
            }
            None => state.for_each(|(k, (((p, m), v), g))| piece(k, p, m, v, g)),
        }
    }
}

/// Parameters per parallel piece of an optimizer step.
const PIECE: usize = 1 << 14;

/// Per-parameter learning-rate factors.
#[derive(Clone, Copy)]
enum Scale<'a> {
    /// All 1.
    One,
    /// One factor per parameter.
    Each(&'a [f64]),
    /// Sorted `(start, factor)` runs.
    Runs(&'a [(usize, f64)]),
}

impl Scale<'_> {
    /// Calls `f(range, per_param)` over the sub-ranges of the piece `lo..lo + len` (ranges
    /// relative to `lo`): `per_param` holds that range's factors, or is `None` when the range
    /// has one factor ([`Scale::factor_at`]).
    fn for_runs(
        &self,
        lo: usize,
        len: usize,
        mut f: impl FnMut(std::ops::Range<usize>, Option<&[f64]>),
    ) {
        match *self {
            Scale::One => f(0..len, None),
            Scale::Each(s) => f(0..len, Some(&s[lo..lo + len])),
            Scale::Runs(runs) => {
                let hi = lo + len;
                for (k, &(start, _)) in runs.iter().enumerate() {
                    let end = runs.get(k + 1).map_or(usize::MAX, |r| r.0);
                    let (a, b) = (start.max(lo), end.min(hi));
                    if a < b {
                        f(a - lo..b - lo, None);
                    }
                }
            }
        }
    }

    /// The factor of parameter `i` (for [`Scale::One`] and [`Scale::Runs`]).
    fn factor_at(&self, i: usize) -> f64 {
        match *self {
            Scale::One => 1.0,
            Scale::Each(s) => s[i],
            Scale::Runs(runs) => runs[runs.partition_point(|r| r.0 <= i) - 1].1,
        }
    }
}

/// One step's constants.
#[derive(Clone, Copy)]
enum Rule {
    Sgd {
        lr: f64,
        mu: f64,
        wd: f64,
    },
    Adam {
        lr: f64,
        b1: f64,
        b2: f64,
        eps: f64,
        wd: f64,
        c1: f64,
        c2: f64,
    },
}

impl Rule {
    fn of(cfg: OptimizerConfig, factor: f64, t: u64) -> Self {
        match cfg {
            OptimizerConfig::Sgd {
                lr,
                momentum,
                weight_decay,
            } => Rule::Sgd {
                lr: lr * factor,
                mu: momentum,
                wd: weight_decay,
            },
            OptimizerConfig::Adam {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
            } => Rule::Adam {
                lr: lr * factor,
                b1: beta1,
                b2: beta2,
                eps,
                wd: weight_decay,
                c1: 1.0 - beta1.powi(t as i32),
                c2: 1.0 - beta2.powi(t as i32),
            },
        }
    }
}

impl Rule {
    /// `θ ← θ − update(g)` on one piece, parameter `i` at rate factor `s(i)`. Momentum-free
    /// SGD leaves `m` alone (its step needs no state).
    #[inline(always)]
    fn apply(
        &self,
        p: &mut [f64],
        m: &mut [f64],
        v: &mut [f64],
        g: &[f64],
        s: impl Fn(usize) -> f64,
    ) {
        match *self {
            Rule::Sgd { lr, mu: 0.0, wd } => {
                for i in 0..p.len() {
                    p[i] -= lr * (s(i) * (g[i] + wd * p[i]));
                }
            }
            Rule::Sgd { lr, mu, wd } => {
                for i in 0..p.len() {
                    m[i] = mu * m[i] + g[i] + wd * p[i];
                    p[i] -= lr * (s(i) * m[i]);
                }
            }
            Rule::Adam {
                lr,
                b1,
                b2,
                eps,
                wd,
                c1,
                c2,
            } => {
                for i in 0..p.len() {
                    let g = g[i] + wd * p[i];
                    m[i] = b1 * m[i] + (1.0 - b1) * g;
                    v[i] = b2 * v[i] + (1.0 - b2) * g * g;
                    p[i] -= lr * s(i) * (m[i] / c1) / ((v[i] / c2).sqrt() + eps);
                }
            }
        }
    }
}
