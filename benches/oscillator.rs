//! Throughput of the oscillator-network diffusion model on the 10×10 lattice of the
//! `mnist01` reproduction (100 oscillators, couplings up to next-next-nearest neighbours:
//! 502 pairs, 2408 parameters), f32:
//! - one local force-matching gradient (Bösch et al. 2025, eq. 8) on a batch of 512;
//! - one CD1 gradient (eqs. 10–12), 8 antithetic draws per start, batch 512;
//! - the reverse-time sampler (eq. 2 run as eq. 6): 1000 samples, 100 Euler–Maruyama steps
//!   of `dt = 5·10⁻⁴` (the `mnist01` step).
//!
//! Prints one summary line per benchmark: samples/s for the training steps, and for the
//! sampler both sample-steps/s and whole samples/s at the `mnist01` budget
//! (τ = 3, dt = 5·10⁻⁴: 6000 steps).
//!
//! Run: `cargo bench --bench oscillator`.

#[path = "common/peak.rs"]
mod peak;
use criterion::{Criterion, Throughput};
use peak::gemm_peak;
use physlearn::dynamics::NoiseKey;
use physlearn::dynamics::reverse::{ReverseSde, ReverseWorkspace, reverse_integrate};
use physlearn::energy::Energy;
use physlearn::energy::oscillator::{
    Oscillator, OscillatorConfig, OscillatorProtocol, Param, Topology,
};
use physlearn::learn::cd1::{Cd1Config, cd1_grad};
use physlearn::learn::score::{ScoreWorkspace, force_matching_grad};
use physlearn::real::Real;
use std::hint::black_box;
use std::time::Instant;

const BATCH: usize = 512;
const SAMPLES: usize = 1000;
const STEPS: usize = 100;
const FULL_STEPS: usize = 6000;

fn lattice() -> Oscillator<f32> {
    let cfg = OscillatorConfig {
        gamma_min: 0.05,
        ..OscillatorConfig::new(Topology::Grid {
            rows: 10,
            cols: 10,
            shells: 3,
        })
    };
    let mut e = Oscillator::<f32>::new(&cfg).unwrap();
    // A generic parameter point: every family non-zero.
    let mut rng = NoiseKey::new(3, 3).rng(0, 0);
    let mut th: Vec<f32> = (0..e.n_params())
        .map(|_| 0.05 * f32::randn(&mut rng))
        .collect();
    for v in &mut th[e.range(Param::Alpha)] {
        *v += 1.0;
    }
    for v in &mut th[e.range(Param::Gamma)] {
        *v = 0.05 + v.abs();
    }
    e.set_params(&th).unwrap();
    e
}

/// Mean seconds per call of `f`, measured directly (fallback when criterion's estimate
/// files are unavailable).
fn time_it(mut f: impl FnMut(), reps: usize) -> f64 {
    f();
    let t = Instant::now();
    for _ in 0..reps {
        f();
    }
    t.elapsed().as_secs_f64() / reps as f64
}

fn main() {
    let mut e = lattice();
    let d = e.dim();
    let kt = 1.0;
    let mut rng = NoiseKey::new(1, 1).rng(0, 0);
    let x: Vec<f32> = (0..BATCH * d)
        .map(|_| if f32::randn(&mut rng) > 0.0 { 1.0 } else { -1.0 } + 0.2 * f32::randn(&mut rng))
        .collect();
    let mut ws = ScoreWorkspace::new();
    let mut g = vec![0.0; e.n_params()];
    let cd1 = Cd1Config {
        delta: 1e-3,
        draws: 8,
        antithetic: true,
    };
    let th = e.params().iter().map(|v| v.f64()).collect::<Vec<_>>();
    let proto = OscillatorProtocol::new(vec![0.0, 0.05], vec![th.clone(), th]).unwrap();
    let rsde = ReverseSde {
        dt: 0.05 / STEPS as f64,
        temperature: kt,
    };
    let mut xs: Vec<f32> = (0..SAMPLES * d).map(|_| f32::randn(&mut rng)).collect();
    let mut rws = ReverseWorkspace::new();

    // Criterion's plots need system fonts, which this machine lacks.
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .without_plots();
    {
        let mut grp = c.benchmark_group("oscillator_train_step");
        grp.throughput(Throughput::Elements(BATCH as u64));
        grp.bench_function("force_matching_10x10_b512_f32", |b| {
            b.iter(|| {
                force_matching_grad(&e, &x, kt, &mut ws, &mut g);
                black_box(g[0])
            })
        });
        grp.bench_function("cd1_8draws_10x10_b512_f32", |b| {
            b.iter(|| {
                cd1_grad(&e, &x, kt, &cd1, NoiseKey::new(0, 0), &mut ws, &mut g);
                black_box(g[0])
            })
        });
        grp.finish();
    }
    {
        let mut grp = c.benchmark_group("oscillator_reverse_sampler");
        grp.throughput(Throughput::Elements((SAMPLES * STEPS) as u64));
        grp.bench_function("10x10_1000samples_100steps_f32", |b| {
            b.iter(|| {
                reverse_integrate(
                    &mut e,
                    &proto,
                    &mut xs,
                    &rsde,
                    NoiseKey::new(0, 1),
                    &mut rws,
                    None,
                )
                .unwrap();
                // Keep the states bounded between iterations.
                for v in xs.iter_mut() {
                    *v = v.clamp(-3.0, 3.0);
                }
                black_box(xs[0])
            })
        });
        grp.finish();
    }
    c.final_summary();
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    // Summary lines from a direct timing (criterion's own report is above).
    let fm = 1.0 / time_it(|| force_matching_grad(&e, &x, kt, &mut ws, &mut g), 50);
    let mut ws2 = ScoreWorkspace::new();
    let mut g2 = vec![0.0; g.len()];
    let cd = 1.0
        / time_it(
            || cd1_grad(&e, &x, kt, &cd1, NoiseKey::new(0, 0), &mut ws2, &mut g2),
            20,
        );
    let rev = 1.0
        / time_it(
            || {
                reverse_integrate(
                    &mut e,
                    &proto,
                    &mut xs,
                    &rsde,
                    NoiseKey::new(0, 1),
                    &mut rws,
                    None,
                )
                .unwrap()
            },
            5,
        );
    let threads = rayon::current_num_threads();
    println!(
        "force matching (eq. 8), 10x10 lattice, batch {BATCH}, f32: {:.3} ms/step, {:.0} samples/s ({threads} threads)",
        1e3 / fm,
        fm * BATCH as f64
    );
    println!(
        "CD1 (eqs. 10-12), 8 antithetic draws, batch {BATCH}, f32: {:.3} ms/step, {:.0} samples/s ({threads} threads)",
        1e3 / cd,
        cd * BATCH as f64
    );
    let sample_steps = rev * (SAMPLES * STEPS) as f64;
    println!(
        "machine reference: f32 GEMM peak measured in this run {:.0} GFLOP/s ({threads} threads); \
         these kernels are per-pair elementwise passes without a FLOP model, so no fraction of it is claimed",
        gemm_peak::<f32>() / 1e9
    );
    println!(
        "reverse sampler, 10x10 lattice, f32: {:.3e} sample-steps/s = {:.0} samples/s at {FULL_STEPS} steps ({threads} threads)",
        sample_steps,
        sample_steps / FULL_STEPS as f64
    );
}
