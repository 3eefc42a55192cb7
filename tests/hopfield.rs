//! The layered Hopfield energy under the engine's dynamics: the projected `dt = 1` step is
//! the hard-sigmoid fixed-point iteration, and every state stays in the box.

use physlearn::dynamics::{Langevin, NoiseKey, Workspace, relax};
use physlearn::energy::Energy;
use physlearn::energy::hopfield::Hopfield;

#[test]
fn projected_unit_step_is_the_fixed_point_iteration() {
    let e = Hopfield::<f64>::new(&[6, 5, 3], 1).unwrap();
    let d = e.dim();
    let mut rng = NoiseKey::new(1, 1).rng(0, 0);
    let x: Vec<f64> = (0..2 * d)
        .map(|_| rand::Rng::random::<f64>(&mut rng))
        .collect();
    let mut y = x.clone();
    let dyn_ = Langevin {
        dt: 1.0,
        steps: 1,
        temperature: 0.0,
    };
    relax(
        &e,
        &mut y,
        6,
        &dyn_,
        None,
        NoiseKey::new(0, 0),
        "free",
        &mut Workspace::new(),
        None,
    )
    .unwrap();
    // s_l ← clip(s_l − ∂E/∂s_l) = clip(W_{l−1} s_{l−1} + W_lᵀ s_{l+1} + b_l).
    let mut g = vec![0.0; x.len()];
    e.grad_x(&x, &mut g);
    for b in 0..2 {
        for i in 6..d {
            let want = (x[b * d + i] - g[b * d + i]).clamp(0.0, 1.0);
            assert!((y[b * d + i] - want).abs() < 1e-14);
        }
        assert_eq!(
            &y[b * d..b * d + 6],
            &x[b * d..b * d + 6],
            "input must stay clamped"
        );
    }
}

#[test]
fn noisy_dynamics_stay_in_the_box() {
    let e = Hopfield::<f32>::new(&[8, 16, 4], 2).unwrap();
    let mut x = vec![0.5f32; 100 * e.dim()];
    let dyn_ = Langevin {
        dt: 0.5,
        steps: 50,
        temperature: 0.5,
    };
    relax(
        &e,
        &mut x,
        8,
        &dyn_,
        None,
        NoiseKey::new(3, 3),
        "free",
        &mut Workspace::new(),
        None,
    )
    .unwrap();
    assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(
        x.iter().any(|&v| v == 0.0 || v == 1.0),
        "strong noise should hit the walls"
    );
}

#[test]
fn csb_reaches_the_gradient_flow_equilibrium() {
    use physlearn::dynamics::{Csb, relax_with};
    let e = Hopfield::<f64>::new(&[6, 8, 3], 4).unwrap();
    let d = e.dim();
    let mut rng = NoiseKey::new(2, 2).rng(0, 0);
    let x0: Vec<f64> = (0..3 * d)
        .map(|_| rand::Rng::random::<f64>(&mut rng))
        .collect();
    let mut xg = x0.clone();
    let gf = Langevin {
        dt: 0.2,
        steps: 2000,
        temperature: 0.0,
    };
    relax(
        &e,
        &mut xg,
        6,
        &gf,
        None,
        NoiseKey::new(0, 0),
        "free",
        &mut Workspace::new(),
        None,
    )
    .unwrap();
    let mut xc = x0.clone();
    let csb = Csb {
        dt: 0.2,
        damping: 1.0,
        steps: 2000,
        noise: 0.0,
    };
    relax_with(
        &e,
        &mut xc,
        6,
        &csb,
        None,
        NoiseKey::new(0, 0),
        "free",
        &mut Workspace::new(),
        None,
    )
    .unwrap();
    let err = xg
        .iter()
        .zip(&xc)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(err < 1e-8, "cSB and gradient flow disagree by {err}");
    // With noise the positions still never leave the box.
    let noisy = Csb { noise: 0.3, ..csb };
    let mut xn = x0.clone();
    relax_with(
        &e,
        &mut xn,
        6,
        &noisy,
        None,
        NoiseKey::new(1, 0),
        "free",
        &mut Workspace::new(),
        None,
    )
    .unwrap();
    assert!(xn.iter().all(|v| (0.0..=1.0).contains(v)));
}
