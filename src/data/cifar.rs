//! Reader for the binary version of CIFAR-10 (`cifar-10-binary.tar.gz`).
//!
//! Format (A. Krizhevsky, "The CIFAR-10 dataset", section "Binary version"): each of
//! `data_batch_1.bin` … `data_batch_5.bin` and `test_batch.bin` is a plain sequence of
//! 10000 records of 3073 bytes, with nothing between them: one label byte (0–9), then
//! 3072 pixel bytes, namely the 1024 red values, the 1024 green values and the 1024 blue
//! values of a 32×32 image, each channel in row-major order. That is exactly the CHW layout
//! of [`ImageSet`], so records are copied without reordering.
//!
//! The parser checks structure only (whole records, labels `< 10`); exact sizes and
//! checksums of the official files (this module's `TRAIN` and `TEST` tables) are checked by
//! [`load`](fn@crate::data::load) with [`Check::Published`](crate::data::Check::Published).
//!
//! Checksums: no SHA-256 of the individual batch files is published; their MD5s are, with
//! the same six values in independent public projects (`prabhuomkar/pytorch-cpp`
//! `cmake/fetch_cifar10.cmake`, reused by `adap/flower`
//! `examples/libtorch_client/cmake/fetch_cifar10.cmake`, and `rai-project/dldataset`
//! `vision/cifar10.go`), so batches are checked by exact size and MD5. The archive they
//! come from, `cifar-10-binary.tar.gz`, has the author-published MD5
//! `c32a1d4ab5d03f1284b67883e8d87530` and the widely pinned SHA-256 [`ARCHIVE_SHA256`].

use crate::data::checksum::{Checksum, ExpectedFile, FileForm};
use crate::data::error::DecodeError;
use crate::data::image_set::ImageSet;
use anyhow::{Context, Result};
use std::path::Path;

/// Channels of a CIFAR-10 image (red, green, blue).
pub const CHANNELS: usize = 3;
/// Rows of a CIFAR-10 image.
pub const ROWS: usize = 32;
/// Columns of a CIFAR-10 image.
pub const COLS: usize = 32;
/// Number of CIFAR-10 classes.
pub const CLASSES: usize = 10;
/// Pixel bytes of one record (`3 × 32 × 32`).
pub const IMAGE_BYTES: usize = CHANNELS * ROWS * COLS;
/// Bytes of one record: one label byte then [`IMAGE_BYTES`] pixel bytes.
pub const RECORD_BYTES: usize = 1 + IMAGE_BYTES;
/// Records in each official batch file.
pub const BATCH_RECORDS: usize = 10_000;
/// Exact size of each official batch file (`10000 × 3073` bytes).
pub const BATCH_BYTES: usize = BATCH_RECORDS * RECORD_BYTES;

/// SHA-256 of the official `cifar-10-binary.tar.gz` archive (170,052,171 bytes), whose
/// extraction yields the `cifar-10-batches-bin/` directory; shown in error messages.
pub const ARCHIVE_SHA256: &str = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd";

/// An official batch file: its exact size and published MD5.
const fn batch(name: &'static str, md5: &'static str) -> FileForm {
    FileForm {
        name,
        size: BATCH_BYTES as u64,
        gzip: false,
        checksum: Checksum::Md5(md5),
    }
}

/// The training split: `data_batch_1..5`, in order (MD5 of the archive's members).
pub(crate) const TRAIN: [ExpectedFile; 5] = [
    ExpectedFile {
        forms: &[batch(
            "data_batch_1.bin",
            "5dd7e06a14cb22eb9f671a540d1b7c25",
        )],
    },
    ExpectedFile {
        forms: &[batch(
            "data_batch_2.bin",
            "5ea93a67294ea407fff1d09f752e9692",
        )],
    },
    ExpectedFile {
        forms: &[batch(
            "data_batch_3.bin",
            "942cd6a4bcdd0dd3c604fbe906cb4421",
        )],
    },
    ExpectedFile {
        forms: &[batch(
            "data_batch_4.bin",
            "ae636b3ba5c66a11e91e8cb52e771fcb",
        )],
    },
    ExpectedFile {
        forms: &[batch(
            "data_batch_5.bin",
            "53f37980c15c3d472c316c40844f3f0d",
        )],
    },
];

/// The test split: `test_batch`.
pub(crate) const TEST: [ExpectedFile; 1] = [ExpectedFile {
    forms: &[batch("test_batch.bin", "803d5f7f4d78ea53de84dbe85f74fb6d")],
}];

/// Class names, indexed by label.
pub(crate) const CLASS_NAMES: [&str; CLASSES] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Checks the structure of one CIFAR-10 binary batch without copying it and returns its
/// number of records: a positive whole number of records (the official files hold 10000),
/// each label `< 10`. `path` is used only in error messages.
pub fn check_batch(path: &Path, bytes: &[u8]) -> Result<usize, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::truncated(
            path,
            "empty file, not a CIFAR-10 binary batch".into(),
        ));
    }
    if !bytes.len().is_multiple_of(RECORD_BYTES) {
        return Err(DecodeError::truncated(
            path,
            format!(
                "{} bytes is {} whole \
                 {RECORD_BYTES}-byte records plus {} stray bytes (an official batch is exactly \
                 {BATCH_BYTES} bytes)",
                bytes.len(),
                bytes.len() / RECORD_BYTES,
                bytes.len() % RECORD_BYTES
            ),
        ));
    }
    if let Some((i, rec)) = bytes
        .chunks_exact(RECORD_BYTES)
        .enumerate()
        .find(|(_, rec)| rec[0] as usize >= CLASSES)
    {
        return Err(DecodeError::malformed(
            path,
            format!(
                "record {i} has label {}, but CIFAR-10 labels are < {CLASSES}: not a CIFAR-10 \
                 binary batch (CIFAR-100 records carry two label bytes)",
                rec[0]
            ),
        ));
    }
    Ok(bytes.len() / RECORD_BYTES)
}

/// Parses the contents of one CIFAR-10 binary batch, appending its pixels (CHW per
/// sample) to `images` and its labels to `labels`; returns the number of records.
///
/// The structure is checked as in [`check_batch`] before anything is appended, so nothing
/// is appended on error, and the buffers grow by exactly the input's length.
pub fn parse_batch(
    path: &Path,
    bytes: &[u8],
    images: &mut Vec<u8>,
    labels: &mut Vec<u8>,
) -> Result<usize, DecodeError> {
    let n = check_batch(path, bytes)?;
    images.reserve(n * IMAGE_BYTES);
    labels.reserve(n);
    for rec in bytes.chunks_exact(RECORD_BYTES) {
        labels.push(rec[0]);
        images.extend_from_slice(&rec[1..]);
    }
    Ok(n)
}

/// Reads and concatenates CIFAR-10 binary batch files, in the given order, into one
/// 3×32×32, 10-class [`ImageSet`]. Structure is checked as in [`parse_batch`]; no
/// checksum is verified here.
pub fn read_batches(paths: &[&Path]) -> Result<ImageSet> {
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for path in paths {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        parse_batch(path, &bytes, &mut images, &mut labels)?;
    }
    ImageSet::new(images, labels, CHANNELS, ROWS, COLS, CLASSES)
}
