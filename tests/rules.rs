//! Learning rules against exact gradients: implicit differentiation vs finite differences of
//! the equilibrium loss, BPTT vs finite differences of the unrolled loss, implicit == BPTT
//! after long relaxation, and the EqProp estimators' bias orders as β → 0.

mod common;
use common::*;
use physlearn::dynamics::{Langevin, NewtonOptions, NoiseKey, Workspace, relax_to_equilibrium};
use physlearn::energy::Energy;
use physlearn::energy::bilinear::Bilinear;
use physlearn::learn::exact::{bptt_gradient, finite_budget_limit, implicit_gradient, mean_cost};
use physlearn::learn::{EqProp, Estimator, PhaseSpec};

const NC: usize = 3;

fn equilibrium_loss(
    e: &Bilinear<f64>,
    x0: &[f64],
    cost: &dyn physlearn::energy::cost::Cost<f64>,
) -> f64 {
    let mut x = x0.to_vec();
    relax_to_equilibrium(
        e,
        &mut x,
        NC,
        None,
        NewtonOptions {
            tol: 1e-13,
            max_iter: 200,
        },
        "free",
    )
    .unwrap();
    mean_cost(cost, &x, e.dim())
}

#[test]
fn implicit_gradient_matches_finite_differences_of_the_equilibrium_loss() {
    let (mut e, batch) = small_system(21, 5);
    let (start, _) = e.output_block();
    let cost = batch.cost::<f64>(start);
    let x0 = batch.initial_state::<f64>(e.dim());
    let mut xeq = x0.clone();
    relax_to_equilibrium(
        &e,
        &mut xeq,
        NC,
        None,
        NewtonOptions {
            tol: 1e-13,
            max_iter: 200,
        },
        "free",
    )
    .unwrap();
    let g = implicit_gradient(&e, &xeq, NC, &cost);
    let theta = e.params().to_vec();
    let h = 1e-5;
    let mut fd = vec![0.0; theta.len()];
    for i in 0..theta.len() {
        let mut t = theta.clone();
        t[i] += h;
        e.set_params(&t).unwrap();
        let lp = equilibrium_loss(&e, &x0, &cost);
        t[i] -= 2.0 * h;
        e.set_params(&t).unwrap();
        let lm = equilibrium_loss(&e, &x0, &cost);
        fd[i] = (lp - lm) / (2.0 * h);
    }
    e.set_params(&theta).unwrap();
    let err = max_abs_diff(&g, &fd);
    assert!(
        err < 1e-7 * (1.0 + max_abs(&fd)),
        "max error {err}, scale {}",
        max_abs(&fd)
    );
}

#[test]
fn bptt_matches_finite_differences_of_the_unrolled_loss() {
    let (mut e, batch) = small_system(22, 4);
    let (start, _) = e.output_block();
    let cost = batch.cost::<f64>(start);
    let x0 = batch.initial_state::<f64>(e.dim());
    let dyn_ = Langevin {
        dt: 0.05,
        steps: 40,
        temperature: 0.0,
    };
    let key = NoiseKey::new(1, 2);
    let mut ws = Workspace::new();
    let (g, _) = bptt_gradient(&e, &x0, NC, &dyn_, &cost, key, &mut ws).unwrap();
    let theta = e.params().to_vec();
    let unrolled = |e: &Bilinear<f64>, ws: &mut Workspace<f64>| {
        let mut x = x0.clone();
        physlearn::dynamics::relax(
            e,
            &mut x,
            &dyn_,
            &physlearn::dynamics::Phase {
                nc: NC,
                nudge: None,
                key,
                name: "free",
            },
            ws,
            None,
        )
        .unwrap();
        mean_cost(&cost, &x, e.dim())
    };
    let h = 1e-6;
    for i in 0..theta.len() {
        let mut t = theta.clone();
        t[i] += h;
        e.set_params(&t).unwrap();
        let lp = unrolled(&e, &mut ws);
        t[i] -= 2.0 * h;
        e.set_params(&t).unwrap();
        let lm = unrolled(&e, &mut ws);
        let fd = (lp - lm) / (2.0 * h);
        assert!(
            (g[i] - fd).abs() < 1e-7 * (1.0 + fd.abs()),
            "param {i}: bptt {} fd {fd}",
            g[i]
        );
    }
}

