//! Sample-quality measures of the oscillator-diffusion reproductions: the 2D Gaussian
//! mixture (density, mode assignment), the two-sample energy distance, a tiny
//! logistic-regression classifier of binary images and nearest-neighbour Hamming distances.

use super::config::MixtureConfig;
use crate::dynamics::NoiseKey;
use crate::real::Real;
use rayon::prelude::*;
use std::f64::consts::PI;

/// The 2D Gaussian mixture `ω_1 N(μ_1, s_1² I) + ω_2 N(μ_2, s_2² I)` (paper Fig. 1).
#[derive(Clone, Debug)]
pub struct Mixture {
    /// The parameters.
    pub cfg: MixtureConfig,
}

impl Mixture {
    /// `ω_k N(x | μ_k, s_k² I)`.
    pub fn component(&self, k: usize, x: [f64; 2]) -> f64 {
        let c = &self.cfg;
        let s2 = c.stds[k] * c.stds[k];
        let d2 = (x[0] - c.means[k][0]).powi(2) + (x[1] - c.means[k][1]).powi(2);
        c.weights[k] * (-0.5 * d2 / s2).exp() / (2.0 * PI * s2)
    }

    /// The density `p(x)`.
    pub fn density(&self, x: [f64; 2]) -> f64 {
        self.component(0, x) + self.component(1, x)
    }

    /// The marginal density of coordinate `c` at `v`.
    pub fn marginal(&self, c: usize, v: f64) -> f64 {
        let m = &self.cfg;
        (0..2)
            .map(|k| {
                let s = m.stds[k];
                m.weights[k] * (-0.5 * ((v - m.means[k][c]) / s).powi(2)).exp()
                    / (s * (2.0 * PI).sqrt())
            })
            .sum()
    }

    /// The mode `x` most likely belongs to (largest responsibility `ω_k N(x | μ_k, Σ_k)`).
    pub fn mode_of(&self, x: [f64; 2]) -> usize {
        // Compare in log space: far from both means the densities underflow.
        let lg = |k: usize| {
            let c = &self.cfg;
            let s2 = c.stds[k] * c.stds[k];
            let d2 = (x[0] - c.means[k][0]).powi(2) + (x[1] - c.means[k][1]).powi(2);
            c.weights[k].ln() - 0.5 * d2 / s2 - s2.ln()
        };
        usize::from(lg(1) > lg(0))
    }

    /// Shares of the samples (sample-major, 2D) assigned to each mode.
    pub fn mode_weights(&self, x: &[f64]) -> [f64; 2] {
        let n = x.len() / 2;
        let ones = x
            .chunks_exact(2)
            .filter(|s| self.mode_of([s[0], s[1]]) == 1)
            .count();
        let w1 = ones as f64 / n.max(1) as f64;
        [1.0 - w1, w1]
    }

    /// `n` i.i.d. samples (sample-major), from `key.rng(0, 0)`.
    pub fn sample(&self, n: usize, key: NoiseKey) -> Vec<f64> {
        let mut rng = key.rng(0, 0);
        let c = &self.cfg;
        let mut x = Vec::with_capacity(2 * n);
        for _ in 0..n {
            let u: f64 = rand::Rng::random(&mut rng);
            let k = usize::from(u >= c.weights[0]);
            for j in 0..2 {
                x.push(c.means[k][j] + c.stds[k] * f64::randn(&mut rng));
            }
        }
        x
    }
}

/// Number of times a sequence of samples (e.g. one ES chain, in time order) switches mode.
pub fn mode_switches(m: &Mixture, x: &[f64]) -> usize {
    let modes: Vec<usize> = x.chunks_exact(2).map(|s| m.mode_of([s[0], s[1]])).collect();
    modes.windows(2).filter(|w| w[0] != w[1]).count()
}

