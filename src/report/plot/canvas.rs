//! Shared drawing helpers: chart frame with axes and grid, legend, "no data" panel, PNG output.

use super::super::json::{commit_temp, temp_sibling};
use super::super::table::fmt_num;
use super::axis::Axis;
use super::{FONT, ensure_font, pe};
use anyhow::{Result, bail};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Font sizes (title, axis description, tick labels) scaled to the drawing area.
pub(super) fn font_sizes(dim: (u32, u32)) -> (f64, f64, f64) {
    let s = (f64::from(dim.0) / 900.0)
        .min(f64::from(dim.1) / 600.0)
        .sqrt()
        .clamp(0.7, 2.0);
    (26.0 * s, 20.0 * s, 17.0 * s)
}

pub(super) type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Axis, Axis>>;

/// Titles `area`, builds a chart with the given axes and draws the grid, ticks and labels.
pub(super) fn build_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    (x, log_x, x_desc): (Axis, bool, &str),
    (y, log_y, y_desc): (Axis, bool, &str),
) -> Result<Chart<'a, DB>> {
    let (tsz, dsz, lsz) = font_sizes(area.dim_in_pixel());
    let xfmt = move |v: &f64| fmt_num(if log_x { 10f64.powf(*v) } else { *v });
    let yfmt = move |v: &f64| fmt_num(if log_y { 10f64.powf(*v) } else { *v });
    let label_font = TextStyle::from((FONT, lsz).into_font());
    let mut ytick_w = 0u32;
    for v in &y.bold {
        ytick_w = ytick_w.max(
            area.estimate_text_size(&yfmt(v), &label_font)
                .map_err(pe)?
                .0,
        );
    }
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, tsz))
        .margin(10)
        .margin_right(25)
        .x_label_area_size((lsz + dsz * 1.6 + 12.0) as u32)
        .y_label_area_size(ytick_w + (dsz * 1.6) as u32 + 14)
        .build_cartesian_2d(x, y)
        .map_err(pe)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style((FONT, dsz))
        .label_style(label_font)
        .x_label_formatter(&xfmt)
        .y_label_formatter(&yfmt)
        .bold_line_style(RGBColor(200, 200, 200))
        .light_line_style(RGBColor(238, 238, 238))
        .draw()
        .map_err(pe)?;
    Ok(chart)
}

/// Draws the title and a centered "no data" message.
pub(super) fn draw_no_data<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<()> {
    let (tsz, dsz, _) = font_sizes(area.dim_in_pixel());
    let inner = area.titled(title, (FONT, tsz)).map_err(pe)?;
    let (w, h) = inner.dim_in_pixel();
    let style = TextStyle::from((FONT, dsz).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
    inner
        .draw_text("no data", &style, (w as i32 / 2, h as i32 / 2))
        .map_err(pe)
}

/// Picks the legend corner that covers the fewest of the given points (axis-normalized 0..1).
pub(super) fn legend_corner(pts: &[(f64, f64)]) -> SeriesLabelPosition {
    use SeriesLabelPosition::*;
    let count = |xr: (f64, f64), yr: (f64, f64)| {
        pts.iter()
            .filter(|(u, v)| *u >= xr.0 && *u <= xr.1 && *v >= yr.0 && *v <= yr.1)
            .count()
    };
    let (l, r, b, t) = ((-0.1, 0.45), (0.55, 1.1), (-0.1, 0.4), (0.6, 1.1));
    let opts = [
        (UpperRight, count(r, t)),
        (UpperLeft, count(l, t)),
        (LowerRight, count(r, b)),
        (LowerLeft, count(l, b)),
    ];
    let best = opts.iter().map(|o| o.1).min().unwrap_or(0);
    opts.into_iter()
        .find(|o| o.1 == best)
        .map_or(UpperRight, |o| o.0)
}

/// Draws the legend box (only call when at least one labeled series exists).
pub(super) fn draw_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    pos: SeriesLabelPosition,
) -> Result<()> {
    let lsz = font_sizes(chart.plotting_area().dim_in_pixel()).2;
    chart
        .configure_series_labels()
        .position(pos)
        .margin(8)
        .label_font((FONT, lsz))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.5))
        .draw()
        .map_err(pe)
}

/// Largest image (in pixels) we agree to allocate.
const MAX_PIXELS: u64 = 100_000_000;

/// Renders to a temporary PNG next to `path` with `draw`, then atomically renames it.
pub(super) fn render_png<F>(path: &Path, size: (u32, u32), draw: F) -> Result<()>
where
    F: FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
{
    ensure_font()?;
    let pixels = u64::from(size.0) * u64::from(size.1);
    if pixels == 0 || pixels > MAX_PIXELS {
        bail!(
            "{}: image size {size:?} must be positive and at most {MAX_PIXELS} pixels",
            path.display()
        );
    }
    let tmp = temp_sibling(path, ".png")?;
    let res = (|| {
        let root = BitMapBackend::new(&tmp, size).into_drawing_area();
        root.fill(&WHITE).map_err(pe)?;
        draw(&root)?;
        root.present().map_err(pe)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.context(format!("rendering {}", path.display())));
    }
    commit_temp(&tmp, path)
}
