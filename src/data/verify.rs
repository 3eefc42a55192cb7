//! Verifying the files of the real data sets without loading them: one [`FileReport`] per
//! expected file.

use crate::data::checksum::{Checksum, ExpectedFile};
use crate::data::dataset::{Dataset, Split};
use flate2::read::MultiGzDecoder;
use rayon::prelude::*;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The verification result of one expected file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileStatus {
    /// Present, with the published size and checksum (see [`FileReport::method`]).
    Ok,
    /// No accepted form of the file exists.
    Missing,
    /// Present, but its checksum is not the published one.
    Mismatch {
        /// The checksum algorithm (`"sha256"` or `"md5"`).
        algorithm: &'static str,
        /// The published hex digest.
        expected: String,
        /// The hex digest of the file found.
        actual: String,
    },
    /// An uncompressed file shorter than the published one, or a gzip stream that ends
    /// early or fails its integrity check; the text says which and by how much. (A complete
    /// gzip stream with different content is a [`FileStatus::Mismatch`].)
    Truncated(String),
    /// Present with the right size and structure, but no published checksum is known to
    /// check it against. (Every built-in file currently has a published checksum.)
    SizeOk,
    /// Present but could not be read (permissions, I/O error); the text gives the cause.
    Unreadable(String),
}

impl FileStatus {
    /// Whether the file counts as verified ([`FileStatus::Ok`] or [`FileStatus::SizeOk`]).
    pub fn is_ok(&self) -> bool {
        matches!(self, FileStatus::Ok | FileStatus::SizeOk)
    }

    /// A short upper-case label: `OK`, `MISSING`, `MISMATCH`, `TRUNCATED`, `SIZE-OK`,
    /// `UNREADABLE`.
    pub fn label(&self) -> &'static str {
        match self {
            FileStatus::Ok => "OK",
            FileStatus::Missing => "MISSING",
            FileStatus::Mismatch { .. } => "MISMATCH",
            FileStatus::Truncated(_) => "TRUNCATED",
            FileStatus::SizeOk => "SIZE-OK",
            FileStatus::Unreadable(_) => "UNREADABLE",
        }
    }
}

impl fmt::Display for FileStatus {
    /// The label followed by the details, e.g.
    /// `MISMATCH: expected sha256 …, got …: corrupt or not the published file`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileStatus::Ok | FileStatus::Missing => f.write_str(self.label()),
            FileStatus::Mismatch {
                algorithm,
                expected,
                actual,
            } => write!(
                f,
                "MISMATCH: expected {algorithm} {expected}, got {actual}: corrupt or not the \
                 published file"
            ),
            FileStatus::Truncated(why) => write!(f, "TRUNCATED: {why}"),
            FileStatus::SizeOk => f.write_str("SIZE-OK: no published checksum known"),
            FileStatus::Unreadable(why) => write!(f, "UNREADABLE: {why}"),
        }
    }
}

/// The verification report of one expected file, as produced by [`verify`].
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
    /// `"sha256 of gunzipped content"`; empty otherwise.
    pub method: &'static str,
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
            FileStatus::Mismatch {
                algorithm,
                expected,
                actual,
            } => write!(
                f,
                "  expected {algorithm} {expected}, got {actual}: corrupt or not the published file"
            ),
            FileStatus::Truncated(why) | FileStatus::Unreadable(why) => write!(f, "  {why}"),
            FileStatus::SizeOk => {
                f.write_str("  size and structure OK; no published checksum known")
            }
        }
    }
}

fn verify_file(dir: &Path, ds: Dataset, split: Split, file: &ExpectedFile) -> FileReport {
    let base = dir.join(ds.subdir());
    let found = file
        .forms
        .iter()
        .map(|form| (base.join(form.name), form))
        .find(|(p, _)| p.is_file());
    let report = |path: PathBuf, status: FileStatus, method: &'static str| FileReport {
        dataset: ds,
        split,
        path,
        status,
        method,
    };
    let Some((path, form)) = found else {
        return report(base.join(file.forms[0].name), FileStatus::Missing, "");
    };
    let size = match std::fs::metadata(&path) {
        Ok(m) => m.len(),
        Err(e) => return report(path, FileStatus::Unreadable(e.to_string()), ""),
    };
    // A .gz may legitimately differ in size (another gzip header); raw files may not.
    if !form.gzip && size < form.size {
        let why = format!("{size} of {} bytes", form.size);
        return report(path, FileStatus::Truncated(why), "");
    }
    let digest = File::open(&path).and_then(|f| form.checksum.digest_of_reader(f));
    let actual = match digest {
        Ok((h, _)) => h,
        Err(e) => return report(path, FileStatus::Unreadable(e.to_string()), ""),
    };
    let method = match form.checksum {
        Checksum::Sha256(_) => "sha256",
        Checksum::Md5(_) => "md5 + size",
    };
    if actual == form.checksum.expected() && size == form.size {
        return report(path, FileStatus::Ok, method);
    }
    if let (true, Some(raw)) = (form.gzip, file.raw_form()) {
        let content = File::open(&path).and_then(|f| {
            raw.checksum
                .digest_of_reader(MultiGzDecoder::new(std::io::BufReader::new(f)))
        });
        match content {
            Err(e) => {
                let why = format!("gzip stream ends early or is corrupt: {e}");
                return report(path, FileStatus::Truncated(why), "");
            }
            Ok((h, len)) if len == raw.size && h == raw.checksum.expected() => {
                return report(path, FileStatus::Ok, "sha256 of gunzipped content");
            }
            Ok(_) => {}
        }
    }
    let status = FileStatus::Mismatch {
        algorithm: form.checksum.algorithm(),
        expected: form.checksum.expected().to_string(),
        actual,
    };
    report(path, status, "")
}

/// Verifies every expected file of every data set under the data directory `dir`,
/// without loading them: one [`FileReport`] per file, in the order of [`Dataset::ALL`],
/// then [`Split::ALL`], then [`Dataset::files`]. Files are hashed in a streaming way, in
/// parallel. Backs `physlearn data verify`; see [`dataset_present`] for the summary.
pub fn verify(dir: &Path) -> Vec<FileReport> {
    let jobs: Vec<(Dataset, Split, &ExpectedFile)> = Dataset::ALL
        .iter()
        .flat_map(|&ds| {
            Split::ALL
                .iter()
                .flat_map(move |&sp| ds.files(sp).iter().map(move |f| (ds, sp, f)))
        })
        .collect();
    jobs.par_iter()
        .map(|&(ds, sp, f)| verify_file(dir, ds, sp, f))
        .collect()
}

/// Whether `ds` counts as present in a [`verify`] result: it has reports and all of them
/// are OK.
pub fn dataset_present(reports: &[FileReport], ds: Dataset) -> bool {
    let mut any = false;
    for r in reports.iter().filter(|r| r.dataset == ds) {
        if !r.status.is_ok() {
            return false;
        }
        any = true;
    }
    any
}
