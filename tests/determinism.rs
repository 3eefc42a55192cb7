//! Same seed, same bits — on one thread or two; different seeds differ; divergence is caught.

mod common;
use common::*;
use physlearn::dynamics::Phase;
use physlearn::dynamics::{Langevin, NoiseKey, Workspace, relax};
use physlearn::learn::{EqProp, Estimator, PhaseSpec};

fn gradient(seed: u64, batch: usize) -> Vec<f64> {
    let (e, b) = small_system(31, batch);
    let cost = b.cost::<f64>(e.output_block().0);
    let x0 = b.initial_state::<f64>(10);
    let dyn_ = Langevin {
        dt: 0.02,
        steps: 50,
        temperature: 0.01,
    };
    let spec = PhaseSpec {
        dynamics: dyn_.into(),
        exact: false,
        readout_window: 10,
    };
    EqProp {
        formula: physlearn::learn::Formula::Standard,
        estimator: Estimator::Symmetric,
        beta: 0.1,
        free: spec,
        nudged: spec,
    }
    .gradient(
        &e,
        &x0,
        3,
        &cost,
        NoiseKey::new(seed, 1),
        &mut Workspace::new(),
    )
    .unwrap()
    .grad
}

/// The bit patterns of `v`, for comparisons that must be exact.
fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn same_seed_same_bits_on_one_or_two_threads() {
    // 300 samples = several chunks, so the two-thread run really splits the batch.
    let a = in_pool(1, || gradient(7, 300));
    let b = in_pool(2, || gradient(7, 300));
    let c = in_pool(2, || gradient(7, 300));
    assert_eq!(bits(&a), bits(&b));
    assert_eq!(bits(&b), bits(&c));
    let d = in_pool(2, || gradient(8, 300));
    assert_ne!(
        bits(&a),
        bits(&d),
        "a different seed must give different noise"
    );
}

#[test]
fn diverging_dynamics_name_the_phase_and_step() {
    let (e, b) = small_system(32, 4);
    let mut x = b.initial_state::<f64>(10);
    for v in x.iter_mut().skip(3) {
        *v = 5.0;
    }
    let dyn_ = Langevin {
        dt: 10.0,
        steps: 100,
        temperature: 0.0,
    };
    let err = relax(
        &e,
        &mut x,
        &dyn_,
        &Phase {
            nc: 3,
            nudge: None,
            key: NoiseKey::new(0, 0),
            name: "free",
        },
        &mut Workspace::new(),
        None,
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("phase 'free'") && msg.contains("step"),
        "{msg}"
    );
    assert!(
        err.step >= 1 && err.step < 100,
        "diverged at step {}",
        err.step
    );
}

/// The EqProp gradient of `net` (input layer of 784 clamped) on the batch `x0`, sample `b`'s
/// target being class `b % 10`.
fn classifier_gradient(
    net: &physlearn::energy::hopfield::Hopfield<f32>,
    x0: &[f32],
    ep: &EqProp,
    seed: u64,
) -> Vec<f64> {
    use physlearn::energy::Energy;
    use physlearn::energy::cost::WeightedSquaredError;
    let n = x0.len() / net.dim();
    let mut target = vec![0.0f32; n * 10];
    for b in 0..n {
        target[b * 10 + b % 10] = 1.0;
    }
    let (start, len) = net.output_block();
    let cost = WeightedSquaredError {
        start,
        len,
        target,
        weight: vec![1.0; n],
    };
    ep.gradient(
        net,
        x0,
        784,
        &cost,
        NoiseKey::new(seed, 0),
        &mut Workspace::new(),
    )
    .unwrap()
    .grad
}

