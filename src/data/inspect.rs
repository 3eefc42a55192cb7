//! The one decision on whether a data file found on disk is valid: `inspect` both
//! decodes it and checks it against its published checksum, and both
//! [`load`](fn@crate::data::load) and [`verify`](fn@crate::data::verify) call it, so a file
//! loads (with [`Check::Published`]) exactly when it verifies as OK.
//!
//! The rule for MNIST-style (IDX) files: **the content decides, not the name.** A file is
//! valid when its bytes are the published `.gz` file, or when its IDX content — gunzipped
//! if the bytes start with the gzip magic `1f 8b`, else the bytes themselves — is the
//! published uncompressed file (SHA-256 and size). So a recompressed `.gz`, uncompressed
//! content under a `.gz` name and gzip content under the uncompressed name are all
//! accepted, as the IDX reader decodes them the same way. CIFAR-10 batches must have the
//! published size and MD5.

use crate::data::checksum::{ExpectedFile, FileForm};
use crate::data::dataset::Dataset;
use crate::data::error::{DecodeError, Defect};
use crate::data::{cifar, idx};
use std::fmt;
use std::path::{Path, PathBuf};

/// Whether [`load`](fn@crate::data::load) verifies published checksums before decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Verify each file against its published checksum: SHA-256 for MNIST and
    /// Fashion-MNIST (of the `.gz` file or of the uncompressed content), exact size plus
    /// MD5 for CIFAR-10 batches (the only per-file checksum published for them).
    Published,
    /// Skip checksums (structure is still fully checked); for synthetic or modified files.
    Skip,
}

/// The verdict on one expected file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileStatus {
    /// Present and valid (see [`FileReport::method`](crate::data::FileReport::method)
    /// for what was checked).
    Ok,
    /// No accepted form of the file exists.
    Missing,
    /// Present and well-formed, but its checksum is not the published one.
    Mismatch {
        /// The checksum algorithm (`"sha256"` or `"md5"`).
        algorithm: &'static str,
        /// The published hex digest the file was compared with: that of the `.gz` file
        /// for gzip content, that of the uncompressed file otherwise.
        expected: String,
        /// The hex digest of the file found.
        actual: String,
    },
    /// Present, but shorter than its format or the published file requires: an
    /// uncompressed file shorter than the published one, a payload shorter than its header
    /// declares, a gzip stream that ends early, a partial CIFAR-10 record. The text says
    /// which and by how much.
    Truncated(String),
    /// Present, but not a valid file of its format: bad magic, bad dimensions, data after
    /// the payload, a gzip stream that fails its integrity check, a label out of range.
    Corrupt(String),
    /// Present but could not be read (permissions, I/O error); the text gives the cause.
    Unreadable(String),
}

impl FileStatus {
    /// Whether the file is present and valid.
    pub fn is_ok(&self) -> bool {
        matches!(self, FileStatus::Ok)
    }

    /// Whether no form of the file exists.
    pub fn is_missing(&self) -> bool {
        matches!(self, FileStatus::Missing)
    }

    /// A short upper-case label: `OK`, `MISSING`, `MISMATCH`, `TRUNCATED`, `CORRUPT`,
    /// `UNREADABLE`.
    pub fn label(&self) -> &'static str {
        match self {
            FileStatus::Ok => "OK",
            FileStatus::Missing => "MISSING",
            FileStatus::Mismatch { .. } => "MISMATCH",
            FileStatus::Truncated(_) => "TRUNCATED",
            FileStatus::Corrupt(_) => "CORRUPT",
            FileStatus::Unreadable(_) => "UNREADABLE",
        }
    }

    /// The details after the label: what differs and why; empty for OK and MISSING.
    pub fn details(&self) -> String {
        match self {
            FileStatus::Ok | FileStatus::Missing => String::new(),
            FileStatus::Mismatch {
                algorithm,
                expected,
                actual,
            } => format!(
                "expected {algorithm} {expected}, got {actual}: corrupt or not the published file"
            ),
            FileStatus::Truncated(why) | FileStatus::Corrupt(why) | FileStatus::Unreadable(why) => {
                why.clone()
            }
        }
    }
}

impl fmt::Display for FileStatus {
    /// The label followed by the details, e.g.
    /// `MISMATCH: expected sha256 …, got …: corrupt or not the published file`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileStatus::Ok | FileStatus::Missing => f.write_str(self.label()),
            _ => write!(f, "{}: {}", self.label(), self.details()),
        }
    }
}

impl From<DecodeError> for FileStatus {
    fn from(e: DecodeError) -> Self {
        match e.defect {
            Defect::Truncated => FileStatus::Truncated(e.detail),
            Defect::Malformed => FileStatus::Corrupt(e.detail),
        }
    }
}

/// The decoded contents of one valid data file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileContents {
    /// An IDX array (MNIST, Fashion-MNIST).
    Idx(idx::IdxArray),
    /// The bytes of a CIFAR-10 binary batch, whose structure has been checked.
    Batch(Vec<u8>),
}

