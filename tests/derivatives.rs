//! Every force, curvature and parameter derivative of the bilinear substrate and the DSM cost
//! against central finite differences, in f64.

mod common;
use common::*;
use physlearn::energy::Energy;
use physlearn::energy::cost::Cost;

const H: f64 = 1e-6;

fn total_energy(e: &impl Energy<f64>, x: &[f64]) -> f64 {
    let n = x.len() / e.dim();
    let mut out = vec![0.0; n];
    e.energy(x, &mut out);
    out.iter().sum()
}

#[test]
fn force_matches_finite_differences() {
    let (e, _) = small_system(1, 3);
    let x = rand_vec(3 * e.dim(), 2, 0.8);
    let mut g = vec![0.0; x.len()];
    e.grad_x(&x, &mut g);
    let mut fd = vec![0.0; x.len()];
    for i in 0..x.len() {
        let (mut xp, mut xm) = (x.clone(), x.clone());
        xp[i] += H;
        xm[i] -= H;
        fd[i] = (total_energy(&e, &xp) - total_energy(&e, &xm)) / (2.0 * H);
    }
    assert!(
        max_abs_diff(&g, &fd) < 1e-7 * (1.0 + max_abs(&fd)),
        "{g:?}\n{fd:?}"
    );
}

#[test]
fn clamped_drive_plus_free_force_is_the_free_block_of_the_force() {
    let (e, _) = small_system(3, 4);
    let d = e.dim();
    let nc = 3;
    let x = rand_vec(4 * d, 4, 1.0);
    let mut g = vec![0.0; x.len()];
    e.grad_x(&x, &mut g);
    let mut drive = vec![0.0; 4 * (d - nc)];
    let mut gf = vec![0.0; 4 * (d - nc)];
    e.clamped_drive(&x, nc, &mut drive);
    e.grad_free(&x, nc, &drive, &mut gf);
    for b in 0..4 {
        for i in 0..d - nc {
            assert!((gf[b * (d - nc) + i] - g[b * d + nc + i]).abs() < 1e-12);
        }
    }
}

#[test]
fn hvp_matches_finite_differences_of_the_force() {
    let (e, _) = small_system(5, 2);
    let x = rand_vec(2 * e.dim(), 6, 0.8);
    let v = rand_vec(2 * e.dim(), 7, 1.0);
    let mut hv = vec![0.0; x.len()];
    e.hvp(&x, &v, &mut hv);
    let (mut gp, mut gm) = (vec![0.0; x.len()], vec![0.0; x.len()]);
    let xp: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a + H * b).collect();
    let xm: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a - H * b).collect();
    e.grad_x(&xp, &mut gp);
    e.grad_x(&xm, &mut gm);
    let fd: Vec<f64> = gp
        .iter()
        .zip(&gm)
        .map(|(a, b)| (a - b) / (2.0 * H))
        .collect();
    assert!(max_abs_diff(&hv, &fd) < 1e-7 * (1.0 + max_abs(&fd)));
    // The dense free Hessian agrees with the HVP.
    let nc = 3;
    let hm = e.hessian_free(&x[..e.dim()], nc);
    for i in 0..e.dim() - nc {
        let s: f64 = (0..e.dim() - nc).map(|j| hm[(i, j)] * v[nc + j]).sum();
        let mut vfree = v[..e.dim()].to_vec();
        vfree[..nc].fill(0.0);
        let mut o = vec![0.0; e.dim()];
        e.hvp(&x[..e.dim()], &vfree, &mut o);
        assert!((s - o[nc + i]).abs() < 1e-12);
    }
}

#[test]
fn parameter_derivatives_match_finite_differences() {
    let (mut e, _) = small_system(8, 3);
    let x = rand_vec(3 * e.dim(), 9, 0.9);
    let w = vec![0.5, -1.0, 2.0];
    let mut g = vec![0.0; e.n_params()];
    e.grad_theta(&x, &w, &mut g);
    let theta = e.params().to_vec();
    let d = e.dim();
    let weighted = |e: &physlearn::energy::bilinear::Bilinear<f64>| {
        let mut out = vec![0.0; 3];
        e.energy(&x, &mut out);
        out.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>()
    };
    for i in 0..theta.len() {
        let mut tp = theta.clone();
        tp[i] += H;
        e.set_params(&tp).unwrap();
        let fp = weighted(&e);
        tp[i] -= 2.0 * H;
        e.set_params(&tp).unwrap();
        let fm = weighted(&e);
        let fd = (fp - fm) / (2.0 * H);
        assert!(
            (g[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
            "param {i}: {} vs {fd}",
            g[i]
        );
    }
    e.set_params(&theta).unwrap();
    // Mixed derivative: directional derivative of grad_theta along v.
    let v = rand_vec(3 * d, 10, 1.0);
    let mut gd = vec![0.0; e.n_params()];
    e.grad_theta_dir(&x, &v, &w, &mut gd);
    let xp: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a + H * b).collect();
    let xm: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a - H * b).collect();
    let (mut gp, mut gm) = (vec![0.0; e.n_params()], vec![0.0; e.n_params()]);
    e.grad_theta(&xp, &w, &mut gp);
    e.grad_theta(&xm, &w, &mut gm);
    let fd: Vec<f64> = gp
        .iter()
        .zip(&gm)
        .map(|(a, b)| (a - b) / (2.0 * H))
        .collect();
    assert!(max_abs_diff(&gd, &fd) < 1e-6 * (1.0 + max_abs(&fd)));
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
    cost.add_hvp(&x, d, nc, 0, &v, 1.0, &mut hv);
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
