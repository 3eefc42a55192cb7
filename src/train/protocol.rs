//! The sequential per-time-point trainer of a physical diffusion model's driving protocol
//! (Bösch et al. 2025, "Local Learning Rules for Out-of-Equilibrium Physical Generative
//! Models"): for each `t_k` of the grid, in increasing order, minimise the chosen score
//! rule's objective on noised data `x_t = e^{−t}x_0 + σ_t ε`, warm-started from
//! `θ(t_{k−1})`, projecting `γ_n ≥ γ_min` after every step. The rules are
//! [`crate::learn::Rule`]s (`force_matching`, `dsm`, `cd1`) and every step goes through
//! [`super::step::Stepper`].

use super::step::Stepper;
use crate::dynamics::{Langevin, NoiseKey};
use crate::energy::cost::NoCost;
use crate::energy::oscillator::{LinearEnergy, OscillatorProtocol};
use crate::learn::PhaseSpec;
use crate::learn::cd1::Cd1Config;
use crate::learn::optim::{Optimizer, OptimizerConfig};
use crate::learn::rule::{Batch, Phases, RuleSettings};
use crate::learn::score::{
    Forward, ScoreRule, ScoreWorkspace, force_matching_grad, forward_sigma, noise_batch,
    sm_objective,
};
use crate::real::Real;
use anyhow::{Context, ensure};
use serde::{Deserialize, Serialize};

fn default_one() -> f64 {
    1.0
}

/// The sequential per-time-point trainer of the driving protocol (TOML table
/// `[train]`): for each `t_k` of the grid, in increasing order, minimise the chosen objective
/// on noised data `x_t = e^{−t}x_0 + σ_t ε` with the optimizer (Adam in the paper's spirit),
/// warm-started from `θ(t_{k−1})`, projecting `γ_n ≥ γ_min` after every step.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProtocolTrainConfig {
    /// Learning rule.
    pub rule: ScoreRule,
    /// `k_BT` of the bath (forward process, noise and score scale).
    pub temperature: f64,
    /// Time grid `t_0 = 0 < … < t_Nt = τ` (see [`uniform_times`]).
    pub times: Vec<f64>,
    /// Optimizer steps per time point.
    pub steps: usize,
    /// Steps at `t_0` (a cold start; default `steps`).
    #[serde(default)]
    pub first_steps: Option<usize>,
    /// Noised samples per step.
    pub batch: usize,
    /// Draw one batch per time point and reuse it every step (full-batch minimisation of the
    /// empirical objective); otherwise a fresh batch every step.
    #[serde(default)]
    pub fixed_batch: bool,
    /// Optimizer (the state is reset at every time point).
    pub optimizer: OptimizerConfig,
    /// Learning-rate decay within a time point: the rate goes geometrically from `lr` to
    /// `lr · lr_final_frac` over the steps (1 = constant).
    #[serde(default = "default_one")]
    pub lr_final_frac: f64,
    /// CD1 settings (rule `cd1`).
    #[serde(default)]
    pub cd1: Cd1Config,
    /// DSM is undefined at `σ_t = 0`: rule `dsm` noises the data at `max(t, dsm_min_time)`.
    #[serde(default)]
    pub dsm_min_time: f64,
}

/// `n + 1` equally spaced times `0, τ/n, …, τ`.
pub fn uniform_times(tau: f64, n: usize) -> Vec<f64> {
    (0..=n).map(|k| tau * k as f64 / n as f64).collect()
}

impl ProtocolTrainConfig {
    /// Checks the configuration, naming the offending key.
    pub fn validate(&self) -> anyhow::Result<()> {
        crate::config::check::positive("train.temperature", self.temperature)?;
        ensure!(!self.times.is_empty(), "train.times is empty");
        ensure!(
            self.times[0] >= 0.0
                && self.times.iter().all(|t| t.is_finite())
                && self.times.windows(2).all(|w| w[1] > w[0]),
            "train.times must be finite, ≥ 0 and strictly increasing"
        );
        ensure!(
            self.steps > 0 && self.first_steps != Some(0),
            "train.steps must be > 0"
        );
        ensure!(self.batch > 0, "train.batch must be > 0");
        self.optimizer.check("train.optimizer")?;
        ensure!(
            self.lr_final_frac > 0.0 && self.lr_final_frac <= 1.0,
            "train.lr_final_frac must be in (0, 1]"
        );
        if self.rule == ScoreRule::Cd1 {
            self.cd1.validate()?;
        }
        if self.rule == ScoreRule::Dsm {
            ensure!(
                self.times[0] > 0.0 || self.dsm_min_time > 0.0,
                "train.rule = dsm needs train.dsm_min_time > 0 when the grid starts at t = 0 (σ_0 = 0)"
            );
        }
        Ok(())
    }
}

/// Diagnostics of one time point, after its last step.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TimePointStats {
    /// `t_k`.
    pub t: f64,
    /// `σ_t` of the noised data used.
    pub sigma: f64,
    /// `J_SM` (eq. 7, sign corrected) of the final θ on the last batch.
    pub sm_objective: f64,
    /// Norm of the projected force-matching gradient on the last batch (0 at a constrained
    /// minimiser of the empirical objective).
    pub projected_grad_norm: f64,
}

/// The learned protocol with per-time-point diagnostics.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainedProtocol {
    /// `θ(t_k)` on the grid.
    pub protocol: OscillatorProtocol,
    /// One entry per time point.
    pub stats: Vec<TimePointStats>,
}

