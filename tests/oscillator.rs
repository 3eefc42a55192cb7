//! The oscillator-network diffusion model (Bösch et al. 2025), in f64 on small systems:
//! derivatives of the substrate, the local score-matching rules against finite differences
//! and against the exact quadratic-form oracle, CD1's δ → 0 limit, the reverse-time sampler
//! on an exactly known score, and determinism.

mod common;
use common::*;
use physlearn::Real;
use physlearn::dynamics::reverse::{
    EquilibriumSampling, ReverseSde, ReverseWorkspace, reverse_integrate, sample_equilibrium,
    sample_reverse,
};
use physlearn::dynamics::{NoiseKey, Workspace};
use physlearn::energy::Energy;
use physlearn::energy::oscillator::{
    LinearEnergy, Oscillator, OscillatorConfig, OscillatorProtocol, Param, Topology,
};
use physlearn::learn::OptimizerConfig;
use physlearn::learn::cd1::{Cd1Config, cd1_expected_grad, cd1_grad};
use physlearn::learn::score::{
    Forward, QuadraticForm, ScoreRule, ScoreWorkspace, dsm_grad, dsm_objective,
    force_matching_grad, forward_sigma, noise_batch, sm_objective,
};
use physlearn::linalg::{cosine, dist, norm};
use physlearn::train::protocol::{ProtocolTrainConfig, batch_key, train_protocol};

const H: f64 = 1e-6;

/// A network with every parameter family non-zero (γ kept well above 0).
fn random_network(topology: Topology, seed: u64) -> Oscillator<f64> {
    let mut e = Oscillator::<f64>::new(&OscillatorConfig::new(topology)).unwrap();
    let mut th = rand_vec(e.n_params(), seed, 0.4);
    for v in &mut th[e.range(Param::Alpha)] {
        *v += 1.0;
    }
    for v in &mut th[e.range(Param::Gamma)] {
        *v = 0.05 + 0.2 * v.abs();
    }
    e.set_params(&th).unwrap();
    e
}

fn pairs2() -> Topology {
    Topology::Pairs {
        n: 2,
        pairs: vec![[0, 1]],
    }
}

/// `m` samples of a 2D mixture of two Gaussians (weights 0.7 / 0.3).
fn gmm2d(m: usize, seed: u64) -> Vec<f64> {
    let mut rng = NoiseKey::new(seed, 5).rng(0, 0);
    let mut x = Vec::with_capacity(2 * m);
    for _ in 0..m {
        let u = 0.5 + 0.5 * f64::randn(&mut rng).tanh();
        let (mu, s) = if u < 0.7 {
            ([-1.0, -0.6], 0.35)
        } else {
            ([1.0, 0.8], 0.5)
        };
        for c in mu {
            x.push(c + s * f64::randn(&mut rng));
        }
    }
    x
}

#[test]
fn topologies_have_the_expected_pairs() {
    let chain = Topology::Chain { n: 5, reach: 2 }.pairs().unwrap();
    assert_eq!(chain.len(), 4 + 3);
    assert!(chain.contains(&[0, 2]) && !chain.contains(&[0, 3]));
    let g = |rows, cols, shells| Topology::Grid { rows, cols, shells }.pairs().unwrap().len();
    assert_eq!(g(3, 3, 1), 12);
    assert_eq!(g(3, 3, 2), 12 + 8);
    assert_eq!(g(3, 3, 3), 12 + 8 + 6);
    assert_eq!(g(10, 10, 3), 180 + 162 + 160);
    // Every grid pair is at squared distance 1, 2 or 4 and listed once.
    let p = Topology::Grid {
        rows: 4,
        cols: 5,
        shells: 3,
    }
    .pairs()
    .unwrap();
    for (k, &[a, b]) in p.iter().enumerate() {
        let (ra, ca, rb, cb) = (a / 5, a % 5, b / 5, b % 5);
        let d2 = (ra as i64 - rb as i64).pow(2) + (ca as i64 - cb as i64).pow(2);
        assert!([1, 2, 4].contains(&d2), "pair {a},{b}");
        assert!(a < b && !p[..k].contains(&[a, b]));
    }
    let dup = Topology::Pairs {
        n: 3,
        pairs: vec![[0, 1], [1, 0]],
    };
    assert!(dup.pairs().is_err());
    assert!(
        Topology::Pairs {
            n: 2,
            pairs: vec![[0, 2]]
        }
        .pairs()
        .is_err()
    );
}

