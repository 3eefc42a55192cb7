//! `physlearn train` end to end on a tiny synthetic IDX data set: it learns, writes its run
//! record, and a run resumed from its checkpoint ends bit-identical to an uninterrupted one.

use physlearn::data::idx::IdxArray;
use physlearn::train::{TrainConfig, TrainOptions, train};
use std::path::{Path, PathBuf};

/// MNIST-shaped files (28×28, 10 classes) holding two easy classes: class 0 bright on the
/// left half, class 1 on the right.
fn write_dataset(dir: &Path) {
    let m = dir.join("mnist");
    std::fs::create_dir_all(&m).unwrap();
    for (split, n) in [("train", 200usize), ("t10k", 100)] {
        let mut rng = physlearn::dynamics::NoiseKey::new(n as u64, 1).rng(0, 0);
        let mut img = vec![0u8; n * 784];
        let mut lab = vec![0u8; n];
        for i in 0..n {
            let c = (i % 2) as u8;
            lab[i] = c;
            for p in 0..784 {
                let left = p % 28 < 14;
                let on = (left && c == 0) || (!left && c == 1);
                let noise: u8 = rand::Rng::random_range(&mut rng, 0..60);
                img[i * 784 + p] = if on { 195 + noise } else { noise };
            }
        }
        let images = IdxArray {
            dims: vec![n, 28, 28],
            data: img,
        };
        let labels = IdxArray {
            dims: vec![n],
            data: lab,
        };
        std::fs::write(
            m.join(format!("{split}-images-idx3-ubyte")),
            images.to_bytes(),
        )
        .unwrap();
        std::fs::write(
            m.join(format!("{split}-labels-idx1-ubyte")),
            labels.to_bytes(),
        )
        .unwrap();
    }
}

fn cfg(epochs: usize) -> TrainConfig {
    TrainConfig::load(
        None,
        &[
            "model.layers=[784, 8, 10]".into(),
            "data.verify=false".into(),
            format!("training.epochs={epochs}"),
            "training.batch_size=10".into(),
            "training.estimator=\"symmetric\"".into(),
            "training.beta=0.5".into(),
        ],
    )
    .unwrap()
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
    let run = |out: &Path, epochs: usize, resume: bool| {
        train(&TrainOptions {
            cfg: cfg(epochs),
            data_dir: data.clone(),
            out: out.to_path_buf(),
            resume,
            command: "test".into(),
        })
        .unwrap()
    };
    let full = tmp("full");
    let s = run(&full, 3, false);
    assert!(
        s["test_error"].as_f64().unwrap() < 0.05,
        "the toy task should be learnt: {s}"
    );
    for key in [
        "test_error",
        "train_error",
        "epochs",
        "seconds_per_epoch",
        "samples_per_second",
    ] {
        assert!(s[key].as_f64().is_some(), "summary lacks {key}");
    }
    let csv = std::fs::read_to_string(full.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "header + one row per epoch:\n{csv}");
    // Kill after epoch 1 (a 1-epoch run), then resume to 3 epochs.
    let part = tmp("part");
    run(&part, 1, false);
    let config = std::fs::read_to_string(part.join("config.toml")).unwrap();
    std::fs::write(
        part.join("config.toml"),
        config.replace("epochs = 1", "epochs = 3"),
    )
    .unwrap();
    let r = run(&part, 3, true);
    assert_eq!(r["epochs"], 3);
    // Parameters and optimizer state (every tensor; the metadata holds wall-clock timings).
    let tensors = |dir: &Path| {
        let bytes = std::fs::read(dir.join("checkpoint.safetensors")).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
        names.sort();
        names
            .into_iter()
            .map(|n| (n.clone(), st.tensor(&n).unwrap().data().to_vec()))
            .collect::<Vec<_>>()
    };
    let (a, b) = (tensors(&full), tensors(&part));
    assert_eq!(a.len(), b.len());
    for ((na, da), (nb, db)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        assert!(
            da == db,
            "tensor {na}: a resumed run must end bit-identical to an uninterrupted one"
        );
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
        resume: false,
        command: "t".into(),
    })
    .unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("model.layers") && msg.contains("10"), "{msg}");
    std::fs::remove_dir_all(data).ok();
}