/// A Hopfield EqProp gradient big enough that the input drive and readout products run as
/// parallel GEMMs when called from the main thread (outside the pool) with two threads.
fn hopfield_gradient(estimator: Estimator) -> Vec<f64> {
    use physlearn::dynamics::Csb;
    use physlearn::energy::Energy;
    use physlearn::energy::hopfield::Hopfield;
    let net = Hopfield::<f32>::new(&[784, 64, 10], 3).unwrap();
    let (n, d) = (256, net.dim());
    let mut x0 = vec![0.0f32; n * d];
    for b in 0..n {
        for i in 0..784 {
            x0[b * d + i] = ((b * 31 + i * 7) % 17) as f32 / 16.0;
        }
    }
    let phase = |steps| {
        PhaseSpec::finite(Csb {
            dt: 0.5,
            damping: 1.0,
            steps,
            noise: 0.01,
        })
    };
    let ep = EqProp {
        formula: physlearn::learn::Formula::Standard,
        estimator,
        beta: 0.5,
        free: phase(8),
        nudged: phase(5),
    };
    classifier_gradient(&net, &x0, &ep, 5)
}

#[test]
fn parallel_gemms_do_not_change_the_bits() {
    for est in [Estimator::Symmetric, Estimator::OneSided] {
        // Main thread: large products use every thread of the global pool.
        let par = hopfield_gradient(est);
        // Inside a one-thread pool: everything sequential.
        let seq = in_pool(1, || hopfield_gradient(est));
        assert_eq!(bits(&par), bits(&seq), "{est:?}");
        assert!(par.iter().any(|v| *v != 0.0));
    }
}

/// The chunk-by-chunk EqProp path (drive, free and nudged phases of a chunk in one task)
/// gives the states and estimate of relaxing the whole batch phase after phase with the same
/// keys, for every estimator, with noisy dynamics and a batch of several chunks; a NaN in a
/// nudged phase is reported under that phase's name.
#[test]
fn chunked_phases_equal_phase_by_phase_relaxation() {
    use physlearn::dynamics::{Nudge, relax};
    use physlearn::energy::Energy;
    use physlearn::energy::cost::WeightedSquaredError;
    use physlearn::energy::hopfield::Hopfield;
    let net = Hopfield::<f64>::new(&[20, 30, 5], 4).unwrap();
    let (n, d, nc) = (150, net.dim(), 20);
    let mut rng = NoiseKey::new(9, 9).rng(0, 0);
    let mut x0 = vec![0.0; n * d];
    let mut target = vec![0.0; n * 5];
    for b in 0..n {
        for i in 0..nc {
            x0[b * d + i] = rand::Rng::random::<f64>(&mut rng);
        }
        target[b * 5 + b % 5] = 1.0;
    }
    let (start, len) = net.output_block();
    let mut cost = WeightedSquaredError {
        start,
        len,
        target,
        weight: vec![1.0; n],
    };
    let dyn_ = |steps| Langevin {
        dt: 0.3,
        steps,
        temperature: 0.002,
    };
    let key = NoiseKey::new(11, 0);
    for est in [
        Estimator::Symmetric,
        Estimator::OneSided,
        Estimator::Negative,
        Estimator::RandomSign,
    ] {
        let ep = EqProp {
            formula: physlearn::learn::Formula::Standard,
            estimator: est,
            beta: 0.4,
            free: PhaseSpec::finite(dyn_(12)),
            nudged: PhaseSpec::finite(dyn_(7)),
        };
        let got = ep
            .gradient(&net, &x0, nc, &cost, key, &mut Workspace::new())
            .unwrap();
        // Reference: whole-batch phases through relax.
        let mut ws = Workspace::new();
        let mut xf = x0.clone();
        let relax = |x: &mut Vec<f64>, steps, nudge, k, ws: &mut Workspace<f64>| {
            relax(
                &net,
                x,
                &dyn_(steps),
                &Phase {
                    nc,
                    nudge,
                    key: k,
                    name: "p",
                },
                ws,
                None,
            )
            .unwrap()
        };
        relax(&mut xf, 12, None, key.child(0), &mut ws);
        let nudged = |s: f64, stream: u64, ws: &mut Workspace<f64>| {
            let mut x = xf.clone();
            let nu = Nudge::new(&cost, s * 0.4);
            relax(&mut x, 7, Some(nu), key.child(stream), ws);
            x
        };
        let (xa, xb, den) = match est {
            Estimator::Symmetric => (nudged(1.0, 1, &mut ws), nudged(-1.0, 2, &mut ws), 0.8),
            Estimator::OneSided => (nudged(1.0, 1, &mut ws), xf.clone(), 0.4),
            Estimator::Negative => (xf.clone(), nudged(-1.0, 2, &mut ws), 0.4),
            Estimator::RandomSign => {
                // The sign is drawn from the call's key (stream 3 for the nudged phase).
                let s = if rand::Rng::random::<bool>(&mut key.rng(0, u64::MAX)) {
                    1.0
                } else {
                    -1.0
                };
                (nudged(s, 3, &mut ws), xf.clone(), s * 0.4)
            }
        };
        let mut want = vec![0.0; net.n_params()];
        net.grad_theta(&xa, &vec![1.0 / (den * n as f64); n], &mut want);
        net.grad_theta(&xb, &vec![-1.0 / (den * n as f64); n], &mut want);
        for (a, b) in got.free_state.iter().zip(&xf) {
            assert!((a - b).abs() < 1e-12, "{est:?}: free state {a} vs {b}");
        }
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(scale > 0.0);
        for (a, b) in got.grad.iter().zip(&want) {
            assert!(
                (a - b).abs() < 1e-10 * scale,
                "{est:?}: gradient {a} vs {b}"
            );
        }
    }
    // A NaN target poisons only the nudged phases: the error names the first one.
    cost.target[7] = f64::NAN;
    let ep = EqProp {
        formula: physlearn::learn::Formula::Standard,
        estimator: Estimator::Symmetric,
        beta: 0.4,
        free: PhaseSpec::finite(dyn_(12)),
        nudged: PhaseSpec::finite(dyn_(7)),
    };
    let err = ep
        .gradient(&net, &x0, nc, &cost, key, &mut Workspace::new())
        .err()
        .expect("a NaN target must be caught");
    assert_eq!(err.phase, "nudged(+beta)", "{err}");
    assert_eq!((err.step, err.sample), (1, 1), "{err}");
}

