//! End-to-end checks of `physlearn exp oscillator-diffusion`: a tiny `gmm2d` run
//! writes every summary key, figure and sample file; the shipped config equals the defaults;
//! `mnist01` fails clearly without data; MNIST preprocessing on a synthetic image.

use physlearn::config::Layered;
use physlearn::data::ImageSet;
use physlearn::experiments::oscillator_diffusion::mnist01::preprocess;
use physlearn::experiments::oscillator_diffusion::summary::Gmm2dSummary;
use physlearn::experiments::oscillator_diffusion::{
    Gmm2dConfig, Mnist01Config, Options, Summary, Which, run,
};
use serde_json::Value;
use std::path::PathBuf;

fn tmp(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("physlearn-osc-{tag}-{}", std::process::id()))
}

/// Shape of a version-1.0 `.npy` file, read back from its header.
fn npy_shape(path: &std::path::Path) -> (usize, usize) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    let h = std::str::from_utf8(&b[10..10 + hl]).unwrap();
    let s = &h[h.find("'shape': (").unwrap() + 10..];
    let s = &s[..s.find(')').unwrap()];
    let dims: Vec<usize> = s.split(',').map(|v| v.trim().parse().unwrap()).collect();
    assert_eq!(b.len(), 10 + hl + dims[0] * dims[1] * 8);
    (dims[0], dims[1])
}

#[test]
fn tiny_gmm2d_run_writes_summary_figures_and_samples() {
    let out = tmp("gmm2d");
    let sets = [
        "data.train_samples=600",
        "train.grid.intervals=4",
        "train.steps=40",
        "train.first_steps=80",
        "train.batch=256",
        "sampling.samples=120",
        "sampling.dt=0.02",
        "es_dt=0.02",
        "plot.resolution=41",
    ];
    let opts = Options {
        out: out.clone(),
        sets: sets.iter().map(|s| s.to_string()).collect(),
        command: "test".into(),
        ..Options::default()
    };
    let s = run(Which::Gmm2d, &opts).unwrap();
    let back: Gmm2dSummary =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
            .expect("summary.json reads back typed");
    assert_eq!(Summary::Gmm2d(Box::new(back.clone())), s);
    for (key, w) in [
        ("true_mode_weights", back.true_mode_weights),
        ("sgm.mode_weights", back.sgm.mode_weights),
        ("es.mode_weights", back.es.mode_weights),
        ("boltzmann_t0.mode_weights", back.boltzmann_t0.mode_weights),
    ] {
        assert!(w.iter().all(|v| (0.0..=1.0).contains(v)), "{key}: {w:?}");
        assert!((w[0] + w[1] - 1.0).abs() < 1e-9, "{key}: {w:?}");
    }
    assert!(back.true_mode_weights[0] < back.true_mode_weights[1]);
    for (key, v) in [
        ("sgm.energy_distance", back.sgm.energy_distance),
        ("es.energy_distance", back.es.energy_distance),
        ("reference_energy_distance", back.reference_energy_distance),
        (
            "sgm.energetics.work_mean_kbt",
            back.sgm.energetics.work_mean_kbt,
        ),
        (
            "sgm.energetics.heat_mean_kbt",
            back.sgm.energetics.heat_mean_kbt,
        ),
    ] {
        assert!(v.is_finite(), "{key} = {v} is not a finite number");
    }
    // The work is measured on the first generated samples (the first law's convergence in
    // the step is checked in tests/energetics.rs).
    let w = &back.sgm.energetics;
    assert_eq!(w.samples, 120);
    assert!(w.work_std_kbt > 0.0 && w.first_law_rel_error_mean.is_finite());
    for f in [
        "fig1.png",
        "sgm_samples.png",
        "es_samples.png",
        "sgm_energy_t0.png",
        "es_energy_t0.png",
        "boltzmann_contours.png",
        "protocol.png",
        "protocol.json",
        "config.toml",
        "meta.json",
        "metrics.json",
    ] {
        let p = out.join(f);
        assert!(
            std::fs::metadata(&p).map(|m| m.len() > 0).unwrap_or(false),
            "{f} missing"
        );
        if f.ends_with(".png") {
            assert_eq!(&std::fs::read(&p).unwrap()[..4], b"\x89PNG");
        }
    }
    assert_eq!(npy_shape(&out.join("sgm_samples.npy")), (120, 2));
    assert_eq!(npy_shape(&out.join("es_samples.npy")), (120, 2));
    assert_eq!(npy_shape(&out.join("train_data.npy")), (600, 2));
    // The protocol covers the grid and starts at t = 0.
    let proto: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("protocol.json")).unwrap()).unwrap();
    assert_eq!(proto["protocol"]["times"].as_array().unwrap().len(), 5);
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn shipped_gmm2d_config_equals_the_defaults() {
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/configs/oscillator-gmm2d.toml"
    ))
    .unwrap();
    assert_eq!(
        Gmm2dConfig::load(Some(&shipped), &[]).unwrap(),
        Gmm2dConfig::default()
    );
    // Misspelt keys are named; the quick settings and MNIST defaults validate.
    let e = Gmm2dConfig::load(Some("[train]\nstepz = 3\n"), &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("stepz"), "{e}");
    Gmm2dConfig::default().quick().validate().unwrap();
    Mnist01Config::default().validate().unwrap();
    Mnist01Config::default().quick().validate().unwrap();
    let bad = Gmm2dConfig::load(None, &["data.weights=[0.7, 0.3]".into()]);
    assert!(bad.is_err());
}

#[test]
fn mnist01_without_data_fails_clearly() {
    let opts = Options {
        quick: true,
        out: tmp("mnist-nodata"),
        data_dir: Some(PathBuf::from("/nonexistent/physlearn-data")),
        command: "test".into(),
        ..Options::default()
    };
    let e = format!("{:#}", run(Which::Mnist01, &opts).unwrap_err());
    assert!(
        e.contains("/nonexistent/physlearn-data") && e.contains("does not exist"),
        "{e}"
    );
    assert!(!opts.out.exists(), "no run directory without data");
}

#[test]
fn mnist_preprocessing_crops_pools_and_binarizes() {
    // Image 0 (label 0): a bright 4×4 block at rows/cols 4..8 → the top-left 2×2 cells of the
    // cropped 20×20 box pooled 2×2 to 10×10. Image 1 (label 7) is dropped.
    let mut px = vec![0u8; 2 * 784];
    for r in 4..8 {
        for c in 4..8 {
            px[r * 28 + c] = 255;
        }
    }
    // A half-covered cell (mean 0.5) at cell (5, 5): source rows 14..16, col 14 only.
    px[14 * 28 + 14] = 255;
    px[15 * 28 + 14] = 255;
    let set = ImageSet::new(px, vec![0, 7], 1, 28, 28, 10).unwrap();
    let (x, y) = preprocess(&set, 4, 10, 0.35);
    assert_eq!(y, vec![0.0]);
    assert_eq!(x.len(), 100);
    let on: Vec<usize> = (0..100).filter(|&i| x[i] > 0.5).collect();
    assert_eq!(on, vec![0, 1, 10, 11, 55]);
    let (x, _) = preprocess(&set, 4, 10, 0.6);
    assert_eq!(x.iter().filter(|&&v| v > 0.5).count(), 4);
}
