//! The three small f64 systems the estimator comparison runs on: a bilinear low-rank
//! substrate with a denoising-score-matching batch, and dense and convolutional Hopfield nets
//! with random inputs and one-hot targets. The rule-matrix tests run on the same systems.

use crate::data::synthetic::{DsmBatch, GaussianData, SyntheticConfig};
use crate::dynamics::NoiseKey;
use crate::energy::bilinear::{Bilinear, BilinearConfig};
use crate::energy::cost::{Cost, WeightedSquaredError};
use crate::energy::layered::{ConvSpec, DenseInit, Layered, PoolKind, Shape, Stage};
use crate::energy::{Classifier, Energy};
use crate::learn::rule::Batch;
use crate::real::Real;

/// A substrate with a batch: initial states, clamped prefix and cost.
pub struct System {
    /// The substrate's name in reports (`bilinear`, `hopfield_dense`, `hopfield_conv`).
    pub name: &'static str,
    /// The substrate.
    pub energy: Box<dyn Energy<f64>>,
    /// Initial states, sample-major, with the clamped prefix set.
    pub x0: Vec<f64>,
    /// Length of the clamped prefix.
    pub nc: usize,
    /// The cost on the output block.
    pub cost: Box<dyn Cost<f64>>,
    /// The largest β at which the EqProp bias is still in its asymptotic regime. Hard-sigmoid
    /// units make the Hopfield equilibria only piecewise smooth in β: the orders hold while no
    /// unit reaches a wall of the box, and on these nets units sit within 10⁻³ of a wall
    /// (measured: `negative` at β = 0.005 had 50 times the bias that first order predicts).
    pub beta: f64,
}

impl System {
    /// The batch view the rules take.
    pub fn batch(&self) -> Batch<'_, f64> {
        Batch {
            x0: &self.x0,
            nc: self.nc,
            cost: &*self.cost,
            noise: None,
        }
    }
}

/// Modules [3, 4, 3] (input, hidden, output), rank 2, quartic self-energy, biases.
pub fn bilinear_config() -> BilinearConfig {
    BilinearConfig {
        modules: vec![3, 4, 3],
        input_modules: 1,
        output_modules: 1,
        rank: 2,
        pairs: None,
        stiffness: 1.0,
        quartic: 0.5,
        init_coupling: 0.6,
        init_bias: 0.2,
    }
}

/// The bilinear substrate of [`bilinear_config`] at `seed` with a DSM batch of `n` samples
/// (latent dimension 2, noise levels 0.5 and 1).
pub fn bilinear_parts(seed: u64, n: usize) -> anyhow::Result<(Bilinear<f64>, DsmBatch)> {
    let e = Bilinear::<f64>::new(&bilinear_config(), seed)?;
    let data = GaussianData::new(
        &SyntheticConfig {
            latent_dim: 2,
            data_scale: 1.0,
            floor: 0.1,
            sigmas: vec![0.5, 1.0],
        },
        3,
        seed,
    )?;
    Ok((e, data.batch(n, NoiseKey::new(seed, 7))))
}

/// The bilinear system: 4 samples, clamped input module of 3.
pub fn bilinear(seed: u64) -> anyhow::Result<System> {
    let (e, batch) = bilinear_parts(seed, 4)?;
    let cost = batch.cost::<f64>(e.output_block().0);
    let x0 = batch.initial_state::<f64>(e.dim());
    Ok(System {
        name: "bilinear",
        energy: Box::new(e),
        x0,
        nc: 3,
        cost: Box::new(cost),
        beta: 0.02,
    })
}

/// A layered net with 4 random inputs in [0, 1] ([`random_batch`]), one-hot targets, weights at half their
/// initial scale and biases 0.2 ± 0.15, so that few units sit at the walls of the box.
fn layered(name: &'static str, mut e: Layered<f64>, seed: u64) -> anyhow::Result<System> {
    let mut th: Vec<f64> = e.params().iter().map(|v| 0.5 * v).collect();
    for b in e.param_blocks().iter().filter(|b| b.name.starts_with('b')) {
        for (i, v) in th[b.offset..b.offset + b.len()].iter_mut().enumerate() {
            *v = 0.2 + 0.05 * ((i % 7) as f64 - 3.0);
        }
    }
    e.set_params(&th)?;
    let (x0, cost) = random_batch(4, e.dim(), e.n_clamped(), e.output_block(), seed);
    Ok(System {
        name,
        nc: e.n_clamped(),
        energy: Box::new(e),
        x0,
        cost: Box::new(cost),
        beta: 1e-3,
    })
}

