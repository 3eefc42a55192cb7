//! The layered Hopfield energy under the engine's dynamics: the projected `dt = 1` step is
//! the hard-sigmoid fixed-point iteration, and every state stays in the box.

mod common;

use physlearn::dynamics::Phase;
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
        &dyn_,
        &Phase {
            nc: 6,
            nudge: None,
            key: NoiseKey::new(0, 0),
            name: "free",
        },
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
        &dyn_,
        &Phase {
            nc: 8,
            nudge: None,
            key: NoiseKey::new(3, 3),
            name: "free",
        },
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
    use physlearn::dynamics::{Csb, relax};
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
        &gf,
        &Phase {
            nc: 6,
            nudge: None,
            key: NoiseKey::new(0, 0),
            name: "free",
        },
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
    relax(
        &e,
        &mut xc,
        &csb,
        &Phase {
            nc: 6,
            nudge: None,
            key: NoiseKey::new(0, 0),
            name: "free",
        },
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
    relax(
        &e,
        &mut xn,
        &noisy,
        &Phase {
            nc: 6,
            nudge: None,
            key: NoiseKey::new(1, 0),
            name: "free",
        },
        &mut Workspace::new(),
        None,
    )
    .unwrap();
    assert!(xn.iter().all(|v| (0.0..=1.0).contains(v)));
}

mod rules {
    use crate::common::checks;
    use physlearn::dynamics::{Langevin, NoiseKey, Workspace};
    use physlearn::energy::Energy;
    use physlearn::energy::cost::WeightedSquaredError;
    use physlearn::energy::hopfield::Hopfield;
    use physlearn::learn::exact::{bptt_gradient, implicit_gradient};
    use physlearn::learn::{EqProp, Estimator, PhaseSpec};
    use physlearn::linalg::{dist, norm};

    /// A 6-8-3 net with Glorot weights times `scale` (large enough that some units saturate).
    fn setup(scale: f64) -> (Hopfield<f64>, Vec<f64>, WeightedSquaredError<f64>) {
        let mut e = Hopfield::<f64>::new(&[6, 8, 3], 9).unwrap();
        // Scaled weights, and small non-zero biases: with zero biases and zero initial states
        // the first projected step lands exactly on the wall, where the loss has a kink.
        let nw = e.params().len() - 11;
        let th: Vec<f64> = e
            .params()
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if i < nw {
                    scale * v
                } else {
                    0.05 * ((i % 7) as f64 - 3.5)
                }
            })
            .collect();
        e.set_params(&th).unwrap();
        let d = e.dim();
        let n = 5;
        let mut rng = NoiseKey::new(4, 4).rng(0, 0);
        let mut x0 = vec![0.0; n * d];
        let mut target = vec![0.0; n * 3];
        for b in 0..n {
            for i in 0..6 {
                x0[b * d + i] = rand::Rng::random::<f64>(&mut rng);
            }
            target[b * 3 + b % 3] = 1.0;
        }
        let (start, len) = e.output_block();
        (
            e,
            x0,
            WeightedSquaredError {
                start,
                len,
                target,
                weight: vec![1.0; n],
            },
        )
    }

    #[test]
    fn bptt_through_projected_steps_matches_finite_differences() {
        let (mut e, x0, cost) = setup(0.8);
        let dyn_ = Langevin {
            dt: 0.3,
            steps: 30,
            temperature: 0.0,
        };
        let key = NoiseKey::new(0, 0);
        let mut ws = Workspace::new();
        let (g, xk) = bptt_gradient(&e, &x0, 6, &dyn_, &cost, key, &mut ws).unwrap();
        assert!(
            xk.iter().any(|&v| v == 0.0 || v == 1.0),
            "some units should saturate"
        );
        let fd = checks::relaxed_loss_fd(&mut e, &x0, 6, &dyn_, &cost, 1e-7);
        assert!(
            norm(&fd) > 1e-3,
            "degenerate test: the loss does not depend on θ"
        );
        let bad: Vec<(usize, f64, f64)> = g
            .iter()
            .zip(&fd)
            .enumerate()
            .filter(|(_, (a, b))| (*a - *b).abs() > 1e-6)
            .map(|(i, (a, b))| (i, *a, *b))
            .collect();
        assert!(
            dist(&g, &fd) < 1e-6 * (1.0 + norm(&fd)),
            "mismatches {bad:?}"
        );
    }

    #[test]
    fn implicit_gradient_with_active_set_equals_bptt_and_symmetric_eqprop() {
        let (e, x0, cost) = setup(0.8);
        let long = Langevin {
            dt: 0.3,
            steps: 3000,
            temperature: 0.0,
        };
        let mut ws = Workspace::new();
        let (gb, xeq) =
            bptt_gradient(&e, &x0, 6, &long, &cost, NoiseKey::new(0, 0), &mut ws).unwrap();
        let gi = implicit_gradient(&e, &xeq, 6, &cost);
        let pinned = xeq.iter().filter(|&&v| v == 0.0 || v == 1.0).count();
        assert!(
            pinned > 0 && norm(&gi) > 1e-3,
            "degenerate test: {pinned} pinned units, ‖∇L‖ = {}",
            norm(&gi)
        );
        assert!(
            dist(&gb, &gi) < 1e-8 * norm(&gi),
            "implicit vs BPTT: {}",
            dist(&gb, &gi) / norm(&gi)
        );
        // Inside the box the energy and the cost are quadratic, so the equilibrium is linear in
        // β as long as the nudge unpins no unit (β below the smallest wall slack; at β = 0.01
        // some units already leave the walls here): then symmetric EqProp is exact and
        // one-sided has an O(β) bias.
        let mut est = |e_: Estimator, beta: f64| {
            let g = EqProp::new(e_, beta, PhaseSpec::finite(long))
                .gradient(&e, &x0, 6, &cost, NoiseKey::new(0, 0), &mut ws)
                .unwrap()
                .grad;
            dist(&g, &gi) / norm(&gi)
        };
        let sym = est(Estimator::Symmetric, 1e-4);
        assert!(sym < 1e-6, "symmetric relative error {sym}");
        let (o1, o2) = (
            est(Estimator::OneSided, 2e-4),
            est(Estimator::OneSided, 1e-4),
        );
        assert!(
            ((o1 / o2).log2() - 1.0).abs() < 0.1,
            "one-sided order {}",
            (o1 / o2).log2()
        );
    }
}

