//! Overlaid histograms sharing the same bin edges.

use super::axis::{axis, extent, pad};
use super::canvas::{build_chart, draw_legend, draw_no_data, legend_corner, render_png};
use super::{palette, pe};
use anyhow::{Result, bail};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Overlaid histograms of several samples sharing the same bin edges.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    /// Caption drawn above the plot.
    pub title: String,
    /// X axis description (the y axis is "count").
    pub x_label: String,
    /// Named samples; non-finite values are ignored.
    pub series: Vec<(String, Vec<f64>)>,
    /// Number of equal-width bins spanning all finite values (must be > 0).
    pub bins: usize,
}

impl Histogram {
    /// An empty histogram with the given number of bins.
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, bins: usize) -> Self {
        Histogram {
            title: title.into(),
            x_label: x_label.into(),
            series: vec![],
            bins,
        }
    }
    /// Adds a named sample.
    pub fn series(mut self, name: impl Into<String>, values: Vec<f64>) -> Self {
        self.series.push((name.into(), values));
        self
    }
    /// Saves the histogram as a 900x600 PNG (atomically).
    pub fn save_png(&self, path: &Path) -> Result<()> {
        render_png(path, (900, 600), |a| self.draw_on(a))
    }

    /// Draws the histogram into `area`.
    fn draw_on<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let n = self.bins;
        if n == 0 || n > 100_000 {
            bail!(
                "histogram '{}': bins must be in 1..=100000, got {n}",
                self.title
            );
        }
        let finite = |v: &Vec<f64>| {
            v.iter()
                .copied()
                .filter(|x| x.is_finite())
                .collect::<Vec<_>>()
        };
        let Some((mut lo, mut hi)) = extent(self.series.iter().flat_map(|s| finite(&s.1))) else {
            return draw_no_data(area, &self.title);
        };
        if hi - lo <= 1e-12 * (lo.abs() + hi.abs()) {
            (lo, hi) = (lo - 0.5, hi + 0.5);
        }
        let width = (hi - lo) / n as f64;
        let counts: Vec<Vec<f64>> = self
            .series
            .iter()
            .map(|(_, v)| {
                let mut c = vec![0.0; n];
                for x in finite(v) {
                    c[(((x - lo) / width) as usize).min(n - 1)] += 1.0;
                }
                c
            })
            .collect();
        let ymax = counts.iter().flatten().copied().fold(1.0, f64::max) * 1.08;
        let (w, h) = area.dim_in_pixel();
        let xr = pad((lo, hi), false);
        let xa = axis(xr, false, (w as usize / 110).clamp(3, 8));
        let ya = axis((0.0, ymax), false, (h as usize / 70).clamp(3, 8));
        let mut chart = build_chart(
            area,
            &self.title,
            (xa, false, &self.x_label),
            (ya, false, "count"),
        )?;
        let mut occupied = vec![];
        for (i, ((name, _), c)) in self.series.iter().zip(&counts).enumerate() {
            let col = palette(i);
            let edge = |k: usize| lo + k as f64 * width;
            let bars = c
                .iter()
                .enumerate()
                .filter(|(_, v)| **v > 0.0)
                .map(|(k, v)| {
                    Rectangle::new([(edge(k), 0.0), (edge(k + 1), *v)], col.mix(0.3).filled())
                });
            chart.draw_series(bars).map_err(pe)?;
            let mut step = vec![(lo, 0.0)];
            for (k, v) in c.iter().enumerate() {
                step.extend([(edge(k), *v), (edge(k + 1), *v)]);
                let u = (edge(k) + 0.5 * width - xr.0) / (xr.1 - xr.0);
                occupied.extend((0..=10).map(|j| (u, f64::from(j) / 10.0 * v / ymax)));
            }
            step.push((hi, 0.0));
            let anno = chart
                .draw_series(LineSeries::new(step, col.stroke_width(2)))
                .map_err(pe)?;
            if !name.is_empty() {
                anno.label(name.clone()).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 20, y + 6)], col.mix(0.3).filled())
                });
            }
        }
        if self.series.iter().any(|s| !s.0.is_empty()) {
            draw_legend(&mut chart, legend_corner(&occupied))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::json::test_dir;
    use super::super::tests::assert_png;
    use super::*;

    #[test]
    fn histogram_renders() {
        let dir = test_dir("hist");
        let a: Vec<f64> = (0..500).map(|i| ((i * 37) % 101) as f64 / 25.0).collect();
        let b: Vec<f64> = (0..300)
            .map(|i| 1.5 + ((i * 13) % 53) as f64 / 20.0)
            .chain([f64::NAN])
            .collect();
        let h = Histogram::new("energies", "E", 30)
            .series("free", a)
            .series("clamped", b);
        h.save_png(&dir.join("h.png")).unwrap();
        assert_png(&dir.join("h.png"));
        let one = Histogram::new("single value", "E", 10).series("x", vec![2.0; 5]);
        one.save_png(&dir.join("one.png")).unwrap();
        assert_png(&dir.join("one.png"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