/// Mean Euclidean distance between the rows of `a` and `b` (dimension `d`); `same` skips
/// the diagonal (a set against itself).
fn mean_pair_dist(a: &[f64], b: &[f64], d: usize, same: bool) -> f64 {
    let (na, nb) = (a.len() / d, b.len() / d);
    let s: f64 = (0..na)
        .into_par_iter()
        .map(|i| {
            let ai = &a[i * d..(i + 1) * d];
            b.chunks_exact(d)
                .map(|bj| {
                    ai.iter()
                        .zip(bj)
                        .map(|(u, v)| (u - v) * (u - v))
                        .sum::<f64>()
                        .sqrt()
                })
                .sum::<f64>()
        })
        .sum();
    let pairs = if same { na * (na - 1) } else { na * nb };
    s / pairs as f64
}

/// The two-sample energy distance (Székely & Rizzo) `2 E‖X − Y‖ − E‖X − X'‖ − E‖Y − Y'‖`
/// between the sample sets `x` and `y` (sample-major, dimension `d`), with the unbiased
/// within-set means (diagonal excluded). 0 when the laws agree, up to sampling noise.
pub fn energy_distance(x: &[f64], y: &[f64], d: usize) -> f64 {
    2.0 * mean_pair_dist(x, y, d, false)
        - mean_pair_dist(x, x, d, true)
        - mean_pair_dist(y, y, d, true)
}

/// A logistic-regression classifier `P(class 1 | x) = σ(w·x + b)` of binary images.
#[derive(Clone, Debug)]
pub struct Logistic {
    /// Weights.
    pub w: Vec<f64>,
    /// Bias.
    pub b: f64,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl Logistic {
    /// Full-batch gradient descent (step 0.5, L2 penalty `l2`) on the mean cross-entropy of
    /// `x` (sample-major, dimension `d`, entries in {0, 1}) against labels `y ∈ {0, 1}`.
    pub fn train(x: &[f64], y: &[f64], d: usize, epochs: usize, l2: f64) -> Self {
        let n = y.len();
        let mut m = Logistic {
            w: vec![0.0; d],
            b: 0.0,
        };
        let lr = 0.5;
        for _ in 0..epochs {
            let (gw, gb) = x
                .par_chunks(d * 256)
                .zip(y.par_chunks(256))
                .map(|(xc, yc)| {
                    let mut gw = vec![0.0; d];
                    let mut gb = 0.0;
                    for (xs, &ys) in xc.chunks_exact(d).zip(yc) {
                        let r = m.prob(xs) - ys;
                        for (g, &v) in gw.iter_mut().zip(xs) {
                            *g += r * v;
                        }
                        gb += r;
                    }
                    (gw, gb)
                })
                .reduce(
                    || (vec![0.0; d], 0.0),
                    |(mut a, ab), (b, bb)| {
                        for (u, v) in a.iter_mut().zip(&b) {
                            *u += v;
                        }
                        (a, ab + bb)
                    },
                );
            for (w, g) in m.w.iter_mut().zip(&gw) {
                *w -= lr * (g / n as f64 + l2 * *w);
            }
            m.b -= lr * gb / n as f64;
        }
        m
    }

    /// `P(class 1 | x)`.
    pub fn prob(&self, x: &[f64]) -> f64 {
        sigmoid(self.b + self.w.iter().zip(x).map(|(w, v)| w * v).sum::<f64>())
    }

    /// Accuracy on `x`, `y`.
    pub fn accuracy(&self, x: &[f64], y: &[f64], d: usize) -> f64 {
        let ok = x
            .chunks_exact(d)
            .zip(y)
            .filter(|(xs, ys)| (self.prob(xs) > 0.5) == (**ys > 0.5))
            .count();
        ok as f64 / y.len().max(1) as f64
    }
}

/// Classifier statistics of a set of images.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LabelStats {
    /// Share labelled "1".
    pub class_balance: f64,
    /// Share whose label probability exceeds the confidence threshold.
    pub confident_share: f64,
    /// Mean probability of the chosen label.
    pub mean_confidence: f64,
}

