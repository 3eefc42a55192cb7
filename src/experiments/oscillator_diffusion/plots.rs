//! The figures of the oscillator-diffusion reproductions, drawn with plotters directly:
//! sample scatter plots with their marginals (paper Fig. 1a/d), heat maps of the learned
//! energy and its Boltzmann density with iso-contours (Fig. 1b/c/e/f), and image grids of
//! MNIST samples (Fig. 2).
//!
//! PNGs are written atomically through [`crate::report::plot::render`], with the
//! repository's embedded DejaVu Sans font.

use super::metrics::Mixture;
pub use crate::report::plot::{Area, render};
use crate::report::plot::{FONT, pe};
use anyhow::Result;
use plotters::prelude::*;

/// Values on a regular grid: `v[j · nx + i]` at `(xs[i], ys[j])`.
#[derive(Clone, Debug)]
pub struct Field {
    /// Grid abscissae (increasing).
    pub xs: Vec<f64>,
    /// Grid ordinates (increasing).
    pub ys: Vec<f64>,
    /// Values, row `j` (fixed `y`) after row.
    pub v: Vec<f64>,
}

impl Field {
    /// Evaluates `f` on the square grid `[−e, e]²` with `n` points per axis.
    pub fn square(e: f64, n: usize, f: impl Fn(f64, f64) -> f64) -> Self {
        let xs: Vec<f64> = (0..n)
            .map(|i| -e + 2.0 * e * i as f64 / (n - 1) as f64)
            .collect();
        let mut v = Vec::with_capacity(n * n);
        for &y in &xs {
            for &x in &xs {
                v.push(f(x, y));
            }
        }
        Self {
            ys: xs.clone(),
            xs,
            v,
        }
    }

    fn at(&self, i: usize, j: usize) -> f64 {
        self.v[j * self.xs.len() + i]
    }

    /// Line segments of the iso-line `v = level` (marching squares; saddle cells are split by
    /// the cell-centre value).
    pub fn contour(&self, level: f64) -> Vec<[(f64, f64); 2]> {
        let (nx, ny) = (self.xs.len(), self.ys.len());
        let mut segs = Vec::new();
        for j in 0..ny.saturating_sub(1) {
            for i in 0..nx.saturating_sub(1) {
                let (x0, x1, y0, y1) = (self.xs[i], self.xs[i + 1], self.ys[j], self.ys[j + 1]);
                let c = [
                    ((x0, y0), self.at(i, j)),
                    ((x1, y0), self.at(i + 1, j)),
                    ((x1, y1), self.at(i + 1, j + 1)),
                    ((x0, y1), self.at(i, j + 1)),
                ];
                let mut pts = Vec::with_capacity(4);
                for e in 0..4 {
                    let ((pa, va), (pb, vb)) = (c[e], c[(e + 1) % 4]);
                    if (va - level) * (vb - level) < 0.0 {
                        let s = (level - va) / (vb - va);
                        pts.push((pa.0 + s * (pb.0 - pa.0), pa.1 + s * (pb.1 - pa.1)));
                    }
                }
                match pts.len() {
                    2 => segs.push([pts[0], pts[1]]),
                    4 => {
                        let centre = c.iter().map(|p| p.1).sum::<f64>() / 4.0;
                        // Edges 0..4 = bottom, right, top, left; the centre decides which
                        // corners connect.
                        if (centre - level) * (c[0].1 - level) > 0.0 {
                            segs.push([pts[0], pts[1]]);
                            segs.push([pts[2], pts[3]]);
                        } else {
                            segs.push([pts[0], pts[3]]);
                            segs.push([pts[1], pts[2]]);
                        }
                    }
                    _ => {}
                }
            }
        }
        segs
    }
}

/// An approximation of matplotlib's "viridis" colour map at `t ∈ [0, 1]`.
pub fn viridis(t: f64) -> RGBColor {
    const P: [(f64, f64, f64); 6] = [
        (68.0, 1.0, 84.0),
        (65.0, 68.0, 135.0),
        (42.0, 120.0, 142.0),
        (34.0, 168.0, 132.0),
        (122.0, 209.0, 81.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        1.0
    };
    let s = t * (P.len() - 1) as f64;
    let k = (s.floor() as usize).min(P.len() - 2);
    let f = s - k as f64;
    let mix = |a: f64, b: f64| (a + f * (b - a)).round() as u8;
    RGBColor(
        mix(P[k].0, P[k + 1].0),
        mix(P[k].1, P[k + 1].1),
        mix(P[k].2, P[k + 1].2),
    )
}

/// Iso-lines drawn over a heat map.
pub struct Contours<'a> {
    /// The field whose iso-lines are drawn.
    pub field: &'a Field,
    /// The levels.
    pub levels: Vec<f64>,
    /// Line colour.
    pub color: RGBColor,
}

