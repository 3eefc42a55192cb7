//! Console tables with unicode box lines, and compact number formatting.

use std::fmt;

/// A titled text table rendered (via `Display`) with unicode box-drawing lines.
///
/// Cells that look numeric (parse as `f64`, or have the form `a ± b` with both parts numeric)
/// are right-aligned; everything else is left-aligned. Rows shorter than the header are padded
/// with empty cells; longer rows add extra (untitled) columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Title printed above the table (omitted when empty).
    pub title: String,
    /// Column headers.
    pub headers: Vec<String>,
    /// Body rows, one `Vec` of cells per row.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Creates an empty table with a title and column headers (anything `ToString`, e.g.
    /// `&["a", "b"]`, `["a", "b"]` or `Vec<String>`).
    pub fn new<S: ToString>(
        title: impl Into<String>,
        headers: impl IntoIterator<Item = S>,
    ) -> Self {
        Table {
            title: title.into(),
            headers: headers.into_iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (builder style) and returns the table.
    pub fn row<S: ToString>(mut self, cells: impl IntoIterator<Item = S>) -> Self {
        self.push(cells);
        self
    }

    /// Appends a row in place.
    pub fn push<S: ToString>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows
            .push(cells.into_iter().map(|c| c.to_string()).collect());
    }
}

/// True when a cell should be right-aligned: it parses as `f64` or is `a ± b` with numeric parts.
fn is_numeric(cell: &str) -> bool {
    let c = cell.trim();
    if c.parse::<f64>().is_ok() {
        return true;
    }
    match c.split_once('±') {
        Some((a, b)) => a.trim().parse::<f64>().is_ok() && b.trim().parse::<f64>().is_ok(),
        None => false,
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ncol = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.headers.len()])
            .max()
            .unwrap_or(0);
        if ncol == 0 {
            return if self.title.is_empty() {
                Ok(())
            } else {
                writeln!(f, "{}", self.title)
            };
        }
        let width = |s: &str| s.chars().count();
        let mut widths = vec![0usize; ncol];
        for r in std::iter::once(&self.headers).chain(&self.rows) {
            for (i, w) in widths.iter_mut().enumerate() {
                *w = (*w).max(width(cell(r, i)));
            }
        }
        // A column whose body cells are all numeric gets a right-aligned header too.
        let numeric_col: Vec<bool> = (0..ncol)
            .map(|i| {
                let mut body = self
                    .rows
                    .iter()
                    .map(|r| cell(r, i))
                    .filter(|c| !c.is_empty());
                body.clone().next().is_some() && body.all(is_numeric)
            })
            .collect();
        let rule = |f: &mut fmt::Formatter<'_>, l: &str, m: &str, r: &str| {
            let segs: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
            writeln!(f, "{l}{}{r}", segs.join(m))
        };
        let line = |f: &mut fmt::Formatter<'_>, r: &[String], header: bool| {
            write!(f, "│")?;
            for (i, w) in widths.iter().enumerate() {
                let c = cell(r, i);
                let pad = " ".repeat(w - width(c));
                let right = if header {
                    numeric_col[i]
                } else {
                    is_numeric(c)
                };
                if right {
                    write!(f, " {pad}{c} │")?;
                } else {
                    write!(f, " {c}{pad} │")?;
                }
            }
            writeln!(f)
        };
        if !self.title.is_empty() {
            writeln!(f, "{}", self.title)?;
        }
        rule(f, "┌", "┬", "┐")?;
        line(f, &self.headers, true)?;
        rule(f, "├", "┼", "┤")?;
        for r in &self.rows {
            line(f, r, false)?;
        }
        rule(f, "└", "┴", "┘")
    }
}

/// Cell `i` of row `r`, or "" if the row is short.
fn cell(r: &[String], i: usize) -> &str {
    r.get(i).map(String::as_str).unwrap_or("")
}

