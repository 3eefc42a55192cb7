//! The error of the format readers ([`idx`](crate::data::idx), [`cifar`](crate::data::cifar)):
//! which file did not decode, whether it is cut short or malformed, and what is wrong.

use std::fmt;
use std::path::PathBuf;

/// The kind of defect that stops a file from decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Defect {
    /// The content ends before what its header or format requires: a payload shorter than
    /// the dimensions declare, a gzip stream that ends early, a partial record, no bytes.
    Truncated,
    /// The content is not a valid file of its format: a bad magic number, a zero or
    /// oversized dimension, data after the payload, a failed gzip integrity check, an
    /// out-of-range label.
    Malformed,
}

/// A file that does not decode: its path (used only for the message), the kind of defect,
/// and what is wrong. Displays as `PATH: truncated: DETAIL` or `PATH: corrupt: DETAIL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The file, as given to the reader.
    pub path: PathBuf,
    /// Truncated or malformed.
    pub defect: Defect,
    /// What is wrong, without the path or the kind, e.g. `3 bytes, too short for …`.
    pub detail: String,
}

impl DecodeError {
    /// A [`Defect::Truncated`] error.
    pub(crate) fn truncated(path: &std::path::Path, detail: String) -> Self {
        DecodeError {
            path: path.to_path_buf(),
            defect: Defect::Truncated,
            detail,
        }
    }

    /// A [`Defect::Malformed`] error.
    pub(crate) fn malformed(path: &std::path::Path, detail: String) -> Self {
        DecodeError {
            path: path.to_path_buf(),
            defect: Defect::Malformed,
            detail,
        }
    }
}

impl fmt::Display for Defect {
    /// `truncated` or `corrupt`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Defect::Truncated => "truncated",
            Defect::Malformed => "corrupt",
        })
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.path.display(),
            self.defect,
            self.detail
        )
    }
}

impl std::error::Error for DecodeError {}