#[test]
fn bptt_equals_implicit_gradient_after_long_relaxation() {
    let (e, batch) = small_system(23, 6);
    let (start, _) = e.output_block();
    let cost = batch.cost::<f64>(start);
    let x0 = batch.initial_state::<f64>(e.dim());
    let dyn_ = Langevin {
        dt: 0.05,
        steps: 3000,
        temperature: 0.0,
    };
    let mut ws = Workspace::new();
    let (gb, xk) = bptt_gradient(&e, &x0, NC, &dyn_, &cost, NoiseKey::new(0, 0), &mut ws).unwrap();
    let mut xeq = xk.clone();
    relax_to_equilibrium(&e, &mut xeq, NC, None, NewtonOptions::default(), "free").unwrap();
    let gi = implicit_gradient(&e, &xeq, NC, &cost);
    let rel = max_abs_diff(&gb, &gi) / max_abs(&gi);
    assert!(rel < 1e-8, "relative difference {rel}");
}

fn estimate(
    e: &Bilinear<f64>,
    est: Estimator,
    beta: f64,
    free: PhaseSpec,
    nudged: PhaseSpec,
) -> Vec<f64> {
    let (_, batch) = small_system(24, 6);
    let cost = batch.cost::<f64>(e.output_block().0);
    let x0 = batch.initial_state::<f64>(e.dim());
    let ep = EqProp {
        formula: physlearn::learn::Formula::Standard,
        estimator: est,
        beta,
        free,
        nudged,
    };
    ep.gradient(
        e,
        &x0,
        NC,
        &cost,
        NoiseKey::new(5, 5),
        &mut Workspace::new(),
    )
    .unwrap()
    .grad
}

#[test]
fn symmetric_bias_is_second_order_and_one_sided_first_order_at_full_relaxation() {
    let (e, batch) = small_system(24, 6);
    let cost = batch.cost::<f64>(e.output_block().0);
    let mut xeq = batch.initial_state::<f64>(e.dim());
    relax_to_equilibrium(&e, &mut xeq, NC, None, NewtonOptions::default(), "free").unwrap();
    let exact = implicit_gradient(&e, &xeq, NC, &cost);
    let bias = |est, beta| {
        let g = estimate(
            &e,
            est,
            beta,
            PhaseSpec::equilibrium(),
            PhaseSpec::equilibrium(),
        );
        physlearn::linalg::dist(&g, &exact)
    };
    for (est, order) in [(Estimator::Symmetric, 2.0), (Estimator::OneSided, 1.0)] {
        let (b1, b2) = (bias(est, 0.02), bias(est, 0.01));
        let slope = (b1 / b2).log2();
        assert!(
            (slope - order).abs() < 0.1,
            "{est:?}: measured order {slope}, expected {order}"
        );
        // Within the O(β^order) bound with a modest constant, and tending to the exact gradient.
        assert!(
            b2 < b1 && b2 / physlearn::linalg::norm(&exact) < 0.05,
            "{est:?}: bias {b2}"
        );
    }
}

#[test]
fn symmetric_estimator_tends_to_the_finite_budget_limit() {
    let (e, batch) = small_system(25, 6);
    let cost = batch.cost::<f64>(e.output_block().0);
    let x0 = batch.initial_state::<f64>(e.dim());
    let dyn_ = Langevin {
        dt: 0.05,
        steps: 30,
        temperature: 0.0,
    };
    let mut xf = x0.clone();
    physlearn::dynamics::relax(
        &e,
        &mut xf,
        &dyn_,
        &physlearn::dynamics::Phase {
            nc: NC,
            nudge: None,
            key: NoiseKey::new(0, 0),
            name: "free",
        },
        &mut Workspace::new(),
        None,
    )
    .unwrap();
    let g0 = finite_budget_limit(&e, &xf, NC, &dyn_, &cost);
    let ep = |beta| {
        EqProp {
            formula: physlearn::learn::Formula::Standard,
            estimator: Estimator::Symmetric,
            beta,
            free: PhaseSpec::finite(dyn_),
            nudged: PhaseSpec::finite(dyn_),
        }
        .gradient(
            &e,
            &x0,
            NC,
            &cost,
            NoiseKey::new(0, 0),
            &mut Workspace::new(),
        )
        .unwrap()
        .grad
    };
    let (b1, b2) = (
        physlearn::linalg::dist(&ep(0.02), &g0),
        physlearn::linalg::dist(&ep(0.01), &g0),
    );
    let slope = (b1 / b2).log2();
    assert!((slope - 2.0).abs() < 0.1, "order {slope}");
}
