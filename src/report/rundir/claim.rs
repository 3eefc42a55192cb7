//! How a command takes a directory for a run, and what a directory holds.
//!
//! The rules, the same for `physlearn train` and every `physlearn exp`:
//! - a new run (`--out DIR`) takes a directory that is missing or empty; one that already
//!   holds a run is refused with the commands that continue or replace it, and one that holds
//!   other files is refused (so a run never mixes with anything);
//! - `--overwrite` first deletes the run the directory holds, so no file of it remains beside
//!   the new one; it never deletes a directory that does not hold a run;
//! - `--resume DIR` takes a directory that holds a run;
//! - every claim takes the directory's lock first ([`super::lock`]) and removes the temporary
//!   files an interrupted atomic write left behind.

use super::lock::{LOCK_FILE, RunLock};
use anyhow::{Context, Result, bail};
use std::path::Path;

/// How a command takes its run directory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Claim {
    /// A new run in a missing or empty directory.
    #[default]
    New,
    /// A new run, deleting the run the directory holds first.
    Overwrite,
    /// Continue the run the directory holds.
    Resume,
}

/// Files whose presence marks a directory as holding a run.
pub const RUN_MARKERS: &[&str] = &[
    "config.toml",
    "meta.json",
    "metrics.csv",
    "metrics.json",
    "checkpoint.safetensors",
    "summary.json",
];

/// What kind of directory is claimed, and what to tell a user who points at a taken one.
pub struct ClaimSpec<'a> {
    /// What the directory holds, for messages ("run", "seed set").
    pub what: &'a str,
    /// Whether an entry (name, is a directory) marks the directory as holding one.
    pub is_marker: &'a dyn Fn(&str, bool) -> bool,
    /// How to continue a taken directory, e.g. "continue it with `physlearn train --resume
    /// DIR`"; `None` where runs cannot be continued.
    pub resume_hint: Option<String>,
}

impl ClaimSpec<'static> {
    /// A single run: marked by any of [`RUN_MARKERS`].
    pub fn run(resume_hint: Option<String>) -> Self {
        ClaimSpec {
            what: "run",
            is_marker: &|name, _| RUN_MARKERS.contains(&name),
            resume_hint,
        }
    }
}

/// Whether `name` is a file a claim may remove unasked: the lock, or the temporary sibling of
/// an interrupted atomic write (`.<name>.tmp-<pid>-<random>`, see `report::json`).
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// The entries of `dir` (none if it is missing), split into run markers and other entries,
/// without the lock file and temporaries; sorted.
pub fn contents(dir: &Path, spec: &ClaimSpec) -> Result<(Vec<String>, Vec<String>)> {
    let (mut markers, mut others) = (vec![], vec![]);
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((markers, others)),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    for e in entries {
        let e = e.with_context(|| format!("reading {}", dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name == LOCK_FILE || is_temporary(&name) {
            continue;
        }
        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if (spec.is_marker)(&name, is_dir) {
            markers.push(name);
        } else {
            others.push(name);
        }
    }
    markers.sort();
    others.sort();
    Ok((markers, others))
}

/// Removes the temporaries of interrupted atomic writes from `dir`; returns their names.
pub fn remove_temporaries(dir: &Path) -> Result<Vec<String>> {
    let mut removed = vec![];
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let e = e.with_context(|| format!("reading {}", dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if is_temporary(&name) && e.file_type().map(|t| t.is_file()).unwrap_or(false) {
            std::fs::remove_file(e.path())
                .with_context(|| format!("removing {}", e.path().display()))?;
            removed.push(name);
        }
    }
    removed.sort();
    Ok(removed)
}

fn list(names: &[String]) -> String {
    const SHOWN: usize = 6;
    let mut s = names
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(", … ({} entries)", names.len()));
    }
    s
}

/// Takes `dir` for a run as `claim` says (see the module docs): locks it, removes stale
/// temporaries and, for [`Claim::Overwrite`], the old run. Returns the lock and warnings
/// (a lock taken over from a dead process, removed temporaries).
pub fn claim(dir: &Path, claim: Claim, spec: &ClaimSpec) -> Result<(RunLock, Vec<String>)> {
    let d = dir.display();
    if dir.exists() && !dir.is_dir() {
        bail!("{d} exists and is not a directory");
    }
    if claim == Claim::Resume {
        if !dir.is_dir() {
            bail!("{d} does not exist: there is no {} to resume", spec.what);
        }
    } else {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {d}"))?;
    }
    let (lock, warning) = RunLock::acquire(dir)?;
    let mut warnings: Vec<String> = warning.into_iter().collect();
    let removed = remove_temporaries(dir)?;
    if !removed.is_empty() {
        warnings.push(format!(
            "removed {} temporary file(s) of an interrupted write in {d}: {}",
            removed.len(),
            list(&removed)
        ));
    }
    let (markers, others) = contents(dir, spec)?;
    match claim {
        Claim::Resume if markers.is_empty() => bail!(
            "{d} holds no {} to resume (it has none of its files); start one with --out {d}",
            spec.what
        ),
        Claim::Resume => {}
        Claim::New if !markers.is_empty() => {
            let resume = spec
                .resume_hint
                .as_ref()
                .map(|h| format!("{h}, or "))
                .unwrap_or_default();
            bail!(
                "{d} already holds a {} ({}); {resume}replace it with --overwrite (which deletes \
                 it first), or choose another --out",
                spec.what,
                list(&markers)
            )
        }
        _ if !others.is_empty() && markers.is_empty() => bail!(
            "{d} is not empty ({}) and holds no physlearn {}; choose a new or empty directory \
             (--overwrite only deletes a directory that holds a {})",
            list(&others),
            spec.what,
            spec.what
        ),
        Claim::New => {}
        Claim::Overwrite => {
            for name in markers.iter().chain(&others) {
                let p = dir.join(name);
                let r = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
                r.with_context(|| format!("--overwrite: removing {}", p.display()))?;
            }
        }
    }
    Ok((lock, warnings))
}
