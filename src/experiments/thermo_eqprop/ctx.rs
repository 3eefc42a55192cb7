//! Shared state of one reproduction run: substrate, data, keys, progress bar.

use super::config::ThermoConfig;
use crate::data::synthetic::{DsmBatch, GaussianData};
use crate::dynamics::{Langevin, NewtonOptions, NoiseKey, Workspace, relax_to_equilibrium};
use crate::energy::Energy;
use crate::energy::bilinear::Bilinear;
use crate::energy::cost::WeightedSquaredError;
use crate::learn::EqProp;
use crate::learn::exact::implicit_gradient;
use crate::real::Real;
use indicatif::ProgressBar;

/// Stream ids of the experiment's random uses.
pub mod stream {
    /// E1 batches.
    pub const E1: u64 = 1;
    /// E2 batches.
    pub const E2: u64 = 2;
    /// E3 bias–variance batch and repetitions.
    pub const E3: u64 = 3;
    /// Training batches.
    pub const TRAIN: u64 = 4;
    /// Validation batch.
    pub const VALID: u64 = 5;
}

/// One experiment's shared state.
pub struct Ctx<'a, T: Real> {
    /// Configuration.
    pub cfg: &'a ThermoConfig,
    /// The substrate at its initial parameters.
    pub energy: Bilinear<T>,
    /// Data generator.
    pub data: GaussianData,
    /// Clamped prefix length (the input block).
    pub nc: usize,
    /// First output coordinate.
    pub out_start: usize,
    /// Root key.
    pub key: NoiseKey,
    /// Progress bar shared by all stages.
    pub pb: ProgressBar,
}

/// A batch made ready for the engine.
pub struct Prepared<T: Real> {
    /// The data.
    pub batch: DsmBatch,
    /// Initial state (input clamped, rest zero).
    pub x0: Vec<T>,
    /// DSM cost.
    pub cost: WeightedSquaredError<T>,
}

impl<'a, T: Real> Ctx<'a, T> {
    /// Builds the substrate and data of `cfg`.
    pub fn new(cfg: &'a ThermoConfig, pb: ProgressBar) -> anyhow::Result<Self> {
        let energy = Bilinear::<T>::new(&cfg.substrate, cfg.seed)?;
        let nc = energy.n_clamped();
        let (out_start, _) = energy.output_block();
        let data = GaussianData::new(&cfg.data, nc, cfg.seed)?;
        Ok(Self {
            cfg,
            energy,
            data,
            nc,
            out_start,
            key: NoiseKey::new(cfg.seed, 0),
            pb,
        })
    }

    /// Batch `i` of stream `purpose`, of `n` samples.
    pub fn batch_n(&self, purpose: u64, i: u64, n: usize) -> Prepared<T> {
        let batch = self.data.batch(n, self.key.child(purpose).child(i));
        let x0 = batch.initial_state::<T>(self.energy.dim());
        let cost = batch.cost::<T>(self.out_start);
        Prepared { batch, x0, cost }
    }

    /// Batch `i` of stream `purpose` (configured batch size).
    pub fn batch(&self, purpose: u64, i: u64) -> Prepared<T> {
        self.batch_n(purpose, i, self.cfg.batch_size)
    }

    /// The finite-relaxation dynamics with `steps` and temperature overridden.
    pub fn dynamics(&self, steps: usize, temperature: f64) -> Langevin {
        Langevin {
            dt: self.cfg.dynamics.dt,
            steps,
            temperature,
        }
    }

    /// Exact free-phase equilibrium of a batch.
    pub fn equilibrium<E: Energy<T>>(&self, energy: &E, p: &Prepared<T>) -> anyhow::Result<Vec<T>> {
        let mut x = p.x0.clone();
        relax_to_equilibrium(
            energy,
            &mut x,
            self.nc,
            None,
            NewtonOptions {
                tol: 1e-12,
                max_iter: 200,
            },
            "free (exact equilibrium)",
        )?;
        Ok(x)
    }

    /// Exact (implicit-differentiation) gradient of the batch loss at equilibrium.
    pub fn implicit<E: Energy<T>>(&self, energy: &E, p: &Prepared<T>) -> anyhow::Result<Vec<f64>> {
        let x = self.equilibrium(energy, p)?;
        Ok(implicit_gradient(energy, &x, self.nc, &p.cost))
    }
}

impl<T: Real> Ctx<'_, T> {
    /// Runs `ep` on a prepared batch of the initial substrate; returns the estimate.
    pub fn estimate(
        &self,
        p: &Prepared<T>,
        ep: &EqProp,
        key: NoiseKey,
        ws: &mut Workspace<T>,
    ) -> anyhow::Result<Vec<f64>> {
        Ok(ep
            .gradient(&self.energy, &p.x0, self.nc, &p.cost, key, ws)?
            .grad)
    }
}

/// Element-wise mean of vectors.
pub fn mean_vec(v: &[Vec<f64>]) -> Vec<f64> {
    let n = v.len() as f64;
    let mut m = vec![0.0; v[0].len()];
    for x in v {
        for (a, b) in m.iter_mut().zip(x) {
            *a += b / n;
        }
    }
    m
}
