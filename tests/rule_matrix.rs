//! Learning rules as values ([`physlearn::learn::Rule`]): every rule on every substrate
//! (bilinear, dense Hopfield, conv Hopfield) under every dynamics (gradient flow, Langevin,
//! cSB) either gives a finite gradient or is refused with a message naming the combination;
//! and the bias of each EqProp rule against the exact gradient shrinks with the order its
//! nudging pair predicts (1 for `one_sided` and `negative`, 2 for `symmetric`, with either
//! formula).

mod common;
use common::*;
use physlearn::dynamics::{Csb, Langevin, NoiseKey, Relaxation, Workspace};
use physlearn::energy::cost::{Cost, WeightedSquaredError};
use physlearn::energy::layered::{ConvSpec, DenseInit, Layered, PoolKind, Shape, Stage};
use physlearn::energy::{Classifier, Energy};
use physlearn::learn::rule::{Batch, Phases, RuleError};
use physlearn::learn::{Formula, PhaseSpec, RuleKind, RuleSettings};
use physlearn::linalg::{dist, norm};

/// A substrate with a batch: initial states, clamped prefix and cost.
struct System {
    name: &'static str,
    energy: Box<dyn Energy<f64>>,
    x0: Vec<f64>,
    nc: usize,
    cost: Box<dyn Cost<f64>>,
    /// The larger β of the bias-order check. Hard-sigmoid units make the equilibrium only
    /// piecewise smooth in β: the orders hold while no unit reaches a wall of the box, and on
    /// these nets units sit within 10⁻³ of a wall (measured: `negative` at β = 0.005 had
    /// 50 times the bias that first order predicts).
    beta: f64,
}

fn bilinear() -> System {
    let (e, batch) = small_system(31, 4);
    let cost = batch.cost::<f64>(e.output_block().0);
    let x0 = batch.initial_state::<f64>(e.dim());
    System {
        name: "bilinear",
        energy: Box::new(e),
        x0,
        nc: 3,
        cost: Box::new(cost),
        beta: 0.02,
    }
}

/// A layered net with random inputs in [0, 1], one-hot targets, weights at half their initial
/// scale and biases 0.2 ± 0.15, so that few units sit at the walls of the box.
fn layered(name: &'static str, mut e: Layered<f64>, seed: u64) -> System {
    let mut th: Vec<f64> = e.params().iter().map(|v| 0.5 * v).collect();
    for b in e.param_blocks().iter().filter(|b| b.name.starts_with('b')) {
        for (i, v) in th[b.offset..b.offset + b.len()].iter_mut().enumerate() {
            *v = 0.2 + 0.05 * ((i % 7) as f64 - 3.0);
        }
    }
    e.set_params(&th).unwrap();
    let (d, nc) = (e.dim(), e.n_clamped());
    let (start, len) = e.output_block();
    let n = 4;
    let mut rng = NoiseKey::new(seed, 1).rng(0, 0);
    let mut x0 = vec![0.0; n * d];
    let mut target = vec![0.0; n * len];
    for b in 0..n {
        for v in &mut x0[b * d..b * d + nc] {
            *v = rand::Rng::random::<f64>(&mut rng);
        }
        target[b * len + b % len] = 1.0;
    }
    let cost = WeightedSquaredError {
        start,
        len,
        target,
        weight: vec![1.0; n],
    };
    System {
        name,
        energy: Box::new(e),
        x0,
        nc,
        cost: Box::new(cost),
        beta: 1e-3,
    }
}

fn hopfield_dense() -> System {
    layered(
        "hopfield_dense",
        Layered::<f64>::dense(&[5, 6, 3], 12).unwrap(),
        12,
    )
}

fn hopfield_conv() -> System {
    let stages = [
        Stage::Conv(ConvSpec {
            channels: 2,
            kernel: 3,
            stride: 1,
            padding: 1,
            pool: 2,
            pool_kind: PoolKind::Max,
        }),
        Stage::Dense {
            units: 3,
            init: DenseInit::Glorot,
        },
    ];
    layered(
        "hopfield_conv",
        Layered::<f64>::new(Shape::map(1, 6, 6), &stages, 13).unwrap(),
        13,
    )
}

