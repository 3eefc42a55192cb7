//! `physlearn exp oscillator-diffusion gmm2d`: the paper's Fig. 1. A 2-oscillator network
//! (one coupled pair, all eight parameter families) learns the driving protocol `θ(t)` of a
//! score-based generative model of a mixture of two 2D Gaussians with unequal weights, by
//! local force matching (eq. 8) per time point. Then
//! - SGM: `S` samples of the reverse-time SDE `dx = (−2∇Ê_{θ(τ−s)} + x) ds + sqrt(2k_BT) dw`
//!   (eq. 2 with the learned score, run as eq. 6), from `N(0, k_BT)`;
//! - ES: one overdamped Langevin chain on the static `Ê_θ(0)` for time `τ × S`, recorded
//!   every `τ`.
//!
//! Measured: the share of samples in each mode (each sample assigned to the mode with the
//! larger true responsibility), the two-sample energy distance to fresh true samples, the
//! number of mode switches of the ES chain, and the mode weights of the learned Boltzmann
//! density `exp(−Ê_θ(0)/k_BT)/Z` (integrated on the plot grid) — what ES would reach with
//! unlimited time.

use super::config::Gmm2dConfig;
use super::metrics::{Mixture, energy_distance, mode_switches};
use super::plots::{self, Contours, Field};
use super::summary::{
    Boltzmann, Es, Gmm2dClaims, Gmm2dSetup, Gmm2dSummary, Oracle, Sgm, ThetaByFamily,
};
use super::{
    Options, ReverseRun, reverse_work_with_progress, sample_equilibrium_with_progress,
    sample_reverse_with_progress, train_with_progress,
};
use crate::config::Layered;
use crate::dynamics::NoiseKey;
use crate::dynamics::reverse::{EquilibriumSampling, ReverseSde};
use crate::energy::Energy;
use crate::energy::oscillator::{Oscillator, Param};
use crate::experiments::ExpConfig;
use crate::learn::score::{Forward, QuadraticForm, ScoreRule, noise_batch};
use crate::linalg::{dist, norm};
use crate::report::json::write_json_atomic;
use crate::report::npy::write_npy;
use crate::report::plot::{LinePlot, Series};
use crate::report::table::{Table, fmt_num};
use crate::train::protocol::batch_key;
use anyhow::Context;
use plotters::prelude::RGBColor;
use std::time::Instant;

/// The resolved configuration of `opts`.
pub fn resolve_config(opts: &Options) -> anyhow::Result<Gmm2dConfig> {
    Gmm2dConfig::resolve(opts)
}

impl crate::experiments::ExpConfig for Gmm2dConfig {
    fn quick_settings(self) -> Self {
        self.quick()
    }
    fn seed_mut(&mut self) -> &mut u64 {
        &mut self.seed
    }
}

fn fmt_w(w: [f64; 2]) -> String {
    format!("{:.3} / {:.3}", w[0], w[1])
}

