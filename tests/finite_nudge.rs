//! Finite-nudge EqProp (Litman, "Equilibrium Propagation Without Limits", arXiv 2511.22024)
//! against quadrature: on a bilinear substrate with two free coordinates at finite temperature,
//! `F_β = −k_BT log ∫ exp(−(E + βC)/k_BT)` is computed on a grid, and the gradient both
//! finite-nudge rules estimate by Langevin sampling, `∇_θ (F_β − F_0)/β`, must match the grid's
//! within Monte Carlo error at β = 0.1, 1 and 10.

use physlearn::experiments::estimators::quadrature::{chains, quadrature, sampled, substrate};
use physlearn::learn::RuleKind;
use physlearn::learn::rule::gauss_legendre;
use physlearn::linalg::{dist, norm};

#[test]
fn gauss_legendre_integrates_polynomials_exactly() {
    for n in 1..=8 {
        let q = gauss_legendre(n);
        assert!((q.iter().map(|p| p.1).sum::<f64>() - 1.0).abs() < 1e-14);
        // Degree 2n − 1 is exact on [0, 1]: ∫ t^k = 1/(k + 1).
        for k in 0..2 * n {
            let got: f64 = q.iter().map(|(t, w)| w * t.powi(k as i32)).sum();
            assert!(
                (got - 1.0 / (k + 1) as f64).abs() < 1e-13,
                "n = {n}, degree {k}: {got}"
            );
        }
    }
}

/// Both rules at `beta` against the quadrature, within five standard errors per parameter.
fn rules_match_quadrature(beta: f64) {
    let e = substrate(5).unwrap();
    let want = quadrature(&e, beta);
    if beta >= 10.0 {
        // The test is of finite β: at β = 10 the gradient is far from its small-β limit.
        let small = quadrature(&e, 1e-4);
        assert!(
            dist(&want, &small) > 0.2 * norm(&small),
            "degenerate test: β = {beta} is still near the small-β limit"
        );
    }
    for kind in [RuleKind::FiniteNudge, RuleKind::FiniteNudgeCovariance] {
        let (got, se) = sampled(&e, kind, beta, chains(kind, beta, 1.0), 8, 0, None).unwrap();
        let mut worst = 0.0f64;
        for i in 0..got.len() {
            let z = (got[i] - want[i]) / se[i];
            worst = worst.max(z.abs());
            assert!(
                z.abs() < 5.0,
                "{kind:?} at β = {beta}, parameter {i}: sampled {:.5} ± {:.5}, \
                 quadrature {:.5} (z = {z:.2})",
                got[i],
                se[i],
                want[i]
            );
        }
        // The Monte Carlo error is small against the gradient itself, so the match means
        // something.
        assert!(
            norm(&se) < 0.15 * norm(&want),
            "{kind:?} at β = {beta}: standard error {:.3e} against ‖g‖ = {:.3e}",
            norm(&se),
            norm(&want)
        );
        eprintln!("{kind:?} at β = {beta}: largest |z| {worst:.2}");
    }
}

#[test]
fn finite_nudge_rules_match_the_quadrature_at_a_small_nudge() {
    rules_match_quadrature(0.1);
}

#[test]
fn finite_nudge_rules_match_the_quadrature_at_a_unit_nudge() {
    rules_match_quadrature(1.0);
}

#[test]
fn finite_nudge_rules_match_the_quadrature_at_a_strong_nudge() {
    rules_match_quadrature(10.0);
}
