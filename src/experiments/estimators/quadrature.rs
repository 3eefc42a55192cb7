//! Finite-nudge EqProp (Litman, "Equilibrium Propagation Without Limits", arXiv 2511.22024)
//! against quadrature. On a bilinear substrate with two free coordinates at temperature
//! `k_BT`, the free energy `F_β = −k_BT log ∫ exp(−(E + βC)/k_BT)` is computed on a grid, and
//! the gradient both finite-nudge rules estimate by Langevin sampling, `∇_θ (F_β − F_0)/β`
//! (the difference `E_β[∂_θE] − E_0[∂_θE]` and the path integral over `b ∈ [0, β]` of
//! `Cov_b(C, ∂_θE)`), is compared with the grid's, parameter by parameter, in units of the
//! Monte Carlo standard error.

use super::config::QuadratureConfig;
use crate::dynamics::{Langevin, NoiseKey, Workspace};
use crate::energy::Energy;
use crate::energy::bilinear::{Bilinear, BilinearConfig};
use crate::energy::cost::{Cost, WeightedSquaredError};
use crate::learn::rule::{Batch, Phases};
use crate::learn::{PhaseSpec, RuleKind, RuleSettings};
use crate::linalg::norm;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

/// Temperature of the check.
pub const KT: f64 = 0.5;
/// The clamped input.
pub const INPUT: [f64; 2] = [0.7, -0.4];
/// The output's target.
pub const TARGET: f64 = 1.5;
/// Grid points per axis of the quadrature over `[−5, 5]²`.
pub const GRID: usize = 401;

/// Input module of 2 (clamped), one hidden and one output cell: two free coordinates.
pub fn substrate(seed: u64) -> anyhow::Result<Bilinear<f64>> {
    let cfg = BilinearConfig {
        modules: vec![2, 1, 1],
        input_modules: 1,
        output_modules: 1,
        rank: 1,
        pairs: None,
        stiffness: 1.0,
        quartic: 0.5,
        init_coupling: 0.8,
        init_bias: 0.3,
    };
    Bilinear::<f64>::new(&cfg, seed)
}

/// `½ (x_out − 1.5)²` on the output cell for `n` samples.
pub fn cost(n: usize) -> WeightedSquaredError<f64> {
    WeightedSquaredError {
        start: 3,
        len: 1,
        target: vec![TARGET; n],
        weight: vec![1.0; n],
    }
}

/// `∇_θ (F_β − F_0) / β` by quadrature on a [`GRID`]² grid over `[−5, 5]²` (the quartic
/// self-energy makes the integrand negligible at the edges).
pub fn quadrature(e: &Bilinear<f64>, beta: f64) -> Vec<f64> {
    let m = GRID;
    let h = 10.0 / (m - 1) as f64;
    let n = m * m;
    let mut x = vec![0.0; n * 4];
    for i in 0..m {
        for j in 0..m {
            let s = &mut x[(i * m + j) * 4..(i * m + j + 1) * 4];
            s[..2].copy_from_slice(&INPUT);
            s[2] = -5.0 + h * i as f64;
            s[3] = -5.0 + h * j as f64;
        }
    }
    let mut en = vec![0.0; n];
    e.energy(&x, &mut en);
    let mut c = vec![0.0; n];
    cost(n).value(&x, 4, 0, &mut c);
    // ∇_θ F_b = E_b[∂_θE] with the Gibbs weights of E + bC.
    let grad_f = |b: f64| {
        let a: Vec<f64> = en.iter().zip(&c).map(|(e, c)| -(e + b * c) / KT).collect();
        let top = a.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let mut w: Vec<f64> = a.iter().map(|v| (v - top).exp()).collect();
        let z: f64 = w.iter().sum();
        w.iter_mut().for_each(|v| *v /= z);
        let mut g = vec![0.0; e.n_params()];
        e.grad_theta(&x, &w, &mut g);
        g
    };
    let (g1, g0) = (grad_f(beta), grad_f(0.0));
    g1.iter().zip(&g0).map(|(a, b)| (a - b) / beta).collect()
}

/// The chains per call: the difference form divides a difference of independent averages by
/// β, so its variance grows like β⁻² and the small nudge gets four times the chains; the
/// covariance form has no such factor and needs fewer.
pub fn chains(kind: RuleKind, beta: f64, scale: f64) -> usize {
    let base = match kind {
        RuleKind::FiniteNudge if beta < 1.0 => 192.0,
        RuleKind::FiniteNudge => 48.0,
        _ => 24.0,
    };
    ((base * scale).round() as usize).max(4)
}

