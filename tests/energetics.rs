//! Heat and work from trajectories (`dynamics::energetics`, Sekimoto's stochastic
//! energetics): along Langevin phases with protocol changes between them (a nudge switched
//! on, then the parameters changed), the first law `ΔU = W − Q` holds per sample within the
//! midpoint rule's discretisation error, and that error shrinks as the step does.

mod common;
use common::*;
use physlearn::dynamics::{Energetics, Langevin, NoiseKey, Nudge, Potential, Workspace, relax};
use physlearn::energy::Energy;

/// Mean first-law violation over a batch for a protocol of total time `t` at step `dt`.
fn protocol_error(dt: f64) -> (f64, f64) {
    let (e, batch) = small_system(5, 16);
    let mut e2 = e.clone();
    let theta: Vec<f64> = e.params().iter().map(|v| v * 1.1 + 0.01).collect();
    e2.set_params(&theta).unwrap();
    let cost = batch.cost::<f64>(e.output_block().0);
    let nc = 3;
    let mut x = batch.initial_state::<f64>(e.dim());
    let free = Potential {
        energy: &e,
        nudge: None,
    };
    let nudged = Potential {
        energy: &e,
        nudge: Some(Nudge::new(&cost, 1.0)),
    };
    let moved = Potential {
        energy: &e2,
        nudge: Some(Nudge::new(&cost, 1.0)),
    };
    let steps = (1.0 / dt).round() as usize;
    let lang = Langevin {
        dt,
        steps,
        temperature: 0.5,
    };
    let mut en = Energetics::new(&free, &x, nc);
    let mut ws = Workspace::new();
    let key = NoiseKey::new(11, 0);
    for (k, (u, energy, nudge)) in [
        (free, &e, None),
        (nudged, &e, nudged.nudge),
        (moved, &e2, moved.nudge),
    ]
    .into_iter()
    .enumerate()
    {
        if k == 1 {
            en.switch(&free, &nudged);
        }
        if k == 2 {
            en.switch(&nudged, &moved);
        }
        let mut obs = |_: usize, xs: &[f64]| en.step(&u, xs);
        relax(
            energy,
            &mut x,
            nc,
            &lang,
            nudge,
            key.child(k as u64),
            "phase",
            &mut ws,
            Some(&mut obs),
        )
        .unwrap();
    }
    let err = en.first_law_rel_error(&moved);
    let mean = err.iter().sum::<f64>() / err.len() as f64;
    let heat = en.heat.iter().map(|q| q.abs()).sum::<f64>() / err.len() as f64;
    assert!(en.work.iter().all(|w| w.is_finite() && *w != 0.0));
    (mean, heat)
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
        3,
        &lang,
        None,
        NoiseKey::new(1, 2),
        "free",
        &mut Workspace::new(),
        Some(&mut obs),
    )
    .unwrap();
    for r in en.first_law_rel_error(&u) {
        assert!(r < 1e-12, "relative error {r:e}");
    }
}
