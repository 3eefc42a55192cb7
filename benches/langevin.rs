//! Throughput of the Langevin engine on the symmetric-EqProp paper's bilinear substrate
//! (`D = 64` in 4 modules of 16, rank 16, all 6 module pairs coupled, module 0 clamped input,
//! module 3 output; `ThermoConfig::default()`).
//!
//! Criterion groups, each at batch sizes 1, 64, 1024 in f32 and f64:
//! - `langevin_step`: [`relax`] with `Langevin { dt: 0.01, steps: 100, temperature: 1e-3 }` per
//!   iteration (so the once-per-phase clamped drive is amortised as in real use); the
//!   throughput is in sample-steps/s (`Elements(batch · 100)`).
//! - `eqprop_symmetric`: one symmetric EqProp gradient (free + two nudged phases of `K = 300`
//!   finite-relaxation steps, β = 0.05); throughput in sample-steps/s (`Elements(batch · 900)`),
//!   time per iteration = time per gradient.
//!
//! After criterion's output a summary (own `Instant` loops, ~0.5 s per configuration) prints
//! GEMM GFLOP/s, the fraction of this machine's measured GEMM peak, Gaussian draws/s, the cost
//! of the noise (temperature 0 vs 1e-3) and a bare-GEMM reference for the same shapes.
//!
//! Run: `cargo bench --bench langevin` (quick check: `cargo bench --bench langevin -- --test`).
//! Criterion's plots are disabled (its plotters backend needs system fonts).
//! `LANGEVIN_SUMMARY=0` skips the summary; `LANGEVIN_SUMMARY_SECS` sets its time per entry.

#[path = "common/peak.rs"]
mod peak;
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use peak::gemm_peak;
use physlearn::Real;
use physlearn::data::synthetic::GaussianData;
use physlearn::dynamics::Phase;
use physlearn::dynamics::langevin::CHUNK;
use physlearn::dynamics::{Langevin, NoiseKey, Workspace, relax};
use physlearn::energy::Energy;
use physlearn::energy::bilinear::Bilinear;
use physlearn::energy::cost::WeightedSquaredError;
use physlearn::experiments::thermo_eqprop::ThermoConfig;
use physlearn::learn::{EqProp, Estimator, PhaseSpec};
use physlearn::linalg::{gemm, view, view_mut};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Euler–Maruyama step.
const DT: f64 = 0.01;
/// `k_B T` of the benchmarked dynamics.
const TEMPERATURE: f64 = 1e-3;
/// Langevin steps per timed iteration of `langevin_step`.
const STEPS_PER_ITER: usize = 100;
/// Steps per EqProp phase.
const K_PHASE: usize = 300;
/// EqProp phases per symmetric gradient (free, +β, −β).
const PHASES: usize = 3;
/// Nudge strength.
const BETA: f64 = 0.05;
/// Batch sizes.
const BATCHES: [usize; 3] = [1, 64, 1024];
/// This machine's GEMM peak in precision `T` on both cores (flop/s), measured once per run.
fn peak<T: Real>() -> f64 {
    static F32: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    static F64: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    let cell = if T::NAME == "f32" { &F32 } else { &F64 };
    *cell.get_or_init(gemm_peak::<T>)
}

fn dynamics(steps: usize, temperature: f64) -> Langevin {
    Langevin {
        dt: DT,
        steps,
        temperature,
    }
}

/// The paper's substrate, one data batch and the reusable buffers.
struct Setup<T: Real> {
    energy: Bilinear<T>,
    nc: usize,
    x0: Vec<T>,
    x: Vec<T>,
    cost: WeightedSquaredError<T>,
    ws: Workspace<T>,
    /// Advances the noise stream between iterations.
    iter: u64,
}

