//! Run directories never lose or mix a run, and bad input gets a clear error: the rules of
//! `physlearn train` and `physlearn exp` for `--out`, `--overwrite`, `--resume`, the lock,
//! reproducible checkpoints, stopping by signal, and the input checks around them.

use physlearn::checkpoint::{Checkpoint, Tensor};
use physlearn::config::Layered;
use physlearn::report::rundir::{Claim, Meta};
use physlearn::train::{TrainConfig, TrainOptions, resume_config, train};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/images.rs"]
mod images;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("physlearn-rundir-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn sets(epochs: usize) -> Vec<String> {
    images::tiny_sets(epochs)
}

fn cfg(epochs: usize) -> TrainConfig {
    TrainConfig::load(None, &sets(epochs)).unwrap()
}

fn opts(data: &Path, out: &Path, cfg: TrainConfig, claim: Claim) -> TrainOptions {
    TrainOptions {
        cfg,
        data_dir: data.to_path_buf(),
        out: out.to_path_buf(),
        claim,
        command: "test".into(),
        stop: None,
        console: Default::default(),
    }
}

fn data_dir(name: &str) -> PathBuf {
    let d = tmp(name);
    images::write_dataset(&d);
    d
}

fn names(p: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

fn err(r: anyhow::Result<impl std::fmt::Debug>) -> String {
    format!("{:#}", r.unwrap_err())
}

/// Item: a second run into a directory that holds a run is refused and changes nothing;
/// `--overwrite` removes the old run whole first.
#[test]
fn a_new_run_never_overwrites_or_mixes_with_an_old_one() {
    let data = data_dir("data-new");
    let out = tmp("new");
    train(&opts(&data, &out, cfg(1), Claim::New)).unwrap();
    std::fs::write(out.join("notes-of-the-old-run.png"), b"old").unwrap();
    let before = std::fs::read(out.join("checkpoint.safetensors")).unwrap();
    let mut other = cfg(1);
    other.training.beta = 0.7;
    let msg = err(train(&opts(&data, &out, other.clone(), Claim::New)));
    assert!(
        msg.contains("already holds a run")
            && msg.contains(&format!("physlearn train --resume {}", out.display()))
            && msg.contains("--overwrite"),
        "{msg}"
    );
    assert_eq!(
        std::fs::read(out.join("checkpoint.safetensors")).unwrap(),
        before
    );
    let c = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(c.contains("beta = 0.5"), "{c}");
    // --overwrite: no file of the old run is left beside the new one.
    train(&opts(&data, &out, other, Claim::Overwrite)).unwrap();
    assert!(!out.join("notes-of-the-old-run.png").exists());
    let c = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(c.contains("beta = 0.7"), "{c}");
    let meta: Meta =
        serde_json::from_str(&std::fs::read_to_string(out.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta.invocations.len(), 1);
    // A directory of other files is neither taken nor deleted.
    let foreign = tmp("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("thesis.tex"), b"precious").unwrap();
    for how in [Claim::New, Claim::Overwrite] {
        let msg = err(train(&opts(&data, &foreign, cfg(1), how)));
        assert!(msg.contains("holds no physlearn run"), "{msg}");
    }
    assert_eq!(names(&foreign), ["thesis.tex"]);
    for d in [data, out, foreign] {
        std::fs::remove_dir_all(d).ok();
    }
}

/// Item: `physlearn exp ... --out DIR` follows the same rule (the CLI, end to end).
#[test]
fn a_reproduction_refuses_a_directory_holding_a_run() {
    let out = tmp("exp");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("config.toml"), "seed = 1\n").unwrap();
    std::fs::write(out.join("summary.json"), "{}").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_physlearn"))
        .args(["exp", "thermo-eqprop", "--quick", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("already holds a run") && stderr.contains("--overwrite"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("summary.json")).unwrap(),
        "{}"
    );
    std::fs::remove_dir_all(&out).ok();
}

/// Item: `--resume` refuses values that differ from the recorded configuration, naming each
/// key, except `training.epochs`; an accepted change is recorded.
#[test]
fn resume_refuses_other_values_and_records_an_extension() {
    let data = data_dir("data-resume");
    let out = tmp("resume");
    train(&opts(&data, &out, cfg(1), Claim::New)).unwrap();
    let record = out.join("config.toml");
    let fashion = "[data]\ndataset = \"fashion-mnist\"\n[model]\nlayers = [784, 30, 10]\n";
    let msg = err(resume_config(&record, Some(fashion), &[]));
    assert!(
        msg.contains("data.dataset: \"mnist\" -> \"fashion-mnist\"")
            && msg.contains("model.layers: [784, 8, 10] -> [784, 30, 10]")
            && msg.contains("training.epochs"),
        "{msg}"
    );
    let msg = err(resume_config(&record, None, &["training.beta=0.9".into()]));
    assert!(msg.contains("training.beta: 0.5 -> 0.9"), "{msg}");
    let (c, changes) = resume_config(&record, None, &["training.epochs=2".into()]).unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].to_string(), "training.epochs: 1 -> 2");
    // The library refuses it too, whoever calls it.
    let mut bad = c.clone();
    bad.training.beta = 0.9;
    assert!(err(train(&opts(&data, &out, bad, Claim::Resume))).contains("training.beta"));
    let s = train(&opts(&data, &out, c, Claim::Resume)).unwrap();
    assert_eq!(s.epochs, 2);
    let meta: Meta =
        serde_json::from_str(&std::fs::read_to_string(out.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta.invocations.len(), 2, "{meta:?}");
    assert_eq!(
        meta.invocations[1].config_changes,
        ["training.epochs: 1 -> 2"]
    );
    assert!(meta.duration_s > 0.0);
    assert!(
        std::fs::read_to_string(&record)
            .unwrap()
            .contains("epochs = 2")
    );
    // Shortening is not an extension.
    let (c1, _) = resume_config(&record, None, &["training.epochs=1".into()]).unwrap();
    assert!(err(train(&opts(&data, &out, c1, Claim::Resume))).contains("would shorten it"));
    for d in [data, out] {
        std::fs::remove_dir_all(d).ok();
    }
}

/// Items: `--resume` on a directory without a checkpoint says so and how to start again; a
/// config.toml that does not belong to the checkpoint is refused; the lock of a live process
/// refuses a second one at once; temporaries of an interrupted write are removed.
#[test]
fn resume_checks_the_checkpoint_the_config_and_the_lock() {
    let data = data_dir("data-ckpt");
    let out = tmp("ckpt");
    train(&opts(&data, &out, cfg(1), Claim::New)).unwrap();
    // Another run's config.toml beside this checkpoint.
    let record = out.join("config.toml");
    let original = std::fs::read_to_string(&record).unwrap();
    std::fs::write(&record, original.replace("beta = 0.5", "beta = 0.125")).unwrap();
    let mut c = cfg(2);
    c.training.beta = 0.125;
    let msg = err(train(&opts(&data, &out, c, Claim::Resume)));
    assert!(
        msg.contains("does not belong to") && msg.contains("training.beta: 0.5 -> 0.125"),
        "{msg}"
    );
    std::fs::write(&record, &original).unwrap();
    // Held by a live process (here: this one, through another claim).
    let held = physlearn::report::rundir::RunDir::resume(&out, "holder").unwrap();
    let msg = err(train(&opts(&data, &out, cfg(2), Claim::Resume)));
    assert!(msg.contains("in use by another physlearn process"), "{msg}");
    drop(held);
    // A temporary of an interrupted atomic write is removed by the next start.
    std::fs::write(out.join(".checkpoint.safetensors.tmp-99-0123abcd"), b"half").unwrap();
    train(&opts(&data, &out, cfg(2), Claim::Resume)).unwrap();
    assert!(!out.join(".checkpoint.safetensors.tmp-99-0123abcd").exists());
    assert!(
        !names(&out).iter().any(|n| n.starts_with('.')),
        "{:?}",
        names(&out)
    );
    // A run killed before its first checkpoint.
    std::fs::remove_file(out.join("checkpoint.safetensors")).unwrap();
    let msg = err(train(&opts(&data, &out, cfg(2), Claim::Resume)));
    assert!(
        msg.contains("has no checkpoint yet") && msg.contains("--overwrite"),
        "{msg}"
    );
    let msg = err(train(&opts(&data, &tmp("never"), cfg(2), Claim::Resume)));
    assert!(
        msg.contains("holds no run") || msg.contains("missing"),
        "{msg}"
    );
    for d in [data, out] {
        std::fs::remove_dir_all(d).ok();
    }
}

/// Item: identical runs write byte-identical checkpoints; the weights are stored in the run's
/// precision with PyTorch's layout, the resume state under its own names.
#[test]
fn checkpoints_are_reproducible_files_in_the_runs_precision() {
    let data = data_dir("data-repro");
    let (a, b) = (tmp("repro-a"), tmp("repro-b"));
    train(&opts(&data, &a, cfg(1), Claim::New)).unwrap();
    train(&opts(&data, &b, cfg(1), Claim::New)).unwrap();
    let file = |d: &Path| std::fs::read(d.join("checkpoint.safetensors")).unwrap();
    assert!(
        file(&a) == file(&b),
        "identical runs wrote different checkpoints"
    );
    let bytes = file(&a);
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let w0 = st.tensor("W_0").unwrap();
    assert_eq!(w0.dtype(), safetensors::Dtype::F32);
    assert_eq!(w0.shape(), [8, 784]);
    assert_eq!(st.tensor("b_1").unwrap().shape(), [8]);
    for n in ["resume.params", "resume.optimizer_m", "resume.optimizer_v"] {
        let t = st.tensor(n).unwrap();
        assert_eq!(t.dtype(), safetensors::Dtype::F64, "{n}");
        assert_eq!(t.shape(), [784 * 8 + 8 * 10 + 8 + 10], "{n}");
    }
    // The f32 weights are the f64 master copy rounded.
    let ck = Checkpoint::read(&a.join("checkpoint.safetensors")).unwrap();
    let master = ck.tensor_f64("resume.params", &[6370]).unwrap();
    let w = ck.tensor_f64("W_0", &[8, 784]).unwrap();
    assert!(w.iter().zip(&master).all(|(w, m)| *w == *m as f32 as f64));
    // An f64 run stores its weights in f64 and needs no master copy.
    let c = tmp("repro-f64");
    let mut c64 = cfg(1);
    c64.precision = physlearn::real::Precision::F64;
    train(&opts(&data, &c, c64, Claim::New)).unwrap();
    let bytes = file(&c);
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.tensor("W_0").unwrap().dtype(), safetensors::Dtype::F64);
    assert!(st.tensor("resume.params").is_err());
    for d in [data, a, b, c] {
        std::fs::remove_dir_all(d).ok();
    }
}

/// Item: garbage in a checkpoint's metadata names the file; a NaN parameter says it came
/// from the checkpoint.
#[test]
fn a_damaged_checkpoint_is_named() {
    let data = data_dir("data-damaged");
    let out = tmp("damaged");
    train(&opts(&data, &out, cfg(1), Claim::New)).unwrap();
    let path = out.join("checkpoint.safetensors");
    let good = std::fs::read(&path).unwrap();
    let ck = Checkpoint::read(&path).unwrap();
    let np = 6370;
    let tensor = |name: &str, shape: &[usize]| {
        Tensor::f64(name, shape, &ck.tensor_f64(name, shape).unwrap())
    };
    let shapes: [(&str, Vec<usize>); 7] = [
        ("W_0", vec![8, 784]),
        ("W_1", vec![10, 8]),
        ("b_1", vec![8]),
        ("b_2", vec![10]),
        ("resume.params", vec![np]),
        ("resume.optimizer_m", vec![np]),
        ("resume.optimizer_v", vec![np]),
    ];
    let tensors: Vec<Tensor> = shapes.iter().map(|(n, s)| tensor(n, s)).collect();
    let mut meta: BTreeMap<String, String> = ck.metadata().clone();
    meta.insert("physlearn.train".into(), "{\"epoch\": \"garbage\"".into());
    physlearn::checkpoint::write(&path, &tensors, &meta).unwrap();
    let msg = err(train(&opts(&data, &out, cfg(2), Claim::Resume)));
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains("physlearn.train"),
        "{msg}"
    );
    // A NaN in the master parameters.
    let mut tensors = tensors;
    if let physlearn::checkpoint::TensorData::F64(v) = &mut tensors[4].data {
        v[17] = f64::NAN;
    }
    physlearn::checkpoint::write(&path, &tensors, ck.metadata()).unwrap();
    let msg = err(train(&opts(&data, &out, cfg(2), Claim::Resume)));
    assert!(
        msg.contains("checkpoint")
            && msg.contains(&path.display().to_string())
            && msg.contains("resume.params")
            && msg.contains("index 17"),
        "{msg}"
    );
    std::fs::write(&path, &good).unwrap();
    train(&opts(&data, &out, cfg(2), Claim::Resume)).unwrap();
    for d in [data, out] {
        std::fs::remove_dir_all(d).ok();
    }
}

