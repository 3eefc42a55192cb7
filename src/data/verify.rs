//! Verifying the files of the real data sets without keeping them: one [`FileReport`] per
//! expected file, gathered in a [`VerifyReport`] that also decides whether the
//! verification failed (what `physlearn data verify` exits with).
//!
//! Each file is judged by the same function as when it is loaded
//! ([`inspect`](crate::data::inspect)), so a file verifies as OK exactly when
//! [`load_file`](crate::data::load::load_file) accepts it with
//! [`Check::Published`].
//!
//! Failure rule: verification fails when any present file of any data set is not valid
//! (truncated, corrupt, checksum mismatch, unreadable), or when a data set named as
//! required is not complete. Data sets not required may be missing, wholly or in part.

use crate::data::checksum::ExpectedFile;
use crate::data::dataset::{Dataset, Split};
use crate::data::inspect::{Check, FileStatus, find_form, inspect};
use rayon::prelude::*;
use std::fmt;
use std::path::{Path, PathBuf};

/// The verification report of one expected file, as produced by [`verify_file`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileReport {
    /// The data set the file belongs to.
    pub dataset: Dataset,
    /// The split the file belongs to.
    pub split: Split,
    /// The file checked (for a missing file, the path of its preferred form).
    pub path: PathBuf,
    /// The outcome.
    pub status: FileStatus,
    /// What was verified when the status is OK, e.g. `"sha256"`, `"md5 + size"`,
    /// `"sha256 of the gunzipped content"`; empty otherwise.
    pub method: String,
}

impl fmt::Display for FileReport {
    /// One human-readable table line: data set, split, status, path, details.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<13} {:<5} {:<10} {}",
            self.dataset,
            self.split,
            self.status.label(),
            self.path.display()
        )?;
        match &self.status {
            FileStatus::Ok if !self.method.is_empty() => write!(f, "  ({})", self.method),
            FileStatus::Ok | FileStatus::Missing => Ok(()),
            s => write!(f, "  {}", s.details()),
        }
    }
}

/// Verifies one expected file of `ds`/`split` under the data directory `dir`: finds the
/// first of its forms that exists, reads it, and judges it as
/// [`load_file`](crate::data::load::load_file) does with
/// [`Check::Published`].
pub fn verify_file(dir: &Path, ds: Dataset, split: Split, file: &ExpectedFile) -> FileReport {
    let report = |path: PathBuf, status: FileStatus, method: String| FileReport {
        dataset: ds,
        split,
        path,
        status,
        method,
    };
    let Some((path, form)) = find_form(dir, ds, file) else {
        let path = dir.join(ds.subdir()).join(file.forms[0].name);
        return report(path, FileStatus::Missing, String::new());
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => return report(path, FileStatus::Unreadable(e.to_string()), String::new()),
    };
    match inspect(&path, bytes, ds, file, form, Check::Published) {
        Ok(accepted) => report(path, FileStatus::Ok, accepted.method),
        Err(status) => report(path, status, String::new()),
    }
}

/// How complete and valid one data set is in a [`VerifyReport`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetState {
    /// Every file present and valid.
    Valid,
    /// No file present.
    Missing,
    /// Some files present, all valid, some missing.
    Incomplete,
    /// At least one present file is not valid.
    Invalid,
}

impl DatasetState {
    /// A short lower-case description: `present and valid`, `missing`, `incomplete`,
    /// `invalid`.
    pub fn describe(self) -> &'static str {
        match self {
            DatasetState::Valid => "present and valid",
            DatasetState::Missing => "missing",
            DatasetState::Incomplete => "incomplete",
            DatasetState::Invalid => "invalid",
        }
    }
}

/// One reason a verification failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// A present file is not valid.
    InvalidFile(FileReport),
    /// A required data set is missing these files.
    RequiredMissing {
        /// The data set.
        dataset: Dataset,
        /// The files not found (the paths of their preferred forms).
        missing: Vec<PathBuf>,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::InvalidFile(r) => write!(
                f,
                "{} {} file {} is {}: {}",
                r.dataset,
                r.split,
                r.path.display(),
                r.status.label(),
                r.status.details()
            ),
            Failure::RequiredMissing { dataset, missing } => {
                let list: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
                write!(
                    f,
                    "required data set {dataset} is missing {} file(s): {}",
                    missing.len(),
                    list.join(", ")
                )
            }
        }
    }
}

