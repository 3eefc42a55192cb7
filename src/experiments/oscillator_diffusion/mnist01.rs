//! `physlearn exp oscillator-diffusion mnist01`: the paper's Fig. 2. Real MNIST 0s and 1s,
//! cropped to the central box, downsampled to 10×10 by area averaging and binarized to
//! `±a`, are learned by a 10×10 lattice of oscillators coupled up to next-next-nearest
//! neighbours (`Topology::Grid`, 502 pairs, 2408 parameters), once with the local
//! force-matching rule (eq. 8) and once with CD1 (eqs. 10–12), same time grid, steps and
//! batches. Each protocol then generates samples with the reverse-time SDE (eq. 2 as eq. 6).
//!
//! Quality without eyes, on samples binarized by sign:
//! - a logistic-regression classifier trained on the real 10×10 binary 0s and 1s labels each
//!   sample: `class_balance` (share labelled "1"), `confident_share` (label probability
//!   above `eval.confident_prob`);
//! - `nn_distance_mean`: mean Hamming distance (differing pixels) of a sample to its nearest
//!   training image: 0 would be copying, a value like held-out real test images' means
//!   novel but digit-like samples, a much larger one means noise.
//!
//! The same metrics on held-out real test images are the reference (`real_test.*`).

use super::config::Mnist01Config;
use super::metrics::{LabelStats, Logistic, label_stats, nn_hamming, pack};
use super::plots;
use super::summary::{
    ClassifierAccuracy, Mnist01Claims, Mnist01Setup, Mnist01Summary, Quality, RuleSamples,
};
use super::{
    Options, ReverseRun, reverse_work_with_progress, sample_reverse_with_progress,
    train_with_progress,
};
use crate::config::Layered;
use crate::data::{self, Check, Dataset, ImageSet, Split};
use crate::dynamics::NoiseKey;
use crate::dynamics::reverse::ReverseSde;
use crate::energy::oscillator::Oscillator;
use crate::experiments::ExpConfig;
use crate::learn::score::ScoreRule;
use crate::real::Real;
use crate::report::json::write_json_atomic;
use crate::report::npy::write_npy;
use crate::report::table::{Table, fmt_num};
use anyhow::Context;
use std::time::Instant;

/// The resolved configuration of `opts`.
pub fn resolve_config(opts: &Options) -> anyhow::Result<Mnist01Config> {
    Mnist01Config::resolve(opts)
}

impl crate::experiments::ExpConfig for Mnist01Config {
    fn quick_settings(self) -> Self {
        self.quick()
    }
    fn seed_mut(&mut self) -> &mut u64 {
        &mut self.seed
    }
}

/// The 0s and 1s of `set`, cropped by `crop` pixels per border, area-averaged to
/// `side × side` and thresholded: pixels in {0, 1}, sample-major, with labels in {0, 1}.
pub fn preprocess(
    set: &ImageSet,
    crop: usize,
    side: usize,
    threshold: f64,
) -> (Vec<f64>, Vec<f64>) {
    let (rows, cols) = (set.rows, set.cols);
    let (h, w) = ((rows - 2 * crop) as f64, (cols - 2 * crop) as f64);
    let (sy, sx) = (h / side as f64, w / side as f64);
    // Overlap of source pixel [p, p+1) with target cell [c·s, (c+1)·s), in source units.
    let overlap = |p: usize, c: usize, s: f64| {
        let (a, b) = (c as f64 * s, (c + 1) as f64 * s);
        ((p as f64 + 1.0).min(b) - (p as f64).max(a)).max(0.0)
    };
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..set.n {
        let l = set.labels[i];
        if l > 1 {
            continue;
        }
        let img = set.image(i);
        for cy in 0..side {
            for cx in 0..side {
                let mut acc = 0.0;
                let py0 = (cy as f64 * sy).floor() as usize;
                let py1 = (((cy + 1) as f64 * sy).ceil() as usize).min(rows - 2 * crop);
                let px0 = (cx as f64 * sx).floor() as usize;
                let px1 = (((cx + 1) as f64 * sx).ceil() as usize).min(cols - 2 * crop);
                for py in py0..py1 {
                    for px in px0..px1 {
                        let v = f64::from(img[(py + crop) * cols + px + crop]) / 255.0;
                        acc += v * overlap(py, cy, sy) * overlap(px, cx, sx);
                    }
                }
                x.push(f64::from(u8::from(acc / (sx * sy) > threshold)));
            }
        }
        y.push(f64::from(l));
    }
    (x, y)
}