/// The key of the noised batches of time point `k` of [`train_protocol`] (a fixed batch is
/// `noise_batch(.., batch_key(key, k), 0, ..)`).
pub fn batch_key(key: NoiseKey, k: usize) -> NoiseKey {
    key.child(k as u64).child(0)
}

/// The key of the CD1 noise draws of time point `k` (keyed further by step and chunk).
pub fn rule_key(key: NoiseKey, k: usize) -> NoiseKey {
    key.child(k as u64).child(1)
}

/// A per-step callback `(time index k, step, θ after the step, gradient used)`.
pub type TrainObserver<'a> = &'a mut dyn FnMut(usize, usize, &[f64], &[f64]);

/// The phases of a score rule at bath temperature `kt`: one Euler–Maruyama step of length
/// `δ` (what CD1 runs; force matching and DSM read only the temperature).
fn score_phases(kt: f64, cd1: &Cd1Config) -> Phases {
    let one_step = PhaseSpec::finite(Langevin {
        dt: cd1.delta,
        steps: 1,
        temperature: kt,
    });
    Phases {
        free: one_step,
        nudged: one_step,
    }
}

/// Learns the driving protocol on the sample-major data set `data` (`M × D`), starting from
/// the energy's current parameters (projected). Leaves the energy at `θ(t_Nt)`.
/// Per step it draws no allocation: batches, gradients and parameters live in buffers
/// allocated once (the optimizer state once per time point). Step `s` of time point `k`
/// keys its rule by `rule_key(key, k).child(s)`.
pub fn train_protocol<T: Real, E: LinearEnergy<T>>(
    energy: &mut E,
    data: &[T],
    cfg: &ProtocolTrainConfig,
    key: NoiseKey,
    mut observe: Option<TrainObserver<'_>>,
) -> anyhow::Result<TrainedProtocol> {
    cfg.validate()?;
    let d = energy.dim();
    ensure!(
        !data.is_empty() && data.len().is_multiple_of(d),
        "train_protocol: data must hold a positive number of samples of dimension {d}"
    );
    let kt = cfg.temperature;
    let np = energy.n_params();
    let mut stepper = Stepper::new(Optimizer::new(cfg.optimizer, np), &*energy);
    let mut theta = stepper.theta.clone();
    energy.project_params(&mut theta);
    stepper.set_theta(energy, &theta)?;
    let mut xt = vec![T::zero(); cfg.batch * d];
    let mut eps = vec![T::zero(); cfg.batch * d];
    let mut sw = ScoreWorkspace::new();
    let mut grad = vec![0.0; np];
    let mut params = Vec::with_capacity(cfg.times.len());
    let mut stats = Vec::with_capacity(cfg.times.len());
    let phases = score_phases(kt, &cfg.cd1);
    let lb = energy.lower_bounds();
    for (k, &t) in cfg.times.iter().enumerate() {
        let t_noise = if cfg.rule == ScoreRule::Dsm {
            t.max(cfg.dsm_min_time)
        } else {
            t
        };
        let sigma = forward_sigma(t_noise, kt);
        let rule = RuleSettings::new(cfg.rule.into(), 0.0)
            .with_sigma(sigma)
            .with_cd1(cfg.cd1)
            .build::<T>();
        let (bkey, rkey) = (batch_key(key, k), rule_key(key, k));
        let steps = if k == 0 {
            cfg.first_steps.unwrap_or(cfg.steps)
        } else {
            cfg.steps
        };
        stepper.opt = Optimizer::new(cfg.optimizer, np);
        for s in 0..steps {
            if s == 0 || !cfg.fixed_batch {
                let step = if cfg.fixed_batch { 0 } else { s as u64 };
                let at = Forward { t: t_noise, kt };
                noise_batch(data, d, at, bkey, step, &mut xt, &mut eps);
            }
            if cfg.lr_final_frac < 1.0 && steps > 1 {
                let f = cfg.lr_final_frac.powf(s as f64 / (steps - 1) as f64);
                stepper.opt.set_lr_factor(f);
            }
            let batch = Batch {
                x0: &xt,
                nc: 0,
                cost: &NoCost,
                noise: Some(&eps),
            };
            let est = rule
                .gradient(
                    &*energy,
                    &batch,
                    &phases,
                    rkey.child(s as u64),
                    &mut stepper.ws,
                )
                .with_context(|| format!("train_protocol at t = {t}, step {s}"))?;
            stepper.apply(energy, &est.grad).with_context(|| {
                format!(
                    "train_protocol at t = {t}, step {s}: reduce the learning rate or raise \
                         gamma_min"
                )
            })?;
            if let Some(obs) = observe.as_mut() {
                obs(k, s, &stepper.theta, &est.grad);
            }
            stepper.recycle(est);
        }
        force_matching_grad(&*energy, &xt, kt, &mut sw, &mut grad);
        let th = &stepper.theta;
        let pg: f64 = grad
            .iter()
            .enumerate()
            .map(|(i, &g)| {
                let at = lb[i].is_finite() && th[i] <= lb[i] && g > 0.0;
                if at { 0.0 } else { g * g }
            })
            .sum::<f64>()
            .sqrt();
        stats.push(TimePointStats {
            t,
            sigma,
            sm_objective: sm_objective(&*energy, &xt, kt),
            projected_grad_norm: pg,
        });
        params.push(th.clone());
    }
    Ok(TrainedProtocol {
        protocol: OscillatorProtocol::new(cfg.times.clone(), params)?,
        stats,
    })
}