#[test]
fn parameters_are_named_validated_and_projected() {
    let mut e = random_network(Topology::Chain { n: 4, reach: 2 }, 1);
    let names: Vec<String> = e.param_blocks().into_iter().map(|b| b.name).collect();
    assert_eq!(
        names,
        [
            "alpha", "beta", "gamma", "f", "kappa", "lambda", "chi", "chi_hat"
        ]
    );
    assert_eq!(e.n_params(), 4 * 4 + 4 * 5);
    let mut th = e.params().to_vec();
    let g0 = e.range(Param::Gamma).start;
    th[g0 + 2] = 0.0;
    let err = e.set_params(&th).unwrap_err().to_string();
    assert!(err.contains("gamma[2]"), "{err}");
    th[g0 + 2] = -1.0;
    assert!(e.set_params(&th).is_err());
    th[g0 + 2] = 0.3;
    th[0] = f64::NAN;
    assert!(e.set_params(&th).unwrap_err().to_string().contains("alpha"));
    th[0] = 1.0;
    th[g0] = -5.0;
    e.project(&mut th);
    assert_eq!(th[g0], e.gamma_min());
    assert_eq!(th[g0 + 2], 0.3);
    assert!(e.set_params(&th).is_ok());
    let lb = e.lower_bounds();
    assert_eq!(lb[g0], e.gamma_min());
    assert!(lb[0].is_infinite());
    assert!(
        OscillatorConfig {
            gamma_min: 0.0,
            ..OscillatorConfig::new(pairs2())
        }
        .validate()
        .is_err()
    );
}

#[test]
fn oscillator_energy_passes_every_derivative_check() {
    let mut e = random_network(Topology::Chain { n: 5, reach: 2 }, 3);
    checks::all(&mut e, 2, 4);
    let mut e = random_network(
        Topology::Grid {
            rows: 3,
            cols: 3,
            shells: 3,
        },
        5,
    );
    checks::all(&mut e, 3, 6);
    checks::all(&mut e, 0, 7);
    // Explicit pairs, one of them listed high-to-low (orientation of χ, χ̂).
    let mut e = random_network(
        Topology::Pairs {
            n: 3,
            pairs: vec![[0, 1], [2, 0]],
        },
        8,
    );
    checks::all(&mut e, 1, 9);
}

#[test]
fn laplacians_feature_jacobian_and_gaussian_features_are_exact() {
    let e = random_network(
        Topology::Pairs {
            n: 3,
            pairs: vec![[0, 1], [2, 0], [1, 2]],
        },
        10,
    );
    let (d, np) = (e.dim(), e.n_params());
    let x = rand_vec(4 * d, 11, 0.8);
    let w = [0.3, -1.0, 0.7, 2.0];
    // Per-sample Laplacian = trace of the Hessian.
    let mut lap = vec![0.0; 4];
    e.laplacian(&x, &mut lap);
    for b in 0..4 {
        let hm = e.hessian_free(&x[b * d..(b + 1) * d], 0);
        let tr: f64 = (0..d).map(|i| hm[(i, i)]).sum();
        assert!((tr - lap[b]).abs() < 1e-10 * (1.0 + tr.abs()));
    }
    // Δφ_i against second differences of φ_i (= grad_theta with unit weight).
    let mut gl = vec![0.0; np];
    e.grad_theta_laplacian(&x, &w, &mut gl);
    let phi = |x: &[f64]| {
        let mut o = vec![0.0; np];
        e.grad_theta(x, &w, &mut o);
        o
    };
    let h = 1e-4;
    let p0 = phi(&x);
    let mut fd = vec![0.0; np];
    for b in 0..4 {
        for n in 0..d {
            let (mut xp, mut xm) = (x.clone(), x.clone());
            xp[b * d + n] += h;
            xm[b * d + n] -= h;
            let (pp, pm) = (phi(&xp), phi(&xm));
            for i in 0..np {
                fd[i] += (pp[i] - 2.0 * p0[i] + pm[i]) / (h * h);
            }
        }
    }
    assert!(max_abs_diff(&gl, &fd) < 1e-5 * (1.0 + max_abs(&fd)));
    // θ · Δφ = Laplacian of Ê (the energy is linear in θ).
    let mut g1 = vec![0.0; np];
    e.grad_theta_laplacian(&x[..d], &[1.0], &mut g1);
    let s: f64 = g1.iter().zip(e.params()).map(|(a, b)| a * b).sum();
    assert!((s - lap[0]).abs() < 1e-12 * (1.0 + s.abs()));
    // The sparse feature Jacobian contracted with v equals grad_theta_dir.
    let v = rand_vec(d, 12, 1.0);
    let mut jac = Vec::new();
    e.feature_jacobian(&x[..d], &mut jac);
    let mut jv = vec![0.0; np];
    for &(i, n, val) in &jac {
        jv[i] += val * v[n];
    }
    let mut gd = vec![0.0; np];
    e.grad_theta_dir(&x[..d], &v, &[1.0], &mut gd);
    assert!(max_abs_diff(&jv, &gd) < 1e-12);
    // Gaussian-smoothed features against 4-point Gauss–Hermite quadrature (exact up to
    // degree 7 per coordinate, the features have degree ≤ 6).
    let nodes = [
        -1.650_680_123_885_785,
        -0.524_647_623_275_290_3,
        0.524_647_623_275_290_3,
        1.650_680_123_885_785,
    ];
    let wts = [
        0.081_312_835_447_245_18,
        0.804_914_090_005_512_8,
        0.804_914_090_005_512_8,
        0.081_312_835_447_245_18,
    ];
    let var: f64 = 0.37;
    let mut gq = vec![0.0; np];
    let mean = &x[d..2 * d];
    for a in 0..4 {
        for b in 0..4 {
            for c in 0..4 {
                let y: Vec<f64> = [a, b, c]
                    .iter()
                    .enumerate()
                    .map(|(n, &k)| mean[n] + (2.0 * var).sqrt() * nodes[k])
                    .collect();
                let wq = wts[a] * wts[b] * wts[c] / std::f64::consts::PI.powf(1.5);
                e.grad_theta(&y, &[wq], &mut gq);
            }
        }
    }
    let mut gg = vec![0.0; np];
    e.grad_theta_gaussian(mean, var, &[1.0], &mut gg);
    assert!(max_abs_diff(&gg, &gq) < 1e-10 * (1.0 + max_abs(&gq)));
}