/// `∂E/∂s` through the fused thin-layer kernel (used for every pair whose upper layer has at
/// most 16 units) equals the energy's Hessian-vector form `(I + C) s − b` computed with plain
/// products only, for nets that mix wide and thin layers, wide layers with a partial vector
/// block, stacked thin layers, with and without a clamped input, in f64 and f32.
#[test]
fn fused_thin_layer_gradient_equals_the_plain_products() {
    fn check<T: physlearn::real::Real>(sizes: &[usize], nc: usize, tol: f64) {
        let mut e = Hopfield::<T>::new(sizes, 5).unwrap();
        let mut rng = NoiseKey::new(3, 3).rng(0, 0);
        // Parameters change between rounds, so a stale packed weight copy would show; 40
        // samples span several vector blocks of the batch.
        for n in [3, 40, 3, 40] {
            // Random biases too, so the drive's bias part is exercised.
            let th: Vec<T> = e
                .params()
                .iter()
                .map(|&v| v + T::of(0.1 * rand::Rng::random::<f64>(&mut rng) - 0.05))
                .collect();
            e.set_params(&th).unwrap();
            let d = e.dim();
            let x: Vec<T> = (0..n * d)
                .map(|_| T::of(rand::Rng::random::<f64>(&mut rng)))
                .collect();
            let nf = d - nc;
            let mut drive = vec![T::zero(); n * nf];
            e.clamped_drive(&x, nc, &mut drive);
            let mut g = vec![T::of(f64::NAN); n * nf];
            e.grad_free(&x, nc, &drive, &mut g);
            // Reference: (I + C) x − b, with the bias read off the zero state's gradient.
            let mut hx = vec![T::zero(); n * d];
            e.hvp(&x, &x, &mut hx);
            let mut g0 = vec![T::zero(); n * d];
            e.grad_x(&vec![T::zero(); n * d], &mut g0);
            for b in 0..n {
                for i in nc..d {
                    let want = (hx[b * d + i] + g0[b * d + i]).f64();
                    let got = g[b * nf + i - nc].f64();
                    assert!(
                        (got - want).abs() <= tol * (1.0 + want.abs()),
                        "sizes {sizes:?}, nc {nc}, batch {n}, sample {b}, unit {i}: fused {got} vs plain {want}"
                    );
                }
            }
        }
    }
    for sizes in [
        &[784usize, 500, 10][..],
        &[7, 37, 20, 5, 3],
        &[9, 13, 16, 4],
        &[12, 17],
        &[5, 40, 33, 10],
    ] {
        for nc in [0, sizes[0]] {
            check::<f64>(sizes, nc, 1e-12);
            check::<f32>(sizes, nc, 1e-4);
        }
    }
}