/// The verification of a data directory: one [`FileReport`] per expected file of every
/// data set, and the data sets required to be complete. Decides failure by the rule in
/// the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// One report per expected file, in the order of [`Dataset::ALL`], then
    /// [`Split::ALL`], then [`Dataset::files`].
    pub files: Vec<FileReport>,
    /// The data sets required to be complete, without repeats, in the order first given.
    pub required: Vec<Dataset>,
}

impl VerifyReport {
    /// How complete and valid `ds` is.
    pub fn state(&self, ds: Dataset) -> DatasetState {
        let mut present = 0;
        let mut total = 0;
        for r in self.files.iter().filter(|r| r.dataset == ds) {
            total += 1;
            if !r.status.is_missing() {
                if !r.status.is_ok() {
                    return DatasetState::Invalid;
                }
                present += 1;
            }
        }
        match present {
            0 => DatasetState::Missing,
            p if p == total => DatasetState::Valid,
            _ => DatasetState::Incomplete,
        }
    }

    /// Whether every file of `ds` is present and valid.
    pub fn is_valid(&self, ds: Dataset) -> bool {
        self.state(ds) == DatasetState::Valid
    }

    /// Every reason the verification failed: the present files that are not valid, in
    /// report order, then each required data set that misses files. Empty when it passed.
    pub fn failures(&self) -> Vec<Failure> {
        let mut out: Vec<Failure> = self
            .files
            .iter()
            .filter(|r| !r.status.is_ok() && !r.status.is_missing())
            .cloned()
            .map(Failure::InvalidFile)
            .collect();
        for &ds in &self.required {
            let missing: Vec<PathBuf> = self
                .files
                .iter()
                .filter(|r| r.dataset == ds && r.status.is_missing())
                .map(|r| r.path.clone())
                .collect();
            if !missing.is_empty() {
                out.push(Failure::RequiredMissing {
                    dataset: ds,
                    missing,
                });
            }
        }
        out
    }

    /// Whether the verification passed (no [`failures`](Self::failures)).
    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }

    /// `Ok` when the verification passed, else an error listing every failure.
    pub fn result(&self) -> anyhow::Result<()> {
        let failures = self.failures();
        if failures.is_empty() {
            return Ok(());
        }
        let lines: Vec<String> = failures.iter().map(|f| format!("  {f}")).collect();
        anyhow::bail!(
            "data verification failed ({} problem(s)):\n{}",
            failures.len(),
            lines.join("\n")
        )
    }
}

impl fmt::Display for VerifyReport {
    /// One line per file, then one line per data set with its state (and whether it was
    /// required).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.files {
            writeln!(f, "{r}")?;
        }
        for ds in Dataset::ALL {
            let required = if self.required.contains(&ds) {
                "  (required)"
            } else {
                ""
            };
            writeln!(
                f,
                "{:<14} {}{required}",
                ds.name(),
                self.state(ds).describe()
            )?;
        }
        Ok(())
    }
}

/// Verifies every expected file of every data set under the data directory `dir`, in
/// parallel, requiring the data sets in `required` to be complete. Backs
/// `physlearn data verify`; see [`VerifyReport`] for the outcome.
pub fn verify(dir: &Path, required: &[Dataset]) -> VerifyReport {
    let jobs: Vec<(Dataset, Split, &ExpectedFile)> = Dataset::ALL
        .iter()
        .flat_map(|&ds| {
            Split::ALL
                .iter()
                .flat_map(move |&sp| ds.files(sp).iter().map(move |f| (ds, sp, f)))
        })
        .collect();
    let files = jobs
        .par_iter()
        .map(|&(ds, sp, f)| verify_file(dir, ds, sp, f))
        .collect();
    let mut req = Vec::new();
    for &ds in required {
        if !req.contains(&ds) {
            req.push(ds);
        }
    }
    VerifyReport {
        files,
        required: req,
    }
}