impl<T: Real> Setup<T> {
    fn new(batch: usize) -> Self {
        let cfg = ThermoConfig::default();
        let energy = Bilinear::<T>::new(&cfg.substrate, cfg.seed).expect("paper substrate");
        let nc = energy.n_clamped();
        let (out_start, _) = energy.output_block();
        let data = GaussianData::new(&cfg.data, nc, cfg.seed).expect("paper data");
        let b = data.batch(batch, NoiseKey::new(cfg.seed, 1));
        let x0: Vec<T> = b.initial_state::<T>(energy.dim());
        let cost = b.cost::<T>(out_start);
        let mut s = Self {
            energy,
            nc,
            x: x0.clone(),
            x0,
            cost,
            ws: Workspace::new(),
            iter: 0,
        };
        // Grow the workspace outside the timed region.
        s.langevin(&dynamics(1, TEMPERATURE));
        s
    }

    /// Free coordinates per sample (the GEMM dimension).
    fn nf(&self) -> usize {
        self.energy.dim() - self.nc
    }

    /// GEMM flops of one step of one sample: `2 · nf²`.
    fn gemm_flops_per_sample_step(&self) -> f64 {
        2.0 * (self.nf() * self.nf()) as f64
    }

    fn next_key(&mut self) -> NoiseKey {
        self.iter += 1;
        NoiseKey::new(0, 7).child(self.iter)
    }

    /// One free-phase relaxation of the whole batch from the initial state.
    fn langevin(&mut self, dyn_: &Langevin) {
        let key = self.next_key();
        self.x.copy_from_slice(&self.x0);
        relax(
            &self.energy,
            &mut self.x,
            dyn_,
            &Phase::free("bench", self.nc, key),
            &mut self.ws,
            None,
        )
        .expect("benchmark dynamics diverged");
        black_box(&self.x);
    }

    /// One symmetric EqProp gradient of the batch.
    fn eqprop(&mut self, rule: &EqProp) {
        let key = self.next_key();
        let out = rule
            .gradient(
                &self.energy,
                &self.x0,
                self.nc,
                &self.cost,
                key,
                &mut self.ws,
            )
            .expect("benchmark EqProp diverged");
        black_box(out.grad);
    }
}

fn symmetric_rule() -> EqProp {
    let d = dynamics(K_PHASE, TEMPERATURE);
    EqProp {
        formula: physlearn::learn::Formula::Standard,
        estimator: Estimator::Symmetric,
        beta: BETA,
        free: PhaseSpec::finite(d),
        nudged: PhaseSpec::finite(d),
    }
}

/// Mean seconds per call of `f` over ≈ `budget` (after one warm-up call; a zero budget
/// makes a single untimed-warm-up-free call, for quick test runs).
fn time_per_call(budget: Duration, mut f: impl FnMut()) -> f64 {
    if !budget.is_zero() {
        f();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while n < 1 || start.elapsed() < budget {
        f();
        n += 1;
    }
    start.elapsed().as_secs_f64() / n as f64
}

fn bench_langevin<T: Real>(c: &mut Criterion) {
    let mut g = c.benchmark_group("langevin_step");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let dyn_ = dynamics(STEPS_PER_ITER, TEMPERATURE);
    for &b in &BATCHES {
        let mut s = Setup::<T>::new(b);
        g.throughput(Throughput::Elements((b * STEPS_PER_ITER) as u64));
        g.bench_function(BenchmarkId::new(T::NAME, format!("B={b}")), |bch| {
            bch.iter(|| s.langevin(&dyn_))
        });
    }
    g.finish();
}

fn bench_eqprop<T: Real>(c: &mut Criterion, full: bool) {
    let mut g = c.benchmark_group("eqprop_symmetric");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500));
    let rule = symmetric_rule();
    for &b in &BATCHES {
        let mut s = Setup::<T>::new(b);
        // Long enough for 10 samples of at least one gradient each (avoids criterion's
        // "unable to complete" warning at B = 1024), never below 2 s.
        if full {
            let pilot = time_per_call(Duration::ZERO, || s.eqprop(&rule));
            let mt = (12.0 * pilot).max(2.0);
            g.measurement_time(Duration::from_secs_f64(mt));
        }
        g.throughput(Throughput::Elements((b * PHASES * K_PHASE) as u64));
        g.bench_function(BenchmarkId::new(T::NAME, format!("B={b}")), |bch| {
            bch.iter(|| s.eqprop(&rule))
        });
    }
    g.finish();
}

