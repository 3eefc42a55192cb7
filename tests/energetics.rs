//! Heat and work from trajectories (`dynamics::energetics`, Sekimoto's stochastic
//! energetics): along Langevin phases with protocol changes between them (a nudge switched
//! on, then the parameters changed), the first law `ΔU = W − Q` holds per sample within the
//! midpoint rule's discretisation error, and that error shrinks as the step does.

mod common;
use common::*;
use physlearn::dynamics::Phase;
use physlearn::dynamics::{Energetics, Langevin, NoiseKey, Potential, Workspace, relax};
use physlearn::energy::Energy;
use physlearn::experiments::estimators::config::HeatConfig;
use physlearn::experiments::estimators::heat;

/// Mean first-law violation and mean |Q| over 16 samples for the free → nudged → moved
/// protocol at step `dt` (the one `exp estimators` reports).
fn protocol_error(dt: f64) -> (f64, f64) {
    let cfg = HeatConfig {
        dts: vec![dt],
        batch: 16,
        temperature: 0.5,
    };
    let p = heat::protocol(&cfg, dt, 0).unwrap();
    assert!(p.mean_work.is_finite() && p.mean_work != 0.0);
    (p.first_law_rel_error, p.mean_abs_heat)
}

#[test]
fn the_first_law_holds_within_the_discretisation_error() {
    let (coarse, heat) = protocol_error(0.01);
    let (fine, _) = protocol_error(0.0025);
    eprintln!(
        "first law: mean relative error {coarse:.3e} at dt = 0.01, {fine:.3e} at dt = 0.0025; mean |Q| {heat:.3}"
    );
    assert!(heat > 0.1, "the protocol exchanges heat: mean |Q| = {heat}");
    assert!(
        coarse < 2e-2,
        "first law at dt = 0.01: mean relative error {coarse:.3e}"
    );
    assert!(
        fine < 0.75 * coarse,
        "the error shrinks with the step: {coarse:.3e} at dt = 0.01, {fine:.3e} at dt = 0.0025"
    );
}

/// For a quadratic potential the midpoint rule is exact: the first law holds to rounding.
#[test]
fn the_first_law_is_exact_for_a_quadratic_energy() {
    let mut cfg = small_cfg();
    cfg.quartic = 0.0;
    let e = physlearn::energy::bilinear::Bilinear::<f64>::new(&cfg, 3).unwrap();
    let (_, batch) = small_system(3, 8);
    let mut x = batch.initial_state::<f64>(e.dim());
    let u = Potential::new(&e, None);
    let mut en = Energetics::new(&u, &x, 3);
    let lang = Langevin {
        dt: 0.05,
        steps: 100,
        temperature: 1.0,
    };
    let mut obs = |_: usize, xs: &[f64]| en.step(&u, xs);
    relax(
        &e,
        &mut x,
        &lang,
        &Phase {
            nc: 3,
            nudge: None,
            key: NoiseKey::new(1, 2),
            name: "free",
        },
        &mut Workspace::new(),
        Some(&mut obs),
    )
    .unwrap();
    for r in en.first_law_rel_error(&u) {
        assert!(r < 1e-12, "relative error {r:e}");
    }
}

/// A 3-oscillator chain whose protocol changes over `[0, 1]`: at `t = 1` the parameters are
/// the initial ones shifted by `0.3 (1 + i/n)` (stiffer, more coupled, more anharmonic).
fn reverse_system() -> (
    physlearn::energy::oscillator::Oscillator<f64>,
    physlearn::energy::oscillator::OscillatorProtocol,
) {
    use physlearn::energy::oscillator::{
        Oscillator, OscillatorConfig, OscillatorProtocol, Topology,
    };
    let e = Oscillator::<f64>::new(&OscillatorConfig::new(Topology::Pairs {
        n: 3,
        pairs: vec![[0, 1], [1, 2]],
    }))
    .unwrap();
    let th0 = e.params().to_vec();
    let n = th0.len() as f64;
    let th1: Vec<f64> = th0
        .iter()
        .enumerate()
        .map(|(i, v)| v + 0.3 * (1.0 + i as f64 / n))
        .collect();
    let p = OscillatorProtocol::new(vec![0.0, 1.0], vec![th0, th1]).unwrap();
    (e, p)
}

/// Mean first-law violation of the reverse-time sampler's energetics at step `dt`, and the
/// mean work in `k_BT`.
fn reverse_first_law(dt: f64) -> (f64, f64) {
    use physlearn::dynamics::energetics::{SampleEnergetics, reverse_energetics};
    use physlearn::dynamics::reverse::{ReverseSde, ReverseWorkspace, gaussian_init};
    let (mut e, p) = reverse_system();
    let cfg = ReverseSde {
        dt,
        temperature: 0.2,
    };
    let mut x = vec![0.0; 32 * 3];
    gaussian_init(&mut x, 3, cfg.temperature, NoiseKey::new(4, 0));
    let mut ws = ReverseWorkspace::new();
    let en =
        reverse_energetics(&mut e, &p, &mut x, &cfg, NoiseKey::new(4, 1), &mut ws, None).unwrap();
    let v = en.first_law_rel_error_held();
    let s = SampleEnergetics::of(&en, cfg.temperature);
    assert_eq!(s.samples, 32);
    (v.iter().sum::<f64>() / v.len() as f64, s.work_mean_kbt)
}

/// Playing a changing protocol backwards does work on every generated sample; the first law
/// holds per sample within the midpoint rule's error, which shrinks with the step.
#[test]
fn the_reverse_sampler_obeys_the_first_law() {
    let (coarse, work) = reverse_first_law(0.01);
    let (fine, _) = reverse_first_law(0.0025);
    eprintln!(
        "reverse first law: mean violation {coarse:.3e} at dt 0.01, {fine:.3e} at 0.0025; work {work:.4} k_BT"
    );
    assert!(work.is_finite() && work.abs() > 1e-3, "work {work}");
    assert!(coarse < 0.02, "first-law violation {coarse} at dt 0.01");
    assert!(
        fine < coarse,
        "violation {fine} at dt 0.0025 ≥ {coarse} at 0.01"
    );
}

/// Measuring the energetics does not change the samples: same keys, same states as the sampler.
#[test]
fn the_measured_reverse_run_gives_the_samplers_states() {
    use physlearn::dynamics::energetics::reverse_energetics;
    use physlearn::dynamics::reverse::{ReverseSde, ReverseWorkspace, reverse_integrate};
    let (mut e, p) = reverse_system();
    let cfg = ReverseSde {
        dt: 0.01,
        temperature: 0.2,
    };
    let x0: Vec<f64> = (0..24).map(|i| 0.1 * (i as f64 - 12.0) / 12.0).collect();
    let (mut a, mut b) = (x0.clone(), x0);
    let key = NoiseKey::new(9, 1);
    let mut ws = ReverseWorkspace::new();
    reverse_integrate(&mut e, &p, &mut a, &cfg, key, &mut ws, None).unwrap();
    let before = e.params().to_vec();
    reverse_energetics(&mut e, &p, &mut b, &cfg, key, &mut ws, None).unwrap();
    assert_eq!(a, b);
    assert_eq!(e.params(), &before[..], "parameters restored");
}
