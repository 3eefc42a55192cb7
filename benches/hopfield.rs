//! Throughput of one EqProp training step of the MNIST MLP (issue 3's speed target):
//! a 784-500-10 hard-sigmoid Hopfield net, batch 128, f32, free phase of 20 projected
//! gradient steps plus two nudged phases of 15 (symmetric EqProp), on random inputs.
//!
//! Reports samples/s and GFLOP/s counting the useful arithmetic of a step — the input drive
//! `W_0 x` once (2·784·500 per sample), every relaxation step's hidden↔output couplings
//! (2·2·500·10 per sample and step), and the two nudged-phase `∂E/∂W` readouts that the
//! symmetric estimator needs (2·(784·500 + 500·10) per sample each) — and the fraction of this machine's f32 GEMM peak (150 GFLOP/s).
//!
//! Run: `cargo bench --bench hopfield`.

use criterion::{Criterion, Throughput};
use physlearn::dynamics::{Langevin, NoiseKey, Workspace};
use physlearn::energy::Energy;
use physlearn::energy::cost::WeightedSquaredError;
use physlearn::energy::hopfield::Hopfield;
use physlearn::learn::{EqProp, Estimator, PhaseSpec};
use std::hint::black_box;
use std::time::Instant;

const BATCH: usize = 128;
const LAYERS: [usize; 3] = [784, 500, 10];
const FREE: usize = 20;
const NUDGED: usize = 15;
const PEAK_F32: f64 = 150e9;

fn flops_per_sample() -> f64 {
    let (a, b, c) = (LAYERS[0] as f64, LAYERS[1] as f64, LAYERS[2] as f64);
    let steps = (FREE + 2 * NUDGED) as f64;
    2.0 * a * b + steps * 4.0 * b * c + 2.0 * 2.0 * (a * b + b * c)
}

fn setup() -> (Hopfield<f32>, Vec<f32>, WeightedSquaredError<f32>, EqProp) {
    let net = Hopfield::<f32>::new(&LAYERS, 0).unwrap();
    let d = net.dim();
    let mut rng = NoiseKey::new(1, 1).rng(0, 0);
    let mut x0 = vec![0.0f32; BATCH * d];
    let mut target = vec![0.0f32; BATCH * 10];
    for b in 0..BATCH {
        for i in 0..784 {
            x0[b * d + i] = rand::Rng::random::<f32>(&mut rng);
        }
        target[b * 10 + b % 10] = 1.0;
    }
    let (start, len) = net.output_block();
    let cost = WeightedSquaredError {
        start,
        len,
        target,
        weight: vec![1.0; BATCH],
    };
    let phase = |steps| {
        PhaseSpec::finite(Langevin {
            dt: 0.5,
            steps,
            temperature: 0.0,
        })
    };
    let ep = EqProp {
        estimator: Estimator::Symmetric,
        beta: 0.5,
        free: phase(FREE),
        nudged: phase(NUDGED),
    };
    (net, x0, cost, ep)
}

fn main() {
    let (net, x0, cost, ep) = setup();
    let mut ws = Workspace::new();
    // Criterion's plots need system fonts, which this machine lacks.
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .without_plots();
    {
        let mut g = c.benchmark_group("hopfield_train_step");
        g.throughput(Throughput::Elements(BATCH as u64));
        g.bench_function("784-500-10_b128_f32_symmetric", |bch| {
            bch.iter(|| {
                black_box(
                    ep.gradient(&net, &x0, 784, &cost, NoiseKey::new(0, 0), &mut ws)
                        .unwrap()
                        .grad
                        .len(),
                )
            })
        });
        g.finish();
    }
    c.final_summary();
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    let t0 = Instant::now();
    let mut n = 0usize;
    while t0.elapsed().as_secs_f64() < 3.0 {
        black_box(
            ep.gradient(&net, &x0, 784, &cost, NoiseKey::new(0, 0), &mut ws)
                .unwrap(),
        );
        n += 1;
    }
    let secs = t0.elapsed().as_secs_f64();
    let sps = (n * BATCH) as f64 / secs;
    let gflops = sps * flops_per_sample() / 1e9;
    println!(
        "784-500-10, batch {BATCH}, f32, symmetric EqProp ({FREE}+{NUDGED}+{NUDGED} steps): {:.1} ms/step, {:.0} samples/s, {:.1} GFLOP/s useful = {:.1}% of the f32 GEMM peak ({} MFLOP/sample; params {})",
        1e3 * secs / n as f64,
        sps,
        gflops,
        100.0 * gflops * 1e9 / PEAK_F32,
        flops_per_sample() / 1e6,
        net.n_params()
    );
}
