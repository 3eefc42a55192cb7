//! Finite-nudge EqProp (Litman, "Equilibrium Propagation Without Limits", arXiv 2511.22024)
//! against quadrature: on a bilinear substrate with two free coordinates at finite temperature,
//! `F_β = −k_BT log ∫ exp(−(E + βC)/k_BT)` is computed on a grid, and the gradient both
//! finite-nudge rules estimate by Langevin sampling, `∇_θ (F_β − F_0)/β`, must match the grid's
//! within Monte Carlo error at β = 0.1, 1 and 10.

use physlearn::dynamics::{Langevin, NoiseKey, Workspace};
use physlearn::energy::Energy;
use physlearn::energy::bilinear::{Bilinear, BilinearConfig};
use physlearn::energy::cost::{Cost, WeightedSquaredError};
use physlearn::learn::rule::{Batch, Phases, gauss_legendre};
use physlearn::learn::{PhaseSpec, RuleKind, RuleSettings};
use physlearn::linalg::{dist, norm};

const KT: f64 = 0.5;
const INPUT: [f64; 2] = [0.7, -0.4];
const TARGET: f64 = 1.5;

/// Input module of 2 (clamped), one hidden and one output cell: two free coordinates.
fn substrate() -> Bilinear<f64> {
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
    Bilinear::<f64>::new(&cfg, 5).unwrap()
}

fn cost(n: usize) -> WeightedSquaredError<f64> {
    WeightedSquaredError {
        start: 3,
        len: 1,
        target: vec![TARGET; n],
        weight: vec![1.0; n],
    }
}

/// `∇_θ (F_β − F_0) / β` by quadrature on a 401 × 401 grid over `[−5, 5]²` (the quartic
/// self-energy makes the integrand negligible at the edges).
fn quadrature(e: &Bilinear<f64>, beta: f64) -> Vec<f64> {
    let m = 401;
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

/// Mean and standard error over `reps` independent calls of the rule, each on `chains`
/// chains started at the origin.
fn sampled(e: &Bilinear<f64>, kind: RuleKind, beta: f64, reps: usize) -> (Vec<f64>, Vec<f64>) {
    // The difference form divides a difference of independent averages by β, so its variance
    // grows like β⁻²: the small nudge gets four times the chains. The covariance form has no
    // such factor and needs fewer.
    let chains = match kind {
        RuleKind::FiniteNudge if beta < 1.0 => 192,
        RuleKind::FiniteNudge => 48,
        _ => 24,
    };
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
    };
    let rule = RuleSettings::new(kind, beta).build::<f64>();
    let runs: Vec<Vec<f64>> = (0..reps)
        .map(|r| {
            rule.gradient(
                e,
                &batch,
                &phases,
                NoiseKey::new(77, r as u64),
                &mut Workspace::new(),
            )
            .unwrap()
            .grad
        })
        .collect();
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
    (mean, se)
}

#[test]
fn gauss_legendre_integrates_polynomials_exactly() {
    for n in 1..=8 {
        let q = gauss_legendre(n);
        assert!((q.iter().map(|p| p.1).sum::<f64>() - 1.0).abs() < 1e-14);
        // Degree 2n − 1 is exact on [0, 1]: ∫ t^k = 1/(k + 1).
        for k in 0..2 * n {
            let got: f64 = q.iter().map(|(t, w)| w * t.powi(k as i32)).sum();
            assert!(
                (got - 1.0 / (k + 1) as f64).abs() < 1e-13,
                "n = {n}, degree {k}: {got}"
            );
        }
    }
}

/// Both rules at `beta` against the quadrature, within five standard errors per parameter.
fn rules_match_quadrature(beta: f64) {
    let e = substrate();
    let want = quadrature(&e, beta);
    if beta >= 10.0 {
        // The test is of finite β: at β = 10 the gradient is far from its small-β limit.
        let small = quadrature(&e, 1e-4);
        assert!(
            dist(&want, &small) > 0.2 * norm(&small),
            "degenerate test: β = {beta} is still near the small-β limit"
        );
    }
    for kind in [RuleKind::FiniteNudge, RuleKind::FiniteNudgeCovariance] {
        let (got, se) = sampled(&e, kind, beta, 8);
        let mut worst = 0.0f64;
        for i in 0..got.len() {
            let z = (got[i] - want[i]) / se[i];
            worst = worst.max(z.abs());
            assert!(
                z.abs() < 5.0,
                "{kind:?} at β = {beta}, parameter {i}: sampled {:.5} ± {:.5}, \
                 quadrature {:.5} (z = {z:.2})",
                got[i],
                se[i],
                want[i]
            );
        }
        // The Monte Carlo error is small against the gradient itself, so the match means
        // something.
        assert!(
            norm(&se) < 0.15 * norm(&want),
            "{kind:?} at β = {beta}: standard error {:.3e} against ‖g‖ = {:.3e}",
            norm(&se),
            norm(&want)
        );
        eprintln!("{kind:?} at β = {beta}: largest |z| {worst:.2}");
    }
}

#[test]
fn finite_nudge_rules_match_the_quadrature_at_a_small_nudge() {
    rules_match_quadrature(0.1);
}

#[test]
fn finite_nudge_rules_match_the_quadrature_at_a_unit_nudge() {
    rules_match_quadrature(1.0);
}

#[test]
fn finite_nudge_rules_match_the_quadrature_at_a_strong_nudge() {
    rules_match_quadrature(10.0);
}