/// A batch of states for the objective checks: 150 samples (three chunks).
fn batch_for(e: &Oscillator<f64>, seed: u64) -> Vec<f64> {
    rand_vec(150 * e.dim(), seed, 0.9)
}

#[test]
fn force_matching_gradient_is_the_gradient_of_the_score_matching_objective() {
    let mut e = random_network(
        Topology::Grid {
            rows: 2,
            cols: 2,
            shells: 3,
        },
        20,
    );
    let x = batch_for(&e, 21);
    let kt = 0.5;
    let mut g = vec![0.0; e.n_params()];
    force_matching_grad(&e, &x, kt, &mut ScoreWorkspace::new(), &mut g);
    let theta = e.params().to_vec();
    let mut fd = vec![0.0; theta.len()];
    for i in 0..theta.len() {
        let mut tp = theta.clone();
        tp[i] += H;
        e.set_params(&tp).unwrap();
        let jp = sm_objective(&e, &x, kt);
        tp[i] -= 2.0 * H;
        e.set_params(&tp).unwrap();
        let jm = sm_objective(&e, &x, kt);
        fd[i] = (jp - jm) / (2.0 * H);
    }
    e.set_params(&theta).unwrap();
    assert!(
        max_abs_diff(&g, &fd) < 1e-6 * (1.0 + max_abs(&fd)),
        "FM {g:?} vs FD {fd:?}"
    );
    // The quadratic form reproduces the objective and its gradient exactly.
    let q = QuadraticForm::from_samples(&e, &x, kt);
    let j = sm_objective(&e, &x, kt);
    assert!((q.value(&theta) - j).abs() < 1e-9 * (1.0 + j.abs()));
    assert!(max_abs_diff(&q.grad(&theta), &g) < 1e-9 * (1.0 + max_abs(&g)));
    // Eq. 9 (the Duffing example): dJ/dβ_n = E[−3x_n²/kT + x_n³ F_n/kT²].
    let d = e.dim();
    let mut force = vec![0.0; x.len()];
    e.grad_x(&x, &mut force);
    let nb = (x.len() / d) as f64;
    for n in 0..d {
        let eq9: f64 = (0..x.len() / d)
            .map(|b| {
                let xn = x[b * d + n];
                -3.0 * xn * xn / kt + xn.powi(3) * force[b * d + n] / (kt * kt)
            })
            .sum::<f64>()
            / nb;
        let gb = g[e.range(Param::Beta).start + n];
        assert!((eq9 - gb).abs() < 1e-10 * (1.0 + gb.abs()));
    }
}