/// Runs the experiment; returns the summary written to `summary.json`.
pub fn run(opts: &Options) -> anyhow::Result<Gmm2dSummary> {
    let cfg = resolve_config(opts)?;
    let dir = opts.run_dir(&cfg.to_toml(), cfg.seed)?;
    let t_start = Instant::now();
    let root = NoiseKey::new(cfg.seed, 0x6d6d_3264);
    let mix = Mixture {
        cfg: cfg.data.clone(),
    };
    let kt = cfg.train.temperature;
    let s = cfg.sampling.samples;
    let data = mix.sample(cfg.data.train_samples, root.child(1));

    // Training.
    let mut energy = Oscillator::<f64>::new(&cfg.oscillator)?;
    let tcfg = cfg.train.protocol_config(cfg.rule);
    let train_key = root.child(2);
    let t0 = Instant::now();
    let trained = train_with_progress(
        &mut energy,
        &data,
        &tcfg,
        train_key,
        "gmm2d train",
        &opts.console,
    )?;
    let train_s = t0.elapsed().as_secs_f64();
    let proto = &trained.protocol;
    let tau = proto.tau();

    // The exact constrained minimiser of the empirical objective at t_0 (force matching on a
    // fixed batch should land on it).
    let oracle = if cfg.rule == ScoreRule::ForceMatching && cfg.train.fixed_batch {
        let n = cfg.train.batch;
        let (mut xt, mut eps) = (vec![0.0; 2 * n], vec![0.0; 2 * n]);
        noise_batch(
            &data,
            2,
            Forward {
                t: tcfg.times[0],
                kt,
            },
            batch_key(train_key, 0),
            0,
            &mut xt,
            &mut eps,
        );
        let q = QuadraticForm::from_samples(&energy, &xt, kt);
        let lb = crate::energy::oscillator::LinearEnergy::lower_bounds(&energy);
        q.minimise(&lb, 0.0).ok().map(|th| {
            let got = &proto.params[0];
            Oracle {
                theta_rel_error: dist(got, &th) / norm(&th),
                objective_gap: q.value(got) - q.value(&th),
                objective: q.value(&th),
            }
        })
    } else {
        None
    };

    // SGM: reverse-time sampling.
    let rsde = ReverseSde {
        dt: cfg.sampling.dt,
        temperature: kt,
    };
    let t1 = Instant::now();
    let run = |n: usize, label: &'static str| ReverseRun {
        protocol: proto,
        n,
        sde: &rsde,
        key: root.child(3),
        label,
        console: &opts.console,
    };
    let sgm = sample_reverse_with_progress(&mut energy, &run(s, "SGM sampling"))
        .context("reverse-time sampling")?;
    let sgm_s = t1.elapsed().as_secs_f64();
    let n_work = cfg.sampling.energetics_samples.min(s);
    let sgm_work = reverse_work_with_progress(&mut energy, &run(n_work, "SGM work and heat"))
        .context("reverse-time sampling (energetics)")?;

    // ES: one chain on the static Ê_θ(0) for τ × S.
    energy.set_params(&proto.params[0])?;
    let t2 = Instant::now();
    let plan = EquilibriumSampling {
        chains: 1,
        per_chain: s,
        interval: tau,
        dt: cfg.es_dt,
        temperature: kt,
    };
    let es = sample_equilibrium_with_progress(
        &energy,
        &plan,
        root.child(4),
        "ES sampling",
        &opts.console,
    )
    .context("equilibrium sampling")?;
    let es_s = t2.elapsed().as_secs_f64();

    // Metrics.
    let fresh = mix.sample(s, root.child(5));
    let fresh2 = mix.sample(s, root.child(6));
    let sgm_w = mix.mode_weights(&sgm);
    let es_w = mix.mode_weights(&es);
    let data_w = mix.mode_weights(&data);
    let sgm_ed = energy_distance(&sgm, &fresh, 2);
    let es_ed = energy_distance(&es, &fresh, 2);
    let ref_ed = energy_distance(&fresh2, &fresh, 2);
    let es_switches = mode_switches(&mix, &es);

    // The learned energy and its Boltzmann density on the plot grid.
    let (ext, res) = (cfg.plot.extent, cfg.plot.resolution);
    let e_at = |x: f64, y: f64| {
        let mut o = [0.0];
        energy.energy(&[x, y], &mut o);
        o[0] / kt
    };
    let e0 = Field::square(ext, res, e_at);
    let emin = e0.v.iter().copied().fold(f64::INFINITY, f64::min);
    let cell = (2.0 * ext / (res - 1) as f64).powi(2);
    let z: f64 = e0.v.iter().map(|e| (-(e - emin)).exp()).sum::<f64>() * cell;
    let boltz = Field {
        xs: e0.xs.clone(),
        ys: e0.ys.clone(),
        v: e0.v.iter().map(|e| (-(e - emin)).exp() / z).collect(),
    };
    let truth = Field::square(ext, res, |x, y| mix.density([x, y]));
    let mut bw = [0.0; 2];
    for (j, &y) in boltz.ys.iter().enumerate() {
        for (i, &x) in boltz.xs.iter().enumerate() {
            bw[mix.mode_of([x, y])] += boltz.v[j * res + i] * cell;
        }
    }
    let bmass = bw[0] + bw[1];
    let boltz_w = [bw[0] / bmass, bw[1] / bmass];
    // Energy barrier along the segment between the means (in k_BT), learned and true.
    let barrier = |f: &dyn Fn(f64, f64) -> f64| {
        let (a, b) = (cfg.data.means[0], cfg.data.means[1]);
        let vals: Vec<f64> = (0..=400)
            .map(|k| {
                let u = k as f64 / 400.0;
                f(a[0] + u * (b[0] - a[0]), a[1] + u * (b[1] - a[1]))
            })
            .collect();
        let top = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let low = vals[0].min(vals[400]);
        top - low
    };
    let learned_barrier = barrier(&e_at);
    let true_barrier = barrier(&|x, y| -mix.density([x, y]).ln());

    // Outputs: samples, protocol, plots.
    write_npy(&dir.file("sgm_samples.npy"), &sgm, s, 2)?;
    write_npy(&dir.file("es_samples.npy"), &es, s, 2)?;
    write_npy(&dir.file("train_data.npy"), &data, data.len() / 2, 2)?;
    write_json_atomic(&dir.file("protocol.json"), &trained)?;
    let red = RGBColor(214, 39, 40);
    let white = RGBColor(255, 255, 255);
    let true_levels: Vec<f64> = {
        let pmax = truth.v.iter().copied().fold(0.0, f64::max);
        [0.02, 0.1, 0.3, 0.6, 0.9]
            .iter()
            .map(|f| f * pmax)
            .collect()
    };
    let bmax = boltz.v.iter().copied().fold(0.0, f64::max);
    let e_hi = 12.0;
    let title_e = format!("learned energy Ê_θ(0)/k_BT − min (clipped at {e_hi})");
    let e_shifted = Field {
        xs: e0.xs.clone(),
        ys: e0.ys.clone(),
        v: e0.v.iter().map(|e| e - emin).collect(),
    };
    // The learned energy at t = 0 with a method's samples on top.
    let energy_panel = |area: &plots::Area<'_>, smp: &[f64]| {
        plots::heatmap(
            area,
            &title_e,
            &e_shifted,
            (0.0, e_hi),
            Some((smp, white)),
            &[],
            ext,
        )
    };
    let draw_row =
        |row: &[plots::Area<'_>], name: &str, smp: &[f64], w: [f64; 2]| -> anyhow::Result<()> {
            plots::samples_with_marginals(
                &row[0],
                &format!("{name}: {s} samples, mode weights {}", fmt_w(w)),
                smp,
                &mix,
                ext,
            )?;
            energy_panel(&row[1], smp)?;
            plots::heatmap(
                &row[2],
                "Boltzmann exp(−Ê_θ(0)/k_BT)/Z, true p iso-lines (red)",
                &boltz,
                (0.0, bmax),
                None,
                &[Contours {
                    field: &truth,
                    levels: true_levels.clone(),
                    color: red,
                }],
                ext,
            )?;
            Ok(())
        };
    plots::render(&dir.file("fig1.png"), (1800, 1200), |root| {
        let panels = root.split_evenly((2, 3));
        draw_row(&panels[0..3], "SGM", &sgm, sgm_w)?;
        draw_row(&panels[3..6], "ES", &es, es_w)
    })?;
    for (name, smp, w) in [("sgm", &sgm, sgm_w), ("es", &es, es_w)] {
        let label = name.to_uppercase();
        plots::render(&dir.file(&format!("{name}_samples.png")), (700, 700), |a| {
            plots::samples_with_marginals(
                a,
                &format!("{label}: {s} samples, mode weights {}", fmt_w(w)),
                smp,
                &mix,
                ext,
            )
        })?;
        plots::render(
            &dir.file(&format!("{name}_energy_t0.png")),
            (700, 700),
            |a| energy_panel(a, smp),
        )?;
    }
    plots::render(&dir.file("boltzmann_contours.png"), (700, 700), |a| {
        plots::heatmap(
            a,
            "Boltzmann exp(−Ê_θ(0)/k_BT)/Z, true p (red)",
            &boltz,
            (0.0, bmax),
            None,
            &[Contours {
                field: &truth,
                levels: true_levels.clone(),
                color: red,
            }],
            ext,
        )
    })?;
    let mut pp = LinePlot::new("learned driving protocol θ(t)", "t", "parameter value");
    for p in Param::ALL {
        for (k, idx) in energy.range(p).enumerate() {
            let pts = proto
                .times
                .iter()
                .zip(&proto.params)
                .map(|(&t, th)| (t, th[idx]))
                .collect();
            pp = pp.series(Series::line(format!("{}[{k}]", p.name()), pts));
        }
    }
    pp.save_png_sized(&dir.file("protocol.png"), (1100, 700))?;

    let secs = t_start.elapsed().as_secs_f64();
    let theta0 = &proto.params[0];
    let named = |p: Param| -> Vec<f64> { energy.range(p).map(|i| theta0[i]).collect() };
    let summary = Gmm2dSummary {
        experiment: "oscillator-diffusion gmm2d".into(),
        paper: "local-learning-rules-physical-generative-models (arXiv:2506.19136), Fig. 1".into(),
        seed: cfg.seed,
        rule: cfg.rule,
        seconds: secs,
        seconds_train: train_s,
        seconds_sgm_sampling: sgm_s,
        seconds_es_sampling: es_s,
        setup: Gmm2dSetup {
            weights: cfg.data.weights,
            means: cfg.data.means,
            stds: cfg.data.stds,
            train_samples: cfg.data.train_samples,
            temperature: kt,
            tau,
            time_points: proto.times.len(),
            steps_per_time_point: cfg.train.steps,
            batch: cfg.train.batch,
            fixed_batch: cfg.train.fixed_batch,
            reverse_dt: cfg.sampling.dt,
            es_dt: cfg.es_dt,
            es_time: tau * s as f64,
            samples: s,
        },
        true_mode_weights: cfg.data.weights,
        data_mode_weights: data_w,
        sgm: Sgm {
            mode_weights: sgm_w,
            energy_distance: sgm_ed,
            energetics: sgm_work,
        },
        es: Es {
            mode_weights: es_w,
            energy_distance: es_ed,
            mode_switches: es_switches,
        },
        reference_energy_distance: ref_ed,
        boltzmann_t0: Boltzmann {
            mode_weights: boltz_w,
            mass_in_plot_window: bmass,
            barrier_kt: learned_barrier,
        },
        true_barrier_kt: true_barrier,
        theta_t0: ThetaByFamily {
            alpha: named(Param::Alpha),
            beta: named(Param::Beta),
            gamma: named(Param::Gamma),
            f: named(Param::F),
            kappa: named(Param::Kappa),
            lambda: named(Param::Lambda),
            chi: named(Param::Chi),
            chi_hat: named(Param::ChiHat),
        },
        oracle_t0: oracle,
        final_sm_objective: trained.stats.iter().map(|s| s.sm_objective).collect(),
        projected_grad_norm: trained
            .stats
            .iter()
            .map(|s| s.projected_grad_norm)
            .collect(),
        paper_claims: Gmm2dClaims {
            sgm: "samples from both modes with approximately the correct weights".into(),
            es: "trapped in the high-probability mode".into(),
        },
    };
    write_json_atomic(&dir.file("summary.json"), &summary)?;
    dir.finish(&serde_json::to_value(&summary)?)?;

    let mut t = Table::new(
        format!(
            "oscillator-diffusion gmm2d: 2 oscillators, k_BT={kt}, τ={tau}, {} time points, rule {:?} ({:.1} s)",
            proto.times.len(),
            cfg.rule,
            secs
        ),
        ["quantity", "paper", "measured"],
    );
    t.push([
        "true mode weights (small / large)".to_string(),
        "—".into(),
        fmt_w(cfg.data.weights),
    ]);
    t.push([
        "SGM mode weights".to_string(),
        "≈ true".into(),
        fmt_w(sgm_w),
    ]);
    t.push([
        "ES mode weights (one chain, τ×S)".to_string(),
        "one mode only".into(),
        fmt_w(es_w),
    ]);
    t.push([
        "ES mode switches".to_string(),
        "0".into(),
        es_switches.to_string(),
    ]);
    t.push([
        "energy distance SGM / ES (vs true)".to_string(),
        "SGM ≪ ES".into(),
        format!("{} / {}", fmt_num(sgm_ed), fmt_num(es_ed)),
    ]);
    t.push([
        "energy distance true vs true (noise floor)".to_string(),
        "—".into(),
        fmt_num(ref_ed),
    ]);
    t.push([
        "Boltzmann exp(−Ê_θ(0)/k_BT) mode weights".to_string(),
        "—".into(),
        fmt_w(boltz_w),
    ]);
    t.push([
        "barrier between means, learned / true (k_BT)".to_string(),
        "—".into(),
        format!("{} / {}", fmt_num(learned_barrier), fmt_num(true_barrier)),
    ]);
    if let Some(o) = &summary.oracle_t0 {
        t.push([
            "θ(0) vs exact minimiser (rel. error)".to_string(),
            "—".into(),
            fmt_num(o.theta_rel_error),
        ]);
    }
    let w = &summary.sgm.energetics;
    t.push([
        format!("SGM work / heat per sample (k_BT, {} samples)", w.samples),
        "—".into(),
        format!(
            "{} ± {} / {}",
            fmt_num(w.work_mean_kbt),
            fmt_num(w.work_std_kbt),
            fmt_num(w.heat_mean_kbt)
        ),
    ]);
    t.push([
        "SGM first law violation, mean / largest".to_string(),
        "—".into(),
        format!(
            "{} / {}",
            fmt_num(w.first_law_rel_error_mean),
            fmt_num(w.first_law_rel_error)
        ),
    ]);
    opts.console.result(t.to_string());
    opts.console.note(format!("wrote {}", dir.path.display()));
    Ok(summary)
}
