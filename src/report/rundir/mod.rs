//! Run directories: one folder per run holding its configuration, provenance, metrics and
//! outputs, never shared with another run (see [`claim`] for the rules).
//!
//! Layout written by this module:
//! - `config.toml`: the exact configuration text the run used,
//! - `meta.json`: provenance ([`Meta`]): crate version, git commit, seed, host, threads, and
//!   every command that wrote to the run with its start time and running time,
//! - `metrics.json`: final metrics, written by [`RunDir::finish`],
//! - `.lock`: present while a process writes the run ([`lock`]).
//!
//! Other outputs (CSV, PNG, ...) go to paths obtained from [`RunDir::file`].

pub mod claim;
pub mod lock;

pub use claim::{Claim, ClaimSpec, RUN_MARKERS};
pub use lock::RunLock;

use super::json::{write_atomic, write_json_atomic};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A directory holding one run's configuration, metadata, metrics and artifacts, locked by
/// this process for as long as the value lives.
#[derive(Debug)]
pub struct RunDir {
    /// The run directory itself.
    pub path: PathBuf,
    /// Held for the value's lifetime; released (and its file removed) on drop.
    _lock: RunLock,
    started: Instant,
    warnings: Vec<String>,
}

/// How a command that wrote to a run ended.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Still running, or killed without a chance to say so (`kill -9`, a power cut).
    #[default]
    Running,
    /// Finished the run.
    Finished,
    /// Stopped by Ctrl-C or SIGTERM, resumable.
    Interrupted,
}

/// One command that wrote to a run.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Invocation {
    /// The command line.
    pub command: String,
    /// Start, seconds since the Unix epoch.
    pub start_unix: f64,
    /// Seconds it ran (updated at every checkpoint, so a killed command keeps most of it).
    pub running_s: f64,
    /// How it ended.
    pub outcome: Outcome,
    /// Crate version of the binary.
    pub crate_version: String,
    /// Commit of the source tree the binary was built from (`None` without git).
    pub git_commit: Option<String>,
    /// Whether that tree had uncommitted changes to tracked files.
    pub git_dirty: Option<bool>,
    /// Host name.
    pub hostname: Option<String>,
    /// Worker threads.
    pub rayon_threads: usize,
    /// Configuration changes this command made (`key: old -> new`).
    pub config_changes: Vec<String>,
}

/// `meta.json`: the run's provenance. The top-level fields describe the run's first command;
/// `invocations` lists every command that wrote to it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Meta {
    /// Crate version of the first command's binary.
    pub crate_version: String,
    /// Its git commit.
    pub git_commit: Option<String>,
    /// Whether its tree was dirty.
    pub git_dirty: Option<bool>,
    /// The run seed.
    pub seed: u64,
    /// The first command line.
    pub command: String,
    /// Start of the first command (Unix seconds).
    pub start_unix: f64,
    /// Host of the first command.
    pub hostname: Option<String>,
    /// Worker threads of the first command.
    pub rayon_threads: usize,
    /// End of the last command that finished the run (Unix seconds).
    pub end_unix: Option<f64>,
    /// Running time over all commands, in seconds (time between them not counted).
    pub duration_s: f64,
    /// Every command that wrote to the run, in order.
    pub invocations: Vec<Invocation>,
}

/// What a new run records before it starts.
pub struct NewRun<'a> {
    /// The configuration text, written verbatim to `config.toml`.
    pub config_toml: &'a str,
    /// The run seed.
    pub seed: u64,
    /// The command line.
    pub command: &'a str,
    /// How to continue a directory that already holds a run (`None`: runs of this kind
    /// cannot be continued).
    pub resume_hint: Option<String>,
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

impl Invocation {
    /// This process, starting now.
    fn now(command: &str) -> Self {
        let commit = git(&["rev-parse", "HEAD"]).filter(|s| !s.is_empty());
        let dirty = commit
            .as_ref()
            .and_then(|_| git(&["status", "--porcelain", "--untracked-files=no"]))
            .map(|s| !s.is_empty());
        Invocation {
            command: command.to_string(),
            start_unix: unix_now(),
            running_s: 0.0,
            outcome: Outcome::Running,
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: commit,
            git_dirty: dirty,
            hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            rayon_threads: rayon::current_num_threads(),
            config_changes: vec![],
        }
    }
}

