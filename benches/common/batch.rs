//! A benchmark batch: seeded uniform inputs and one-hot targets on a classifier's output.

use physlearn::dynamics::NoiseKey;
use physlearn::energy::cost::WeightedSquaredError;

/// `n` states of dimension `d` whose first `n_in` coordinates are uniform in `[0, 1)` (seeded)
/// and the rest 0, and the squared-error cost towards the one-hot target `b % len` on the
/// output block `(start, len)`.
pub fn random_batch(
    n: usize,
    d: usize,
    n_in: usize,
    (start, len): (usize, usize),
) -> (Vec<f32>, WeightedSquaredError<f32>) {
    let mut rng = NoiseKey::new(1, 1).rng(0, 0);
    let mut x0 = vec![0.0f32; n * d];
    let mut target = vec![0.0f32; n * len];
    for b in 0..n {
        for v in &mut x0[b * d..b * d + n_in] {
            *v = rand::Rng::random::<f32>(&mut rng);
        }
        target[b * len + b % len] = 1.0;
    }
    let cost = WeightedSquaredError {
        start,
        len,
        target,
        weight: vec![1.0; n],
    };
    (x0, cost)
}