#[test]
fn dsm_gradient_is_the_gradient_of_its_objective_and_matches_score_matching_on_average() {
    let mut e = random_network(pairs2(), 30);
    let kt = 0.5;
    let data = gmm2d(400, 31);
    let (t, d) = (0.7, 2);
    let sigma = forward_sigma(t, kt);
    let mut xt = vec![0.0; 150 * d];
    let mut eps = vec![0.0; 150 * d];
    noise_batch(
        &data,
        d,
        Forward { t, kt },
        NoiseKey::new(3, 3),
        0,
        &mut xt,
        &mut eps,
    );
    let mut g = vec![0.0; e.n_params()];
    let mut ws = ScoreWorkspace::new();
    dsm_grad(&e, &xt, &eps, sigma, kt, &mut ws, &mut g);
    let theta = e.params().to_vec();
    let mut fd = vec![0.0; theta.len()];
    for i in 0..theta.len() {
        let mut tp = theta.clone();
        tp[i] += H;
        e.set_params(&tp).unwrap();
        let jp = dsm_objective(&e, &xt, &eps, sigma, kt);
        tp[i] -= 2.0 * H;
        e.set_params(&tp).unwrap();
        let jm = dsm_objective(&e, &xt, &eps, sigma, kt);
        fd[i] = (jp - jm) / (2.0 * H);
    }
    e.set_params(&theta).unwrap();
    assert!(max_abs_diff(&g, &fd) < 1e-6 * (1.0 + max_abs(&fd)));
    // On a large batch DSM and force matching estimate the same gradient (Stein's lemma).
    let nb = 40_000;
    let (mut xt, mut eps) = (vec![0.0; nb * d], vec![0.0; nb * d]);
    noise_batch(
        &data,
        d,
        Forward { t, kt },
        NoiseKey::new(4, 4),
        0,
        &mut xt,
        &mut eps,
    );
    let mut gd = vec![0.0; e.n_params()];
    let mut gf = vec![0.0; e.n_params()];
    dsm_grad(&e, &xt, &eps, sigma, kt, &mut ws, &mut gd);
    force_matching_grad(&e, &xt, kt, &mut ws, &mut gf);
    let rel = dist(&gd, &gf) / norm(&gf);
    assert!(rel < 0.05, "DSM vs FM relative difference {rel}");
}

#[test]
fn cd1_expectation_tends_to_the_score_matching_gradient_linearly_in_delta() {
    let e = random_network(Topology::Chain { n: 3, reach: 2 }, 40);
    let x = batch_for(&e, 41);
    let kt = 0.5;
    let mut ws = ScoreWorkspace::new();
    let mut sm = vec![0.0; e.n_params()];
    force_matching_grad(&e, &x, kt, &mut ws, &mut sm);
    let mut errs = Vec::new();
    for delta in [1e-2, 1e-3, 1e-4] {
        let mut g = vec![0.0; e.n_params()];
        cd1_expected_grad(&e, &x, kt, delta, &mut ws, &mut g);
        errs.push(dist(&g, &sm) / norm(&sm));
    }
    // First order in δ: each tenfold reduction of δ cuts the error about tenfold.
    assert!(
        errs[0] > 5.0 * errs[1] && errs[1] > 5.0 * errs[2],
        "{errs:?}"
    );
    assert!(errs[2] < 5e-3, "{errs:?}");
}

#[test]
fn cd1_monte_carlo_estimate_converges_to_its_expectation() {
    let e = random_network(pairs2(), 50);
    let x = batch_for(&e, 51);
    let kt = 0.5;
    let mut ws = ScoreWorkspace::new();
    let delta = 1e-3;
    let mut expect = vec![0.0; e.n_params()];
    cd1_expected_grad(&e, &x, kt, delta, &mut ws, &mut expect);
    let mut rel = |draws: usize, antithetic: bool| {
        let cfg = Cd1Config {
            delta,
            draws,
            antithetic,
        };
        let mut g = vec![0.0; e.n_params()];
        cd1_grad(&e, &x, kt, &cfg, NoiseKey::new(9, 9), &mut ws, &mut g);
        dist(&g, &expect) / norm(&expect)
    };
    let (few, many) = (rel(16, false), rel(4096, false));
    let anti = rel(256, true);
    // Monte-Carlo error shrinks like 1/sqrt(draws); antithetic pairs remove the O(δ^{-1/2})
    // noise term.
    assert!(many < 0.3 * few, "{few} → {many}");
    assert!(many < 0.02 && anti < 0.005, "{many} {anti}");
    // And the CD1 expectation is the SM gradient up to O(δ).
    let mut sm = vec![0.0; e.n_params()];
    force_matching_grad(&e, &x, kt, &mut ws, &mut sm);
    assert!(cosine(&expect, &sm) > 0.99);
}

