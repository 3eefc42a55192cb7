//! Shared helpers for the integration tests: a small bilinear system in f64.
#![allow(dead_code)]

pub mod checks;

use physlearn::data::synthetic::DsmBatch;
use physlearn::dynamics::NoiseKey;
use physlearn::energy::bilinear::{Bilinear, BilinearConfig};

/// A small substrate: modules [3, 4, 3] (input, hidden, output), rank 2, quartic, biases
/// (the bilinear system of `exp estimators`).
pub fn small_cfg() -> BilinearConfig {
    physlearn::experiments::estimators::systems::bilinear_config()
}

/// The small substrate at `seed` with a DSM batch of `batch` samples.
pub fn small_system(seed: u64, batch: usize) -> (Bilinear<f64>, DsmBatch) {
    physlearn::experiments::estimators::systems::bilinear_parts(seed, batch).unwrap()
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
