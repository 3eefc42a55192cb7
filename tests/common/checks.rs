//! Generic finite-difference checks that every substrate must pass.
#![allow(dead_code)]

use super::{max_abs, max_abs_diff, rand_vec};
use physlearn::dynamics::Phase;
use physlearn::energy::Energy;

const H: f64 = 1e-6;

fn total_energy<E: Energy<f64>>(e: &E, x: &[f64]) -> f64 {
    let n = x.len() / e.dim();
    let mut out = vec![0.0; n];
    e.energy(x, &mut out);
    out.iter().sum()
}

/// States inside the substrate's box (if any), `n` samples.
pub fn states<E: Energy<f64>>(e: &E, n: usize, seed: u64) -> Vec<f64> {
    let mut x = rand_vec(n * e.dim(), seed, 0.8);
    if let Some((lo, hi)) = e.bounds() {
        for v in &mut x {
            *v = lo + (hi - lo) * (0.1 + 0.8 * (0.5 + 0.5 * v.tanh()));
        }
    }
    x
}

/// `grad_x` against central differences of the energy.
pub fn force<E: Energy<f64>>(e: &E, seed: u64) {
    let x = states(e, 3, seed);
    let mut g = vec![0.0; x.len()];
    e.grad_x(&x, &mut g);
    let mut fd = vec![0.0; x.len()];
    for i in 0..x.len() {
        let (mut xp, mut xm) = (x.clone(), x.clone());
        xp[i] += H;
        xm[i] -= H;
        fd[i] = (total_energy(e, &xp) - total_energy(e, &xm)) / (2.0 * H);
    }
    assert!(
        max_abs_diff(&g, &fd) < 1e-7 * (1.0 + max_abs(&fd)),
        "force mismatch"
    );
}

/// `clamped_drive + grad_free` equals the free block of `grad_x`.
pub fn clamped_split<E: Energy<f64>>(e: &E, nc: usize, seed: u64) {
    let d = e.dim();
    let x = states(e, 4, seed);
    let mut g = vec![0.0; x.len()];
    e.grad_x(&x, &mut g);
    let mut drive = vec![0.0; 4 * (d - nc)];
    let mut gf = vec![0.0; 4 * (d - nc)];
    e.clamped_drive(&x, nc, &mut drive);
    e.grad_free(&x, nc, &drive, &mut gf);
    for b in 0..4 {
        for i in 0..d - nc {
            assert!(
                (gf[b * (d - nc) + i] - g[b * d + nc + i]).abs() < 1e-12,
                "clamped split mismatch"
            );
        }
    }
}

/// `hvp` against differences of the force, and the dense free Hessian against `hvp`.
pub fn curvature<E: Energy<f64>>(e: &E, nc: usize, seed: u64) {
    let d = e.dim();
    let x = states(e, 2, seed);
    let v = rand_vec(2 * d, seed + 1, 1.0);
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
    assert!(
        max_abs_diff(&hv, &fd) < 1e-7 * (1.0 + max_abs(&fd)),
        "hvp mismatch"
    );
    let hm = e.hessian_free(&x[..d], nc);
    let mut vfree = v[..d].to_vec();
    vfree[..nc].fill(0.0);
    let mut o = vec![0.0; d];
    e.hvp(&x[..d], &vfree, &mut o);
    for i in 0..d - nc {
        let s: f64 = (0..d - nc).map(|j| hm[(i, j)] * v[nc + j]).sum();
        assert!((s - o[nc + i]).abs() < 1e-10, "dense Hessian mismatch");
    }
}

