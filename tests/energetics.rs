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
    let u = Potential {
        energy: &e,
        nudge: None,
    };
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
