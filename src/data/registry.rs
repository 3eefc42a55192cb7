//! The former home of the real-data API, kept so that `data::registry::X` paths still
//! resolve: everything here is a re-export of the same item under [`crate::data`], which is
//! the path to use.

pub use super::cifar::ARCHIVE_SHA256 as CIFAR10_ARCHIVE_SHA256;
pub use super::{
    Check, Checksum, DATA_ENV, Dataset, ExpectedFile, FileForm, FileReport, FileStatus, ImageSet,
    Split, data_dir, data_dir_from, load, md5_hex, sha256_hex, verify,
};
