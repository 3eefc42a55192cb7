//! Shared helpers for the integration tests: a small bilinear system in f64.
#![allow(dead_code)]

pub mod checks;

use physlearn::data::synthetic::{DsmBatch, GaussianData, SyntheticConfig};
use physlearn::dynamics::NoiseKey;
use physlearn::energy::bilinear::{Bilinear, BilinearConfig};

/// A small substrate: modules [3, 4, 3] (input, hidden, output), rank 2, quartic, biases.
pub fn small_cfg() -> BilinearConfig {
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

pub fn small_system(seed: u64, batch: usize) -> (Bilinear<f64>, DsmBatch) {
    let cfg = small_cfg();
    let e = Bilinear::<f64>::new(&cfg, seed).unwrap();
    let data = GaussianData::new(
        &SyntheticConfig {
            latent_dim: 2,
            data_scale: 1.0,
            floor: 0.1,
            sigmas: vec![0.5, 1.0],
        },
        3,
        seed,
    )
    .unwrap();
    let b = data.batch(batch, NoiseKey::new(seed, 7));
    (e, b)
}

/// Deterministic pseudo-random vector.
pub fn rand_vec(n: usize, seed: u64, scale: f64) -> Vec<f64> {
    use physlearn::Real;
    let mut rng = NoiseKey::new(seed, 99).rng(0, 0);
    (0..n).map(|_| scale * f64::randn(&mut rng)).collect()
}

pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

pub fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, x| m.max(x.abs()))
}