/// A file that passed [`inspect`]: what was checked, and its decoded contents.
#[derive(Debug)]
pub(crate) struct Accepted {
    /// What was verified, e.g. `"sha256"`, `"md5 + size"`; `"structure"` when checksums
    /// were skipped.
    pub method: String,
    /// The decoded contents.
    pub contents: FileContents,
}

/// The first existing form of `file` under `dir`, in the order of `file.forms`, with its
/// path. Both loading and verification look files up through this.
pub(crate) fn find_form(
    dir: &Path,
    ds: Dataset,
    file: &ExpectedFile,
) -> Option<(PathBuf, &'static FileForm)> {
    let base = dir.join(ds.subdir());
    file.forms
        .iter()
        .map(|form| (base.join(form.name), form))
        .find(|(p, _)| p.is_file())
}

/// Decides whether the bytes of a file of `ds`, found at `path` under the name of `form`
/// (one of `file.forms`), are valid: decodes them and, with [`Check::Published`], checks
/// them against the published checksum by the rule in the module docs. Returns the decoded
/// contents, or the status saying what is wrong.
pub(crate) fn inspect(
    path: &Path,
    bytes: Vec<u8>,
    ds: Dataset,
    file: &ExpectedFile,
    form: &FileForm,
    check: Check,
) -> Result<Accepted, FileStatus> {
    match ds {
        Dataset::Mnist | Dataset::FashionMnist => inspect_idx(path, &bytes, file, form, check),
        Dataset::Cifar10 => inspect_batch(path, bytes, form, check),
    }
}

fn inspect_idx(
    path: &Path,
    bytes: &[u8],
    file: &ExpectedFile,
    form: &FileForm,
    check: Check,
) -> Result<Accepted, FileStatus> {
    let gzip = idx::is_gzip(bytes);
    // The published checksum that applies to these bytes: that of the gzip form for gzip
    // content, of the uncompressed form otherwise, whatever name the file has.
    let reference = file.forms.iter().find(|f| f.gzip == gzip).unwrap_or(form);
    let raw = file.raw_form();
    if check == Check::Published
        && let Some(raw) = raw.filter(|_| !gzip)
        && (bytes.len() as u64) < raw.size
    {
        let why = format!("{} bytes of the published {}", bytes.len(), raw.size);
        return Err(FileStatus::Truncated(why));
    }
    let (parsed, digest) = match check {
        Check::Skip => (idx::parse_idx(path, bytes), None),
        Check::Published => {
            let (p, d) = rayon::join(
                || idx::parse_idx(path, bytes),
                || reference.checksum.digest_of(bytes),
            );
            (p, Some(d))
        }
    };
    let arr = parsed?;
    let Some(actual) = digest else {
        return Ok(accepted("structure".into(), arr));
    };
    let algorithm = reference.checksum.algorithm();
    if actual == reference.checksum.expected() {
        // The name says one kind of content and the bytes hold the other: say so.
        let method = match (gzip, form.gzip) {
            (true, false) => format!("{algorithm}; gzip content under the uncompressed name"),
            (false, true) => format!("{algorithm}; uncompressed content under the .gz name"),
            _ => algorithm.to_string(),
        };
        return Ok(accepted(method, arr));
    }
    if let (true, Some(raw)) = (gzip, raw) {
        let header = arr.header_bytes();
        let len = (header.len() + arr.data.len()) as u64;
        if len == raw.size
            && raw.checksum.digest_of_parts(&[&header, &arr.data]) == raw.checksum.expected()
        {
            let method = format!("{} of the gunzipped content", raw.checksum.algorithm());
            return Ok(accepted(method, arr));
        }
    }
    Err(FileStatus::Mismatch {
        algorithm,
        expected: reference.checksum.expected().to_string(),
        actual,
    })
}

fn accepted(method: String, arr: idx::IdxArray) -> Accepted {
    Accepted {
        method,
        contents: FileContents::Idx(arr),
    }
}

fn inspect_batch(
    path: &Path,
    bytes: Vec<u8>,
    form: &FileForm,
    check: Check,
) -> Result<Accepted, FileStatus> {
    if check == Check::Skip {
        cifar::check_batch(path, &bytes)?;
        return Ok(Accepted {
            method: "structure".into(),
            contents: FileContents::Batch(bytes),
        });
    }
    if (bytes.len() as u64) < form.size {
        let why = format!("{} bytes of the published {}", bytes.len(), form.size);
        return Err(FileStatus::Truncated(why));
    }
    let (structure, actual) = rayon::join(
        || cifar::check_batch(path, &bytes),
        || form.checksum.digest_of(&bytes),
    );
    structure?;
    if actual != form.checksum.expected() || bytes.len() as u64 != form.size {
        return Err(FileStatus::Mismatch {
            algorithm: form.checksum.algorithm(),
            expected: form.checksum.expected().to_string(),
            actual,
        });
    }
    Ok(Accepted {
        method: format!("{} + size", form.checksum.algorithm()),
        contents: FileContents::Batch(bytes),
    })
}