#[test]
fn active_set_oracle_satisfies_the_kkt_conditions() {
    // A random positive-definite problem with bounds on a few coordinates, some active.
    let n = 8;
    let r = rand_vec(n * n, 60, 1.0);
    let mut a = faer::Mat::<f64>::zeros(n, n);
    for i in 0..n {
        for j in 0..n {
            a[(i, j)] = (0..n).map(|k| r[i * n + k] * r[j * n + k]).sum::<f64>()
                + if i == j { 0.5 } else { 0.0 };
        }
    }
    let b = rand_vec(n, 61, 3.0);
    let q = QuadraticForm { a, b };
    let mut lower = vec![f64::NEG_INFINITY; n];
    for l in lower.iter_mut().take(5) {
        *l = 0.1;
    }
    let th = q.minimise(&lower, 0.0).unwrap();
    assert!(q.kkt_residual(&th, &lower) < 1e-9);
    let unconstrained = q.minimise(&vec![f64::NEG_INFINITY; n], 0.0).unwrap();
    let n_active = (0..5).filter(|&i| th[i] == 0.1).count();
    assert!(n_active > 0 && n_active < 5, "{th:?}");
    assert!(q.value(&unconstrained) <= q.value(&th));
    // Any feasible perturbation does not decrease J.
    for k in 0..20 {
        let p = rand_vec(n, 70 + k, 0.05);
        let mut t2: Vec<f64> = th.iter().zip(&p).map(|(a, b)| a + b).collect();
        for v in &mut t2[..5] {
            *v = v.max(0.1);
        }
        assert!(q.value(&t2) >= q.value(&th) - 1e-12);
    }
}

fn fm_config(rule: ScoreRule, times: Vec<f64>, steps: usize) -> ProtocolTrainConfig {
    ProtocolTrainConfig {
        rule,
        temperature: 0.5,
        times,
        steps,
        first_steps: None,
        batch: 200,
        fixed_batch: true,
        optimizer: OptimizerConfig::Adam {
            lr: 0.03,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-12,
            weight_decay: 0.0,
        },
        lr_final_frac: 1e-3,
        cd1: Cd1Config {
            delta: 1e-3,
            draws: 16,
            antithetic: true,
        },
        dsm_min_time: 0.0,
    }
}