/// Removes trailing zeros (and a trailing '.') from a plain decimal string.
fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Formats a number compactly for humans: 4 significant digits with trailing zeros dropped,
/// scientific notation (e.g. `1.5e-4`, `2.346e7`) when `|x| < 1e-3` or `|x| >= 1e5`,
/// `0` for zero, and `nan` / `inf` / `-inf` for non-finite values.
pub fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{x:.3e}");
        return match s.split_once('e') {
            Some((m, e)) => format!("{}e{e}", trim_zeros(m)),
            None => s,
        };
    }
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.decimals$}");
    let t = trim_zeros(&s);
    if t == "-0" { "0".into() } else { t.into() }
}

/// Formats `mean ± std` with the precision set by two significant digits of `std`,
/// e.g. `fmt_pm(0.77, 0.05) == "0.770 ± 0.050"`. Falls back to [`fmt_num`] for both parts when
/// `std` is zero or non-finite, `mean` is non-finite, or the numbers are very large/small.
pub fn fmt_pm(mean: f64, std: f64) -> String {
    if mean.is_finite() && std.is_finite() && std > 0.0 && mean.abs() < 1e5 {
        let decimals = 1 - std.log10().floor() as i32;
        if (0..=6).contains(&decimals) {
            let d = decimals as usize;
            return format!("{mean:.d$} ± {std:.d$}");
        }
    }
    format!("{} ± {}", fmt_num(mean), fmt_num(std))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fmt_num_cases() {
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(f64::NAN), "nan");
        assert_eq!(fmt_num(f64::INFINITY), "inf");
        assert_eq!(fmt_num(f64::NEG_INFINITY), "-inf");
        assert_eq!(fmt_num(0.77), "0.77");
        assert_eq!(fmt_num(1.0), "1");
        assert_eq!(fmt_num(1.23456), "1.235");
        assert_eq!(fmt_num(-12.3456), "-12.35");
        assert_eq!(fmt_num(12345.0), "12345");
        assert_eq!(fmt_num(0.001), "0.001");
        assert_eq!(fmt_num(0.0012346), "0.001235");
        assert_eq!(fmt_num(1.5e-4), "1.5e-4");
        assert_eq!(fmt_num(-2.0e-7), "-2e-7");
        assert_eq!(fmt_num(1e5), "1e5");
        assert_eq!(fmt_num(23456789.0), "2.346e7");
        assert_eq!(fmt_num(0.30000000000000004), "0.3");
    }

    #[test]
    fn fmt_pm_cases() {
        assert_eq!(fmt_pm(0.77, 0.05), "0.770 ± 0.050");
        assert_eq!(fmt_pm(12.345, 1.2), "12.3 ± 1.2");
        assert_eq!(fmt_pm(150.0, 25.0), "150 ± 25");
        assert_eq!(fmt_pm(0.5, 0.0), "0.5 ± 0");
        assert_eq!(fmt_pm(f64::NAN, 0.1), "nan ± 0.1");
        assert_eq!(fmt_pm(1e-9, 2e-10), "1e-9 ± 2e-10");
    }

    #[test]
    fn table_is_aligned() {
        let t = Table::new("Results", ["method", "acc", "n"])
            .row(["equilibrium prop", "0.770 ± 0.050", "10"])
            .row(["cd", "0.61", "1000"])
            .row(["short"]);
        let mut t = t;
        t.push(&[String::from("x"), fmt_num(2.5)]);
        let s = t.to_string();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "Results");
        let w = lines[1].chars().count();
        assert!(lines[1..].iter().all(|l| l.chars().count() == w), "{s}");
        assert_eq!(lines[1].chars().next(), Some('┌'));
        assert!(
            s.contains("│ equilibrium prop │ 0.770 ± 0.050 │   10 │"),
            "{s}"
        );
        assert!(
            s.contains("│ cd               │          0.61 │ 1000 │"),
            "{s}"
        );
        assert!(
            s.contains("│ method           │           acc │    n │"),
            "{s}"
        );
        assert!(
            s.contains("│ short            │               │      │"),
            "{s}"
        );
        // Column separators line up on every line.
        let col = |l: &str, k: usize| {
            l.chars()
                .enumerate()
                .filter(|(_, c)| "│┌├└┬┼┴".contains(*c))
                .nth(k)
                .map(|(i, _)| i)
        };
        let first = col(lines[2], 1);
        assert!(lines[1..].iter().all(|l| col(l, 1) == first), "{s}");
    }
}
