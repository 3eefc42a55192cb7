//! End-to-end: `exp estimators --quick` writes its typed summary, every key the issue names,
//! the figures and the run record, and what it measured agrees with theory: bias orders 1 and
//! 2, variance slope −2, the finite-nudge estimate within Monte Carlo error of the quadrature,
//! and the first law within discretisation error.

use physlearn::experiments::ExpOptions;
use physlearn::experiments::estimators::{Summary, run};

#[test]
fn quick_run_measures_the_orders_and_writes_every_key() {
    let out = std::env::temp_dir().join(format!("physlearn-estimators-{}", std::process::id()));
    let opts = ExpOptions {
        quick: true,
        out: out.clone(),
        command: "test".into(),
        ..ExpOptions::default()
    };
    let s = run(&opts).unwrap();
    let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let back: Summary = serde_json::from_str(&text).unwrap();
    assert_eq!(back, s);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    for sub in ["bilinear", "hopfield_dense", "hopfield_conv"] {
        for (rule, order) in [("one_sided", 1.0), ("negative", 1.0), ("symmetric", 2.0)] {
            let slope = json[sub][rule]["bias_slope"]
                .as_f64()
                .unwrap_or_else(|| panic!("summary.json lacks {sub}.{rule}.bias_slope"));
            assert!(
                (slope - order).abs() < 0.1,
                "{sub}.{rule}: bias slope {slope}, expected {order}"
            );
        }
    }
    for (name, sub) in s.substrates() {
        for (rule, v) in [
            ("one_sided", &sub.variance.one_sided),
            ("symmetric", &sub.variance.symmetric),
        ] {
            assert!(
                (v.variance_slope + 2.0).abs() < 0.3,
                "{name} {rule}: variance slope {}",
                v.variance_slope
            );
        }
        // After a long enough budget every rule points along the exact gradient.
        let b = &sub.budget;
        for v in [&b.one_sided, &b.symmetric, &b.bptt] {
            assert!(*v.last().unwrap() > 0.999, "{name}: {v:?}");
        }
    }
    let z = json["finite_nudge"]["max_abs_z"].as_f64().unwrap();
    assert!(z.is_finite() && z < 5.0, "finite_nudge.max_abs_z = {z}");
    assert_eq!(s.finite_nudge.points.len(), 3);
    let h = json["heat"]["first_law_rel_error"].as_f64().unwrap();
    assert!(h > 0.0 && h < 2e-2, "heat.first_law_rel_error = {h}");
    for f in [
        "bias.png",
        "budget.png",
        "variance.png",
        "finite_nudge.png",
        "heat.png",
        "config.toml",
        "meta.json",
        "metrics.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // The run directory is not reused.
    assert!(run(&opts).is_err());
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_bad_setting_is_refused_by_name() {
    let opts = ExpOptions {
        out: std::env::temp_dir().join("physlearn-estimators-never"),
        sets: vec!["variance.readout_steps=5000".into()],
        ..ExpOptions::default()
    };
    let err = run(&opts).unwrap_err().to_string();
    assert!(err.contains("variance.readout_steps"), "{err}");
    let opts = ExpOptions {
        sets: vec!["bias.point=3".into()],
        ..opts
    };
    let err = format!("{:#}", run(&opts).unwrap_err());
    assert!(err.contains("point"), "{err}");
}
