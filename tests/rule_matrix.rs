//! Learning rules as values ([`physlearn::learn::Rule`]): every rule on every substrate
//! (bilinear, dense Hopfield, conv Hopfield) under every dynamics (gradient flow, Langevin,
//! cSB) either gives a finite gradient or is refused with a message naming the combination;
//! and the bias of each EqProp rule against the exact gradient shrinks with the order its
//! nudging pair predicts (1 for `one_sided` and `negative`, 2 for `symmetric`, with either
//! formula).

use physlearn::dynamics::Phase;
use physlearn::dynamics::{Csb, Hold, Langevin, NoiseKey, Nudge, Relaxation, Workspace, relax};
use physlearn::energy::Energy;
use physlearn::experiments::estimators;
use physlearn::experiments::estimators::systems::System;
use physlearn::learn::rule::{Batch, Phases, RuleError};
use physlearn::learn::{Formula, PhaseSpec, RuleKind, RuleSettings};
use physlearn::linalg::{dist, norm};

/// The systems of `exp estimators` at seed 0: bilinear, dense and conv Hopfield.
fn systems() -> Vec<System> {
    estimators::systems::all(0).unwrap()
}

fn bilinear() -> System {
    estimators::systems::bilinear(31).unwrap()
}

fn hopfield_dense() -> System {
    estimators::systems::hopfield_dense(12).unwrap()
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

/// Which (rule, dynamics, substrate) triples a rule refuses: backprop through time
/// differentiates Euler–Maruyama steps only, implicit differentiation needs a noise-free free
/// phase, the finite-nudge identities need Gibbs–Boltzmann (Langevin) states, the covariance
/// form divides by the temperature, and the score rules need a bath (Langevin at k_BT > 0)
/// and an energy linear in its parameters (the oscillator network).
fn refused(kind: RuleKind, dynamics: &str, substrate: &str) -> bool {
    if kind.is_score() {
        return dynamics != "langevin" || substrate != "oscillator";
    }
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
    let mut all = systems();
    all.push(estimators::systems::oscillator(5).unwrap());
    for sys in all {
        // Forward-process noise for DSM (any values: the matrix checks the plumbing; the
        // score rules' exactness is checked below and in tests/oscillator.rs).
        let eps: Vec<f64> = (0..sys.x0.len()).map(|i| (i as f64 * 0.7).sin()).collect();
        let batch = Batch {
            x0: &sys.x0,
            nc: sys.nc,
            cost: &*sys.cost,
            noise: Some(&eps),
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
                            assert!(!refused(kind, dname, sys.name), "{what}: should be refused");
                            assert_eq!(est.grad.len(), sys.energy.n_params(), "{what}");
                            assert!(est.grad.iter().all(|v| v.is_finite()), "{what}");
                            assert!(norm(&est.grad) > 0.0, "{what}: zero gradient");
                            assert_eq!(est.free_state.len(), sys.x0.len(), "{what}");
                            assert!(est.diagnostics.free_cost.is_finite(), "{what}");
                            let first = if kind.is_score() { "samples" } else { "free" };
                            assert_eq!(est.diagnostics.phases[0], first, "{what}");
                            ran += 1;
                        }
                        Err(RuleError::Unsupported { rule, what: why }) => {
                            assert!(refused(kind, dname, sys.name), "{what}: refused ({why})");
                            assert!(
                                why.contains("cSB")
                                    || why.contains("temperature")
                                    || why.contains("substrate"),
                                "{what}: the refusal must name the dynamics or substrate: {why}"
                            );
                            assert_eq!(rule, kind.name());
                        }
                        Err(e) => panic!("{what}: {e}"),
                    }
                }
            }
        }
    }
    // 4 substrates × (4 EqProp rules × 2 formulas × 3 dynamics + bptt 2 + implicit 2 +
    // finite_nudge 2 + finite_nudge_covariance 1 + contrastive 3 + coupled 3), and the three
    // score rules on the oscillator under Langevin dynamics.
    assert_eq!(ran, 4 * (4 * 2 * 3 + 2 + 2 + 2 + 1 + 3 + 3) + 3);
}