/// Measured quality of one set of binary images.
fn quality(
    clf: &Logistic,
    bits01: &[f64],
    d: usize,
    train_bits: &[u128],
    confident: f64,
) -> (LabelStats, Quality) {
    let st = label_stats(clf, bits01, d, confident);
    let nn = nn_hamming(&pack(bits01, d), train_bits);
    let n = nn.len().max(1) as f64;
    let mean = nn.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let copies = nn.iter().filter(|&&v| v == 0).count() as f64 / n;
    let mut sorted = nn.clone();
    sorted.sort_unstable();
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0);
    let on = bits01.iter().sum::<f64>() / bits01.len().max(1) as f64;
    let q = Quality {
        confident_share: st.confident_share,
        class_balance: st.class_balance,
        mean_confidence: st.mean_confidence,
        nn_distance_mean: mean,
        nn_distance_median: median,
        exact_copy_share: copies,
        on_pixel_share: on,
        count: nn.len(),
    };
    (st, q)
}

/// Runs the experiment; returns the summary written to `summary.json`.
pub fn run(opts: &Options) -> anyhow::Result<Mnist01Summary> {
    let cfg = resolve_config(opts)?;
    let data_dir =
        data::data_dir(opts.data_dir.as_deref()).context("mnist01 needs the real MNIST files")?;
    struct Job<'a> {
        cfg: &'a Mnist01Config,
        opts: &'a Options,
        data_dir: &'a std::path::Path,
    }
    impl crate::real::PrecisionJob for Job<'_> {
        type Output = anyhow::Result<Mnist01Summary>;
        fn run<T: Real>(self) -> Self::Output {
            run_typed::<T>(self.cfg, self.opts, self.data_dir)
        }
    }
    cfg.precision.dispatch(Job {
        cfg: &cfg,
        opts,
        data_dir: &data_dir,
    })
}

