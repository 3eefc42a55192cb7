//! Axis ranges and tick placement in display space (log10 of the data on log axes).

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use std::ops::Range;

/// One plot axis in display space (log10 of the data for log axes) with explicit ticks.
pub(super) struct Axis {
    pub(super) lo: f64,
    pub(super) hi: f64,
    pub(super) bold: Vec<f64>,
    pub(super) light: Vec<f64>,
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;
    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let t = (v - self.lo) / (self.hi - self.lo);
        let off = (t * (f64::from(limit.1) - f64::from(limit.0))).round() as i32;
        limit.0.saturating_add(off)
    }
    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }
    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// Maps a data value into display space; `None` if it cannot be shown.
pub(super) fn tf(v: f64, log: bool) -> Option<f64> {
    match (v.is_finite(), log) {
        (false, _) => None,
        (true, true) => (v > 0.0).then(|| v.log10()),
        (true, false) => Some(v),
    }
}

/// Min/max of an iterator of finite values.
pub(super) fn extent(vals: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    vals.into_iter().fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((a, b)) => Some((a.min(v), b.max(v))),
    })
}

/// Pads a display-space range by 5% (or widens a degenerate one).
pub(super) fn pad((lo, hi): (f64, f64), log: bool) -> (f64, f64) {
    let span = hi - lo;
    if span > 1e-12 * (lo.abs() + hi.abs()) && span > 0.0 {
        (lo - 0.05 * span, hi + 0.05 * span)
    } else if log {
        (lo - 0.5, hi + 0.5)
    } else {
        let d = if lo != 0.0 { 0.1 * lo.abs() } else { 1.0 };
        (lo - d, hi + d)
    }
}

/// "Nice" linear ticks (multiples of 1, 2 or 5 × 10^k) in `[lo, hi]`, plus minor ticks.
pub(super) fn nice_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, Vec<f64>) {
    let raw = (hi - lo) / target.max(1) as f64;
    if !(raw.is_finite() && raw > 0.0) {
        return (vec![], vec![]);
    }
    let mag = 10f64.powf(raw.log10().floor());
    let count = |step: f64| (hi / step).floor() - (lo / step).ceil() + 1.0;
    // The 1/2/5 step whose tick count is closest to the target (ties: the larger step).
    let (m, sub) = [(1.0, 5.0), (2.0, 4.0), (5.0, 5.0), (10.0, 5.0)]
        .into_iter()
        .rev()
        .min_by(|a, b| {
            let d = |m: f64| (count(m * mag) - target as f64).abs();
            d(a.0).total_cmp(&d(b.0))
        })
        .unwrap_or((1.0, 5.0));
    let mult = |step: f64| -> Vec<f64> {
        let (k0, k1) = ((lo / step).ceil(), (hi / step).floor());
        if !(k0.is_finite() && k1.is_finite()) || k1 - k0 > 1000.0 {
            return vec![];
        }
        (k0 as i64..=k1 as i64).map(|k| k as f64 * step).collect()
    };
    let step = m * mag;
    (mult(step), mult(step / sub))
}

/// Ticks for a log axis whose display range is `[a, b]` in log10 units.
pub(super) fn log_ticks(a: f64, b: f64, target: usize) -> (Vec<f64>, Vec<f64>) {
    let (d0, d1) = (a.ceil() as i64, b.floor() as i64);
    let in_range = |v: &f64| *v >= a && *v <= b;
    let mantissas = |ms: &[f64]| -> Vec<f64> {
        (d0 - 1..=d1)
            .flat_map(|d| ms.iter().map(move |m| (m * 10f64.powi(d as i32)).log10()))
            .filter(in_range)
            .collect()
    };
    let count = d1 - d0 + 1;
    let all_m = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    if count >= 3 {
        let stride = (count as usize).div_ceil(target.max(1)).max(1) as i64;
        let bold = (d0..=d1)
            .filter(|d| (d - d0) % stride == 0)
            .map(|d| d as f64)
            .collect();
        let light = if stride == 1 && count <= 8 {
            mantissas(&all_m)
        } else {
            (d0..=d1).map(|d| d as f64).collect()
        };
        return (bold, light);
    }
    let bold = mantissas(&[1.0, 2.0, 5.0]);
    if bold.len() >= 3 {
        return (bold, mantissas(&all_m));
    }
    // Less than about a decade: linear ticks in data space.
    let (b_lin, l_lin) = nice_ticks(10f64.powf(a), 10f64.powf(b), target);
    let to_log = |v: Vec<f64>| {
        v.into_iter()
            .filter_map(|x| tf(x, true))
            .filter(in_range)
            .collect()
    };
    (to_log(b_lin), to_log(l_lin))
}

/// Builds an [`Axis`] for a display range.
pub(super) fn axis(range: (f64, f64), log: bool, target: usize) -> Axis {
    let (bold, light) = if log {
        log_ticks(range.0, range.1, target)
    } else {
        nice_ticks(range.0, range.1, target)
    };
    Axis {
        lo: range.0,
        hi: range.1,
        bold,
        light,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_sane() {
        let (b, l) = nice_ticks(-0.05, 1.05, 5);
        assert_eq!(b, vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]);
        assert!(l.len() > b.len());
        assert_eq!(
            log_ticks(-3.2, 2.2, 6).0,
            vec![-3.0, -2.0, -1.0, 0.0, 1.0, 2.0]
        );
        assert_eq!(log_ticks(-300.0, 300.0, 6).0.len(), 6);
        assert!(log_ticks(0.1, 0.6, 6).0.len() >= 3);
        assert!(nice_ticks(0.0, f64::INFINITY, 5).0.is_empty());
    }
}