#[test]
fn local_rules_converge_to_the_quadratic_form_oracle() {
    let data = gmm2d(500, 80);
    let base = Oscillator::<f64>::new(&OscillatorConfig {
        gamma_min: 0.02,
        ..OscillatorConfig::new(pairs2())
    })
    .unwrap();
    let key = NoiseKey::new(81, 0);
    let lower = base.lower_bounds();
    // Force matching over two time points (warm start), each against its own oracle.
    let cfg = fm_config(ScoreRule::ForceMatching, vec![0.0, 0.3], 3000);
    let mut e = base.clone();
    let out = train_protocol(&mut e, &data, &cfg, key, None).unwrap();
    let kt = cfg.temperature;
    let mut any_active = false;
    for (k, &t) in cfg.times.iter().enumerate() {
        let (mut xt, mut eps) = (vec![0.0; 400], vec![0.0; 400]);
        noise_batch(
            &data,
            2,
            Forward { t, kt },
            batch_key(key, k),
            0,
            &mut xt,
            &mut eps,
        );
        let q = QuadraticForm::from_samples(&e, &xt, kt);
        let oracle = q.minimise(&lower, 0.0).unwrap();
        any_active |= oracle[e.range(Param::Gamma)].contains(&0.02);
        let th = &out.protocol.params[k];
        let rel = dist(th, &oracle) / norm(&oracle);
        let gap = q.value(th) - q.value(&oracle);
        assert!(
            rel < 1e-5 && gap < 1e-9 * q.value(&oracle).abs(),
            "t = {t}: θ {th:?} vs oracle {oracle:?} (rel {rel}, gap {gap})"
        );
        assert!(out.stats[k].projected_grad_norm < 1e-4);
    }
    assert!(any_active, "the γ ≥ γ_min constraint should bind somewhere");
    // CD1 (antithetic, δ = 1e-3) lands near the same minimiser (bias O(δ), Monte-Carlo noise).
    let cfg = fm_config(ScoreRule::Cd1, vec![0.3], 3000);
    let mut e = base.clone();
    let out = train_protocol(&mut e, &data, &cfg, key.child(1), None).unwrap();
    let (mut xt, mut eps) = (vec![0.0; 400], vec![0.0; 400]);
    noise_batch(
        &data,
        2,
        Forward { t: 0.3, kt },
        batch_key(key.child(1), 0),
        0,
        &mut xt,
        &mut eps,
    );
    let q = QuadraticForm::from_samples(&e, &xt, kt);
    let oracle = q.minimise(&lower, 0.0).unwrap();
    let th = &out.protocol.params[0];
    let gap = (q.value(th) - q.value(&oracle)) / q.value(&oracle).abs();
    let rel = dist(th, &oracle) / norm(&oracle);
    assert!(
        gap < 1e-3 && rel < 0.02,
        "CD1 objective gap {gap}, θ rel. error {rel}"
    );
    // DSM converges to the minimiser of its own empirical quadratic form: same A, and
    // b_i = mean ∇φ_i·ε/(σ kT).
    let cfg = fm_config(ScoreRule::Dsm, vec![0.3], 3000);
    let mut e = base.clone();
    let out = train_protocol(&mut e, &data, &cfg, key.child(2), None).unwrap();
    noise_batch(
        &data,
        2,
        Forward { t: 0.3, kt },
        batch_key(key.child(2), 0),
        0,
        &mut xt,
        &mut eps,
    );
    let mut q = QuadraticForm::from_samples(&e, &xt, kt);
    let sigma = forward_sigma(0.3, kt);
    let v: Vec<f64> = eps.iter().map(|e| e / sigma).collect();
    let mut b = vec![0.0; e.n_params()];
    e.grad_theta_dir(&xt, &v, &vec![1.0 / (200.0 * kt); 200], &mut b);
    q.b = b;
    let oracle = q.minimise(&lower, 0.0).unwrap();
    let th = &out.protocol.params[0];
    let rel = dist(th, &oracle) / norm(&oracle);
    assert!(rel < 1e-5, "DSM θ {th:?} vs its oracle {oracle:?}");
}

/// The exact protocol for data `N(μ, s²)` per coordinate: `p_t = N(e^{−t}μ, v_t)` with
/// `v_t = e^{−2t}s² + kT(1 − e^{−2t})`, so `−∇Ê/kT = −(x − m_t)/v_t` needs `α = kT/v_t`,
/// `f = −kT m_t / v_t` and nothing else.
fn gaussian_protocol(
    e: &Oscillator<f64>,
    mu: &[f64],
    s: &[f64],
    kt: f64,
    tau: f64,
    nt: usize,
) -> OscillatorProtocol {
    let times = physlearn::train::protocol::uniform_times(tau, nt);
    let params = times
        .iter()
        .map(|&t| {
            let mut th = vec![0.0; e.n_params()];
            th[e.range(Param::Gamma)].fill(e.gamma_min());
            for n in 0..mu.len() {
                let a = (-2.0 * t).exp();
                let v = a * s[n] * s[n] + kt * (1.0 - a);
                th[e.range(Param::Alpha).start + n] = kt / v;
                th[e.range(Param::F).start + n] = -kt * (-t).exp() * mu[n] / v;
            }
            th
        })
        .collect();
    OscillatorProtocol::new(times, params).unwrap()
}

fn moments(x: &[f64], d: usize, n: usize) -> (f64, f64) {
    let v: Vec<f64> = x.chunks_exact(d).map(|s| s[n]).collect();
    let (m, sd) = physlearn::linalg::mean_std(&v);
    (m, sd * sd)
}