fn run_typed<T: Real>(
    cfg: &Mnist01Config,
    opts: &Options,
    data_dir: &std::path::Path,
) -> anyhow::Result<Mnist01Summary> {
    let t_start = Instant::now();
    let train = data::load(data_dir, Dataset::Mnist, Split::Train, Check::Published)
        .context("loading MNIST (train)")?;
    let test = data::load(data_dir, Dataset::Mnist, Split::Test, Check::Published)
        .context("loading MNIST (test)")?;
    let dir = opts.run_dir(&cfg.to_toml(), cfg.seed)?;
    let side = cfg.data.side;
    let d = side * side;
    let (mut xtr, mut ytr) = preprocess(&train, cfg.data.crop, side, cfg.data.threshold);
    if cfg.data.max_train > 0 && ytr.len() > cfg.data.max_train {
        ytr.truncate(cfg.data.max_train);
        xtr.truncate(cfg.data.max_train * d);
    }
    let (xte, yte) = preprocess(&test, cfg.data.crop, side, cfg.data.threshold);
    let a = cfg.data.on_value;
    let data: Vec<T> = xtr.iter().map(|&b| T::of(a * (2.0 * b - 1.0))).collect();
    let train_bits = pack(&xtr, d);
    let root = NoiseKey::new(cfg.seed, 0x6d6e_6973);

    // The evaluation classifier (real 0/1 images).
    let clf = Logistic::train(
        &xtr,
        &ytr,
        d,
        cfg.eval.classifier_epochs,
        cfg.eval.classifier_l2,
    );
    let acc_train = clf.accuracy(&xtr, &ytr, d);
    let acc_test = clf.accuracy(&xte, &yte, d);
    let (real_st, real_q) = quality(&clf, &xte, d, &train_bits, cfg.eval.confident_prob);
    let train_balance = ytr.iter().sum::<f64>() / ytr.len() as f64;

    let kt = cfg.train.temperature;
    let rsde = ReverseSde {
        dt: cfg.sampling.dt,
        temperature: kt,
    };
    let s = cfg.sampling.samples;
    let mut results: Vec<RuleSamples> = Vec::new();
    let mut grids: Vec<(String, Vec<f64>, (f64, f64))> = vec![(
        "real (test)".into(),
        xte.iter().take(64 * d).copied().collect(),
        (0.0, 1.0),
    )];
    let mut rows_tbl = Vec::new();
    for (k, (rule, name)) in [
        (ScoreRule::ForceMatching, "force_matching"),
        (ScoreRule::Cd1, "cd1"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut energy = Oscillator::<T>::new(&cfg.oscillator)?;
        let tcfg = cfg.train.protocol_config(rule);
        let t0 = Instant::now();
        let trained = train_with_progress(
            &mut energy,
            &data,
            &tcfg,
            root.child(10 + k as u64),
            &format!("mnist01 train ({name})"),
            &opts.console,
        )?;
        let train_s = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let sample_label = format!("mnist01 sampling ({name})");
        let work_label = format!("mnist01 work and heat ({name})");
        let run = ReverseRun {
            protocol: &trained.protocol,
            n: s,
            sde: &rsde,
            key: root.child(20),
            label: &sample_label,
            console: &opts.console,
        };
        let smp = sample_reverse_with_progress(&mut energy, &run);
        let sample_s = t1.elapsed().as_secs_f64();
        write_json_atomic(&dir.file(&format!("protocol_{name}.json")), &trained)?;
        let final_sm_objective: Vec<f64> = trained.stats.iter().map(|s| s.sm_objective).collect();
        let smp = match smp {
            Ok(v) => v,
            Err(e) => {
                results.push(RuleSamples {
                    diverged: Some(e.to_string()),
                    seconds_train: train_s,
                    seconds_sampling: None,
                    train_steps_per_second: None,
                    quality: None,
                    rms_distance_to_binary: None,
                    final_sm_objective,
                    energetics: None,
                });
                rows_tbl.push((name, None, train_s, sample_s));
                continue;
            }
        };
        let n_work = cfg.sampling.energetics_samples.min(s);
        let work_run = ReverseRun {
            n: n_work,
            label: &work_label,
            ..run
        };
        let energetics = reverse_work_with_progress(&mut energy, &work_run).ok();
        let raw: Vec<f64> = smp.iter().map(|v| v.f64()).collect();
        let bin: Vec<f64> = raw.iter().map(|&v| f64::from(u8::from(v > 0.0))).collect();
        let raw32: Vec<f32> = raw.iter().map(|&v| v as f32).collect();
        write_npy(&dir.file(&format!("samples_{name}.npy")), &raw32, s, d)?;
        let (st, q) = quality(&clf, &bin, d, &train_bits, cfg.eval.confident_prob);
        let rms_from_binary =
            (raw.iter().map(|&v| (v.abs() - a).powi(2)).sum::<f64>() / raw.len() as f64).sqrt();
        results.push(RuleSamples {
            diverged: None,
            seconds_train: train_s,
            seconds_sampling: Some(sample_s),
            train_steps_per_second: Some(cfg.train.total_steps() as f64 / train_s),
            quality: Some(q.clone()),
            rms_distance_to_binary: Some(rms_from_binary),
            final_sm_objective,
            energetics,
        });
        grids.push((
            format!("{name} (raw)"),
            raw[..64.min(s) * d].to_vec(),
            (-a, a),
        ));
        grids.push((
            format!("{name} (sign)"),
            bin[..64.min(s) * d].to_vec(),
            (0.0, 1.0),
        ));
        rows_tbl.push((name, Some((st, q)), train_s, sample_s));
    }
    let xte32: Vec<f32> = xte.iter().map(|&v| v as f32).collect();
    write_npy(&dir.file("real_test_binary.npy"), &xte32, yte.len(), d)?;
    plots::render(
        &dir.file("samples.png"),
        (350 * grids.len() as u32, 400),
        |root| {
            for (area, (title, imgs, range)) in
                root.split_evenly((1, grids.len())).iter().zip(&grids)
            {
                plots::image_grid(area, title, imgs, side, (8, 8), *range)?;
            }
            Ok(())
        },
    )?;

    let secs = t_start.elapsed().as_secs_f64();
    let mut results = results.into_iter();
    let (force_matching, cd1) = (
        results.next().expect("two rules"),
        results.next().expect("two rules"),
    );
    let summary = Mnist01Summary {
        experiment: "oscillator-diffusion mnist01".into(),
        paper: "local-learning-rules-physical-generative-models (arXiv:2506.19136), Fig. 2".into(),
        seed: cfg.seed,
        precision: cfg.precision,
        seconds: secs,
        setup: Mnist01Setup {
            side,
            oscillators: d,
            pairs: Oscillator::<T>::new(&cfg.oscillator)?.n_pairs(),
            train_images: ytr.len(),
            test_images: yte.len(),
            threshold: cfg.data.threshold,
            temperature: kt,
            times: cfg.train.grid.times(),
            steps_per_time_point: cfg.train.steps,
            first_steps: cfg.train.first_steps,
            batch: cfg.train.batch,
            cd1: cfg.train.cd1,
            reverse_dt: cfg.sampling.dt,
            samples: s,
        },
        classifier: ClassifierAccuracy {
            train_accuracy: acc_train,
            test_accuracy: acc_test,
        },
        train_class_balance: train_balance,
        real_test: real_q.clone(),
        force_matching,
        cd1,
        paper_claims: Mnist01Claims {
            samples: "a 10x10 oscillator network samples binarized 0s and 1s".into(),
            rules: "force matching is more faithful than CD1 at scale".into(),
        },
    };
    write_json_atomic(&dir.file("summary.json"), &summary)?;
    dir.finish(&serde_json::to_value(&summary)?)?;

    let mut t = Table::new(
        format!(
            "oscillator-diffusion mnist01: {side}×{side} lattice, {} train images, k_BT={kt}, {} time points, {} ({:.1} s)",
            ytr.len(),
            cfg.train.grid.intervals + 1,
            cfg.precision,
            secs
        ),
        [
            "set",
            "confident",
            "share \"1\"",
            "NN dist (px)",
            "train s",
            "sample s",
        ],
    );
    t.push([
        "real test images (reference)".to_string(),
        fmt_num(real_st.confident_share),
        fmt_num(real_st.class_balance),
        fmt_num(real_q.nn_distance_mean),
        "—".into(),
        "—".into(),
    ]);
    for (name, r, ts, ss) in rows_tbl {
        match r {
            Some((st, q)) => t.push([
                name.to_string(),
                fmt_num(st.confident_share),
                fmt_num(st.class_balance),
                fmt_num(q.nn_distance_mean),
                fmt_num(ts),
                fmt_num(ss),
            ]),
            None => t.push([
                name.to_string(),
                "diverged".into(),
                "—".into(),
                "—".into(),
                fmt_num(ts),
                "—".into(),
            ]),
        }
    }
    opts.console.result(t.to_string());
    opts.console.result(format!(
        "classifier test accuracy {:.4}; training set share of \"1\" {:.3}; paper: 10×10 oscillators sample 0s and 1s, force matching more faithful than CD1",
        acc_test, train_balance
    ));
    for (name, r) in [
        ("force_matching", &summary.force_matching),
        ("cd1", &summary.cd1),
    ] {
        if let Some(w) = &r.energetics {
            opts.console.result(format!(
                "{name}: work the backwards protocol does per generated sample {} ± {} k_BT, \
                 heat to the bath {} k_BT ({} samples; first-law violation mean {}, largest {})",
                fmt_num(w.work_mean_kbt),
                fmt_num(w.work_std_kbt),
                fmt_num(w.heat_mean_kbt),
                w.samples,
                fmt_num(w.first_law_rel_error_mean),
                fmt_num(w.first_law_rel_error)
            ));
        }
    }
    opts.console.note(format!("wrote {}", dir.path.display()));
    Ok(summary)
}