fn systems() -> Vec<System> {
    vec![bilinear(), hopfield_dense(), hopfield_conv()]
}

fn settings(kind: RuleKind, beta: f64, formula: Formula) -> RuleSettings {
    RuleSettings::new(kind, beta).with_formula(formula)
}

fn phases(r: Relaxation) -> Phases {
    Phases {
        free: PhaseSpec::finite(r),
        nudged: PhaseSpec::finite(r),
    }
}

/// Which (rule, dynamics) pairs a rule refuses: backprop through time differentiates
/// Euler–Maruyama steps only, implicit differentiation needs a noise-free free phase, the
/// finite-nudge identities need Gibbs–Boltzmann (Langevin) states, and the covariance form
/// divides by the temperature.
fn refused(kind: RuleKind, dynamics: &str) -> bool {
    matches!(
        (kind, dynamics),
        (RuleKind::Bptt, "csb")
            | (RuleKind::Implicit, "langevin")
            | (RuleKind::FiniteNudge, "csb")
            | (RuleKind::FiniteNudgeCovariance, "csb" | "flow")
    )
}

#[test]
fn every_rule_runs_on_every_substrate_and_dynamics_or_is_refused_by_name() {
    let dynamics: [(&str, Relaxation); 3] = [
        (
            "flow",
            Langevin {
                dt: 0.1,
                steps: 20,
                temperature: 0.0,
            }
            .into(),
        ),
        (
            "langevin",
            Langevin {
                dt: 0.1,
                steps: 20,
                temperature: 0.01,
            }
            .into(),
        ),
        (
            "csb",
            Csb {
                dt: 0.1,
                damping: 0.5,
                steps: 20,
                noise: 0.0,
            }
            .into(),
        ),
    ];
    let mut ran = 0;
    for sys in systems() {
        let batch = Batch {
            x0: &sys.x0,
            nc: sys.nc,
            cost: &*sys.cost,
        };
        for kind in RuleKind::all() {
            for formula in [Formula::Standard, Formula::Alternative] {
                if formula == Formula::Alternative && kind.estimator().is_none() {
                    continue;
                }
                let rule = settings(kind, 0.1, formula).build::<f64>();
                for (dname, r) in &dynamics {
                    let what = format!("{} on {} under {dname}", rule.name(), sys.name);
                    let got = rule.gradient(
                        &*sys.energy,
                        &batch,
                        &phases(*r),
                        NoiseKey::new(3, 4),
                        &mut Workspace::new(),
                    );
                    match got {
                        Ok(est) => {
                            assert!(!refused(kind, dname), "{what}: should be refused");
                            assert_eq!(est.grad.len(), sys.energy.n_params(), "{what}");
                            assert!(est.grad.iter().all(|v| v.is_finite()), "{what}");
                            assert!(norm(&est.grad) > 0.0, "{what}: zero gradient");
                            assert_eq!(est.free_state.len(), sys.x0.len(), "{what}");
                            assert!(est.diagnostics.free_cost.is_finite(), "{what}");
                            assert_eq!(est.diagnostics.phases[0], "free", "{what}");
                            ran += 1;
                        }
                        Err(RuleError::Unsupported { rule, what: why }) => {
                            assert!(refused(kind, dname), "{what}: refused ({why})");
                            assert!(
                                why.contains("cSB") || why.contains("temperature"),
                                "{what}: the refusal must name the dynamics: {why}"
                            );
                            assert_eq!(rule, kind.name());
                        }
                        Err(e) => panic!("{what}: {e}"),
                    }
                }
            }
        }
    }
    // 3 substrates × (4 EqProp rules × 2 formulas × 3 dynamics + bptt 2 + implicit 2 +
    // finite_nudge 2 + finite_nudge_covariance 1).
    assert_eq!(ran, 3 * (4 * 2 * 3 + 2 + 2 + 2 + 1));
}

