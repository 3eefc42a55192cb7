//! Every force, curvature and parameter derivative of the bilinear substrate and the DSM cost
//! against central finite differences, in f64.

mod common;
use common::*;
use physlearn::energy::Energy;
use physlearn::energy::cost::Cost;

const H: f64 = 1e-6;

#[test]
fn bilinear_substrate_passes_every_derivative_check() {
    let (mut e, _) = small_system(1, 3);
    checks::all(&mut e, 3, 2);
    // Also with an explicit pair list (a chain) and no quartic term.
    let cfg = physlearn::energy::bilinear::BilinearConfig {
        pairs: Some(vec![[0, 1], [1, 2]]),
        quartic: 0.0,
        ..small_cfg()
    };
    let mut e = physlearn::energy::bilinear::Bilinear::<f64>::new(&cfg, 5).unwrap();
    checks::all(&mut e, 3, 7);
}

#[test]
fn hopfield_network_passes_every_derivative_check() {
    let mut e = physlearn::energy::hopfield::Hopfield::<f64>::new(&[5, 4, 3, 2], 3).unwrap();
    // Non-zero biases so their derivatives are exercised.
    let mut th = e.params().to_vec();
    for (i, v) in th.iter_mut().enumerate().rev().take(9) {
        *v = 0.1 * i as f64 / 10.0 - 0.3;
    }
    e.set_params(&th).unwrap();
    checks::all(&mut e, 5, 11);
}

#[test]
fn dsm_cost_gradient_and_curvature_match_finite_differences() {
    let (e, batch) = small_system(11, 4);
    let d = e.dim();
    let (start, _) = e.output_block();
    let cost = batch.cost::<f64>(start);
    let x = rand_vec(4 * d, 12, 1.0);
    let nc = 3;
    let nf = d - nc;
    let mut g = vec![0.0; 4 * nf];
    cost.add_grad(&x, d, nc, 0, 1.0, &mut g);
    let val = |x: &[f64]| {
        let mut o = vec![0.0; 4];
        cost.value(x, d, 0, &mut o);
        o.iter().sum::<f64>()
    };
    for b in 0..4 {
        for i in 0..nf {
            let (mut xp, mut xm) = (x.clone(), x.clone());
            xp[b * d + nc + i] += H;
            xm[b * d + nc + i] -= H;
            let fd = (val(&xp) - val(&xm)) / (2.0 * H);
            assert!((g[b * nf + i] - fd).abs() < 1e-6 * (1.0 + fd.abs()));
        }
    }
    // Curvature: the cost is quadratic, so the HVP equals the gradient difference exactly.
    let v = rand_vec(4 * nf, 13, 1.0);
    let mut hv = vec![0.0; 4 * nf];
    cost.add_hvp(&x, d, nc, 0, (&v, 1.0), &mut hv);
    let mut xp = x.clone();
    for b in 0..4 {
        for i in 0..nf {
            xp[b * d + nc + i] += v[b * nf + i];
        }
    }
    let mut g2 = vec![0.0; 4 * nf];
    cost.add_grad(&xp, d, nc, 0, 1.0, &mut g2);
    let diff: Vec<f64> = g2.iter().zip(&g).map(|(a, b)| a - b).collect();
    assert!(max_abs_diff(&hv, &diff) < 1e-12);
}

#[test]
fn f32_substrate_agrees_with_f64() {
    use physlearn::dynamics::{Langevin, NoiseKey, Workspace};
    use physlearn::energy::bilinear::Bilinear;
    use physlearn::learn::{EqProp, Estimator, PhaseSpec};
    let cfg = small_cfg();
    let e64 = Bilinear::<f64>::new(&cfg, 4).unwrap();
    let e32 = Bilinear::<f32>::new(&cfg, 4).unwrap();
    let x = rand_vec(5 * e64.dim(), 5, 0.8);
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let (mut g, mut g32) = (vec![0.0; x.len()], vec![0.0f32; x.len()]);
    e64.grad_x(&x, &mut g);
    e32.grad_x(&x32, &mut g32);
    let g32: Vec<f64> = g32.iter().map(|&v| v as f64).collect();
    assert!(max_abs_diff(&g, &g32) < 1e-5 * (1.0 + max_abs(&g)));
    // A symmetric EqProp gradient at finite relaxation, in both precisions.
    let (_, b) = small_system(4, 8);
    let dyn_ = Langevin {
        dt: 0.05,
        steps: 100,
        temperature: 0.0,
    };
    let ep = EqProp::new(Estimator::Symmetric, 0.1, PhaseSpec::finite(dyn_));
    let ga = ep
        .gradient(
            &e64,
            &b.initial_state::<f64>(10),
            3,
            &b.cost::<f64>(7),
            NoiseKey::new(0, 0),
            &mut Workspace::new(),
        )
        .unwrap()
        .grad;
    let gb = ep
        .gradient(
            &e32,
            &b.initial_state::<f32>(10),
            3,
            &b.cost::<f32>(7),
            NoiseKey::new(0, 0),
            &mut Workspace::new(),
        )
        .unwrap()
        .grad;
    assert!(physlearn::linalg::cosine(&ga, &gb) > 0.9999);
}