/// `grad_theta` against differences of the weighted energy in θ, and `grad_theta_dir`
/// against differences of `grad_theta` along a state direction.
pub fn parameter_derivatives<E: Energy<f64>>(e: &mut E, seed: u64) {
    let x = states(e, 3, seed);
    let w = vec![0.5, -1.0, 2.0];
    let mut g = vec![0.0; e.n_params()];
    e.grad_theta(&x, &w, &mut g);
    let theta = e.params().to_vec();
    let weighted = |e: &E| {
        let mut out = vec![0.0; 3];
        e.energy(&x, &mut out);
        out.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>()
    };
    for i in 0..theta.len() {
        let mut tp = theta.clone();
        tp[i] += H;
        e.set_params(&tp).unwrap();
        let fp = weighted(e);
        tp[i] -= 2.0 * H;
        e.set_params(&tp).unwrap();
        let fm = weighted(e);
        let fd = (fp - fm) / (2.0 * H);
        assert!(
            (g[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
            "param {i}: {} vs {fd}",
            g[i]
        );
    }
    e.set_params(&theta).unwrap();
    let v = rand_vec(x.len(), seed + 2, 1.0);
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
    assert!(
        max_abs_diff(&gd, &fd) < 1e-6 * (1.0 + max_abs(&fd)),
        "mixed derivative mismatch"
    );
}

/// `grad_theta_pair` on two batches sharing the clamped prefix equals the weighted sum of
/// two `grad_theta` readouts.
pub fn paired_readout<E: Energy<f64>>(e: &E, nc: usize, seed: u64) {
    let d = e.dim();
    let xa = states(e, 3, seed);
    let mut xb = states(e, 3, seed + 1);
    for b in 0..3 {
        xb[b * d..b * d + nc].copy_from_slice(&xa[b * d..b * d + nc]);
    }
    let w = vec![0.5, -1.0, 2.0];
    let (ca, cb) = (1.7, -0.3);
    let mut pair = vec![0.25; e.n_params()];
    physlearn::energy::grad_theta_pair(e, &xa, &xb, nc, &w, (ca, cb), &mut pair);
    let (mut ga, mut gb) = (vec![0.0; e.n_params()], vec![0.0; e.n_params()]);
    e.grad_theta(&xa, &w, &mut ga);
    e.grad_theta(&xb, &w, &mut gb);
    let want: Vec<f64> = ga
        .iter()
        .zip(&gb)
        .map(|(a, b)| 0.25 + ca * a + cb * b)
        .collect();
    assert!(
        max_abs_diff(&pair, &want) < 1e-12 * (1.0 + max_abs(&want)),
        "paired readout mismatch (nc = {nc})"
    );
}

/// `energy_free` with the cached drive equals `energy`.
pub fn energy_with_drive<E: Energy<f64>>(e: &E, nc: usize, seed: u64) {
    let x = states(e, 3, seed);
    let mut drive = vec![0.0; 3 * (e.dim() - nc)];
    e.clamped_drive(&x, nc, &mut drive);
    let (mut a, mut b) = (vec![0.0; 3], vec![0.0; 3]);
    e.energy(&x, &mut a);
    physlearn::energy::energy_free(e, &x, nc, &drive, &mut b);
    assert!(
        max_abs_diff(&a, &b) < 1e-12 * (1.0 + max_abs(&a)),
        "energy_free {b:?} != energy {a:?} (nc = {nc})"
    );
}

/// All of the above.
pub fn all<E: Energy<f64>>(e: &mut E, nc: usize, seed: u64) {
    energy_with_drive(e, nc, seed + 60);
    energy_with_drive(e, 0, seed + 70);
    paired_readout(e, nc, seed + 40);
    paired_readout(e, 0, seed + 50);
    force(e, seed);
    clamped_split(e, nc, seed + 10);
    curvature(e, nc, seed + 20);
    parameter_derivatives(e, seed + 30);
}

/// Central differences in θ of the mean cost after relaxing `x0` (clamped prefix `nc`) by
/// `dyn_` from the key `(0, 0)`: the reference for BPTT through the same steps.
pub fn relaxed_loss_fd<E: Energy<f64>>(
    e: &mut E,
    x0: &[f64],
    nc: usize,
    dyn_: &physlearn::dynamics::Langevin,
    cost: &dyn physlearn::energy::cost::Cost<f64>,
    h: f64,
) -> Vec<f64> {
    use physlearn::dynamics::{NoiseKey, Workspace, relax};
    let key = NoiseKey::new(0, 0);
    let mut ws = Workspace::new();
    let theta = e.params().to_vec();
    let mut fd = vec![0.0; theta.len()];
    for i in 0..theta.len() {
        let mut t = theta.clone();
        let mut l = [0.0; 2];
        for (s, sign) in [1.0, -1.0].iter().enumerate() {
            t[i] = theta[i] + sign * h;
            e.set_params(&t).unwrap();
            let mut x = x0.to_vec();
            relax(
                &*e,
                &mut x,
                dyn_,
                &Phase::free("free", nc, key),
                &mut ws,
                None,
            )
            .unwrap();
            l[s] = physlearn::learn::exact::mean_cost(cost, &x, e.dim());
        }
        fd[i] = (l[0] - l[1]) / (2.0 * h);
    }
    e.set_params(&theta).unwrap();
    fd
}
