//! Same seed, same bits — on one thread or two; different seeds differ; divergence is caught.

mod common;
use common::*;
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
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
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
        3,
        &dyn_,
        None,
        NoiseKey::new(0, 0),
        "free",
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

/// A Hopfield EqProp gradient big enough that the input drive and readout products run as
/// parallel GEMMs when called from the main thread (outside the pool) with two threads.
fn hopfield_gradient(estimator: Estimator) -> Vec<f64> {
    use physlearn::dynamics::Csb;
    use physlearn::energy::Energy;
    use physlearn::energy::cost::WeightedSquaredError;
    use physlearn::energy::hopfield::Hopfield;
    let net = Hopfield::<f32>::new(&[784, 64, 10], 3).unwrap();
    let (n, d) = (256, net.dim());
    let mut x0 = vec![0.0f32; n * d];
    let mut target = vec![0.0f32; n * 10];
    for b in 0..n {
        for i in 0..784 {
            x0[b * d + i] = ((b * 31 + i * 7) % 17) as f32 / 16.0;
        }
        target[b * 10 + b % 10] = 1.0;
    }
    let (start, len) = net.output_block();
    let cost = WeightedSquaredError {
        start,
        len,
        target,
        weight: vec![1.0; n],
    };
    let phase = |steps| {
        PhaseSpec::finite(Csb {
            dt: 0.5,
            damping: 1.0,
            steps,
            noise: 0.01,
        })
    };
    let ep = EqProp {
        estimator,
        beta: 0.5,
        free: phase(8),
        nudged: phase(5),
    };
    ep.gradient(
        &net,
        &x0,
        784,
        &cost,
        NoiseKey::new(5, 0),
        &mut Workspace::new(),
    )
    .unwrap()
    .grad
}

#[test]
fn parallel_gemms_do_not_change_the_bits() {
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for est in [Estimator::Symmetric, Estimator::OneSided] {
        // Main thread: large products use every thread of the global pool.
        let par = hopfield_gradient(est);
        // Inside a one-thread pool: everything sequential.
        let seq = in_pool(1, || hopfield_gradient(est));
        assert_eq!(bits(&par), bits(&seq), "{est:?}");
        assert!(par.iter().any(|v| *v != 0.0));
    }
}