/// Labels every image of `x` (0/1 pixels, dimension `d`) with `clf`.
pub fn label_stats(clf: &Logistic, x: &[f64], d: usize, confident: f64) -> LabelStats {
    let n = (x.len() / d).max(1) as f64;
    let (mut ones, mut conf, mut mc) = (0usize, 0usize, 0.0);
    for xs in x.chunks_exact(d) {
        let p = clf.prob(xs);
        let c = p.max(1.0 - p);
        ones += usize::from(p > 0.5);
        conf += usize::from(c > confident);
        mc += c;
    }
    LabelStats {
        class_balance: ones as f64 / n,
        confident_share: conf as f64 / n,
        mean_confidence: mc / n,
    }
}

/// A binary image packed into bits (at most 128 pixels).
pub type Bits = u128;

/// Packs 0/1 pixel rows (dimension `d ≤ 128`, "on" where `> 0.5`).
pub fn pack(x: &[f64], d: usize) -> Vec<Bits> {
    assert!(d <= 128, "pack: at most 128 pixels");
    x.chunks_exact(d)
        .map(|s| {
            s.iter()
                .enumerate()
                .fold(0u128, |acc, (i, &v)| acc | (u128::from(v > 0.5) << i))
        })
        .collect()
}

/// For every image of `queries`, the Hamming distance (differing pixels) to its nearest
/// image in `reference`.
pub fn nn_hamming(queries: &[Bits], reference: &[Bits]) -> Vec<u32> {
    queries
        .par_iter()
        .map(|q| {
            reference
                .iter()
                .map(|r| (q ^ r).count_ones())
                .min()
                .unwrap_or(u32::MAX)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mixture() -> Mixture {
        Mixture {
            cfg: MixtureConfig {
                weights: [0.3, 0.7],
                means: [[1.5, 1.5], [-1.5, -1.5]],
                stds: [0.5, 0.5],
                train_samples: 10,
            },
        }
    }

    #[test]
    fn mixture_sampling_marginals_and_modes() {
        let m = mixture();
        let x = m.sample(20_000, NoiseKey::new(1, 1));
        let w = m.mode_weights(&x);
        assert!((w[0] - 0.3).abs() < 0.015, "{w:?}");
        // Marginal integrates to 1.
        let s: f64 = (0..2000)
            .map(|i| m.marginal(0, -5.0 + 0.005 * i as f64) * 0.005)
            .sum();
        assert!((s - 1.0).abs() < 1e-3);
        assert_eq!(m.mode_of([1.5, 1.5]), 0);
        assert_eq!(m.mode_of([-9.0, -9.0]), 1);
    }

    #[test]
    fn energy_distance_separates_laws() {
        let m = mixture();
        let a = m.sample(600, NoiseKey::new(2, 1));
        let b = m.sample(600, NoiseKey::new(3, 1));
        let same = energy_distance(&a, &b, 2);
        let shifted: Vec<f64> = b.iter().map(|v| v + 1.0).collect();
        let diff = energy_distance(&a, &shifted, 2);
        assert!(same.abs() < 0.02 && diff > 0.3, "{same} {diff}");
    }

    #[test]
    fn logistic_and_hamming() {
        // Class 1: first pixel on; class 0: off; other pixels noise.
        let mut rng = NoiseKey::new(4, 4).rng(0, 0);
        let (d, n) = (6, 400);
        let mut x = vec![0.0; n * d];
        let mut y = vec![0.0; n];
        for i in 0..n {
            y[i] = (i % 2) as f64;
            x[i * d] = y[i];
            for j in 1..d {
                x[i * d + j] = f64::from(rand::Rng::random::<bool>(&mut rng));
            }
        }
        let clf = Logistic::train(&x, &y, d, 300, 1e-4);
        assert!(clf.accuracy(&x, &y, d) > 0.99);
        let st = label_stats(&clf, &x, d, 0.9);
        assert!((st.class_balance - 0.5).abs() < 0.01 && st.confident_share > 0.9);
        let p = pack(&[1.0, 0.0, 1.0, 0.0, 0.0, 0.0], 3);
        assert_eq!(nn_hamming(&p[1..], &p[..1]), vec![2]);
    }
}
