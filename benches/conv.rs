//! Throughput of one symmetric EqProp training step of the two-convolution MNIST Hopfield
//! net of Laborieux et al. 2021 (1×28×28 → conv 5×5, 32 channels → max-pool 2 → conv 5×5,
//! 64 channels → max-pool 2 → dense 10): batch 128, f32, 40 free and 10 + 10 nudged steps
//! of the fixed-point iteration (projected gradient flow with dt = 1), β = 0.5, on random
//! inputs — the setting of issue 11's speed target.
//!
//! Reports samples/s and GFLOP/s counting the arithmetic a step performs: the input's drive
//! `pool(conv_0(x))` once for all three phases; per relaxation step the second
//! convolution (dense, to find each window's max), its feedback (only the argmax position of
//! each 2×2 window receives signal: a quarter of the dense transposed product) and both
//! halves of the dense readout coupling; and the readouts (the first coupling's once on the
//! shared input, the others per nudged phase, each convolution's pattern recomputed). The
//! fraction is of this machine's f32 GEMM peak, measured in the same run on both cores (the
//! median of 9 faer products of 2048³).
//!
//! Run: `cargo bench --bench conv` (`RAYON_NUM_THREADS=1` for one core).

#[path = "common/batch.rs"]
mod batch;
#[path = "common/peak.rs"]
mod peak;
use batch::random_batch;
use criterion::{Criterion, Throughput};
use peak::{gemm_peak, median};
use physlearn::dynamics::{Langevin, NoiseKey, Workspace};
use physlearn::energy::cost::WeightedSquaredError;
use physlearn::energy::layered::{ConvSpec, DenseInit, Layered, PoolKind, Shape, Stage};
use physlearn::energy::{Classifier, Energy};
use physlearn::learn::{EqProp, Estimator, PhaseSpec};
use std::hint::black_box;
use std::time::Instant;

const BATCH: usize = 128;
const FREE: usize = 40;
const NUDGED: usize = 10;

fn conv(channels: usize) -> Stage {
    Stage::Conv(ConvSpec {
        channels,
        kernel: 5,
        stride: 1,
        padding: 0,
        pool: 2,
        pool_kind: PoolKind::Max,
    })
}

fn net() -> Layered<f32> {
    let stages = [
        conv(32),
        conv(64),
        Stage::Dense {
            units: 10,
            init: DenseInit::FanIn,
        },
    ];
    Layered::<f32>::new(Shape::map(1, 28, 28), &stages, 0).unwrap()
}

/// Floating-point operations of one step per sample (see the module docs).
fn flops_per_sample(net: &Layered<f32>) -> f64 {
    let macs: Vec<f64> = net.couplings().map(|(_, _, c)| c.macs() as f64).collect();
    let (m0, m1, m2) = (macs[0], macs[1], macs[2]);
    let steps = (FREE + 2 * NUDGED) as f64;
    let sparse = 0.25;
    let drive = 2.0 * m0;
    let per_step = 2.0 * m1 * (1.0 + sparse) + 4.0 * m2;
    let readout = 2.0 * m0 * (1.0 + sparse) + 2.0 * (2.0 * m1 * (1.0 + sparse) + 2.0 * m2);
    drive + steps * per_step + readout
}

fn setup(net: &Layered<f32>) -> (Vec<f32>, WeightedSquaredError<f32>, EqProp) {
    let (x0, cost) = random_batch(BATCH, net.dim(), net.n_clamped(), net.output_block());
    let phase = |steps| {
        PhaseSpec::finite(Langevin {
            dt: 1.0,
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
    (x0, cost, ep)
}

fn main() {
    let net = net();
    let (x0, cost, ep) = setup(&net);
    let nc = net.n_clamped();
    let mut ws = Workspace::new();
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .without_plots();
    {
        let mut g = c.benchmark_group("conv_train_step");
        g.throughput(Throughput::Elements(BATCH as u64));
        g.bench_function("mnist_2conv_b128_f32_symmetric", |bch| {
            bch.iter(|| {
                black_box(
                    ep.gradient(&net, &x0, nc, &cost, NoiseKey::new(0, 0), &mut ws)
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
    let t0 = Instant::now();
    let mut times = vec![];
    while t0.elapsed().as_secs_f64() < 10.0 {
        let t = Instant::now();
        black_box(
            ep.gradient(&net, &x0, nc, &cost, NoiseKey::new(0, 0), &mut ws)
                .unwrap(),
        );
        times.push(t.elapsed().as_secs_f64());
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let pct = |p: f64| 1e3 * sorted[((sorted.len() - 1) as f64 * p) as usize];
    let step = median(times);
    let sps = BATCH as f64 / step;
    let fl = flops_per_sample(&net);
    let gflops = sps * fl / 1e9;
    println!(
        "step time percentiles (ms): p10 {:.1}, p50 {:.1}, p90 {:.1} over {} steps",
        pct(0.1),
        pct(0.5),
        pct(0.9),
        sorted.len()
    );
    println!(
        "{}, batch {BATCH}, f32, symmetric EqProp ({FREE}+{NUDGED}+{NUDGED} steps), {} threads: {:.1} ms/step (median), {:.0} samples/s, {:.1} GFLOP/s = {:.1}% of the measured f32 GEMM peak {:.0} GFLOP/s ({:.1} MFLOP/sample)",
        net.describe(),
        rayon::current_num_threads(),
        1e3 * step,
        sps,
        gflops,
        100.0 * gflops * 1e9 / peak,
        peak / 1e9,
        fl / 1e6
    );
}