struct StepRow {
    prec: &'static str,
    batch: usize,
    steps_per_s: f64,
    gflops: f64,
    frac_peak: f64,
    draws_per_s: f64,
    steps_per_s_t0: f64,
}

struct EqPropRow {
    prec: &'static str,
    batch: usize,
    secs: f64,
    steps_per_s: f64,
    gflops: f64,
    frac_peak: f64,
}

struct GemmRow {
    prec: &'static str,
    cols: usize,
    gflops_1core: f64,
}

fn summary_step<T: Real>(b: usize, budget: Duration) -> StepRow {
    let mut s = Setup::<T>::new(b);
    let hot = dynamics(STEPS_PER_ITER, TEMPERATURE);
    let cold = dynamics(STEPS_PER_ITER, 0.0);
    let t = time_per_call(budget, || s.langevin(&hot));
    let t0 = time_per_call(budget, || s.langevin(&cold));
    let sample_steps = (b * STEPS_PER_ITER) as f64;
    let steps_per_s = sample_steps / t;
    let flops = s.gemm_flops_per_sample_step() * steps_per_s;
    StepRow {
        prec: T::NAME,
        batch: b,
        steps_per_s,
        gflops: flops / 1e9,
        frac_peak: flops / peak::<T>(),
        draws_per_s: steps_per_s * s.nf() as f64,
        steps_per_s_t0: sample_steps / t0,
    }
}

fn summary_eqprop<T: Real>(b: usize, budget: Duration) -> EqPropRow {
    let mut s = Setup::<T>::new(b);
    let rule = symmetric_rule();
    let t = time_per_call(budget, || s.eqprop(&rule));
    let steps_per_s = (b * PHASES * K_PHASE) as f64 / t;
    let flops = s.gemm_flops_per_sample_step() * steps_per_s;
    EqPropRow {
        prec: T::NAME,
        batch: b,
        secs: t,
        steps_per_s,
        gflops: flops / 1e9,
        frac_peak: flops / peak::<T>(),
    }
}

/// The engine's own GEMM (`physlearn::linalg::gemm`, sequential faer) on the shape of one
/// chunk's step: the `nf × nf` free block of `J` times `nf × cols` free states.
fn summary_gemm<T: Real>(cols: usize, budget: Duration) -> GemmRow {
    let s = Setup::<T>::new(1);
    let nf = s.nf();
    let jff = s.energy.coupling_matrix().submatrix(s.nc, s.nc, nf, nf);
    let xs: Vec<T> = (0..nf * cols)
        .map(|i| T::of((i % 7) as f64 * 0.1))
        .collect();
    let mut out = vec![T::zero(); nf * cols];
    let reps = 100;
    let t = time_per_call(budget, || {
        for _ in 0..reps {
            gemm(view_mut(&mut out, nf), true, jff, view(&xs, nf), T::one());
        }
        black_box(&out);
    });
    GemmRow {
        prec: T::NAME,
        cols,
        gflops_1core: s.gemm_flops_per_sample_step() * (cols * reps) as f64 / t / 1e9,
    }
}

