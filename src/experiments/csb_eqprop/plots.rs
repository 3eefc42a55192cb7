//! The figures of the cSB-EqProp reproduction.

use super::{CsbExpConfig, History, Method};
use crate::report::plot::{Histogram, LinePlot, Series};
use crate::report::rundir::RunDir;

/// Writes every PNG of the reproduction into `dir`.
pub(super) fn write_all(
    dir: &RunDir,
    cfg: &CsbExpConfig,
    hist: &[History],
    noise_acc: &[(Method, f64, Vec<f64>)],
    budget_acc: &[(Method, Vec<f64>)],
) -> anyhow::Result<()> {
    let methods = [Method::Ep, Method::Csb];
    // Fig. 2(a, b): energy distributions over the epochs, one panel per method, on a common
    // range so the two can be compared.
    for (m, h) in methods.iter().zip(hist) {
        let mut p = Histogram::new(
            format!(
                "{}: free-phase energies of the training images over the epochs",
                m.label()
            ),
            "energy E(s)",
            60,
        );
        for (epoch, e) in &h.hist {
            p = p.series(format!("epoch {epoch}"), e.clone());
        }
        p.save_png(&dir.file(&format!("energy_hist_{}.png", m.name())))?;
    }
    // Both methods' last histogram epoch on one plot.
    let mut p = Histogram::new(
        "free-phase energies, last recorded epoch: EP vs cSB-EP",
        "energy E(s)",
        60,
    );
    for (m, h) in methods.iter().zip(hist) {
        if let Some((epoch, e)) = h.hist.last() {
            p = p.series(format!("{} (epoch {epoch})", m.label()), e.clone());
        }
    }
    p.save_png(&dir.file("energy_hist_last.png"))?;
    // Fig. 2(c): mean energy per epoch, train and test.
    let epochs = |v: &[f64]| -> Vec<(f64, f64)> {
        v.iter()
            .enumerate()
            .map(|(i, &y)| ((i + 1) as f64, y))
            .collect()
    };
    let mut p = LinePlot::new("mean free-phase energy per epoch", "epoch", "mean energy");
    for (m, h) in methods.iter().zip(hist) {
        p = p
            .series(Series::line(
                format!("{} train", m.label()),
                epochs(&h.train_energy_mean),
            ))
            .series(
                Series::line(format!("{} test", m.label()), epochs(&h.test_energy_mean)).dashed(),
            );
    }
    p.save_png(&dir.file("energy_vs_epoch.png"))?;
    // Fig. 2(d): error rate per epoch.
    let pct = |v: &[f64]| v.iter().map(|x| 100.0 * x).collect::<Vec<_>>();
    let mut p = LinePlot::new(
        "error rate per epoch (784-120-10, MNIST)",
        "epoch",
        "error (%)",
    );
    for (m, h) in methods.iter().zip(hist) {
        p = p
            .series(Series::line(
                format!("{} test", m.label()),
                epochs(&pct(&h.test_error)),
            ))
            .series(
                Series::line(format!("{} train", m.label()), epochs(&pct(&h.train_error))).dashed(),
            );
    }
    p.save_png(&dir.file("error_vs_epoch.png"))?;
    // Fig. 3: accuracy against noise amplitude, one line per (method, β).
    let mut p = LinePlot::new(
        format!(
            "test accuracy vs neuron noise ({} epochs per point; solid cSB-EP, dashed EP)",
            cfg.noise.epochs
        ),
        "noise amplitude σ per iteration",
        "test accuracy (%)",
    );
    for (m, b, a) in noise_acc {
        let pts: Vec<(f64, f64)> = cfg
            .noise
            .amplitudes
            .iter()
            .zip(a)
            .map(|(&s, &v)| (s, 100.0 * v))
            .collect();
        let s = Series::line(format!("{} β={b}", m.label()), pts);
        p = p.series(if *m == Method::Ep { s.dashed() } else { s });
    }
    p = p.hline(90.0, "90%");
    p.save_png(&dir.file("noise_accuracy.png"))?;
    // Fig. 4(b): accuracy against the iteration budget.
    let mut p = LinePlot::new(
        format!(
            "test accuracy vs iteration budget ({} epochs per point)",
            cfg.budget.epochs
        ),
        format!(
            "free-phase iterations (nudged = {} x)",
            cfg.budget.nudged_fraction
        ),
        "test accuracy (%)",
    )
    .log_x();
    for (m, a) in budget_acc {
        let pts: Vec<(f64, f64)> = cfg
            .budget
            .free_steps
            .iter()
            .zip(a)
            .map(|(&k, &v)| (k as f64, 100.0 * v))
            .collect();
        p = p.series(Series::line(m.label(), pts).style(crate::report::plot::Style::LinePoints));
    }
    p.save_png(&dir.file("budget_accuracy.png"))?;
    Ok(())
}

/// Energy gap to the reference against the iteration, both dynamics on both trained nets.
pub(super) fn convergence(dir: &RunDir, curves: &[(String, Vec<f64>)]) -> anyhow::Result<()> {
    let mut p = LinePlot::new(
        "same weights: mean energy above a long gradient-flow run",
        "iteration",
        "mean energy gap",
    )
    .log_y();
    for (name, gap) in curves {
        let pts = gap
            .iter()
            .enumerate()
            .map(|(i, &g)| ((i + 1) as f64, g))
            .collect();
        let s = Series::line(name.clone(), pts);
        p = p.series(if name.starts_with("csb") {
            s
        } else {
            s.dashed()
        });
    }
    p.save_png(&dir.file("convergence.png"))
}
