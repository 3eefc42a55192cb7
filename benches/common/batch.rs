//! A benchmark batch: seeded uniform inputs and one-hot targets on a classifier's output.

use physlearn::energy::cost::WeightedSquaredError;

/// `n` states of dimension `d` whose first `n_in` coordinates are uniform in `[0, 1)` (seed 1)
/// and the rest 0, and the squared-error cost towards the one-hot target `b % len` on the
/// output block `(start, len)`.
pub fn random_batch(
    n: usize,
    d: usize,
    n_in: usize,
    out: (usize, usize),
) -> (Vec<f32>, WeightedSquaredError<f32>) {
    physlearn::experiments::estimators::systems::random_batch(n, d, n_in, out, 1)
}
