//! Throughput of one EqProp training step of the MNIST MLP:
//! a 784-500-10 hard-sigmoid Hopfield net, batch 128, f32, free phase of 20 projected
//! gradient steps plus two nudged phases of 15 (symmetric EqProp), on random inputs.
//!
//! Reports samples/s and GFLOP/s counting the arithmetic a step performs — the input drive
//! `W_0 x` once for all three phases (2·784·500 per sample), every relaxation step's
//! hidden↔output couplings (2·2·500·10 per sample and step), and the readout difference of
//! the two nudged phases, whose input block is contracted once (2·784·500 + 2·2·500·10 per
//! sample) — and the fraction of this machine's f32 GEMM peak, measured here on both cores
//! (the median of 9 faer products of 2048³).
//!
//! After criterion's own estimate, it times single steps for 5 s and prints their p10 / p50 /
//! p90; the headline uses the median step. On a shared virtual machine the step time drifts
//! by ±15 % between runs while the GEMM peak stays put (the step streams more memory), so
//! compare several runs, or the p10, rather than two single numbers.
//!
//! A last line repeats the step with a parameter write before each (`set_params`: NaN/Inf
//! check, copy, re-packing of the thin layer's weights), as a training step has.
//!
//! Compare builds with several alternating runs: on this shared VM a single pair of runs
//! differs by more than most changes do.
//!
//! Run: `cargo bench --bench hopfield` (`RAYON_NUM_THREADS=1` for one core).

#[path = "common/batch.rs"]
mod batch;
#[path = "common/peak.rs"]
mod peak;
use batch::random_batch;
use criterion::{Criterion, Throughput};
use peak::{gemm_peak, median};
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

fn flops_per_sample() -> f64 {
    let (a, b, c) = (LAYERS[0] as f64, LAYERS[1] as f64, LAYERS[2] as f64);
    let steps = (FREE + 2 * NUDGED) as f64;
    2.0 * a * b + steps * 4.0 * b * c + 2.0 * a * b + 2.0 * 2.0 * b * c
}

fn setup() -> (Hopfield<f32>, Vec<f32>, WeightedSquaredError<f32>, EqProp) {
    let net = Hopfield::<f32>::new(&LAYERS, 0).unwrap();
    let (x0, cost) = random_batch(BATCH, net.dim(), LAYERS[0], net.output_block());
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
    let peak = gemm_peak::<f32>();
    // Per-step times over 5 s; the median is robust to the bursts of interference this
    // shared machine shows (the mean is printed too).
    let t0 = Instant::now();
    let mut times = vec![];
    while t0.elapsed().as_secs_f64() < 5.0 {
        let t = Instant::now();
        black_box(
            ep.gradient(&net, &x0, 784, &cost, NoiseKey::new(0, 0), &mut ws)
                .unwrap(),
        );
        times.push(t.elapsed().as_secs_f64());
    }
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let pct = |p: f64| 1e3 * sorted[((sorted.len() - 1) as f64 * p) as usize];
    println!(
        "step time percentiles (ms): p10 {:.2}, p50 {:.2}, p90 {:.2} over {} steps",
        pct(0.1),
        pct(0.5),
        pct(0.9),
        sorted.len()
    );
    let step = median(times);
    let sps = BATCH as f64 / step;
    let gflops = sps * flops_per_sample() / 1e9;
    println!(
        "784-500-10, batch {BATCH}, f32, symmetric EqProp ({FREE}+{NUDGED}+{NUDGED} steps), {} threads: {:.2} ms/step (median; mean {:.2}), {:.0} samples/s, {:.1} GFLOP/s = {:.1}% of the measured f32 GEMM peak {:.0} GFLOP/s ({:.3} MFLOP/sample; params {})",
        rayon::current_num_threads(),
        1e3 * step,
        1e3 * mean,
        sps,
        gflops,
        100.0 * gflops * 1e9 / peak,
        peak / 1e9,
        flops_per_sample() / 1e6,
        net.n_params()
    );
    // In training each step also writes new parameters (checked for NaN/Inf, copied, the
    // thin layer's weights re-packed): the same step with a parameter write.
    let mut net2 = net.clone();
    let theta = net.params().to_vec();
    let t0 = Instant::now();
    let mut times = vec![];
    while t0.elapsed().as_secs_f64() < 3.0 {
        let t = Instant::now();
        net2.set_params(&theta).unwrap();
        black_box(
            ep.gradient(&net2, &x0, 784, &cost, NoiseKey::new(0, 0), &mut ws)
                .unwrap(),
        );
        times.push(t.elapsed().as_secs_f64());
    }
    let step = median(times);
    let gflops = BATCH as f64 / step * flops_per_sample() / 1e9;
    println!(
        "with a parameter write per step (as in training): {:.2} ms/step (median), {:.0} samples/s, {:.1}% of the peak",
        1e3 * step,
        BATCH as f64 / step,
        100.0 * gflops * 1e9 / peak
    );
}
