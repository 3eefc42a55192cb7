//! Run directories: one folder per experiment run holding its config, metadata and outputs.
//!
//! Layout written by this module:
//! - `config.toml`: the exact configuration text the run used,
//! - `meta.json`: provenance (crate version, git commit, seed, command, host, threads, times),
//! - `metrics.json`: final metrics, written by [`RunDir::finish`].
//!
//! Other outputs (CSV, PNG, ...) go to paths obtained from [`RunDir::file`].

use super::json::{write_atomic, write_json_atomic};
use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

/// A directory holding one run's configuration, metadata, metrics and artifacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    /// The run directory itself.
    pub path: PathBuf,
}

/// Seconds since the Unix epoch as `f64` (0 if the clock is before 1970).
fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Runs `git <args>` in the crate's source directory; `None` on any failure.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl RunDir {
    /// Creates the run directory (and parents) and atomically writes `config.toml` (verbatim
    /// `config_toml`) and `meta.json` with: `crate_version`, `git_commit` (commit of the source
    /// tree the binary was built from, or `null` if git is unavailable), `git_dirty`, `seed`,
    /// `command`, `start_unix` (seconds), `hostname` (from `/proc/sys/kernel/hostname`, or
    /// `null`) and `rayon_threads`. An existing directory is reused and these files replaced.
    pub fn create(path: &Path, config_toml: &str, seed: u64, command: &str) -> Result<RunDir> {
        std::fs::create_dir_all(path)
            .with_context(|| format!("creating run directory {}", path.display()))?;
        let dir = RunDir {
            path: path.to_path_buf(),
        };
        write_atomic(&dir.file("config.toml"), config_toml.as_bytes())?;
        let commit = git(&["rev-parse", "HEAD"]).filter(|s| !s.is_empty());
        let dirty = commit
            .as_ref()
            .and_then(|_| git(&["status", "--porcelain", "--untracked-files=no"]))
            .map(|s| !s.is_empty());
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        let meta = json!({
            "crate_version": env!("CARGO_PKG_VERSION"),
            "git_commit": commit,
            "git_dirty": dirty,
            "seed": seed,
            "command": command,
            "start_unix": unix_now(),
            "hostname": hostname,
            "rayon_threads": rayon::current_num_threads(),
        });
        write_json_atomic(&dir.file("meta.json"), &meta)?;
        Ok(dir)
    }

    /// Path of a file called `name` inside the run directory (nothing is created).
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Atomically writes `metrics.json` and adds `end_unix` and `duration_s` (end minus
    /// `start_unix`, or `null` if the start time is missing) to `meta.json`.
    pub fn finish(&self, metrics: &Value) -> Result<()> {
        write_json_atomic(&self.file("metrics.json"), metrics)?;
        let meta_path = self.file("meta.json");
        let text = std::fs::read_to_string(&meta_path)
            .with_context(|| format!("reading {}", meta_path.display()))?;
        let mut meta: Value = serde_json::from_str(&text)
            .with_context(|| format!("parsing {}", meta_path.display()))?;
        let obj = meta
            .as_object_mut()
            .with_context(|| format!("{} is not a JSON object", meta_path.display()))?;
        let end = unix_now();
        let duration = obj
            .get("start_unix")
            .and_then(Value::as_f64)
            .map(|s| end - s);
        obj.insert("end_unix".into(), json!(end));
        obj.insert("duration_s".into(), json!(duration));
        write_json_atomic(&meta_path, &meta)
    }
}

#[cfg(test)]
mod tests {
    use super::super::json::test_dir;
    use super::*;

    #[test]
    fn create_and_finish() {
        let base = test_dir("rundir");
        let p = base.join("a").join("run1");
        let rd = RunDir::create(&p, "[model]\nn = 3\n", 42, "physlearn train --x").unwrap();
        assert_eq!(
            std::fs::read_to_string(rd.file("config.toml")).unwrap(),
            "[model]\nn = 3\n"
        );
        let meta: Value =
            serde_json::from_str(&std::fs::read_to_string(rd.file("meta.json")).unwrap()).unwrap();
        assert_eq!(meta["seed"], json!(42));
        assert_eq!(meta["command"], json!("physlearn train --x"));
        assert_eq!(meta["crate_version"], json!(env!("CARGO_PKG_VERSION")));
        assert!(meta["rayon_threads"].as_u64().unwrap() >= 1);
        assert!(meta["start_unix"].as_f64().unwrap() > 1.6e9);
        assert!(meta.get("git_commit").is_some());

        rd.finish(&json!({"acc": 0.9})).unwrap();
        let metrics: Value =
            serde_json::from_str(&std::fs::read_to_string(rd.file("metrics.json")).unwrap())
                .unwrap();
        assert_eq!(metrics, json!({"acc": 0.9}));
        let meta: Value =
            serde_json::from_str(&std::fs::read_to_string(rd.file("meta.json")).unwrap()).unwrap();
        assert!(meta["duration_s"].as_f64().unwrap() >= 0.0);
        assert!(meta["end_unix"].as_f64().unwrap() >= meta["start_unix"].as_f64().unwrap());
        assert_eq!(meta["seed"], json!(42));
        let mut names: Vec<_> = std::fs::read_dir(&p)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["config.toml", "meta.json", "metrics.json"]);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