/// Item: Ctrl-C (SIGINT) or SIGTERM stops `physlearn train` at a batch boundary with a
/// message that says how to resume; the directory keeps the last completed epoch and resumes.
#[test]
fn a_signal_stops_at_a_batch_boundary_and_the_run_resumes() {
    let data = data_dir("data-signal");
    for signal in ["TERM", "INT"] {
        let out = tmp(&format!("signal-{signal}"));
        let mut args: Vec<String> = vec!["train".into(), "--out".into()];
        args.push(out.display().to_string());
        args.push("--data-dir".into());
        args.push(data.display().to_string());
        for s in sets(100_000) {
            args.push("--set".into());
            args.push(s);
        }
        let child = Command::new(env!("CARGO_BIN_EXE_physlearn"))
            .args(&args)
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait until two epochs are done, then signal.
        let t0 = std::time::Instant::now();
        while std::fs::read_to_string(out.join("metrics.csv"))
            .map(|s| s.lines().count() < 3)
            .unwrap_or(true)
        {
            assert!(
                t0.elapsed().as_secs() < 120,
                "the run never wrote two epochs"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let k = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(k.success());
        let o = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(130), "{signal}: {stderr}");
        assert!(
            stderr.contains(&format!("physlearn train --resume {}", out.display()))
                && stderr.contains("keeps its last completed epoch"),
            "{signal}: {stderr}"
        );
        assert!(!out.join(".lock").exists());
        let meta: Meta =
            serde_json::from_str(&std::fs::read_to_string(out.join("meta.json")).unwrap()).unwrap();
        assert_eq!(
            meta.invocations[0].outcome,
            physlearn::report::rundir::Outcome::Interrupted
        );
        let done = std::fs::read_to_string(out.join("metrics.csv"))
            .unwrap()
            .lines()
            .count()
            - 1;
        // Resume it to one more epoch than it kept.
        let o = Command::new(env!("CARGO_BIN_EXE_physlearn"))
            .args(["train", "--resume"])
            .arg(&out)
            .args(["--data-dir"])
            .arg(&data)
            .args(["--set", &format!("training.epochs={}", done + 1)])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let rows = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
        assert_eq!(rows.lines().count() - 1, done + 1, "{rows}");
        std::fs::remove_dir_all(&out).ok();
    }
    std::fs::remove_dir_all(&data).ok();
}

/// Item: an epoch with zero batches is an error, not "train error 0.00%".
#[test]
fn an_epoch_without_a_batch_is_an_error() {
    let data = data_dir("data-empty");
    let mut c = cfg(1);
    c.data.train_limit = 5;
    let out = tmp("empty");
    let msg = err(train(&opts(&data, &out, c, Claim::New)));
    assert!(
        msg.contains("no batch") && msg.contains("training.batch_size = 10"),
        "{msg}"
    );
    assert!(!out.exists(), "a refused run must not create its directory");
    std::fs::remove_dir_all(&data).ok();
}

/// Item: the dynamics and optimizer values of `physlearn train` are checked, as every config
/// with these fields is.
#[test]
fn dynamics_and_optimizer_values_are_checked() {
    for (set, key) in [
        ("training.free.dt=-1", "training.free.dt"),
        ("training.nudged.steps=0", "training.nudged.steps"),
        (
            "training.free.temperature=-0.1",
            "training.free.temperature",
        ),
        ("training.optimizer.lr=-1", "training.optimizer.lr"),
        ("training.optimizer.lr=nan", "training.optimizer.lr"),
        (
            "training.optimizer.momentum=1.5",
            "training.optimizer.momentum",
        ),
        ("training.layer_lr=[0.1, -0.05]", "training.layer_lr"),
        (
            "training.free={kind=\"csb\", dt=0.5, damping=-0.1, steps=10, noise=0.0}",
            "training.free.damping",
        ),
        (
            "training.nudged={kind=\"csb\", dt=0.5, damping=0.1, steps=10, noise=-1.0}",
            "training.nudged.noise",
        ),
    ] {
        let msg = err(TrainConfig::load(None, &[set.to_string()]));
        assert!(msg.contains(key), "{set}: {msg}");
    }
    // The same rules, written once, in the reproductions' configs.
    use physlearn::experiments::thermo_eqprop::ThermoConfig;
    let msg = err(ThermoConfig::load(None, &["dynamics.dt=-1".into()]));
    assert!(msg.contains("dynamics.dt must be > 0"), "{msg}");
    let msg = err(ThermoConfig::load(
        None,
        &["e3.train.optimizer.lr=0".into()],
    ));
    assert!(msg.contains("e3.train.optimizer.lr must be > 0"), "{msg}");
    use physlearn::experiments::csb_eqprop::CsbExpConfig;
    let msg = err(CsbExpConfig::load(
        None,
        &["train.training.free.damping=-1".into()],
    ));
    assert!(
        msg.contains("[train]") && msg.contains("training.free.damping must be ≥ 0"),
        "{msg}"
    );
}

/// Item: absurd sizes fail before allocating, naming the size and the memory it needs.
#[test]
fn absurd_sizes_name_the_size_and_the_memory() {
    let msg = err(TrainConfig::load(
        None,
        &["model.layers=[784, 100000000000, 10]".into()],
    ));
    assert!(
        msg.contains("100000000000") && msg.contains("memory") && msg.contains("iB"),
        "{msg}"
    );
    let msg = err(physlearn::energy::hopfield::Hopfield::<f32>::new(
        &[784, 100_000_000_000, 10],
        0,
    ));
    assert!(
        msg.contains("100000000000") && msg.contains("memory"),
        "{msg}"
    );
    use physlearn::experiments::thermo_eqprop::ThermoConfig;
    let msg = err(ThermoConfig::load(
        None,
        &["substrate.modules=[16, 100000000000, 16, 16]".into()],
    ));
    assert!(
        msg.contains("100000000000") && msg.contains("memory"),
        "{msg}"
    );
}

/// Item: `--set` of a tagged table's kind says the table must be given whole, and the whole
/// table works.
#[test]
fn setting_a_tables_kind_asks_for_the_whole_table() {
    let msg = err(TrainConfig::load(
        None,
        &["training.free.kind=\"csb\"".into()],
    ));
    assert!(
        msg.contains("training.free") && msg.contains("give the table whole"),
        "{msg}"
    );
    let c = TrainConfig::load(
        None,
        &["training.free={kind=\"csb\", dt=0.5, damping=0.1, steps=12, noise=0.0}".into()],
    )
    .unwrap();
    assert!(matches!(
        c.training.free,
        physlearn::dynamics::Relaxation::Csb(physlearn::dynamics::Csb { steps: 12, .. })
    ));
    // Setting the kind a table already has changes nothing.
    TrainConfig::load(None, &["training.free.kind=\"langevin\"".into()]).unwrap();
}

/// Item: `--seeds 0,0` is refused by the CLI.
#[test]
fn repeated_seeds_are_refused() {
    let data = tmp("seeds-dup-data");
    std::fs::create_dir_all(&data).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_physlearn"))
        .args(["train", "--seeds", "0,0", "--out"])
        .arg(tmp("seeds-dup"))
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&data).ok();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(stderr.contains("seed 0 twice"), "{stderr}");
}