#[test]
fn reverse_sampler_with_the_exact_score_reproduces_gaussian_data() {
    let mut e = Oscillator::<f64>::new(&OscillatorConfig {
        gamma_min: 1e-9,
        ..OscillatorConfig::new(Topology::Pairs {
            n: 2,
            pairs: vec![],
        })
    })
    .unwrap();
    let (mu, s, kt) = ([1.0, -0.5], [0.4, 0.7], 0.5);
    let proto = gaussian_protocol(&e, &mu, &s, kt, 4.0, 200);
    let cfg = ReverseSde {
        dt: 0.004,
        temperature: kt,
    };
    let n = 8000;
    let x = sample_reverse(
        &mut e,
        &proto,
        n,
        &cfg,
        NoiseKey::new(90, 0),
        &mut ReverseWorkspace::new(),
    )
    .unwrap();
    for c in 0..2 {
        let (m, v) = moments(&x, 2, c);
        let se = s[c] / (n as f64).sqrt();
        assert!(
            (m - mu[c]).abs() < 5.0 * se,
            "coord {c}: mean {m} vs {}",
            mu[c]
        );
        assert!(
            (v / (s[c] * s[c]) - 1.0).abs() < 0.05,
            "coord {c}: variance {v} vs {}",
            s[c] * s[c]
        );
    }
    // The energy's own parameters are restored after sampling.
    assert_eq!(e.params()[0], 1.0);
    // Equilibrium sampling on the static Ê_θ(0) has the data as its stationary law,
    // exp(−Ê/kT) = N(μ, s²): two records 4 time units apart, 2000 chains.
    e.set_params(&proto.params[0]).unwrap();
    let plan = EquilibriumSampling {
        chains: 2000,
        per_chain: 2,
        interval: 4.0,
        dt: 0.004,
        temperature: kt,
    };
    let es =
        sample_equilibrium(&e, &plan, NoiseKey::new(91, 0), &mut Workspace::new(), None).unwrap();
    assert_eq!(es.len(), 2 * 2000 * 2);
    let last = &es[2000 * 2..];
    for c in 0..2 {
        let (m, v) = moments(last, 2, c);
        assert!((m - mu[c]).abs() < 5.0 * s[c] / (2000f64).sqrt());
        assert!((v / (s[c] * s[c]) - 1.0).abs() < 0.1, "ES variance {v}");
    }
}

#[test]
fn reverse_sampler_reports_divergence() {
    let mut e = Oscillator::<f64>::new(&OscillatorConfig {
        gamma_min: 1e-9,
        ..OscillatorConfig::new(pairs2())
    })
    .unwrap();
    let mut th = e.params().to_vec();
    th[e.range(Param::Alpha)].fill(-200.0);
    th[e.range(Param::Gamma)].fill(50.0);
    let proto = OscillatorProtocol::new(vec![0.0, 1.0], vec![th.clone(), th]).unwrap();
    let cfg = ReverseSde {
        dt: 0.1,
        temperature: 0.5,
    };
    let err = sample_reverse(
        &mut e,
        &proto,
        100,
        &cfg,
        NoiseKey::new(1, 1),
        &mut ReverseWorkspace::new(),
    )
    .unwrap_err();
    assert_eq!(err.phase, "reverse");
    assert!(err.step >= 1 && err.sample < 100);
}

#[test]
fn sampling_and_training_are_deterministic_and_thread_count_independent() {
    let data = gmm2d(300, 100);
    let e0 = Oscillator::<f64>::new(&OscillatorConfig::new(pairs2())).unwrap();
    let mut cfg = fm_config(ScoreRule::ForceMatching, vec![0.0, 0.5, 1.0], 30);
    cfg.fixed_batch = false;
    let run = |threads: usize, seed: u64, rule: ScoreRule| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut e = e0.clone();
            let cfg = ProtocolTrainConfig {
                rule,
                ..cfg.clone()
            };
            let tp = train_protocol(&mut e, &data, &cfg, NoiseKey::new(seed, 0), None).unwrap();
            let rc = ReverseSde {
                dt: 0.01,
                temperature: 0.5,
            };
            let x = sample_reverse(
                &mut e,
                &tp.protocol,
                300,
                &rc,
                NoiseKey::new(seed, 1),
                &mut ReverseWorkspace::new(),
            )
            .unwrap();
            (tp.protocol.params.concat(), x)
        })
    };
    for rule in [ScoreRule::ForceMatching, ScoreRule::Cd1] {
        let a = run(1, 7, rule);
        let b = run(2, 7, rule);
        let c = run(2, 8, rule);
        assert_eq!(a, b, "{rule:?}: same seed, different thread count");
        assert_ne!(a.1, c.1);
        assert_ne!(a.0, c.0);
    }
    // The observer sees every step.
    let mut e = e0.clone();
    let mut count = 0;
    let mut obs = |_: usize, _: usize, _: &[f64], _: &[f64]| count += 1;
    train_protocol(&mut e, &data, &cfg, NoiseKey::new(1, 0), Some(&mut obs)).unwrap();
    assert_eq!(count, 3 * 30);
}