/// A refused rule's message names the rule and the dynamics, so a config error is readable.
#[test]
fn a_refused_combination_reads_as_a_sentence() {
    let sys = bilinear();
    let batch = Batch {
        x0: &sys.x0,
        nc: sys.nc,
        cost: &*sys.cost,
    };
    let csb = Csb {
        dt: 0.1,
        damping: 0.5,
        steps: 5,
        noise: 0.0,
    };
    let err = settings(RuleKind::Bptt, 0.1, Formula::Standard)
        .build::<f64>()
        .gradient(
            &*sys.energy,
            &batch,
            &phases(csb.into()),
            NoiseKey::new(0, 0),
            &mut Workspace::new(),
        )
        .err()
        .expect("bptt under cSB is refused");
    let msg = err.to_string();
    assert!(
        msg.starts_with("rule 'bptt' is not defined for cSB dynamics"),
        "{msg}"
    );
}

/// Bias of each EqProp rule against the exact gradient (implicit differentiation at the free
/// state) at β and β/2 after a long relaxation: `log2(bias(β) / bias(β/2))` is the order.
#[test]
fn eqprop_rules_have_the_bias_order_of_their_nudging_pair() {
    for sys in systems() {
        let long: Relaxation = Langevin {
            dt: 0.2,
            steps: 4000,
            temperature: 0.0,
        }
        .into();
        let ph = phases(long);
        let batch = Batch {
            x0: &sys.x0,
            nc: sys.nc,
            cost: &*sys.cost,
        };
        let grad = |kind, beta, formula| {
            settings(kind, beta, formula)
                .build::<f64>()
                .gradient(
                    &*sys.energy,
                    &batch,
                    &ph,
                    NoiseKey::new(0, 0),
                    &mut Workspace::new(),
                )
                .unwrap()
                .grad
        };
        let exact = grad(RuleKind::Implicit, 0.0, Formula::Standard);
        assert!(norm(&exact) > 1e-3, "{}: degenerate system", sys.name);
        let beta = sys.beta;
        for (kind, order) in [
            (RuleKind::OneSided, 1.0),
            (RuleKind::Negative, 1.0),
            (RuleKind::Symmetric, 2.0),
        ] {
            for formula in [Formula::Standard, Formula::Alternative] {
                let b1 = dist(&grad(kind, beta, formula), &exact);
                let b2 = dist(&grad(kind, beta / 2.0, formula), &exact);
                let slope = (b1 / b2).log2();
                assert!(
                    (slope - order).abs() < 0.15,
                    "{} {kind:?} {formula:?}: measured order {slope}, expected {order} \
                     (bias {b1:.3e} at β = {beta}, {b2:.3e} at β/2)",
                    sys.name
                );
                assert!(
                    b2 < 0.05 * norm(&exact),
                    "{} {kind:?} {formula:?}: bias {b2:.3e} against ‖∇L‖ = {:.3e}",
                    sys.name,
                    norm(&exact)
                );
            }
        }
    }
}

/// `one_sided` and `negative` err in opposite directions at first order, and their mean is
/// the `symmetric` estimate exactly (same phases, same states).
#[test]
fn one_sided_and_negative_average_to_symmetric() {
    for sys in systems() {
        let ph = phases(
            Langevin {
                dt: 0.2,
                steps: 200,
                temperature: 0.0,
            }
            .into(),
        );
        let batch = Batch {
            x0: &sys.x0,
            nc: sys.nc,
            cost: &*sys.cost,
        };
        let grad = |kind| {
            settings(kind, 0.1, Formula::Standard)
                .build::<f64>()
                .gradient(
                    &*sys.energy,
                    &batch,
                    &ph,
                    NoiseKey::new(0, 0),
                    &mut Workspace::new(),
                )
                .unwrap()
                .grad
        };
        let (p, m, s) = (
            grad(RuleKind::OneSided),
            grad(RuleKind::Negative),
            grad(RuleKind::Symmetric),
        );
        let mean: Vec<f64> = p.iter().zip(&m).map(|(a, b)| 0.5 * (a + b)).collect();
        assert!(
            dist(&mean, &s) < 1e-12 * (1.0 + norm(&s)),
            "{}: (one_sided + negative) / 2 vs symmetric: {}",
            sys.name,
            dist(&mean, &s)
        );
        assert!(dist(&p, &m) > 1e-6 * norm(&s), "{}: degenerate", sys.name);
    }
}