/// A heat map of `field` (colour range `[lo, hi]`, viridis), optional sample points and
/// iso-lines, on the square `[−e, e]²`.
pub fn heatmap(
    area: &Area<'_>,
    title: &str,
    field: &Field,
    (lo, hi): (f64, f64),
    points: Option<(&[f64], RGBColor)>,
    contours: &[Contours<'_>],
    e: f64,
) -> Result<()> {
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 20))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(-e..e, -e..e)
        .map_err(pe)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("x1")
        .y_desc("x2")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()
        .map_err(pe)?;
    let (nx, ny) = (field.xs.len(), field.ys.len());
    let half = |v: &[f64], i: usize| {
        let a = if i > 0 { 0.5 * (v[i] + v[i - 1]) } else { v[0] };
        let b = if i + 1 < v.len() {
            0.5 * (v[i] + v[i + 1])
        } else {
            v[i]
        };
        (a, b)
    };
    let rects = (0..ny).flat_map(|j| {
        (0..nx).map(move |i| {
            let (x0, x1) = half(&field.xs, i);
            let (y0, y1) = half(&field.ys, j);
            let t = (field.at(i, j) - lo) / (hi - lo);
            Rectangle::new([(x0, y0), (x1, y1)], viridis(t).filled())
        })
    });
    chart.draw_series(rects).map_err(pe)?;
    for c in contours {
        for &lv in &c.levels {
            let segs = c.field.contour(lv);
            chart
                .draw_series(
                    segs.into_iter()
                        .map(|s| PathElement::new(vec![s[0], s[1]], c.color.stroke_width(2))),
                )
                .map_err(pe)?;
        }
    }
    if let Some((pts, col)) = points {
        let inside = pts
            .chunks_exact(2)
            .filter(|p| p[0].abs() < e && p[1].abs() < e)
            .map(|p| Circle::new((p[0], p[1]), 2, col.mix(0.7).filled()));
        chart.draw_series(inside).map_err(pe)?;
    }
    Ok(())
}

/// Histogram densities of `v` over `bins` equal bins of `[−e, e]` (values outside dropped,
/// normalised by the total count so that the bars integrate to the share inside).
fn hist_density(v: impl Iterator<Item = f64>, e: f64, bins: usize) -> Vec<f64> {
    let mut h = vec![0.0; bins];
    let mut n = 0usize;
    let w = 2.0 * e / bins as f64;
    for x in v {
        n += 1;
        let k = ((x + e) / w).floor();
        if k >= 0.0 && (k as usize) < bins {
            h[k as usize] += 1.0;
        }
    }
    h.iter().map(|c| c / (n.max(1) as f64 * w)).collect()
}