#[test]
fn observer_and_protocol_interpolation() {
    let proto = OscillatorProtocol::new(
        vec![0.0, 1.0, 3.0],
        vec![vec![0.0, 1.0], vec![2.0, 1.0], vec![6.0, -1.0]],
    )
    .unwrap();
    assert_eq!(proto.at(-1.0), vec![0.0, 1.0]);
    assert_eq!(proto.at(0.5), vec![1.0, 1.0]);
    assert_eq!(proto.at(1.0), vec![2.0, 1.0]);
    assert_eq!(proto.at(2.0), vec![4.0, 0.0]);
    assert_eq!(proto.at(9.0), vec![6.0, -1.0]);
    assert!(OscillatorProtocol::new(vec![0.0, 0.0], vec![vec![0.0], vec![1.0]]).is_err());
    // The reverse integrator visits every step once.
    let mut e = Oscillator::<f64>::new(&OscillatorConfig::new(pairs2())).unwrap();
    let p = OscillatorProtocol::new(
        vec![0.0, 1.0],
        vec![e.params().to_vec(), e.params().to_vec()],
    )
    .unwrap();
    let mut x = vec![0.1; 6];
    let mut steps = Vec::new();
    let mut obs = |k: usize, _: &[f64], _: &Oscillator<f64>| steps.push(k);
    reverse_integrate(
        &mut e,
        &p,
        &mut x,
        &ReverseSde {
            dt: 0.25,
            temperature: 0.5,
        },
        NoiseKey::new(0, 0),
        &mut ReverseWorkspace::new(),
        Some(&mut obs),
    )
    .unwrap();
    assert_eq!(steps, vec![1, 2, 3, 4]);
}

#[test]
fn training_config_is_validated() {
    let data = gmm2d(10, 1);
    let mut e = Oscillator::<f64>::new(&OscillatorConfig::new(pairs2())).unwrap();
    let cfg = fm_config(ScoreRule::Dsm, vec![0.0, 1.0], 10);
    let err = train_protocol(&mut e, &data, &cfg, NoiseKey::new(0, 0), None).unwrap_err();
    assert!(err.to_string().contains("dsm_min_time"), "{err}");
    let cfg = fm_config(ScoreRule::ForceMatching, vec![0.0, 1.0, 0.5], 10);
    assert!(train_protocol(&mut e, &data, &cfg, NoiseKey::new(0, 0), None).is_err());
    let toml_cfg: ProtocolTrainConfig = toml::from_str(
        r#"
        rule = "cd1"
        temperature = 0.5
        times = [0.0, 0.5]
        steps = 10
        batch = 8
        optimizer = { kind = "adam", lr = 0.01 }
        cd1 = { delta = 0.001, draws = 4 }
        "#,
    )
    .unwrap();
    assert_eq!(toml_cfg.rule, ScoreRule::Cd1);
    assert!(toml_cfg.validate().is_ok());
}

#[test]
fn f32_force_matching_and_sampling_agree_with_f64() {
    let e64 = random_network(Topology::Chain { n: 4, reach: 2 }, 110);
    let th32: Vec<f32> = e64.params().iter().map(|&v| v as f32).collect();
    let mut e32 = Oscillator::<f32>::new(e64.config()).unwrap();
    e32.set_params(&th32).unwrap();
    let x = rand_vec(130 * 4, 111, 0.8);
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let (mut g, mut g32) = (vec![0.0; e64.n_params()], vec![0.0; e64.n_params()]);
    force_matching_grad(&e64, &x, 0.5, &mut ScoreWorkspace::new(), &mut g);
    force_matching_grad(&e32, &x32, 0.5, &mut ScoreWorkspace::new(), &mut g32);
    assert!(cosine(&g, &g32) > 0.99999);
    let data: Vec<f32> = gmm2d(100, 3).iter().map(|&v| v as f32).collect();
    let mut e = Oscillator::<f32>::new(&OscillatorConfig::new(pairs2())).unwrap();
    let mut cfg = fm_config(ScoreRule::ForceMatching, vec![0.0, 1.0], 50);
    cfg.batch = 100;
    let tp = train_protocol(&mut e, &data, &cfg, NoiseKey::new(0, 0), None).unwrap();
    let rc = ReverseSde {
        dt: 0.01,
        temperature: 0.5,
    };
    let x = sample_reverse(
        &mut e,
        &tp.protocol,
        100,
        &rc,
        NoiseKey::new(0, 1),
        &mut ReverseWorkspace::new(),
    )
    .unwrap();
    assert!(x.iter().all(|v| v.is_finite()));
}
