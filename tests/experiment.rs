//! End-to-end: a tiny thermo-eqprop run writes every summary key the reproduction reports, the
//! figures and the run record.

use physlearn::experiments::thermo_eqprop::{Options, Summary, run};

#[test]
fn tiny_run_writes_summary_plots_and_run_record() {
    let out = std::env::temp_dir().join(format!("physlearn-e2e-{}", std::process::id()));
    let sets = [
        "batch_size=16",
        "e1.batches=2",
        "e1.k_curve=[50, 300]",
        "e1.beta_curve=[0.01, 0.1]",
        "e2.batches=1",
        "e2.betas=[0.003, 0.01, 0.03, 0.1]",
        "e3.betas=[0.01, 0.03, 0.1]",
        "e3.reps=3",
        "e3.equilibrate_steps=200",
        "e3.readout_steps=50",
        "e3.train.steps=4",
        "e3.train.eval_every=2",
        "e3.train.eval_batch=16",
        "cost_model.stiffness_sweep=[1.0, 2.0]",
    ];
    let opts = Options {
        out: out.clone(),
        sets: sets.iter().map(|s| s.to_string()).collect(),
        command: "test".into(),
        ..Options::default()
    };
    let s = run(&opts).unwrap();
    let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let back: Summary = serde_json::from_str(&text).expect("summary.json reads back typed");
    assert_eq!(
        serde_json::to_value(&back).unwrap(),
        serde_json::to_value(&s).unwrap()
    );
    let tr = &back.e3.train;
    for (key, v) in [
        (
            "e1.finite.one_sided.cos_mean",
            back.e1.finite.one_sided.cos_mean,
        ),
        (
            "e1.finite.symmetric.cos_mean",
            back.e1.finite.symmetric.cos_mean,
        ),
        (
            "e1.relaxed.one_sided.cos_mean",
            back.e1.relaxed.one_sided.cos_mean,
        ),
        (
            "e1.relaxed.symmetric.cos_mean",
            back.e1.relaxed.symmetric.cos_mean,
        ),
        (
            "e1.finite.one_sided_drift_corrected.cos_mean",
            back.e1.finite.one_sided_drift_corrected.cos_mean,
        ),
        (
            "e1.finite.free_residual_rms",
            back.e1.finite.free_residual_rms,
        ),
        (
            "e1.finite.drift_to_gradient",
            back.e1.finite.drift_to_gradient,
        ),
        (
            "e2.relaxed.one_sided.slope",
            back.e2.relaxed.one_sided.slope,
        ),
        (
            "e2.relaxed.symmetric.slope",
            back.e2.relaxed.symmetric.slope,
        ),
        ("e2.finite.one_sided.slope", back.e2.finite.one_sided.slope),
        ("e2.finite.symmetric.slope", back.e2.finite.symmetric.slope),
        ("e3.variance_slope", back.e3.variance_slope),
        ("e3.beta_opt_measured", back.e3.beta_opt_measured),
        ("e3.beta_opt_predicted", back.e3.beta_opt_predicted),
        (
            "e3.train.final_loss_symmetric",
            tr.final_loss_symmetric.unwrap_or(f64::NAN),
        ),
        (
            "e3.train.final_loss_exact",
            tr.final_loss_exact.unwrap_or(f64::NAN),
        ),
        ("e3.train.alignment_start", tr.alignment_start),
        ("e3.train.alignment_end", tr.alignment_end),
        ("e3.train.error_ratio_end", tr.error_ratio_end),
        ("cost.advantage", back.cost.advantage),
        (
            "cost.cell_energy_for_paper_ratio_kbt",
            back.cost.cell_energy_for_paper_ratio_kbt,
        ),
        (
            "cost.advantage_from_measured_heat",
            back.cost.advantage_from_measured_heat,
        ),
    ] {
        assert!(v.is_finite(), "{key} = {v} is not a finite number");
    }
    // At full relaxation the symmetric estimator is aligned with the exact gradient, and the
    // one-sided estimate is its own drift-corrected form (there is no unfinished relaxation).
    assert!(back.e1.relaxed.symmetric.cos_mean > 0.99);
    assert_eq!(
        back.e1.relaxed.one_sided.cos_mean,
        back.e1.relaxed.one_sided_drift_corrected.cos_mean
    );
    // The free phase's residual force shrinks as its budget K grows.
    let kc = back.e1.k_curve.last().unwrap();
    assert!(kc.free_residual_rms < back.e1.k_curve[0].free_residual_rms);
    // The E3 norms are measured at every evaluation, and the exact run has no error.
    for run in &tr.runs {
        for e in &run.evals {
            assert!(e.grad_norm > 0.0 && e.equilibrium_grad_norm > 0.0);
            if run.method == "exact" {
                assert_eq!(e.estimator_error_norm, 0.0);
            }
        }
    }
    for f in [
        "e1_gradient_agreement.png",
        "e2_bias_scaling.png",
        "e3_bias_variance.png",
        "e3_training.png",
        "cost_accounting.png",
        "config.toml",
        "meta.json",
        "metrics.json",
        "train_curves.csv",
        "explained.png",
        "params_init.safetensors",
        "params_symmetric.safetensors",
        "params_exact.safetensors",
    ] {
        let bytes = std::fs::read(out.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(bytes.len() > 100, "{f} is nearly empty");
    }
    let png = std::fs::read(out.join("e2_bias_scaling.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    std::fs::remove_dir_all(&out).ok();
}