/// Scatter plot of 2D samples on `[−e, e]²` with marginal histograms on top (`x1`) and on
/// the right (`x2`), each against the true marginal of the mixture (dashed red for `p(x1)`,
/// dashed blue for `p(x2)`, as in the paper's Fig. 1a).
pub fn samples_with_marginals(
    area: &Area<'_>,
    title: &str,
    samples: &[f64],
    mix: &Mixture,
    e: f64,
) -> Result<()> {
    let area = area.titled(title, (FONT, 20)).map_err(pe)?;
    let (w, h) = area.dim_in_pixel();
    let (top, bottom) = area.split_vertically((h as f64 * 0.25) as u32);
    let (top_l, _top_r) = top.split_horizontally((w as f64 * 0.75) as u32);
    let (main, right) = bottom.split_horizontally((w as f64 * 0.75) as u32);
    let bins = 40;
    let red = RGBColor(214, 39, 40);
    let blue = RGBColor(31, 119, 180);
    let grid: Vec<f64> = (0..=200).map(|i| -e + 2.0 * e * i as f64 / 200.0).collect();
    // Top: x1 marginal.
    let h1 = hist_density(samples.chunks_exact(2).map(|s| s[0]), e, bins);
    let m1: Vec<(f64, f64)> = grid.iter().map(|&v| (v, mix.marginal(0, v))).collect();
    let ymax = h1
        .iter()
        .copied()
        .chain(m1.iter().map(|p| p.1))
        .fold(0.0f64, f64::max)
        * 1.1;
    let mut c = ChartBuilder::on(&top_l)
        .margin(5)
        .margin_left(10)
        .x_label_area_size(5)
        .y_label_area_size(50)
        .build_cartesian_2d(-e..e, 0.0..ymax.max(1e-3))
        .map_err(pe)?;
    c.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc("p(x1)")
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 14))
        .draw()
        .map_err(pe)?;
    let bw = 2.0 * e / bins as f64;
    c.draw_series(h1.iter().enumerate().map(|(k, &d)| {
        let x0 = -e + k as f64 * bw;
        Rectangle::new([(x0, 0.0), (x0 + bw, d)], red.mix(0.3).filled())
    }))
    .map_err(pe)?;
    c.draw_series(DashedLineSeries::new(m1, 6, 4, red.stroke_width(2)))
        .map_err(pe)?;
    // Right: x2 marginal (rotated).
    let h2 = hist_density(samples.chunks_exact(2).map(|s| s[1]), e, bins);
    let m2: Vec<(f64, f64)> = grid.iter().map(|&v| (mix.marginal(1, v), v)).collect();
    let xmax = h2
        .iter()
        .copied()
        .chain(m2.iter().map(|p| p.0))
        .fold(0.0f64, f64::max)
        * 1.1;
    let mut c = ChartBuilder::on(&right)
        .margin(5)
        .margin_top(10)
        .x_label_area_size(40)
        .y_label_area_size(5)
        .build_cartesian_2d(0.0..xmax.max(1e-3), -e..e)
        .map_err(pe)?;
    c.configure_mesh()
        .disable_mesh()
        .disable_y_axis()
        .x_desc("p(x2)")
        .x_labels(3)
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 14))
        .draw()
        .map_err(pe)?;
    c.draw_series(h2.iter().enumerate().map(|(k, &d)| {
        let y0 = -e + k as f64 * bw;
        Rectangle::new([(0.0, y0), (d, y0 + bw)], blue.mix(0.3).filled())
    }))
    .map_err(pe)?;
    c.draw_series(DashedLineSeries::new(m2, 6, 4, blue.stroke_width(2)))
        .map_err(pe)?;
    // Main: scatter.
    let mut c = ChartBuilder::on(&main)
        .margin(5)
        .margin_left(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(-e..e, -e..e)
        .map_err(pe)?;
    c.configure_mesh()
        .x_desc("x1")
        .y_desc("x2")
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 14))
        .bold_line_style(RGBColor(220, 220, 220))
        .light_line_style(RGBColor(245, 245, 245))
        .draw()
        .map_err(pe)?;
    c.draw_series(
        samples
            .chunks_exact(2)
            .filter(|p| p[0].abs() < e && p[1].abs() < e)
            .map(|p| Circle::new((p[0], p[1]), 2, BLACK.mix(0.5).filled())),
    )
    .map_err(pe)?;
    Ok(())
}

/// A grid of `rows × cols` square images (`side × side`, row-major pixels; pixel value `lo`
/// black, `hi` white) under a title; images beyond the data are left blank.
pub fn image_grid(
    area: &Area<'_>,
    title: &str,
    images: &[f64],
    side: usize,
    (rows, cols): (usize, usize),
    (lo, hi): (f64, f64),
) -> Result<()> {
    let area = area.titled(title, (FONT, 18)).map_err(pe)?;
    let (w, h) = area.dim_in_pixel();
    let gap = 2i32;
    let cell = ((w as i32 - gap * (cols as i32 + 1)) / cols as i32)
        .min((h as i32 - gap * (rows as i32 + 1)) / rows as i32)
        .max(side as i32);
    let px = (cell / side as i32).max(1);
    let d = side * side;
    for (k, img) in images.chunks_exact(d).take(rows * cols).enumerate() {
        let (r, c) = ((k / cols) as i32, (k % cols) as i32);
        let (ox, oy) = (gap + c * (cell + gap), gap + r * (cell + gap));
        for (p, &v) in img.iter().enumerate() {
            let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
            let g = (255.0 * t).round() as u8;
            let (i, j) = ((p % side) as i32, (p / side) as i32);
            let x0 = ox + i * px;
            let y0 = oy + j * px;
            area.draw(&Rectangle::new(
                [(x0, y0), (x0 + px, y0 + px)],
                RGBColor(g, g, g).filled(),
            ))
            .map_err(pe)?;
        }
    }
    Ok(())
}
