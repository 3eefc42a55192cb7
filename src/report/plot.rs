//! PNG plots (plotters + embedded DejaVu Sans): line/point plots with optional log axes and
//! error bars, overlaid histograms, and multi-panel grids.
//!
//! Files are written atomically: rendered to a temporary `.png` next to the target, fsynced,
//! then renamed over it. Non-finite values (and non-positive values on log axes) are skipped.

mod axis;
mod canvas;
mod hist;

pub use hist::Histogram;

use anyhow::{Context, Result, anyhow, bail};
use axis::{axis, extent, pad, tf};
use canvas::{build_chart, draw_legend, draw_no_data, font_sizes, legend_corner, render_png};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

/// DejaVu Sans (see `assets/DejaVuSans.LICENSE`), registered as the "sans-serif" family.
static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
pub(crate) const FONT: &str = "sans-serif";

/// Registers the embedded font with plotters exactly once; errors if it failed to load.
fn ensure_font() -> Result<()> {
    static OK: OnceLock<bool> = OnceLock::new();
    let ok = *OK.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if ok {
        Ok(())
    } else {
        bail!("embedded plot font failed to load")
    }
}

/// Converts any displayable plotters error into an `anyhow::Error`.
pub(crate) fn pe<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("plotting error: {e}")
}

/// A drawing area of a PNG being rendered (for figures drawn with plotters directly).
pub type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Renders a `size` PNG at `path` with `draw` on a white background, with the embedded font
/// registered, atomically (temporary sibling, then rename); for figures drawn with plotters
/// directly.
pub fn render(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> Result<()>,
) -> Result<()> {
    render_png(path, size, draw)
}

/// The `i`-th color of the (matplotlib "tab10") palette used for series, cycling after 10.
pub fn palette(i: usize) -> RGBColor {
    const P: [RGBColor; 10] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
    ];
    P[i % P.len()]
}

/// How a [`Series`] is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Solid line through the points (broken at skipped points).
    Line,
    /// Markers only.
    Points,
    /// Solid line plus markers.
    LinePoints,
    /// Dashed line.
    Dashed,
}

/// One named data series of a [`LinePlot`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label; an empty name gets no legend entry.
    pub name: String,
    /// `(x, y)` data points, drawn in order.
    pub points: Vec<(f64, f64)>,
    /// Optional symmetric y error bars (half-widths), same length as `points`.
    pub err: Option<Vec<f64>>,
    /// Drawing style.
    pub style: Style,
}

impl Series {
    /// A solid-line series.
    pub fn line(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points,
            err: None,
            style: Style::Line,
        }
    }
    /// A markers-only series.
    pub fn points(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            style: Style::Points,
            ..Series::line(name, points)
        }
    }
    /// Adds symmetric y error bars (half-widths; must match `points` in length).
    pub fn with_err(mut self, err: Vec<f64>) -> Self {
        self.err = Some(err);
        self
    }
    /// Switches the style to a dashed line.
    pub fn dashed(mut self) -> Self {
        self.style = Style::Dashed;
        self
    }
    /// Sets an arbitrary style.
    pub fn style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }
}

/// A 2-D line/scatter plot with optional log axes, error bars and reference lines.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinePlot {
    /// Caption drawn above the plot.
    pub title: String,
    /// X axis description.
    pub x_label: String,
    /// Y axis description.
    pub y_label: String,
    /// Logarithmic x axis (non-positive x values are skipped).
    pub log_x: bool,
    /// Logarithmic y axis (non-positive y values are skipped).
    pub log_y: bool,
    /// Data series, colored by index with [`palette`].
    pub series: Vec<Series>,
    /// Horizontal dashed reference lines `(y, label)`.
    pub hlines: Vec<(f64, String)>,
    /// Vertical dashed reference lines `(x, label)`.
    pub vlines: Vec<(f64, String)>,
}

/// A display-space point with its optional error-bar extent `(y_lo, y_hi)`.
type Drawable = ((f64, f64), Option<(f64, f64)>);

