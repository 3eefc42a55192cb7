//! Configuration of the symmetric-EqProp reproduction (`configs/thermo-eqprop.toml`).
//!
//! Operating point (documented choice; the paper leaves it open): stiffness `a = 1`, quartic
//! `c = 0.25`, initial coupling norm `0.9 a`, initial biases `N(0, 0.5²)`; this gives a free
//! Hessian with `λ⋆ ≈ 0.5`, so the slowest relaxation time `1/λ⋆ ≈ 2` is comparable to the
//! relaxation budget `K·dt = 300 × 0.01 = 3`: the free phase is still relaxing when the nudge
//! starts (the paper's "finite relaxation" regime). `k_BT = 1e-3` (`β_phys = 1000`) puts the
//! bias–variance optimum of the symmetric estimator inside the β grid.

use crate::data::synthetic::SyntheticConfig;
use crate::dynamics::Langevin;
use crate::energy::bilinear::BilinearConfig;
use crate::learn::OptimizerConfig;
use anyhow::ensure;
use serde::{Deserialize, Serialize};

/// Whole experiment configuration.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ThermoConfig {
    /// Run seed (parameters, data and noise streams are all keyed by it).
    pub seed: u64,
    /// Floating-point precision of the simulation: "f64" (the paper) or "f32".
    pub precision: crate::real::Precision,
    /// Samples per batch.
    pub batch_size: usize,
    /// The substrate.
    pub substrate: BilinearConfig,
    /// The synthetic data.
    pub data: SyntheticConfig,
    /// Finite-relaxation dynamics of each phase: `dt`, `K = steps`, temperature `k_BT`.
    pub dynamics: Langevin,
    /// E1: gradient agreement.
    pub e1: E1Config,
    /// E2: bias scaling.
    pub e2: E2Config,
    /// E3: bias–variance trade-off and training.
    pub e3: E3Config,
    /// Physical cost accounting.
    pub cost_model: CostModel,
}

/// E1 settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct E1Config {
    /// Nudge strength β of the headline cosines.
    pub beta: f64,
    /// Number of independent batches (mean ± std is over them).
    pub batches: usize,
    /// Relaxation budgets `K` of the cosine-vs-budget curve.
    pub k_curve: Vec<usize>,
    /// β values of the cosine-vs-β curve (finite relaxation).
    pub beta_curve: Vec<f64>,
}

/// E2 settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct E2Config {
    /// β grid (log-spaced).
    pub betas: Vec<f64>,
    /// Batches averaged into `E[g_β]`.
    pub batches: usize,
    /// Largest β used in the slope fit (the small-β asymptotic regime).
    pub fit_max_beta: f64,
}

/// E3 settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct E3Config {
    /// β grid of the variance / MSE curves.
    pub betas: Vec<f64>,
    /// Independent noise realisations per β.
    pub reps: usize,
    /// Steps each phase equilibrates before its readout window.
    pub equilibrate_steps: usize,
    /// Steps of the readout window (time-averaged `∂_θE`), `τ = readout_steps · dt`.
    pub readout_steps: usize,
    /// Training runs.
    pub train: TrainConfig,
}

/// Training-run settings (E3).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Optimizer steps.
    pub steps: usize,
    /// Nudge strength β of the EqProp runs.
    pub beta: f64,
    /// Optimizer.
    pub optimizer: OptimizerConfig,
    /// Evaluate losses and alignment every this many steps.
    pub eval_every: usize,
    /// Validation batch size.
    pub eval_batch: usize,
}

/// Inputs of the physical-unit cost accounting (paper §8).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CostModel {
    /// Physical temperature of the substrate in kelvin (`k_B T` in joules follows).
    pub temperature_kelvin: f64,
    /// `c_init`: the initial-displacement factor of the dissipated energy per cell and
    /// equilibration, `c_init k_BT / (2 λ⋆)` (paper §8). `c_init = 2` gives the paper's
    /// `E ≈ 3 N_cells k_BT / λ⋆` for the three phases of a symmetric step.
    pub c_init: f64,
    /// Energy of one digital multiply-accumulate in joules (paper: `1e-11`).
    pub e_mac_j: f64,
    /// Digital backprop cost as a multiple of the forward pass (forward + backward ≈ 3).
    pub backprop_factor: f64,
    /// Stiffness values `a` of the advantage-vs-stiffness sweep.
    pub stiffness_sweep: Vec<f64>,
}