impl RunDir {
    /// Claims `path` for a new run ([`Claim::New`] or [`Claim::Overwrite`], see [`claim`])
    /// and atomically writes `config.toml` and `meta.json`.
    pub fn create(path: &Path, how: Claim, run: &NewRun) -> Result<RunDir> {
        if how == Claim::Resume {
            bail!("RunDir::create makes a new run; use RunDir::resume to continue one");
        }
        let (lock, warnings) = claim::claim(path, how, &ClaimSpec::run(run.resume_hint.clone()))?;
        let dir = RunDir {
            path: path.to_path_buf(),
            _lock: lock,
            started: Instant::now(),
            warnings,
        };
        write_atomic(&dir.file("config.toml"), run.config_toml.as_bytes())?;
        let first = Invocation::now(run.command);
        let meta = Meta {
            crate_version: first.crate_version.clone(),
            git_commit: first.git_commit.clone(),
            git_dirty: first.git_dirty,
            seed: run.seed,
            command: first.command.clone(),
            start_unix: first.start_unix,
            hostname: first.hostname.clone(),
            rayon_threads: first.rayon_threads,
            end_unix: None,
            duration_s: 0.0,
            invocations: vec![first],
        };
        write_json_atomic(&dir.file("meta.json"), &meta)?;
        Ok(dir)
    }

    /// Claims the run in `path` to continue it: locks it, removes stale temporaries and adds
    /// this `command` to `meta.json`.
    pub fn resume(path: &Path, command: &str) -> Result<RunDir> {
        let (lock, warnings) = claim::claim(path, Claim::Resume, &ClaimSpec::run(None))?;
        let dir = RunDir {
            path: path.to_path_buf(),
            _lock: lock,
            started: Instant::now(),
            warnings,
        };
        let mut meta = dir.meta()?;
        if meta.invocations.is_empty() {
            // A record without the list: its one command ran for its recorded duration.
            meta.invocations.push(Invocation {
                command: meta.command.clone(),
                start_unix: meta.start_unix,
                running_s: meta.duration_s,
                crate_version: meta.crate_version.clone(),
                git_commit: meta.git_commit.clone(),
                ..Invocation::default()
            });
        }
        meta.invocations.push(Invocation::now(command));
        write_json_atomic(&dir.file("meta.json"), &meta)?;
        Ok(dir)
    }