impl LinePlot {
    /// An empty plot with a title and axis labels (linear axes).
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        LinePlot {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            ..Default::default()
        }
    }
    /// Makes the x axis logarithmic.
    pub fn log_x(mut self) -> Self {
        self.log_x = true;
        self
    }
    /// Makes the y axis logarithmic.
    pub fn log_y(mut self) -> Self {
        self.log_y = true;
        self
    }
    /// Adds a series.
    pub fn series(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }
    /// Adds a horizontal dashed reference line at `y` with a text label.
    pub fn hline(mut self, y: f64, label: impl Into<String>) -> Self {
        self.hlines.push((y, label.into()));
        self
    }
    /// Adds a vertical dashed reference line at `x` with a text label.
    pub fn vline(mut self, x: f64, label: impl Into<String>) -> Self {
        self.vlines.push((x, label.into()));
        self
    }

    /// Saves the plot as a 900x600 PNG (atomically).
    pub fn save_png(&self, path: &Path) -> Result<()> {
        self.save_png_sized(path, (900, 600))
    }

    /// Saves the plot as a PNG of the given size in pixels (atomically).
    pub fn save_png_sized(&self, path: &Path, size: (u32, u32)) -> Result<()> {
        render_png(path, size, |a| self.draw_on(a))
    }

    /// Display-space points of series `s`, split into runs of drawable points, each point with
    /// its error-bar extent `(y_lo, y_hi)` if present and finite.
    fn segments(&self, s: &Series) -> Result<Vec<Vec<Drawable>>> {
        if let Some(e) = &s.err
            && e.len() != s.points.len()
        {
            bail!(
                "series '{}': {} error bars for {} points",
                s.name,
                e.len(),
                s.points.len()
            );
        }
        let mut segs = vec![vec![]];
        for (i, &(x, y)) in s.points.iter().enumerate() {
            match (tf(x, self.log_x), tf(y, self.log_y)) {
                (Some(px), Some(py)) => {
                    let bar = s
                        .err
                        .as_ref()
                        .map(|e| e[i].abs())
                        .filter(|e| e.is_finite() && *e > 0.0);
                    let bar = bar.map(|e| {
                        let lo = tf(y - e, self.log_y).unwrap_or(f64::NEG_INFINITY);
                        (lo, tf(y + e, self.log_y).unwrap_or(py))
                    });
                    if let Some(v) = segs.last_mut() {
                        v.push(((px, py), bar));
                    }
                }
                _ => {
                    if segs.last().is_some_and(|v| !v.is_empty()) {
                        segs.push(vec![]);
                    }
                }
            }
        }
        segs.retain(|v| !v.is_empty());
        Ok(segs)
    }

    /// Draws the plot into `area`.
    fn draw_on<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let segs = self
            .series
            .iter()
            .map(|s| self.segments(s))
            .collect::<Result<Vec<_>>>()?;
        let pts = || segs.iter().flatten().flatten();
        let Some(xr) = extent(pts().map(|p| p.0.0)) else {
            return draw_no_data(area, &self.title);
        };
        let hl: Vec<(f64, &str)> = self
            .hlines
            .iter()
            .filter_map(|(v, l)| Some((tf(*v, self.log_y)?, l.as_str())))
            .collect();
        let vl: Vec<(f64, &str)> = self
            .vlines
            .iter()
            .filter_map(|(v, l)| Some((tf(*v, self.log_x)?, l.as_str())))
            .collect();
        let xr = extent([xr.0, xr.1].into_iter().chain(vl.iter().map(|v| v.0))).unwrap_or(xr);
        let ys = pts().flat_map(|p| {
            let (lo, hi) = p.1.unwrap_or((p.0.1, p.0.1));
            [p.0.1, if lo.is_finite() { lo } else { p.0.1 }, hi]
        });
        let yr = extent(ys.chain(hl.iter().map(|h| h.0))).unwrap_or((0.0, 1.0));
        let (xr, yr) = (pad(xr, self.log_x), pad(yr, self.log_y));
        let (w, h) = area.dim_in_pixel();
        let xa = axis(xr, self.log_x, (w as usize / 110).clamp(3, 8));
        let ya = axis(yr, self.log_y, (h as usize / 70).clamp(3, 8));
        let mut chart = build_chart(
            area,
            &self.title,
            (xa, self.log_x, &self.x_label),
            (ya, self.log_y, &self.y_label),
        )?;
        let (_, _, lsz) = font_sizes((w, h));
        let ref_style = ShapeStyle::from(BLACK.mix(0.55)).stroke_width(2);
        let text_color = BLACK.mix(0.75);
        let text = TextStyle::from((FONT, lsz).into_font()).color(&text_color);
        for &(x, label) in &vl {
            let line = DashedLineSeries::new(vec![(x, yr.0), (x, yr.1)], 8, 5, ref_style);
            chart.draw_series(line).map_err(pe)?;
            let t =
                EmptyElement::at((x, yr.1)) + Text::new(label.to_string(), (5, 5), text.clone());
            chart.draw_series(std::iter::once(t)).map_err(pe)?;
        }
        for &(y, label) in &hl {
            let line = DashedLineSeries::new(vec![(xr.0, y), (xr.1, y)], 8, 5, ref_style);
            chart.draw_series(line).map_err(pe)?;
            let dy = -(lsz + 4.0) as i32;
            let t =
                EmptyElement::at((xr.0, y)) + Text::new(label.to_string(), (6, dy), text.clone());
            chart.draw_series(std::iter::once(t)).map_err(pe)?;
        }
        let mut occupied = vec![];
        let norm = |(x, y): (f64, f64)| ((x - xr.0) / (xr.1 - xr.0), (y - yr.0) / (yr.1 - yr.0));
        for (i, (s, segs)) in self.series.iter().zip(&segs).enumerate() {
            let c = palette(i);
            let line_style = c.stroke_width(2);
            let bar_style = c.mix(0.7).stroke_width(1);
            for seg in segs {
                occupied.extend(seg.iter().map(|p| norm(p.0)));
                let bars: Vec<(f64, f64, f64)> = seg
                    .iter()
                    .filter_map(|&((x, _), bar)| {
                        bar.map(|(lo, hi)| (x, lo.max(yr.0), hi.min(yr.1)))
                    })
                    .collect();
                let stems = bars
                    .iter()
                    .map(|&(x, lo, hi)| PathElement::new(vec![(x, lo), (x, hi)], bar_style));
                chart.draw_series(stems).map_err(pe)?;
                let caps = bars
                    .iter()
                    .flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)])
                    .map(|p| {
                        EmptyElement::at(p) + PathElement::new(vec![(-4, 0), (4, 0)], bar_style)
                    });
                chart.draw_series(caps).map_err(pe)?;
                let xy: Vec<(f64, f64)> = seg.iter().map(|p| p.0).collect();
                if s.style != Style::Points && xy.len() < 5000 {
                    for w in xy.windows(2) {
                        occupied.extend((1..8).map(|k| {
                            let t = f64::from(k) / 8.0;
                            norm((
                                w[0].0 + t * (w[1].0 - w[0].0),
                                w[0].1 + t * (w[1].1 - w[0].1),
                            ))
                        }));
                    }
                }
                match s.style {
                    Style::Line | Style::LinePoints => {
                        chart
                            .draw_series(LineSeries::new(xy.clone(), line_style))
                            .map_err(pe)?;
                    }
                    Style::Dashed => {
                        chart
                            .draw_series(DashedLineSeries::new(xy.clone(), 10, 6, line_style))
                            .map_err(pe)?;
                    }
                    Style::Points => {}
                }
                if matches!(s.style, Style::Points | Style::LinePoints) {
                    let marks = xy.iter().map(|&p| Circle::new(p, 4, c.filled()));
                    chart.draw_series(marks).map_err(pe)?;
                }
            }
            if s.name.is_empty() || segs.is_empty() {
                continue;
            }
            let anno = chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                .map_err(pe)?;
            anno.label(s.name.clone());
            match s.style {
                Style::Line => anno
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], line_style)),
                Style::Points => anno.legend(move |(x, y)| Circle::new((x + 12, y), 4, c.filled())),
                Style::LinePoints => anno.legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (24, 0)], line_style)
                        + Circle::new((12, 0), 4, c.filled())
                }),
                Style::Dashed => anno.legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (9, 0)], line_style)
                        + PathElement::new(vec![(15, 0), (24, 0)], line_style)
                }),
            };
        }
        if self
            .series
            .iter()
            .zip(&segs)
            .any(|(s, g)| !s.name.is_empty() && !g.is_empty())
        {
            draw_legend(&mut chart, legend_corner(&occupied))?;
        }
        Ok(())
    }
}

