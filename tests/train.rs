//! `physlearn train` end to end on a tiny synthetic IDX data set: it learns, writes its run
//! record, and a run resumed from its checkpoint ends bit-identical to an uninterrupted one.

use physlearn::config::Layered;
use physlearn::report::console::{Console, Stream};
use physlearn::report::rundir::Claim;
use physlearn::train::{TrainConfig, TrainOptions, train};
use std::path::{Path, PathBuf};

#[path = "common/images.rs"]
mod images;
use images::write_dataset;

fn cfg(epochs: usize) -> TrainConfig {
    TrainConfig::load(None, &images::tiny_sets(epochs)).unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("physlearn-train-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn trains_and_resumes_exactly() {
    let data = tmp("data");
    write_dataset(&data);
    let (console, seen) = Console::capture();
    let run = |out: &Path, epochs: usize, claim: Claim| {
        train(&TrainOptions {
            cfg: cfg(epochs),
            data_dir: data.clone(),
            out: out.to_path_buf(),
            claim,
            command: "test".into(),
            stop: None,
            console: console.clone(),
        })
        .unwrap()
    };
    let full = tmp("full");
    let s = run(&full, 3, Claim::New);
    // The run's lines go to the console it is handed (nothing below the CLI prints).
    let notes = seen.text(Stream::Note);
    assert!(notes.starts_with("network "), "{notes}");
    assert_eq!(
        notes.lines().filter(|l| l.starts_with("epoch ")).count(),
        3,
        "one line per epoch:\n{notes}"
    );
    assert!(s.test_error < 0.05, "the toy task should be learnt: {s:?}");
    assert_eq!(s.epochs, 3);
    assert!(s.seconds_per_epoch > 0.0 && s.samples_per_second > 0.0);
    let csv = std::fs::read_to_string(full.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "header + one row per epoch:\n{csv}");
    // The last epoch's test confusion matrix: in the summary and in its own file, its error
    // the summary's.
    let conf = s.test_confusion.as_ref().expect("a confusion matrix");
    let file: physlearn::train::Confusion =
        serde_json::from_str(&std::fs::read_to_string(full.join("test_confusion.json")).unwrap())
            .unwrap();
    assert_eq!(&file, conf);
    assert!(conf.total() > 0 && (conf.error() - s.test_error).abs() < 1e-12);
    // Kill after epoch 1 (a 1-epoch run), then resume to 3 epochs: the one change a resumed
    // run accepts, recorded in config.toml and meta.json.
    let part = tmp("part");
    run(&part, 1, Claim::New);
    let r = run(&part, 3, Claim::Resume);
    assert_eq!(r.epochs, 3);
    let config = std::fs::read_to_string(part.join("config.toml")).unwrap();
    assert!(config.contains("epochs = 3"), "{config}");
    let meta: physlearn::report::rundir::Meta =
        serde_json::from_str(&std::fs::read_to_string(part.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta.invocations.len(), 2);
    assert_eq!(
        meta.invocations[1].config_changes,
        ["training.epochs: 1 -> 3"]
    );
    let total: f64 = meta.invocations.iter().map(|i| i.running_s).sum();
    assert!((meta.duration_s - total).abs() < 1e-9 && total > 0.0);
    // The checkpoint holds no timing: the resumed run's file is byte-identical to the
    // uninterrupted run's, tensors, optimizer state and metadata alike.
    let bytes = |dir: &Path| std::fs::read(dir.join("checkpoint.safetensors")).unwrap();
    assert!(
        bytes(&full) == bytes(&part),
        "a resumed run must end bit-identical to an uninterrupted one"
    );
    assert_eq!(r.history.len(), 3);
    for (a, b) in s.history.iter().zip(&r.history) {
        assert_eq!(a.result(), b.result());
    }
    for d in [data, full, part] {
        std::fs::remove_dir_all(d).ok();
    }
}

#[test]
fn wrong_layer_sizes_are_named() {
    let data = tmp("data2");
    write_dataset(&data);
    let mut c = cfg(1);
    c.model.layers = vec![784, 10, 2];
    let e = train(&TrainOptions {
        cfg: c,
        data_dir: data.clone(),
        out: tmp("o2"),
        claim: Claim::New,
        command: "t".into(),
        stop: None,
        console: Default::default(),
    })
    .unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("model.layers") && msg.contains("10"), "{msg}");
    std::fs::remove_dir_all(data).ok();
}

#[test]
fn csb_eqprop_experiment_runs_end_to_end_and_learns_the_easy_classes() {
    use physlearn::experiments::csb_eqprop::{Method, Options, run};
    let data = tmp("csb-data");
    write_dataset(&data);
    let out = tmp("csb-run");
    let sets = [
        "train.model.layers=[784, 8, 10]",
        "train.data.verify=false",
        "train.training.epochs=2",
        "train.training.batch_size=10",
        "hist_epochs=[1, 2]",
        "reference_steps=50",
        "noise.amplitudes=[0.0, 0.1]",
        "noise.betas=[0.5]",
        "noise.epochs=1",
        "budget.free_steps=[2, 5]",
        "budget.epochs=1",
        "conv.train.data.verify=false",
        "conv.train.data.train_limit=0",
        "conv.train.data.test_limit=0",
        "conv.train.training.batch_size=10",
        "conv.train.model.width=0.125",
        "conv.train.training.free.steps=10",
        "conv.train.training.nudged.steps=4",
    ];
    let s = run(&Options {
        out: out.clone(),
        sets: sets.iter().map(|s| s.to_string()).collect(),
        data_dir: Some(data.clone()),
        command: "test".into(),
        ..Default::default()
    })
    .unwrap();
    let conv = &s.table1.measured;
    assert_eq!(conv.len(), 2, "one conv row per method");
    for (r, m) in conv.iter().zip(["csb", "ep"]) {
        assert_eq!(r.method, m);
        assert_eq!(r.budget, (10, 4));
        let e = r.test_error;
        assert!((0.0..=1.0).contains(&e), "{m}: conv test error {e}");
    }
    for m in [Method::Ep, Method::Csb] {
        let errs = &s.main.of(m).test_error;
        assert_eq!(errs.len(), 2);
        let last = errs[1];
        assert!(last < 0.2, "{m:?} did not learn two easy classes: {last}");
        assert_eq!(s.noise.accuracy.of(m)["beta=0.5"].len(), 2);
        assert_eq!(s.budget_sweep.accuracy.of(m).len(), 2);
        let e = s.same_network_energies.of(m);
        for st in [e.csb, e.gradient_flow, e.gradient_flow_reference] {
            assert!(st.energy_mean.is_finite());
        }
    }
    assert!(s.claims.len() >= 7);
    // summary.json is the same record, read back as the typed struct.
    let back: physlearn::experiments::csb_eqprop::CsbSummary =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(back.claims, s.claims);
    assert_eq!(back.main.csb.test_error, s.main.csb.test_error);
    assert_eq!(back.same_network_energies, s.same_network_energies);
    let gap = &s.convergence.ep_trained.csb.energy_gap;
    assert_eq!(gap.len(), 2 * 20, "twice the free budget");
    for f in [
        "summary.json",
        "config.toml",
        "energy_hist_csb.png",
        "energy_hist_ep.png",
        "energy_vs_epoch.png",
        "error_vs_epoch.png",
        "noise_accuracy.png",
        "budget_accuracy.png",
        "convergence.png",
    ] {
        assert!(out.join(f).exists(), "missing {f}");
    }
    // A bad key is named.
    let err = run(&Options {
        out: tmp("csb-bad"),
        sets: vec!["noise.amplitude=[0.1]".into()],
        data_dir: Some(data),
        ..Default::default()
    })
    .unwrap_err();
    assert!(format!("{err:#}").contains("amplitude"), "{err:#}");
}

#[test]
fn per_parameter_rates_scale_the_step_under_sgd_and_adam() {
    use physlearn::learn::{Optimizer, OptimizerConfig};
    for cfg in [
        OptimizerConfig::Sgd {
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 0.0,
        },
        OptimizerConfig::Adam {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        },
    ] {
        let mut opt = Optimizer::new(cfg, 3);
        let mut theta = vec![1.0; 3];
        let grad = [0.5, 0.5, 0.5];
        opt.step_scaled(&mut theta, &grad, Some(&[1.0, 0.5, 0.0]));
        let d: Vec<f64> = theta.iter().map(|t| 1.0 - t).collect();
        assert!(d[0] > 0.0, "{cfg:?}");
        assert!((d[1] - 0.5 * d[0]).abs() < 1e-12, "{cfg:?}: {d:?}");
        assert_eq!(d[2], 0.0, "{cfg:?}");
    }
}

/// The trainer's fused step (`step_into`: rate runs, the f32 copy written in the same pass,
/// split over threads in pieces) gives the bits of the plain per-parameter step, under SGD
/// with and without momentum and under Adam, over several steps and across piece boundaries.
#[test]
fn the_fused_step_with_rate_runs_is_the_per_parameter_step() {
    use physlearn::learn::{Optimizer, OptimizerConfig};
    let n = 40_000; // three pieces of 16 384
    let runs = [(0, 1.0), (10_000, 0.5), (30_000, 0.25)];
    let scale: Vec<f64> = (0..n)
        .map(|i| runs[runs.partition_point(|r| r.0 <= i) - 1].1)
        .collect();
    for cfg in [
        OptimizerConfig::Sgd {
            lr: 0.1,
            momentum: 0.0,
            weight_decay: 1e-3,
        },
        OptimizerConfig::Sgd {
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 1e-3,
        },
        OptimizerConfig::Adam {
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        },
    ] {
        let (mut a, mut b) = (Optimizer::new(cfg, n), Optimizer::new(cfg, n));
        let mut ta: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
        let mut tb = ta.clone();
        let mut out = vec![0.0f32; n];
        for step in 0..3 {
            let g: Vec<f64> = (0..n).map(|i| ((i + step) as f64 * 0.11).cos()).collect();
            a.step_scaled(&mut ta, &g, Some(&scale));
            b.step_into(&mut tb, &g, &runs, &mut out);
            assert!(
                ta.iter().zip(&tb).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{cfg:?}"
            );
            assert!(out.iter().zip(&tb).all(|(o, t)| *o == *t as f32), "{cfg:?}");
        }
    }
}

/// `--seeds`: one run directory per seed, the spread written to `seeds.json`; the set is
/// refused as a new run's directory, continued with `Claim::Resume` (finished runs read back,
/// not retrained), and a resumed set refuses another configuration, naming the key.
#[test]
fn seeds_runner_trains_each_seed_reports_the_spread_and_continues() {
    let data = tmp("seeds-data");
    write_dataset(&data);
    let out = tmp("seeds");
    let (console, seen) = Console::capture();
    let opts = |cfg: TrainConfig, claim: Claim| TrainOptions {
        cfg,
        data_dir: data.clone(),
        out: out.clone(),
        claim,
        command: "test".into(),
        stop: None,
        console: console.clone(),
    };
    let agg = physlearn::train::train_seeds(&opts(cfg(1), Claim::New), &[3, 4]).unwrap();
    let table = seen.text(Stream::Result);
    assert!(table.contains("2 seeds: test error"), "{table}");
    let errs: Vec<f64> = [3, 4]
        .iter()
        .map(|s| {
            let p = out.join(format!("seed-{s}/summary.json"));
            let v: physlearn::train::TrainSummary =
                serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            v.test_error
        })
        .collect();
    let mean = (errs[0] + errs[1]) / 2.0;
    assert!((agg.test_error.mean - mean).abs() < 1e-15);
    let std = ((errs[0] - mean).powi(2) + (errs[1] - mean).powi(2)).sqrt();
    assert!((agg.test_error.std - std).abs() < 1e-15);
    let on_disk: physlearn::train::SeedsSummary =
        serde_json::from_str(&std::fs::read_to_string(out.join("seeds.json")).unwrap()).unwrap();
    assert_eq!(on_disk, agg);
    assert!(out.join("seeds.csv").exists());
    // The seeds differ in their runs (weights, order), so their configs record the seed.
    let c3 = std::fs::read_to_string(out.join("seed-3/config.toml")).unwrap();
    assert!(c3.contains("seed = 3"), "{c3}");
    // A new set into the same directory: refused, saying how to continue or replace it.
    let e = physlearn::train::train_seeds(&opts(cfg(1), Claim::New), &[3, 4]).unwrap_err();
    let msg = format!("{e:#}");
    assert!(
        msg.contains("already holds a seed set")
            && msg.contains("--resume")
            && msg.contains("--overwrite"),
        "{msg}"
    );
    // Resumed: nothing retrained (the metrics files keep their modification times).
    let t = std::fs::metadata(out.join("seed-4/metrics.csv"))
        .unwrap()
        .modified()
        .unwrap();
    let again = physlearn::train::train_seeds(&opts(cfg(1), Claim::Resume), &[3, 4]).unwrap();
    assert_eq!(again, agg);
    let t2 = std::fs::metadata(out.join("seed-4/metrics.csv"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(t, t2);
    // Another configuration for the resumed set: refused, naming the key.
    let mut other = cfg(1);
    other.training.beta = 0.25;
    let e = physlearn::train::train_seeds(&opts(other, Claim::Resume), &[3]).unwrap_err();
    assert!(
        format!("{e:#}").contains("training.beta: 0.5 -> 0.25"),
        "{e:#}"
    );
    // A repeated seed is refused.
    let e = physlearn::train::train_seeds(&opts(cfg(1), Claim::Resume), &[3, 3]).unwrap_err();
    assert!(format!("{e:#}").contains("seed 3 twice"), "{e:#}");
    // --overwrite deletes the set whole.
    physlearn::train::train_seeds(&opts(cfg(1), Claim::Overwrite), &[5]).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["seed-5", "seed-set.toml", "seeds.csv", "seeds.json"]
    );
    std::fs::remove_dir_all(&out).ok();
    std::fs::remove_dir_all(&data).ok();
}

/// `data.shift` translates training images by whole pixels, keyed by the image index: the
/// same image gets the same shift in any batch, the pixel mass is kept when the content
/// stays inside the frame, and 0 is the plain copy.
#[test]
fn shift_augmentation_translates_whole_pixels_deterministically() {
    use physlearn::data::ImageSet;
    use physlearn::dynamics::NoiseKey;
    use physlearn::train::{batch_state, batch_state_shifted};
    // A 6×6 image with a 2×2 blob in the middle, and a second image.
    let mut px = vec![0u8; 2 * 36];
    for (r, c) in [(2, 2), (2, 3), (3, 2), (3, 3)] {
        px[r * 6 + c] = 255;
    }
    px[36 + 7] = 100;
    let set = ImageSet::new(px, vec![0, 1], 1, 6, 6, 2).unwrap();
    let key = NoiseKey::new(1, 2);
    let (plain, _) = batch_state::<f64>(&set, &[0, 1], 40);
    let (zero, _) = batch_state_shifted::<f64>(&set, &[0, 1], 40, 0, key);
    assert_eq!(plain, zero);
    let mut moved = 0;
    for k in 0..20 {
        let key = NoiseKey::new(1, k);
        let (a, _) = batch_state_shifted::<f64>(&set, &[0, 1], 40, 1, key);
        let (b, _) = batch_state_shifted::<f64>(&set, &[1, 0], 40, 1, key);
        // Same image, same shift, whatever its place in the batch.
        assert_eq!(&a[..40], &b[40..]);
        assert_eq!(&a[40..], &b[..40]);
        // The blob moved by at most one pixel and kept its mass.
        let img = &a[..36];
        assert_eq!(img.iter().sum::<f64>(), 4.0);
        let on: Vec<(usize, usize)> = (0..36)
            .filter(|&i| img[i] > 0.0)
            .map(|i| (i / 6, i % 6))
            .collect();
        let (r0, c0) = on[0];
        assert!((1..=3).contains(&r0) && (1..=3).contains(&c0), "{on:?}");
        assert_eq!(
            on,
            vec![(r0, c0), (r0, c0 + 1), (r0 + 1, c0), (r0 + 1, c0 + 1)]
        );
        if (r0, c0) != (2, 2) {
            moved += 1;
        }
        // Beyond the image: the free units stay 0.
        assert!(a[36..40].iter().all(|&v| v == 0.0));
    }
    assert!(moved >= 10, "only {moved} of 20 draws moved the image");
}

/// `training.estimator` names any rule: the EqProp family (either formula) and the exact
/// references train the tiny net one epoch to finite parameters, and a rule that is not
/// defined for the configured dynamics is refused by name when the trainer is built.
#[test]
fn every_rule_trains_from_its_config_name_and_undefined_ones_are_refused() {
    use physlearn::train::Trainer;
    let data = tmp("rules");
    write_dataset(&data);
    let (train_set, _) =
        physlearn::train::load_sets(&cfg(1), &data).expect("the tiny data set loads");
    for (name, formula) in [
        ("one_sided", "standard"),
        ("negative", "standard"),
        ("symmetric", "alternative"),
        ("random_sign", "standard"),
        ("bptt", "standard"),
        ("implicit", "standard"),
        ("finite_nudge", "standard"),
        ("contrastive", "standard"),
        ("coupled", "standard"),
    ] {
        let mut sets = images::tiny_sets(1);
        sets.push(format!("training.estimator=\"{name}\""));
        sets.push(format!("training.formula=\"{formula}\""));
        let c = TrainConfig::load(None, &sets).unwrap();
        let mut t = Trainer::<f32>::new(&c).unwrap();
        let before = t.step.theta.clone();
        let stats = t.train_epoch(&train_set, 0, None).unwrap();
        assert!(stats.train_error.is_finite(), "{name}");
        assert!(t.step.theta.iter().all(|v| v.is_finite()), "{name}");
        assert!(
            t.step.theta != before,
            "{name}: the parameters did not move"
        );
    }
    for (name, free, why) in [
        (
            "bptt",
            "{ kind = \"csb\", dt = 0.5, damping = 1.0, steps = 5, noise = 0.0 }",
            "cSB",
        ),
        (
            "finite_nudge_covariance",
            "{ kind = \"langevin\", dt = 0.5, steps = 5, temperature = 0.0 }",
            "zero temperature",
        ),
    ] {
        let mut sets = images::tiny_sets(1);
        sets.push(format!("training.estimator=\"{name}\""));
        sets.push(format!("training.free={free}"));
        sets.push(format!("training.nudged={free}"));
        let c = TrainConfig::load(None, &sets).unwrap();
        let msg = format!("{:#}", Trainer::<f32>::new(&c).err().expect("refused"));
        assert!(
            msg.contains("training.estimator") && msg.contains(name) && msg.contains(why),
            "{msg}"
        );
    }
    // Coupled learning's η is a fraction of the way to the target.
    for eta in ["0.0", "1.5"] {
        let mut sets = images::tiny_sets(1);
        sets.push("training.estimator=\"coupled\"".into());
        sets.push(format!("training.eta={eta}"));
        let msg = format!("{:#}", TrainConfig::load(None, &sets).expect_err("refused"));
        assert!(msg.contains("training.eta must be in (0, 1]"), "{msg}");
    }
    std::fs::remove_dir_all(data).ok();
}
