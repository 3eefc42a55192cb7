//! Loading a split of a real data set from the data directory into an [`ImageSet`], with
//! or without verifying published checksums ([`Check`]).
//!
//! Each file goes through the same decision as [`verify`](fn@crate::data::verify) (see
//! [`inspect`](crate::data::inspect)), so with [`Check::Published`] a split loads exactly
//! when all its files verify as OK, its images and labels agree in number, and the images
//! have the data set's shape (which the published files do).

use crate::data::checksum::ExpectedFile;
use crate::data::cifar;
use crate::data::dataset::{DATA_ENV, Dataset, Split};
use crate::data::idx::{self, IdxArray};
use crate::data::image_set::ImageSet;
use crate::data::inspect::{Check, FileContents, FileStatus, find_form, inspect};
use anyhow::{Context, Result, bail, ensure};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// The error for a present file that is not valid, naming it and saying what is wrong.
fn invalid_file_error(path: &Path, status: &FileStatus) -> anyhow::Error {
    let p = path.display();
    match status {
        FileStatus::Mismatch {
            algorithm,
            expected,
            actual,
        } => anyhow::anyhow!(
            "{p}: checksum mismatch: expected {algorithm} {expected}, got {actual}: the file is \
             corrupt or not the published one (delete it and fetch the canonical file again, \
             or load with checksums skipped if it is deliberately different)"
        ),
        FileStatus::Truncated(why) => {
            anyhow::anyhow!("{p}: truncated: {why}; delete it and fetch the canonical file again")
        }
        FileStatus::Corrupt(why) => {
            anyhow::anyhow!("{p}: corrupt: {why}; delete it and fetch the canonical file again")
        }
        FileStatus::Unreadable(why) => anyhow::anyhow!("cannot read {p}: {why}"),
        FileStatus::Ok | FileStatus::Missing => anyhow::anyhow!("{p}: {status}"),
    }
}

/// The error for a file none of whose forms exists, with where it was looked for and how
/// to set the data directory.
fn missing_file_error(dir: &Path, ds: Dataset, file: &ExpectedFile) -> anyhow::Error {
    let base = dir.join(ds.subdir());
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
    anyhow::anyhow!(
        "{} data file not found: {}{also}. The data directory {} comes from --data-dir or the \
         {DATA_ENV} environment variable; {}",
        ds,
        primary.display(),
        dir.display(),
        ds.fetch_hint()
    )
}

/// Finds, reads and decodes one expected file of `ds` under the data directory `dir`
/// (the first of its forms that exists), checking it as `check` says; returns its path and
/// contents. With [`Check::Published`] this succeeds exactly when
/// [`verify_file`](crate::data::verify::verify_file) reports the file OK: both decide
/// through the same function.
pub fn load_file(
    dir: &Path,
    ds: Dataset,
    file: &ExpectedFile,
    check: Check,
) -> Result<(PathBuf, FileContents)> {
    let (path, form) = find_form(dir, ds, file).ok_or_else(|| missing_file_error(dir, ds, file))?;
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    match inspect(&path, bytes, ds, file, form, check) {
        Ok(accepted) => Ok((path, accepted.contents)),
        Err(status) => Err(invalid_file_error(&path, &status)),
    }
}

/// [`load_file`] for an IDX file.
fn load_idx_file(
    dir: &Path,
    ds: Dataset,
    file: &ExpectedFile,
    check: Check,
) -> Result<(PathBuf, IdxArray)> {
    match load_file(dir, ds, file, check)? {
        (path, FileContents::Idx(arr)) => Ok((path, arr)),
        (path, FileContents::Batch(_)) => bail!("{}: not an IDX file", path.display()),
    }
}

/// Loads `split` of `ds` from the data directory `dir` (layout in
/// [`dataset`](crate::data::dataset)) into an [`ImageSet`], fully checking structure (IDX
/// magic and dimensions, payload lengths, gzip integrity, CIFAR record boundaries,
/// image/label counts, label ranges) and, with [`Check::Published`], the published
/// checksum of every file, each file by [`load_file`].
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
                .map(|f| match load_file(dir, ds, f, check)? {
                    (path, FileContents::Batch(bytes)) => Ok((path, bytes)),
                    (path, FileContents::Idx(_)) => {
                        bail!("{}: not a CIFAR-10 batch", path.display())
                    }
                })
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
