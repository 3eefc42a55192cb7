//! End-to-end: a tiny thermo-eqprop run writes every summary key the reproduction reports, the
//! figures and the run record.

use physlearn::experiments::thermo_eqprop::{Options, run};

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
    let back: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back, s);
    for key in [
        "e1.finite.one_sided.cos_mean",
        "e1.finite.symmetric.cos_mean",
        "e1.relaxed.one_sided.cos_mean",
        "e1.relaxed.symmetric.cos_mean",
        "e2.relaxed.one_sided.slope",
        "e2.relaxed.symmetric.slope",
        "e2.finite.one_sided.slope",
        "e2.finite.symmetric.slope",
        "e3.variance_slope",
        "e3.beta_opt_measured",
        "e3.beta_opt_predicted",
        "e3.train.final_loss_symmetric",
        "e3.train.final_loss_exact",
        "e3.train.alignment_start",
        "e3.train.alignment_end",
        "cost.advantage",
    ] {
        let mut v = &back;
        for part in key.split('.') {
            v = v
                .get(part)
                .unwrap_or_else(|| panic!("summary.json lacks {key}"));
        }
        assert!(
            v.as_f64().is_some_and(f64::is_finite),
            "{key} = {v} is not a finite number"
        );
    }
    // At full relaxation the symmetric estimator is aligned with the exact gradient.
    assert!(
        back["e1"]["relaxed"]["symmetric"]["cos_mean"]
            .as_f64()
            .unwrap()
            > 0.99
    );
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
