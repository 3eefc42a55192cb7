//! Loading a split of a real data set from the data directory into an [`ImageSet`], with
//! or without verifying published checksums ([`Check`]).

use crate::data::checksum::{self, ExpectedFile, FileForm};
use crate::data::dataset::{DATA_ENV, Dataset, Split};
use crate::data::image_set::ImageSet;
use crate::data::{cifar, idx};
use anyhow::{Context, Result, bail, ensure};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Whether [`load`] verifies published checksums before decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Verify each file against its published checksum: SHA-256 for MNIST and
    /// Fashion-MNIST (`.gz` or uncompressed), exact size plus MD5 for CIFAR-10 batches
    /// (the only per-file checksum published for them).
    Published,
    /// Skip checksums (structure is still fully checked); for synthetic or modified files.
    Skip,
}

fn mismatch_error(path: &Path, algorithm: &str, expected: &str, actual: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: checksum mismatch: expected {algorithm} {expected}, got {actual}: the file is \
         corrupt or not the published one (delete it and fetch the canonical file again, or \
         load with checksums skipped if it is deliberately different)",
        path.display()
    )
}

/// Finds the first existing form of `file` under `dir`, or explains what is missing.
pub(crate) fn locate(
    dir: &Path,
    ds: Dataset,
    file: &ExpectedFile,
) -> Result<(PathBuf, &'static FileForm)> {
    let base = dir.join(ds.subdir());
    for form in file.forms {
        let p = base.join(form.name);
        if p.is_file() {
            return Ok((p, form));
        }
    }
    let primary = base.join(file.forms[0].name);
    let also: Vec<String> = file.forms[1..]
        .iter()
        .map(|f| base.join(f.name).display().to_string())
        .collect();
    let also = if also.is_empty() {
        String::new()
    } else {
        format!(" (nor {})", also.join(", "))
    };
    bail!(
        "{} data file not found: {}{also}. The data directory {} comes from --data-dir or the \
         {DATA_ENV} environment variable; {}",
        ds,
        primary.display(),
        dir.display(),
        ds.fetch_hint()
    )
}

/// Reads and decodes one IDX file of `ds`, verifying its checksum when asked.
fn load_idx_file(
    dir: &Path,
    ds: Dataset,
    file: &ExpectedFile,
    check: Check,
) -> Result<(PathBuf, idx::IdxArray)> {
    let (path, form) = locate(dir, ds, file)?;
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    if check == Check::Skip {
        let arr = idx::parse_idx(&path, &bytes)?;
        return Ok((path, arr));
    }
    let (actual, parsed) = rayon::join(
        || form.checksum.digest_of(&bytes),
        || idx::parse_idx(&path, &bytes),
    );
    if actual == form.checksum.expected() {
        return Ok((path, parsed?));
    }
    // A .gz that differs only in its gzip wrapper is accepted if its content is canonical.
    if let (true, Ok(arr), Some(raw)) = (form.gzip, &parsed, file.raw_form()) {
        let mut h = Sha256::new();
        h.update(arr.header_bytes());
        h.update(&arr.data);
        if checksum::hex(&h.finalize()) == raw.checksum.expected() {
            return Ok((path, parsed?));
        }
    }
    let (algorithm, expected) = (form.checksum.algorithm(), form.checksum.expected());
    Err(match parsed {
        Ok(_) => mismatch_error(&path, algorithm, expected, &actual),
        Err(e) => anyhow::anyhow!(
            "{e}; its checksum mismatches too (expected {algorithm} {expected}, got {actual}): \
             the file is corrupt or not the published one"
        ),
    })
}

/// Reads one CIFAR-10 batch file, verifying its size and checksum when asked.
fn read_cifar_file(dir: &Path, file: &ExpectedFile, check: Check) -> Result<(PathBuf, Vec<u8>)> {
    let (path, form) = locate(dir, Dataset::Cifar10, file)?;
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    if check == Check::Published {
        ensure!(
            bytes.len() as u64 == form.size,
            "{}: {} bytes, but the published CIFAR-10 batch is exactly {} bytes \
             ({} records of {}): the file is truncated, corrupt or not the published one",
            path.display(),
            bytes.len(),
            form.size,
            cifar::BATCH_RECORDS,
            cifar::RECORD_BYTES
        );
        let actual = form.checksum.digest_of(&bytes);
        if actual != form.checksum.expected() {
            return Err(mismatch_error(
                &path,
                form.checksum.algorithm(),
                form.checksum.expected(),
                &actual,
            ));
        }
    }
    Ok((path, bytes))
}

/// Loads `split` of `ds` from the data directory `dir` (see the module docs for the
/// layout) into an [`ImageSet`], fully checking structure (IDX magic and dimensions,
/// payload lengths, gzip integrity, CIFAR record boundaries, image/label counts, label
/// ranges) and, with [`Check::Published`], the published checksum of every file.
///
/// MNIST and Fashion-MNIST give 1×28×28 images; CIFAR-10 gives 3×32×32 (CHW) images, the
/// train split being `data_batch_1..5` concatenated in order. All have 10 classes.
/// Errors name the offending file; a missing file's error gives its full path and how to
/// set the data directory.
pub fn load(dir: &Path, ds: Dataset, split: Split, check: Check) -> Result<ImageSet> {
    let files = ds.files(split);
    match ds {
        Dataset::Mnist | Dataset::FashionMnist => {
            let (img, lab) = rayon::join(
                || load_idx_file(dir, ds, &files[0], check),
                || load_idx_file(dir, ds, &files[1], check),
            );
            let ((ip, images), (lp, labels)) = (img?, lab?);
            let set = idx::image_set_from_idx(&ip, images, &lp, labels, ds.classes())?;
            let (c, r, w) = ds.shape();
            ensure!(
                (set.channels, set.rows, set.cols) == (c, r, w),
                "{}: images are {}×{}, but {ds} images are {r}×{w}",
                ip.display(),
                set.rows,
                set.cols
            );
            Ok(set)
        }
        Dataset::Cifar10 => {
            let batches: Vec<Result<(PathBuf, Vec<u8>)>> = files
                .par_iter()
                .map(|f| read_cifar_file(dir, f, check))
                .collect();
            let mut images = Vec::new();
            let mut labels = Vec::new();
            for b in batches {
                let (path, bytes) = b?;
                cifar::parse_batch(&path, &bytes, &mut images, &mut labels)?;
            }
            ImageSet::new(
                images,
                labels,
                cifar::CHANNELS,
                cifar::ROWS,
                cifar::COLS,
                cifar::CLASSES,
            )
        }
    }
}
