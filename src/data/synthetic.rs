//! Synthetic Gaussian data projected onto the input module, and denoising-score-matching
//! batches (symmetric-EqProp paper §9: "synthetic Gaussian data projected onto the module
//! dimensions").
//!
//! A datum is `y = A z + s₀ ζ` with a latent `z ~ N(0, I_r)`, a fixed random projection
//! `A ∈ R^{d × r}` (columns scaled so `E‖Az‖² = data_scale² · d`) and a small isotropic floor
//! `s₀ ζ`. Its covariance `Σ = A Aᵀ + s₀² I` is known, so the optimal score of the noisy
//! datum `ỹ = y + σ ε` is `−(Σ + σ² I)⁻¹ ỹ` and the DSM loss has a known floor.

use crate::dynamics::NoiseKey;
use crate::energy::cost::WeightedSquaredError;
use crate::real::Real;
use anyhow::ensure;
use serde::{Deserialize, Serialize};

/// Configuration of the synthetic data (TOML table `[data]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SyntheticConfig {
    /// Latent dimension `r`.
    pub latent_dim: usize,
    /// RMS amplitude of a data coordinate.
    pub data_scale: f64,
    /// Isotropic floor `s₀`.
    pub floor: f64,
    /// Noise levels σ; each sample draws one uniformly.
    pub sigmas: Vec<f64>,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self {
            latent_dim: 4,
            data_scale: 1.0,
            floor: 0.05,
            sigmas: vec![0.5, 1.0, 2.0],
        }
    }
}

impl SyntheticConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> anyhow::Result<()> {
        ensure!(self.latent_dim > 0, "data.latent_dim must be > 0");
        ensure!(
            self.data_scale.is_finite() && self.data_scale > 0.0,
            "data.data_scale must be > 0 (got {})",
            self.data_scale
        );
        ensure!(
            self.floor.is_finite() && self.floor >= 0.0,
            "data.floor must be ≥ 0"
        );
        ensure!(
            !self.sigmas.is_empty(),
            "data.sigmas must list at least one noise level"
        );
        ensure!(
            self.sigmas.iter().all(|s| s.is_finite() && *s > 0.0),
            "data.sigmas must all be > 0 (got {:?})",
            self.sigmas
        );
        Ok(())
    }
}

/// The data generator (fixed projection).
#[derive(Clone, Debug)]
pub struct GaussianData {
    cfg: SyntheticConfig,
    d: usize,
    /// `d × r`, row-major.
    proj: Vec<f64>,
}

/// One denoising-score-matching batch.
#[derive(Clone, Debug)]
pub struct DsmBatch {
    /// Clean data `y` (`B × d`).
    pub y: Vec<f64>,
    /// Noisy data `ỹ = y + σ ε`.
    pub y_noisy: Vec<f64>,
    /// Per-sample σ.
    pub sigma: Vec<f64>,
    /// Data dimension.
    pub d: usize,
}

impl GaussianData {
    /// A generator of `d`-dimensional data, the projection drawn from `seed`.
    pub fn new(cfg: &SyntheticConfig, d: usize, seed: u64) -> anyhow::Result<Self> {
        cfg.validate()?;
        let r = cfg.latent_dim;
        let mut rng = NoiseKey::new(seed, 0xDA7A).rng(0, 0);
        let mut proj: Vec<f64> = (0..d * r).map(|_| f64::randn(&mut rng)).collect();
        // E‖Az‖² = ‖A‖_F²; scale so that the total variance is data_scale² · d.
        let fro2: f64 = proj.iter().map(|v| v * v).sum();
        let want = (cfg.data_scale.powi(2) - cfg.floor.powi(2)).max(0.0) * d as f64;
        let f = (want / fro2).sqrt();
        proj.iter_mut().for_each(|v| *v *= f);
        Ok(Self {
            cfg: cfg.clone(),
            d,
            proj,
        })
    }

    /// Data dimension.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// Data covariance `Σ = A Aᵀ + s₀² I` (row-major `d × d`).
    pub fn covariance(&self) -> Vec<f64> {
        let (d, r) = (self.d, self.cfg.latent_dim);
        let mut s = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                s[i * d + j] = (0..r)
                    .map(|k| self.proj[i * r + k] * self.proj[j * r + k])
                    .sum();
            }
            s[i * d + i] += self.cfg.floor.powi(2);
        }
        s
    }

    /// Draws `n` clean samples and their noisy versions from the stream `key`.
    pub fn batch(&self, n: usize, key: NoiseKey) -> DsmBatch {
        let (d, r) = (self.d, self.cfg.latent_dim);
        let mut rng = key.rng(0, 0);
        let mut y = vec![0.0; n * d];
        let mut yn = vec![0.0; n * d];
        let mut sigma = vec![0.0; n];
        let mut z = vec![0.0; r];
        for b in 0..n {
            z.iter_mut().for_each(|v| *v = f64::randn(&mut rng));
            let s = self.cfg.sigmas
                [(rand::Rng::random::<u64>(&mut rng) % self.cfg.sigmas.len() as u64) as usize];
            sigma[b] = s;
            for i in 0..d {
                let yi: f64 = (0..r).map(|k| self.proj[i * r + k] * z[k]).sum::<f64>()
                    + self.cfg.floor * f64::randn(&mut rng);
                y[b * d + i] = yi;
                yn[b * d + i] = yi + s * f64::randn(&mut rng);
            }
        }
        DsmBatch {
            y,
            y_noisy: yn,
            sigma,
            d,
        }
    }
}

impl DsmBatch {
    /// Batch size.
    pub fn len(&self) -> usize {
        self.sigma.len()
    }
    /// True for an empty batch.
    pub fn is_empty(&self) -> bool {
        self.sigma.is_empty()
    }

    /// Initial states (`B × dim`): the noisy datum clamped on the input prefix, zeros elsewhere.
    pub fn initial_state<T: Real>(&self, dim: usize) -> Vec<T> {
        let mut x = vec![T::zero(); self.len() * dim];
        for b in 0..self.len() {
            for i in 0..self.d {
                x[b * dim + i] = T::of(self.y_noisy[b * self.d + i]);
            }
        }
        x
    }

    /// The DSM cost `σ²/2 ‖x_O − (y − ỹ)/σ²‖²` on the output block `start..start + d`.
    pub fn cost<T: Real>(&self, start: usize) -> WeightedSquaredError<T> {
        let d = self.d;
        let mut target = vec![T::zero(); self.len() * d];
        for b in 0..self.len() {
            let s2 = self.sigma[b] * self.sigma[b];
            for i in 0..d {
                target[b * d + i] = T::of((self.y[b * d + i] - self.y_noisy[b * d + i]) / s2);
            }
        }
        WeightedSquaredError {
            start,
            len: d,
            target,
            weight: self.sigma.iter().map(|s| T::of(s * s)).collect(),
        }
    }
}