impl Default for ThermoConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            precision: crate::real::Precision::F64,
            batch_size: 64,
            substrate: BilinearConfig {
                quartic: 0.25,
                init_coupling: 0.9,
                init_bias: 0.5,
                ..BilinearConfig::default()
            },
            data: SyntheticConfig::default(),
            dynamics: Langevin {
                dt: 0.01,
                steps: 300,
                temperature: 1e-3,
            },
            e1: E1Config::default(),
            e2: E2Config::default(),
            e3: E3Config::default(),
            cost_model: CostModel::default(),
        }
    }
}

impl Default for E1Config {
    fn default() -> Self {
        Self {
            beta: 0.02,
            batches: 20,
            k_curve: vec![10, 25, 50, 100, 200, 300, 500, 1000, 2000, 4000],
            beta_curve: vec![0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0],
        }
    }
}

impl Default for E2Config {
    fn default() -> Self {
        Self {
            betas: vec![
                0.001, 0.0018, 0.0032, 0.0056, 0.01, 0.018, 0.032, 0.056, 0.1, 0.18, 0.32, 0.56,
                1.0,
            ],
            batches: 20,
            fit_max_beta: 0.1,
        }
    }
}

impl Default for E3Config {
    fn default() -> Self {
        Self {
            betas: vec![
                0.003, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0,
            ],
            reps: 48,
            equilibrate_steps: 1000,
            readout_steps: 300,
            train: TrainConfig::default(),
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            steps: 400,
            beta: 0.1,
            optimizer: OptimizerConfig::Adam {
                lr: 3e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
            },
            eval_every: 20,
            eval_batch: 256,
        }
    }
}

impl Default for CostModel {
    fn default() -> Self {
        Self {
            temperature_kelvin: 300.0,
            c_init: 2.0,
            e_mac_j: 1e-11,
            backprop_factor: 3.0,
            stiffness_sweep: vec![0.25, 0.5, 1.0, 2.0, 4.0, 8.0],
        }
    }
}

impl ThermoConfig {
    /// Cheaper settings for `--quick` (same physics, fewer batches, repetitions and steps).
    pub fn quick(mut self) -> Self {
        self.e1.batches = 8;
        self.e1.k_curve = vec![25, 100, 300, 1000, 3000];
        self.e1.beta_curve = vec![0.001, 0.01, 0.05, 0.2, 1.0];
        self.e2.batches = 4;
        self.e2.betas = vec![0.001, 0.0032, 0.01, 0.032, 0.1, 0.32, 1.0];
        self.e3.betas = vec![0.003, 0.01, 0.03, 0.1, 0.3, 1.0];
        self.e3.reps = 12;
        self.e3.equilibrate_steps = 600;
        self.e3.readout_steps = 200;
        self.e3.train.steps = 60;
        self.e3.train.eval_every = 10;
        self.e3.train.eval_batch = 128;
        self
    }

    /// Checks every section, with errors naming the key.
    pub fn validate(&self) -> anyhow::Result<()> {
        ensure!(self.batch_size > 0, "batch_size must be > 0");
        self.substrate.validate()?;
        self.data.validate()?;
        let (i, o) = (self.substrate.input_dim(), self.substrate.output_dim());
        ensure!(
            i == o,
            "substrate: the input block has {i} coordinates but the output block has {o}; the score readout must have the data's dimension"
        );
        self.dynamics.check("dynamics")?;
        let pos = |v: &[f64], k: &str| -> anyhow::Result<()> {
            ensure!(
                !v.is_empty() && v.iter().all(|b| b.is_finite() && *b > 0.0),
                "{k} must be a non-empty list of positive numbers"
            );
            Ok(())
        };
        ensure!(self.e1.beta > 0.0, "e1.beta must be > 0");
        ensure!(self.e1.batches > 1, "e1.batches must be ≥ 2");
        pos(&self.e1.beta_curve, "e1.beta_curve")?;
        pos(&self.e2.betas, "e2.betas")?;
        ensure!(self.e2.batches > 0, "e2.batches must be > 0");
        pos(&self.e3.betas, "e3.betas")?;
        ensure!(self.e3.reps > 1, "e3.reps must be ≥ 2");
        ensure!(self.e3.readout_steps > 0, "e3.readout_steps must be > 0");
        ensure!(self.e3.train.beta > 0.0, "e3.train.beta must be > 0");
        self.e3.train.optimizer.check("e3.train.optimizer")?;
        ensure!(
            self.e3.train.eval_every > 0,
            "e3.train.eval_every must be > 0"
        );
        let c = &self.cost_model;
        ensure!(
            c.temperature_kelvin > 0.0,
            "cost_model.temperature_kelvin must be > 0"
        );
        pos(&c.stiffness_sweep, "cost_model.stiffness_sweep")?;
        Ok(())
    }
}

impl crate::config::Layered for ThermoConfig {
    fn check(&self) -> anyhow::Result<()> {
        self.validate()
    }
}