/// Gradient flow at zero temperature is fused into the Hopfield force pass for the lowest
/// free layer below a thin one (`FastPaths::grad_free_flow`); an integrator that does the same
/// step without offering the fusion (`flow_dt` = `None`) must give the same bits, with and
/// without a nudge on the output, for nets where the fusion applies and where it does not.
#[test]
fn fused_gradient_flow_step_equals_the_separate_update() {
    use physlearn::dynamics::{Integrator, Nudge, relax};
    use physlearn::energy::cost::WeightedSquaredError;
    use physlearn::real::Real;
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// The same gradient flow, without the fusion.
    struct Separate(Langevin);
    impl Integrator for Separate {
        fn steps(&self) -> usize {
            self.0.steps
        }
        fn update<T: Real>(
            &self,
            x: &mut [T],
            f: &[T],
            aux: &mut [T],
            rng: &mut Xoshiro256PlusPlus,
            lo: T,
            hi: T,
        ) -> T {
            self.0.update(x, f, aux, rng, lo, hi)
        }
    }

    fn relaxed<T: Real, I: Integrator>(
        e: &Hopfield<T>,
        x0: &[T],
        nc: usize,
        integ: &I,
        nudge: Option<Nudge<'_, T>>,
    ) -> Vec<T> {
        let mut x = x0.to_vec();
        let (key, mut ws) = (NoiseKey::new(0, 0), Workspace::new());
        relax(
            e,
            &mut x,
            integ,
            &Phase {
                nc,
                nudge,
                key,
                name: "f",
            },
            &mut ws,
            None,
        )
        .unwrap();
        x
    }

    fn check<T: Real>(sizes: &[usize], nc: usize, fused: bool) {
        let e = Hopfield::<T>::new(sizes, 2).unwrap();
        assert_eq!(
            physlearn::energy::flow_prefix(&e, nc) > 0,
            fused,
            "sizes {sizes:?}, nc {nc}"
        );
        let d = e.dim();
        let n = 70; // two chunks, the second partial
        let mut rng = NoiseKey::new(5, 5).rng(0, 0);
        let x0: Vec<T> = (0..n * d)
            .map(|_| T::of(rand::Rng::random::<f64>(&mut rng)))
            .collect();
        let (start, len) = e.output_block();
        let cost = WeightedSquaredError {
            start,
            len,
            target: (0..n * len).map(|i| T::of((i % 3) as f64 * 0.5)).collect(),
            weight: vec![T::one(); n],
        };
        let flow = Langevin {
            dt: 0.4,
            steps: 7,
            temperature: 0.0,
        };
        for nudge in [None, Some(T::of(0.7))] {
            let nudge = nudge.map(|beta| Nudge::new(&cost, beta));
            let a = relaxed(&e, &x0, nc, &flow, nudge);
            let b = relaxed(&e, &x0, nc, &Separate(flow), nudge);
            assert!(a != x0, "the states moved");
            let same = a
                .iter()
                .zip(&b)
                .all(|(p, q)| p.f64().to_bits() == q.f64().to_bits());
            assert!(same, "sizes {sizes:?}, nc {nc}, nudged {}", nudge.is_some());
        }
    }
    for (sizes, nc, fused) in [
        (&[20usize, 37, 10][..], 20, true),
        (&[20, 37, 10][..], 0, false),
        (&[9, 40, 16, 4][..], 9, true),
        (&[37, 10][..], 0, true),
        (&[7, 37, 20, 5][..], 7, false),
    ] {
        check::<f64>(sizes, nc, fused);
        check::<f32>(sizes, nc, fused);
    }
}
