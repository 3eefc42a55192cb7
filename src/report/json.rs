//! Atomic file output: raw bytes, pretty JSON and simple numeric CSV.
//!
//! Every writer goes through [`write_atomic`]: the data is written to a temporary file in the
//! target's directory, fsynced, and then renamed over the target, so readers never observe a
//! half-written file (a crash leaves either the old content or the new one).

use anyhow::{Context, Result, bail};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Returns a fresh temporary path next to `path`: `.<name>.tmp-<pid>-<random><suffix>`.
///
/// `suffix` lets callers keep a meaningful extension (e.g. `.png`, which some encoders use to
/// pick the output format).
pub(crate) fn temp_sibling(path: &Path, suffix: &str) -> Result<PathBuf> {
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?
        .to_string_lossy();
    let tmp = format!(
        ".{name}.tmp-{}-{:016x}{suffix}",
        std::process::id(),
        rand::random::<u64>()
    );
    Ok(path.with_file_name(tmp))
}

/// Renames `tmp` over `path` (after an fsync of `tmp`), removing `tmp` if anything fails, and
/// best-effort fsyncs the containing directory so the rename itself is durable.
pub(crate) fn commit_temp(tmp: &Path, path: &Path) -> Result<()> {
    let res = File::open(tmp)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("syncing temporary file for {}", path.display()))
        .and_then(|()| {
            fs::rename(tmp, path)
                .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
        });
    if res.is_err() {
        let _ = fs::remove_file(tmp);
    }
    res?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Atomically replaces the file at `path` with `bytes`.
///
/// Writes a temporary sibling file (named with the process id and a random suffix), fsyncs it
/// and renames it over `path`. The parent directory must already exist. On error the temporary
/// file is removed and the error message names `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_sibling(path, "")?;
    let written = File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .with_context(|| format!("writing temporary file for {}", path.display()));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    commit_temp(&tmp, path)
}

/// Atomically writes `value` as pretty-printed JSON (with a trailing newline) to `path`.
///
/// Note: serde_json serializes non-finite floats (NaN, ±Inf) as `null`, so such values do not
/// round-trip; callers that care should encode them explicitly (e.g. as strings).
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .with_context(|| format!("serializing JSON for {}", path.display()))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Atomically writes a numeric CSV table: one header line, then one line per row.
///
/// Values use Rust's shortest round-trip float formatting (`NaN`, `inf`, `-inf` for
/// non-finite values). Headers containing commas, quotes or newlines are quoted. Every row must
/// have exactly `headers.len()` values, otherwise an error is returned and nothing is written.
pub fn write_csv_atomic(path: &Path, headers: &[&str], rows: &[Vec<f64>]) -> Result<()> {
    let quote = |h: &str| {
        if h.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", h.replace('"', "\"\""))
        } else {
            h.to_string()
        }
    };
    let mut out = headers
        .iter()
        .map(|h| quote(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for (i, row) in rows.iter().enumerate() {
        if row.len() != headers.len() {
            bail!(
                "CSV {}: row {i} has {} values but there are {} headers",
                path.display(),
                row.len(),
                headers.len()
            );
        }
        let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    write_atomic(path, out.as_bytes())
}

/// Creates a fresh, empty, unique directory under the system temp dir for a test.
#[cfg(test)]
pub(crate) fn test_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "physlearn-test-{name}-{}-{nanos}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = test_dir("atomic");
        let p = dir.join("a.txt");
        write_atomic(&p, b"first").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second");
        assert_eq!(entries(&dir), vec!["a.txt"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn atomic_write_missing_dir_errors_with_path() {
        let dir = test_dir("atomic-missing");
        let p = dir.join("nope").join("x.json");
        let err = write_atomic(&p, b"x").unwrap_err();
        assert!(format!("{err:#}").contains("x.json"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn json_is_pretty_with_newline_and_nan_is_null() {
        let dir = test_dir("json");
        let p = dir.join("m.json");
        let v = serde_json::json!({"a": 1.5, "b": [1, 2]});
        write_json_atomic(&p, &v).unwrap();
        let s = fs::read_to_string(&p).unwrap();
        assert!(s.ends_with("}\n") && s.contains("\n  \"a\": 1.5"));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
        write_json_atomic(&p, &vec![f64::NAN, 1.0]).unwrap();
        let back: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(back, serde_json::json!([null, 1.0]));
        assert_eq!(entries(&dir), vec!["m.json"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn csv_roundtrip_and_row_length_check() {
        let dir = test_dir("csv");
        let p = dir.join("t.csv");
        let rows = vec![vec![1.0, 0.1], vec![f64::NAN, -2.5e-7]];
        write_csv_atomic(&p, &["step", "loss, total"], &rows).unwrap();
        let s = fs::read_to_string(&p).unwrap();
        assert_eq!(s, "step,\"loss, total\"\n1,0.1\nNaN,-0.00000025\n");
        assert!(write_csv_atomic(&p, &["a"], &rows).is_err());
        assert_eq!(fs::read_to_string(&p).unwrap(), s);
        assert_eq!(entries(&dir), vec!["t.csv"]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