/// A refused rule's message names the rule and the dynamics, so a config error is readable.
#[test]
fn a_refused_combination_reads_as_a_sentence() {
    let sys = bilinear();
    let batch = Batch {
        x0: &sys.x0,
        nc: sys.nc,
        cost: &*sys.cost,
        noise: None,
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
            noise: None,
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
            noise: None,
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

/// Contrastive and coupled learning hold the output (clamping by an index range, not a
/// prefix) and read `(R(x_held) − R(x_free)) / η`. At equilibria that is exactly the gradient
/// of `mean_b [E(x*_held) − E(x*_free)] / η` with the held values fixed (envelope theorem):
/// checked against central differences of the relaxed energies along random directions of θ.
#[test]
fn contrastive_and_coupled_are_the_gradients_of_their_energy_gaps() {
    let dynamics = Langevin {
        dt: 0.2,
        steps: 4000,
        temperature: 0.0,
    };
    for mut sys in systems() {
        let batch = Batch {
            x0: &sys.x0,
            nc: sys.nc,
            cost: &*sys.cost,
            noise: None,
        };
        let d = sys.energy.dim();
        let n = sys.x0.len() / d;
        let (out, target) = sys.cost.minimizer(n).expect("a squared error has a target");
        for (kind, eta) in [(RuleKind::Contrastive, 1.0), (RuleKind::Coupled, 0.3)] {
            let what = format!("{} with eta {eta} on {}", kind.name(), sys.name);
            let est = RuleSettings::new(kind, 0.1)
                .with_eta(eta)
                .build::<f64>()
                .gradient(
                    &*sys.energy,
                    &batch,
                    &phases(dynamics.into()),
                    NoiseKey::new(0, 0),
                    &mut Workspace::new(),
                )
                .unwrap();
            // The held values, fixed at the base parameters.
            let values: Vec<f64> = (0..n)
                .flat_map(|b| {
                    let s = &est.free_state[b * d..(b + 1) * d];
                    (0..out.len())
                        .map(|k| eta * target[b * out.len() + k] + (1.0 - eta) * s[out.start + k])
                        .collect::<Vec<_>>()
                })
                .collect();
            let hold = Hold {
                start: out.start,
                len: out.len(),
                values: &values,
            };
            let theta0 = sys.energy.params().to_vec();
            let gap = |energy: &mut Box<dyn Energy<f64>>, theta: &[f64]| -> f64 {
                energy.set_params(theta).unwrap();
                let mut ws = Workspace::new();
                let mut free = sys.x0.clone();
                let key = NoiseKey::new(0, 0);
                relax(
                    &**energy,
                    &mut free,
                    &dynamics,
                    &Phase::free("free", sys.nc, key),
                    &mut ws,
                    None,
                )
                .unwrap();
                let mut held = free.clone();
                let nudge = Nudge {
                    hold: Some(hold),
                    ..Nudge::new(&*sys.cost, 0.0)
                };
                relax(
                    &**energy,
                    &mut held,
                    &dynamics,
                    &Phase {
                        nc: sys.nc,
                        nudge: Some(nudge),
                        key,
                        name: "held",
                    },
                    &mut ws,
                    None,
                )
                .unwrap();
                for xs in held.chunks_exact(d) {
                    assert!(xs[out.clone()].iter().all(|v| v.is_finite()));
                }
                let (mut ef, mut eh) = (vec![0.0; n], vec![0.0; n]);
                energy.energy(&free, &mut ef);
                energy.energy(&held, &mut eh);
                eh.iter().zip(&ef).map(|(h, f)| h - f).sum::<f64>() / (n as f64 * eta)
            };
            let mut rng = NoiseKey::new(7, 8).rng(0, 0);
            for dir in 0..2 {
                let v: Vec<f64> = (0..theta0.len())
                    .map(|_| rand::Rng::random_range(&mut rng, -1.0..1.0))
                    .collect();
                let h = 1e-5;
                let at = |s: f64| -> Vec<f64> {
                    theta0.iter().zip(&v).map(|(t, vi)| t + s * vi).collect()
                };
                let fd = (gap(&mut sys.energy, &at(h)) - gap(&mut sys.energy, &at(-h))) / (2.0 * h);
                sys.energy.set_params(&theta0).unwrap();
                let g: f64 = est.grad.iter().zip(&v).map(|(a, b)| a * b).sum();
                assert!(
                    (g - fd).abs() <= 1e-4 * fd.abs().max(1e-3),
                    "{what}, direction {dir}: rule {g:.8e}, finite differences {fd:.8e}"
                );
            }
        }
        // Coupled learning at η = 1 is contrastive learning, bit for bit.
        let grad = |kind, eta| {
            RuleSettings::new(kind, 0.1)
                .with_eta(eta)
                .build::<f64>()
                .gradient(
                    &*sys.energy,
                    &Batch {
                        x0: &sys.x0,
                        nc: sys.nc,
                        cost: &*sys.cost,
                        noise: None,
                    },
                    &phases(
                        Langevin {
                            dt: 0.2,
                            steps: 50,
                            temperature: 0.0,
                        }
                        .into(),
                    ),
                    NoiseKey::new(0, 0),
                    &mut Workspace::new(),
                )
                .unwrap()
                .grad
        };
        assert_eq!(
            grad(RuleKind::Coupled, 1.0),
            grad(RuleKind::Contrastive, 0.5),
            "{}",
            sys.name
        );
    }
}

/// The clamped phase holds the output block at its values for the whole phase while the
/// other free coordinates relax, under every dynamics the rules run on.
#[test]
fn a_hold_keeps_its_range_at_its_values() {
    let sys = hopfield_dense();
    let d = sys.energy.dim();
    let n = sys.x0.len() / d;
    let (out, _) = sys.cost.minimizer(n).unwrap();
    let values: Vec<f64> = (0..n * out.len())
        .map(|k| 0.1 + 0.2 * (k % 4) as f64)
        .collect();
    let hold = Hold {
        start: out.start,
        len: out.len(),
        values: &values,
    };
    let nudge = Nudge {
        hold: Some(hold),
        ..Nudge::new(&*sys.cost, 0.5)
    };
    for temperature in [0.0, 0.05] {
        let mut x = sys.x0.clone();
        let dynamics = Langevin {
            dt: 0.1,
            steps: 30,
            temperature,
        };
        let mut seen = 0;
        let mut obs = |_: usize, xs: &[f64]| {
            for (b, s) in xs.chunks_exact(d).enumerate() {
                assert_eq!(&s[out.clone()], &values[b * out.len()..(b + 1) * out.len()]);
            }
            seen += 1;
        };
        relax(
            &*sys.energy,
            &mut x,
            &dynamics,
            &Phase {
                nc: sys.nc,
                nudge: Some(nudge),
                key: NoiseKey::new(1, 1),
                name: "held",
            },
            &mut Workspace::new(),
            Some(&mut obs),
        )
        .unwrap();
        assert_eq!(seen, 30);
        // The hidden layer moved off its initial zeros.
        assert!(
            x.chunks_exact(d)
                .any(|s| s[sys.nc..out.start].iter().any(|v| *v != 0.0))
        );
    }
}

/// The score rules through the rule interface are the exact gradients of their objectives on
/// the oscillator: force matching is `∇_θ J_SM` of the quadratic form, DSM matches central
/// differences of `J_DSM`, and CD1 is the one-step estimator keyed by the rule's key.
#[test]
fn score_rules_are_the_gradients_of_their_objectives() {
    use physlearn::energy::cost::NoCost;
    use physlearn::learn::cd1::{Cd1Config, cd1_grad};
    use physlearn::learn::score::{QuadraticForm, ScoreWorkspace, dsm_objective};
    let sys = estimators::systems::oscillator(2).unwrap();
    let kt = 0.3;
    let x: Vec<f64> = (0..40 * 5)
        .map(|i| 0.8 * ((i as f64) * 1.37).sin())
        .collect();
    let eps: Vec<f64> = (0..40 * 5).map(|i| ((i as f64) * 0.91).cos()).collect();
    let batch = Batch {
        x0: &x,
        nc: 0,
        cost: &NoCost,
        noise: Some(&eps),
    };
    let bath = phases(
        Langevin {
            dt: 0.01,
            steps: 1,
            temperature: kt,
        }
        .into(),
    );
    let key = NoiseKey::new(8, 1);
    let run = |s: RuleSettings| {
        s.build::<f64>()
            .gradient(&*sys.energy, &batch, &bath, key, &mut Workspace::new())
            .unwrap()
            .grad
    };
    let theta = sys.energy.params().to_vec();
    // Force matching against the exact gradient of J_SM = ½ θᵀAθ − bᵀθ.
    let lin = sys.energy.linear().unwrap();
    let q = QuadraticForm::from_samples(lin, &x, kt);
    let g = run(RuleSettings::new(RuleKind::ForceMatching, 0.0));
    let exact = q.grad(&theta);
    assert!(
        dist(&g, &exact) < 1e-9 * (1.0 + norm(&exact)),
        "force matching"
    );
    // DSM against central differences of its objective.
    let sigma = 0.6;
    let g = run(RuleSettings::new(RuleKind::Dsm, 0.0).with_sigma(sigma));
    let mut e = estimators::systems::oscillator(2).unwrap().energy;
    let h = 1e-6;
    for i in 0..theta.len() {
        let mut th = theta.clone();
        th[i] += h;
        e.set_params(&th).unwrap();
        let up = dsm_objective(e.linear().unwrap(), &x, &eps, sigma, kt);
        th[i] -= 2.0 * h;
        e.set_params(&th).unwrap();
        let down = dsm_objective(e.linear().unwrap(), &x, &eps, sigma, kt);
        let fd = (up - down) / (2.0 * h);
        assert!(
            (g[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
            "dsm parameter {i}: {} vs {fd}",
            g[i]
        );
    }
    // CD1: the rule's key drives the one-step noise.
    let cfg = Cd1Config::default();
    let g = run(RuleSettings::new(RuleKind::Cd1, 0.0).with_cd1(cfg));
    let mut direct = vec![0.0; theta.len()];
    cd1_grad(
        lin,
        &x,
        kt,
        &cfg,
        key,
        &mut ScoreWorkspace::new(),
        &mut direct,
    );
    assert_eq!(g, direct);
    // A score rule needs its bath and, for DSM, the noise.
    let no_noise = Batch {
        noise: None,
        ..batch
    };
    let err = RuleSettings::new(RuleKind::Dsm, 0.0)
        .build::<f64>()
        .gradient(&*sys.energy, &no_noise, &bath, key, &mut Workspace::new())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with("rule 'dsm' is not defined for a batch without"),
        "{err}"
    );
    let bilinear = bilinear();
    let err = RuleSettings::new(RuleKind::ForceMatching, 0.0)
        .build::<f64>()
        .gradient(&*bilinear.energy, &batch, &bath, key, &mut Workspace::new())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("not linear in its parameters"), "{err}");
}