    /// Warnings of the claim (a lock taken over, temporaries removed), for the user.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Path of a file called `name` inside the run directory (nothing is created).
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The run's `meta.json`.
    pub fn meta(&self) -> Result<Meta> {
        let p = self.file("meta.json");
        let text =
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))
    }

    /// Applies `edit` to this command's entry of `meta.json` (with its running time brought
    /// up to date), recomputes the total running time and writes it back atomically.
    fn update(&self, edit: impl FnOnce(&mut Meta)) -> Result<()> {
        let mut meta = self.meta()?;
        let Some(me) = meta.invocations.last_mut() else {
            bail!("{}: no command recorded", self.file("meta.json").display());
        };
        me.running_s = self.started.elapsed().as_secs_f64();
        edit(&mut meta);
        meta.duration_s = meta.invocations.iter().map(|i| i.running_s).sum();
        write_json_atomic(&self.file("meta.json"), &meta)
    }

    /// Records the running time so far (call at every checkpoint).
    pub fn save_progress(&self) -> Result<()> {
        self.update(|_| {})
    }

    /// Replaces `config.toml` with `config_toml` and records `changes` (`key: old -> new`)
    /// under this command.
    pub fn change_config(&self, config_toml: &str, changes: Vec<String>) -> Result<()> {
        write_atomic(&self.file("config.toml"), config_toml.as_bytes())?;
        self.update(|m| {
            if let Some(me) = m.invocations.last_mut() {
                me.config_changes.extend(changes);
            }
        })
    }

    /// Records that this command was stopped by a signal (the run stays resumable).
    pub fn interrupted(&self) -> Result<()> {
        self.update(|m| {
            if let Some(me) = m.invocations.last_mut() {
                me.outcome = Outcome::Interrupted;
            }
        })
    }

    /// Atomically writes `metrics.json` and records the end and total running time in
    /// `meta.json`.
    pub fn finish(&self, metrics: &Value) -> Result<()> {
        write_json_atomic(&self.file("metrics.json"), metrics)?;
        self.update(|m| {
            m.end_unix = Some(unix_now());
            if let Some(me) = m.invocations.last_mut() {
                me.outcome = Outcome::Finished;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::json::test_dir;
    use super::*;
    use serde_json::json;

    fn new_run(cmd: &str) -> NewRun<'_> {
        NewRun {
            config_toml: "[model]\nn = 3\n",
            seed: 42,
            command: cmd,
            resume_hint: Some("continue it with `physlearn train --resume DIR`".into()),
        }
    }

    fn names(p: &Path) -> Vec<String> {
        let mut v: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn create_and_finish() {
        let base = test_dir("rundir");
        let p = base.join("a").join("run1");
        let rd = RunDir::create(&p, Claim::New, &new_run("physlearn train --x")).unwrap();
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
        let meta = rd.meta().unwrap();
        assert!(meta.duration_s >= 0.0);
        assert!(meta.end_unix.unwrap() >= meta.start_unix);
        assert_eq!(meta.invocations.len(), 1);
        assert_eq!(meta.invocations[0].outcome, Outcome::Finished);
        assert_eq!(
            names(&p),
            [".lock", "config.toml", "meta.json", "metrics.json"]
        );
        drop(rd);
        assert_eq!(names(&p), ["config.toml", "meta.json", "metrics.json"]);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_directory_holding_a_run_is_refused_and_overwrite_removes_it_whole() {
        let base = test_dir("rundir-claim");
        let p = base.join("run");
        let rd = RunDir::create(&p, Claim::New, &new_run("first")).unwrap();
        std::fs::write(rd.file("checkpoint.safetensors"), b"old weights").unwrap();
        std::fs::write(rd.file("plot.png"), b"old plot").unwrap();
        drop(rd);
        let err = RunDir::create(&p, Claim::New, &new_run("second")).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("already holds a run")
                && msg.contains("--resume")
                && msg.contains("--overwrite")
                && msg.contains("checkpoint.safetensors"),
            "{msg}"
        );
        // Nothing of the refused command was written.
        assert_eq!(rd_meta_command(&p), "first");
        let rd = RunDir::create(&p, Claim::Overwrite, &new_run("third")).unwrap();
        assert_eq!(names(&p), [".lock", "config.toml", "meta.json"]);
        assert_eq!(rd.meta().unwrap().command, "third");
        drop(rd);
        std::fs::remove_dir_all(&base).unwrap();
    }

    fn rd_meta_command(p: &Path) -> String {
        let m: Meta =
            serde_json::from_str(&std::fs::read_to_string(p.join("meta.json")).unwrap()).unwrap();
        m.command
    }

    #[test]
    fn a_directory_of_other_files_is_never_taken_nor_deleted() {
        let base = test_dir("rundir-other");
        std::fs::write(base.join("thesis.tex"), b"precious").unwrap();
        for how in [Claim::New, Claim::Overwrite, Claim::Resume] {
            let err = RunDir::create(&base, how, &new_run("x"))
                .map(|_| ())
                .or_else(|e| {
                    if how == Claim::Resume {
                        RunDir::resume(&base, "x").map(|_| ())
                    } else {
                        Err(e)
                    }
                })
                .unwrap_err();
            assert!(format!("{err:#}").contains("holds no"), "{how:?}: {err:#}");
        }
        assert_eq!(names(&base), ["thesis.tex"]);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_second_claim_fails_at_once_and_a_dead_owners_lock_is_taken_over() {
        let base = test_dir("rundir-lock");
        let p = base.join("run");
        let rd = RunDir::create(&p, Claim::New, &new_run("first")).unwrap();
        let err = RunDir::resume(&p, "second").unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("in use by another physlearn process")
                && msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        drop(rd);
        // A lock file left by a process that has exited (its advisory lock died with it).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        std::fs::write(p.join(lock::LOCK_FILE), format!("{dead}\n")).unwrap();
        std::fs::write(p.join(".metrics.csv.tmp-1-00ff"), b"half").unwrap();
        let rd = RunDir::resume(&p, "third").unwrap();
        let w = rd.warnings().join("\n");
        assert!(w.contains(&format!("left by process {dead}")), "{w}");
        assert!(w.contains(".metrics.csv.tmp-1-00ff"), "{w}");
        assert!(!p.join(".metrics.csv.tmp-1-00ff").exists());
        let meta = rd.meta().unwrap();
        assert_eq!(meta.invocations.len(), 2);
        assert_eq!(meta.invocations[1].command, "third");
        drop(rd);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