/// `n` states of dimension `d` whose first `n_in` coordinates are uniform in `[0, 1)` (drawn
/// in f64 from `NoiseKey::new(seed, 1)`) and the rest 0, and the squared-error cost towards
/// the one-hot target `b % len` on the output block `(start, len)`.
pub fn random_batch<T: Real>(
    n: usize,
    d: usize,
    n_in: usize,
    (start, len): (usize, usize),
    seed: u64,
) -> (Vec<T>, WeightedSquaredError<T>) {
    let mut rng = NoiseKey::new(seed, 1).rng(0, 0);
    let mut x0 = vec![T::zero(); n * d];
    let mut target = vec![T::zero(); n * len];
    for b in 0..n {
        for v in &mut x0[b * d..b * d + n_in] {
            *v = T::of(rand::Rng::random::<f64>(&mut rng));
        }
        target[b * len + b % len] = T::one();
    }
    let cost = WeightedSquaredError {
        start,
        len,
        target,
        weight: vec![T::one(); n],
    };
    (x0, cost)
}

/// A dense Hopfield net 5 → 6 → 3.
pub fn hopfield_dense(seed: u64) -> anyhow::Result<System> {
    layered(
        "hopfield_dense",
        Layered::<f64>::dense(&[5, 6, 3], seed)?,
        seed,
    )
}

/// A conv Hopfield net 1×6×6 → conv 3×3, 2 channels, padding 1 → 2×2 max-pool → dense 3.
pub fn hopfield_conv(seed: u64) -> anyhow::Result<System> {
    let stages = [
        Stage::Conv(ConvSpec {
            channels: 2,
            kernel: 3,
            stride: 1,
            padding: 1,
            pool: 2,
            pool_kind: PoolKind::Max,
        }),
        Stage::Dense {
            units: 3,
            init: DenseInit::Glorot,
        },
    ];
    let e = Layered::<f64>::new(Shape::map(1, 6, 6), &stages, seed)?;
    layered("hopfield_conv", e, seed)
}

/// The three systems at run seed `seed` (seed 0 gives the rule-matrix tests' systems).
pub fn all(seed: u64) -> anyhow::Result<Vec<System>> {
    Ok(vec![
        bilinear(31 + seed)?,
        hopfield_dense(12 + seed)?,
        hopfield_conv(13 + seed)?,
    ])
}

/// A chain of 5 polynomial oscillators (Bösch et al. 2025's substrate, an energy linear in
/// its parameters): oscillator 0 clamped to a random input, the squared-error cost on the
/// last two, parameters perturbed from the initial ones so every family is active. The
/// score rules run on it; the other rules run on it too.
pub fn oscillator(seed: u64) -> anyhow::Result<System> {
    use crate::energy::oscillator::{LinearEnergy, Oscillator, OscillatorConfig, Topology};
    let mut e = Oscillator::<f64>::new(&OscillatorConfig::new(Topology::Pairs {
        n: 5,
        pairs: vec![[0, 1], [1, 2], [2, 3], [3, 4]],
    }))?;
    let mut theta: Vec<f64> = e
        .params()
        .iter()
        .enumerate()
        .map(|(i, v)| v + 0.15 * ((i as f64 + 1.0) * (seed as f64 + 1.3)).sin())
        .collect();
    e.project(&mut theta);
    e.set_params(&theta)?;
    let (x0, cost) = random_batch(4, 5, 1, (3, 2), seed);
    Ok(System {
        name: "oscillator",
        energy: Box::new(e),
        x0,
        nc: 1,
        cost: Box::new(cost),
        beta: 0.01,
    })
}