/// Draws several [`LinePlot`]s as subplots (each 600x420 pixels) in a grid with `cols` columns,
/// filled row by row, and saves the result as one PNG (atomically).
pub fn save_grid_png(path: &Path, plots: &[LinePlot], cols: usize) -> Result<()> {
    if plots.is_empty() || cols == 0 {
        bail!(
            "{}: grid needs at least one plot and one column",
            path.display()
        );
    }
    let cols = cols.min(plots.len());
    let rows = plots.len().div_ceil(cols);
    let dim = |n: usize, px: u32| u32::try_from(n).ok().and_then(|n| n.checked_mul(px));
    let Some(size) = dim(cols, 600).zip(dim(rows, 420)) else {
        bail!(
            "{}: grid of {rows}x{cols} plots is too large",
            path.display()
        );
    };
    render_png(path, size, |root| {
        for (i, (p, a)) in plots
            .iter()
            .zip(root.split_evenly((rows, cols)))
            .enumerate()
        {
            p.draw_on(&a)
                .with_context(|| format!("subplot {i} ('{}')", p.title))?;
        }
        Ok(())
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::json::test_dir;
    use super::*;

    const PNG_SIG: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

    pub(super) fn assert_png(p: &Path) {
        let b = std::fs::read(p).unwrap();
        assert!(
            b.len() > 1000 && b[..8] == PNG_SIG,
            "{} is not a PNG",
            p.display()
        );
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
    }

    fn sample() -> LinePlot {
        let xs: [f64; 6] = [1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0];
        LinePlot::new("log-log", "step size", "error")
            .log_x()
            .log_y()
            .series(
                Series::line("model", xs.iter().map(|&x| (x, 2.0 * x.sqrt())).collect())
                    .with_err(vec![0.01, 0.05, 0.1, f64::NAN, 1.0, 5.0]),
            )
            .series(Series::points(
                "data",
                vec![
                    (1e-3, 0.1),
                    (f64::NAN, 1.0),
                    (0.0, 1.0),
                    (1.0, -1.0),
                    (5.0, 3.0),
                ],
            ))
            .series(Series::line("", vec![(0.01, 0.5), (10.0, 0.5)]).dashed())
            .vline(0.5, "critical")
            .hline(0.0, "skipped on log axis")
            .hline(1.0, "unit")
    }

    #[test]
    fn lineplot_log_err_nan_renders_png() {
        let dir = test_dir("plot");
        let p = dir.join("a.png");
        sample().save_png(&p).unwrap();
        assert_png(&p);
        // Linear axes with all styles, and a plot with nothing drawable.
        let lin = LinePlot::new("lin", "x", "y")
            .series(Series::points("p", vec![(0.0, 1.0), (1.0, 2.0)]).style(Style::LinePoints))
            .series(Series::line("const", vec![(0.5, 3.0)]));
        lin.save_png(&dir.join("b.png")).unwrap();
        assert_png(&dir.join("b.png"));
        let empty = LinePlot::new("nothing", "x", "y")
            .log_y()
            .series(Series::line("neg", vec![(1.0, -1.0), (f64::NAN, 2.0)]));
        empty.save_png(&dir.join("c.png")).unwrap();
        assert_png(&dir.join("c.png"));
        LinePlot::new("none", "x", "y")
            .save_png(&dir.join("d.png"))
            .unwrap();
        assert_png(&dir.join("d.png"));
        save_grid_png(&dir.join("grid.png"), &[sample(), lin, empty], 2).unwrap();
        assert_png(&dir.join("grid.png"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let dir = test_dir("plot-bad");
        let bad = LinePlot::new("t", "x", "y")
            .series(Series::line("a", vec![(1.0, 1.0)]).with_err(vec![]));
        assert!(bad.save_png(&dir.join("x.png")).is_err());
        assert!(save_grid_png(&dir.join("g.png"), &[], 2).is_err());
        assert!(
            Histogram::new("h", "x", 0)
                .series("a", vec![1.0])
                .save_png(&dir.join("h.png"))
                .is_err()
        );
        assert!(
            sample()
                .save_png(&dir.join("missing").join("a.png"))
                .is_err()
        );
        let many = vec![LinePlot::new("t", "x", "y"); 1000];
        assert!(save_grid_png(&dir.join("g.png"), &many, 1).is_err());
        assert!(
            sample()
                .save_png_sized(&dir.join("z.png"), (0, 10))
                .is_err()
        );
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        // Extreme but finite data still renders.
        let huge = LinePlot::new("extreme", "x", "y")
            .series(Series::line(
                "a",
                vec![(-1e308, 1e308), (1e308, -1e308), (0.0, 0.0)],
            ))
            .hline(f64::MAX, "max")
            .vline(f64::NAN, "nan");
        huge.save_png(&dir.join("huge.png")).unwrap();
        let tiny = LinePlot::new("tiny", "x", "y")
            .log_x()
            .log_y()
            .series(Series::points("a", vec![(5e-324, 1e-310), (1e300, 1e-300)]));
        tiny.save_png(&dir.join("tiny.png")).unwrap();
        let hist = Histogram::new("h", "x", 5).series("a", vec![-1e308, 1e308, f64::INFINITY]);
        hist.save_png(&dir.join("hist.png")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