fn summary(budget: Duration) {
    let mut steps = Vec::new();
    let mut eq = Vec::new();
    let mut gm = Vec::new();
    for &b in &BATCHES {
        steps.push(summary_step::<f32>(b, budget));
        steps.push(summary_step::<f64>(b, budget));
    }
    for &b in &BATCHES {
        eq.push(summary_eqprop::<f32>(b, budget));
        eq.push(summary_eqprop::<f64>(b, budget));
    }
    for cols in [1, CHUNK] {
        gm.push(summary_gemm::<f32>(cols, budget / 2));
        gm.push(summary_gemm::<f64>(cols, budget / 2));
    }

    let threads = rayon::current_num_threads();
    println!();
    println!(
        "== Langevin step summary (D = 64, nf = 48, k_BT = {TEMPERATURE}, dt = {DT}, {STEPS_PER_ITER} steps/iter, {threads} rayon threads) =="
    );
    println!(
        "GEMM flops = 2·48·48 per sample-step; peak measured in this run (median of 9 faer 2048³ products, {threads} threads) = {:.0} GFLOP/s f32, {:.0} GFLOP/s f64",
        peak::<f32>() / 1e9,
        peak::<f64>() / 1e9
    );
    println!(
        "{:<5} {:>6} {:>16} {:>10} {:>10} {:>14} {:>16} {:>11}",
        "prec",
        "batch",
        "sample-steps/s",
        "GFLOP/s",
        "% peak",
        "draws/s",
        "T=0 steps/s",
        "noise share"
    );
    for r in &steps {
        println!(
            "{:<5} {:>6} {:>16.3e} {:>10.2} {:>9.1}% {:>14.3e} {:>16.3e} {:>10.0}%",
            r.prec,
            r.batch,
            r.steps_per_s,
            r.gflops,
            100.0 * r.frac_peak,
            r.draws_per_s,
            r.steps_per_s_t0,
            100.0 * (1.0 - r.steps_per_s / r.steps_per_s_t0)
        );
    }
    println!();
    println!(
        "== Symmetric EqProp gradient summary (3 phases × K = {K_PHASE}, β = {BETA}, k_BT = {TEMPERATURE}) =="
    );
    println!(
        "{:<5} {:>6} {:>14} {:>16} {:>10} {:>10}",
        "prec", "batch", "ms/gradient", "sample-steps/s", "GFLOP/s", "% peak"
    );
    for r in &eq {
        println!(
            "{:<5} {:>6} {:>14.3} {:>16.3e} {:>10.2} {:>9.1}%",
            r.prec,
            r.batch,
            1e3 * r.secs,
            r.steps_per_s,
            r.gflops,
            100.0 * r.frac_peak
        );
    }
    println!();
    println!("== Reference: bare engine GEMM (48×48 · 48×n, faer Par::Seq, one core) ==");
    println!("{:<5} {:>6} {:>10}", "prec", "n", "GFLOP/s");
    for r in &gm {
        println!("{:<5} {:>6} {:>10.2}", r.prec, r.cols, r.gflops_1core);
    }
    println!("(noise share = 1 − (steps/s at k_BT = {TEMPERATURE}) / (steps/s at k_BT = 0))");
    if budget.is_zero() {
        println!(
            "(quick test mode: one call per entry, the numbers above are not measurements; run `cargo bench --bench langevin`)"
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let has = |f: &str| args.iter().any(|a| a == f);
    // Same rule as criterion: full runs only under `cargo bench` (`--bench`) without `--test`.
    let full = has("--bench") && !has("--test");
    let listing = has("--list");

    // No plots: criterion's plotters backend panics (FontUnavailable) on machines without
    // system fonts, such as the headless box these numbers are taken on.
    let mut c = Criterion::default().without_plots().configure_from_args();
    bench_langevin::<f32>(&mut c);
    bench_langevin::<f64>(&mut c);
    bench_eqprop::<f32>(&mut c, full);
    bench_eqprop::<f64>(&mut c, full);
    c.final_summary();

    let enabled = std::env::var("LANGEVIN_SUMMARY").map_or(true, |v| v != "0");
    if listing || !enabled {
        return;
    }
    let secs = std::env::var("LANGEVIN_SUMMARY_SECS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(if full { 0.5 } else { 0.0 });
    summary(Duration::from_secs_f64(secs));
}