/// A noise-free EqProp gradient of the MNIST-shaped Hopfield net on a small batch of
/// mostly-zero inputs: the batch is split into two chunks (by its size) and the sparse input
/// kernels run, so this is the path of the default MLP config.
fn small_batch_flow_gradient() -> Vec<f64> {
    use physlearn::energy::Energy;
    use physlearn::energy::hopfield::Hopfield;
    let net = Hopfield::<f32>::new(&[784, 100, 10], 4).unwrap();
    let (n, d) = (20, net.dim());
    let mut x0 = vec![0.0f32; n * d];
    for b in 0..n {
        for i in 0..784 {
            let h = (b * 131 + i * 37) % 23;
            x0[b * d + i] = if h < 5 { (h + 1) as f32 / 5.0 } else { 0.0 };
        }
    }
    let phase = |steps| {
        PhaseSpec::finite(Langevin {
            dt: 0.5,
            steps,
            temperature: 0.0,
        })
    };
    let ep = EqProp {
        formula: physlearn::learn::Formula::Standard,
        estimator: Estimator::Symmetric,
        beta: 0.5,
        free: phase(12),
        nudged: phase(4),
    };
    classifier_gradient(&net, &x0, &ep, 2)
}

#[test]
fn a_small_noise_free_batch_gives_the_same_bits_on_one_or_two_threads() {
    let one = in_pool(1, small_batch_flow_gradient);
    let two = in_pool(2, small_batch_flow_gradient);
    assert_eq!(bits(&one), bits(&two));
    assert!(one.iter().any(|v| *v != 0.0));
}