/// Mean and standard error over `reps` independent calls of the rule, each on `chains`
/// chains started at the origin; call `r` is keyed `(77 + seed, r)`.
pub fn sampled(
    e: &Bilinear<f64>,
    kind: RuleKind,
    beta: f64,
    chains: usize,
    reps: usize,
    seed: u64,
    pb: Option<&ProgressBar>,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    // Euler–Maruyama's stationary law is off by O(k dt) for curvature k ≈ 1 + β. At k dt = 0.02
    // the covariance form, precise to 0.3 %, read 1.5 % off the quadrature at β = 0.1 (z = 5.5);
    // k dt = 0.005 keeps the discretisation bias below the Monte Carlo error.
    let dt = 0.005 / (1.0 + beta);
    let steps = (20.0 / dt) as usize;
    let phase = PhaseSpec {
        dynamics: Langevin {
            dt,
            steps,
            temperature: KT,
        }
        .into(),
        exact: false,
        readout_window: steps * 5 / 6,
    };
    let phases = Phases {
        free: phase,
        nudged: phase,
    };
    let mut x0 = vec![0.0; chains * 4];
    for s in x0.chunks_exact_mut(4) {
        s[..2].copy_from_slice(&INPUT);
    }
    let c = cost(chains);
    let batch = Batch {
        x0: &x0,
        nc: 2,
        cost: &c,
        noise: None,
    };
    let rule = RuleSettings::new(kind, beta).build::<f64>();
    let mut runs = vec![];
    for r in 0..reps {
        let key = NoiseKey::new(77 + seed, r as u64);
        runs.push(
            rule.gradient(e, &batch, &phases, key, &mut Workspace::new())?
                .grad,
        );
        if let Some(pb) = pb {
            pb.inc(1);
        }
    }
    let np = e.n_params();
    let mean: Vec<f64> = (0..np)
        .map(|i| runs.iter().map(|g| g[i]).sum::<f64>() / reps as f64)
        .collect();
    let se: Vec<f64> = (0..np)
        .map(|i| {
            let v = runs.iter().map(|g| (g[i] - mean[i]).powi(2)).sum::<f64>() / (reps - 1) as f64;
            (v / reps as f64).sqrt()
        })
        .collect();
    Ok((mean, se))
}

/// One rule at one β against the quadrature.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct QuadraturePoint {
    /// `finite_nudge` (difference form) or `finite_nudge_covariance`.
    pub rule: String,
    /// Nudge strength.
    pub beta: f64,
    /// Chains per call.
    pub chains: usize,
    /// The quadrature gradient of `(F_β − F_0)/β`.
    pub quadrature: Vec<f64>,
    /// The sampled mean over the calls.
    pub sampled: Vec<f64>,
    /// Its standard error.
    pub standard_error: Vec<f64>,
    /// The largest `|sampled − quadrature| / standard_error` over the parameters.
    pub max_abs_z: f64,
    /// `‖standard_error‖ / ‖quadrature‖`: how sharp the check is.
    pub rel_standard_error: f64,
    /// `‖g_β − g_small‖ / ‖g_small‖`, with `g_small` the quadrature at β = 10⁻⁴: how far this
    /// β is from the small-nudge limit.
    pub distance_from_small_beta: f64,
}

/// The whole check.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Quadrature {
    /// Temperature.
    pub temperature: f64,
    /// Independent calls per point.
    pub reps: usize,
    /// Every (rule, β) point.
    pub points: Vec<QuadraturePoint>,
    /// The largest `|z|` over every point.
    pub max_abs_z: f64,
}

/// The rules checked.
pub fn rules(cfg: &QuadratureConfig) -> Vec<RuleKind> {
    let mut r = vec![RuleKind::FiniteNudge];
    if cfg.covariance {
        r.push(RuleKind::FiniteNudgeCovariance);
    }
    r
}

/// The number of rule calls [`run`] makes.
pub fn work(cfg: &QuadratureConfig) -> u64 {
    (rules(cfg).len() * cfg.betas.len() * cfg.reps) as u64
}

/// Runs the check.
pub fn run(cfg: &QuadratureConfig, seed: u64, pb: &ProgressBar) -> anyhow::Result<Quadrature> {
    let e = substrate(5 + seed)?;
    let small = quadrature(&e, 1e-4);
    let mut points = vec![];
    for kind in rules(cfg) {
        for &beta in &cfg.betas {
            let want = quadrature(&e, beta);
            let n = chains(kind, beta, cfg.chain_scale);
            let (got, se) = sampled(&e, kind, beta, n, cfg.reps, seed, Some(pb))?;
            let max_abs_z = (0..got.len())
                .map(|i| ((got[i] - want[i]) / se[i]).abs())
                .fold(0.0, f64::max);
            let far: Vec<f64> = want.iter().zip(&small).map(|(a, b)| a - b).collect();
            points.push(QuadraturePoint {
                rule: kind.name().into(),
                beta,
                chains: n,
                rel_standard_error: norm(&se) / norm(&want),
                distance_from_small_beta: norm(&far) / norm(&small),
                quadrature: want,
                sampled: got,
                standard_error: se,
                max_abs_z,
            });
        }
    }
    let max_abs_z = points.iter().map(|p| p.max_abs_z).fold(0.0, f64::max);
    Ok(Quadrature {
        temperature: KT,
        reps: cfg.reps,
        points,
        max_abs_z,
    })
}
