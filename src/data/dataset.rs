//! The real image data sets and their splits ([`Dataset`], [`Split`]), and where their
//! files live ([`data_dir`]).
//!
//! The data directory is never built in: it comes from the `--data-dir` flag or the
//! [`DATA_ENV`] (`PHYSLEARN_DATA`) environment variable, see [`data_dir`]. Its layout:
//!
//! ```text
//! <data-dir>/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
//! <data-dir>/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
//! <data-dir>/cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin
//! ```

use crate::data::checksum::ExpectedFile;
use crate::data::{cifar, fashion_mnist, mnist};
use anyhow::{Result, bail, ensure};
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Name of the environment variable that gives the data directory when no `--data-dir`
/// flag is passed.
pub const DATA_ENV: &str = "PHYSLEARN_DATA";

/// A real image data set this crate knows the files of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dataset {
    /// MNIST handwritten digits: 28×28 grey, 10 classes, 60000 train / 10000 test (IDX).
    Mnist,
    /// Fashion-MNIST (Zalando): 28×28 grey, 10 classes, 60000 train / 10000 test (IDX).
    FashionMnist,
    /// CIFAR-10, binary version: 32×32 RGB, 10 classes, 50000 train / 10000 test.
    Cifar10,
}

/// Which part of a data set: the training or the test split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training split (`train-*` IDX files; CIFAR-10 `data_batch_1..5`).
    Train,
    /// The test split (`t10k-*` IDX files; CIFAR-10 `test_batch`).
    Test,
}

impl Dataset {
    /// Every known data set, in a fixed order.
    pub const ALL: [Dataset; 3] = [Dataset::Mnist, Dataset::FashionMnist, Dataset::Cifar10];

    /// The canonical command-line name: `"mnist"`, `"fashion-mnist"` or `"cifar10"`.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Mnist => "mnist",
            Dataset::FashionMnist => "fashion-mnist",
            Dataset::Cifar10 => "cifar10",
        }
    }

    /// The subdirectory of the data directory that holds this data set's files.
    pub fn subdir(self) -> &'static str {
        match self {
            Dataset::Mnist => "mnist",
            Dataset::FashionMnist => "fashion-mnist",
            Dataset::Cifar10 => "cifar-10-batches-bin",
        }
    }

    /// Image shape `(channels, rows, cols)`.
    pub fn shape(self) -> (usize, usize, usize) {
        match self {
            Dataset::Mnist | Dataset::FashionMnist => (1, 28, 28),
            Dataset::Cifar10 => (cifar::CHANNELS, cifar::ROWS, cifar::COLS),
        }
    }

    /// Number of classes (10 for all three).
    pub fn classes(self) -> usize {
        self.class_names().len()
    }

    /// Human-readable class names, indexed by label.
    pub fn class_names(self) -> &'static [&'static str] {
        match self {
            Dataset::Mnist => &mnist::CLASSES,
            Dataset::FashionMnist => &fashion_mnist::CLASSES,
            Dataset::Cifar10 => &cifar::CLASS_NAMES,
        }
    }

    /// Number of samples in `split` of the official files.
    pub fn num_samples(self, split: Split) -> usize {
        match (self, split) {
            (Dataset::Cifar10, Split::Train) => 5 * cifar::BATCH_RECORDS,
            (_, Split::Train) => 60_000,
            (_, Split::Test) => 10_000,
        }
    }

    /// The files of `split` with their accepted forms and published checksums: images then
    /// labels for MNIST and Fashion-MNIST, the batches in order for CIFAR-10.
    pub fn files(self, split: Split) -> &'static [ExpectedFile] {
        match (self, split) {
            (Dataset::Mnist, Split::Train) => &mnist::TRAIN,
            (Dataset::Mnist, Split::Test) => &mnist::TEST,
            (Dataset::FashionMnist, Split::Train) => &fashion_mnist::TRAIN,
            (Dataset::FashionMnist, Split::Test) => &fashion_mnist::TEST,
            (Dataset::Cifar10, Split::Train) => &cifar::TRAIN,
            (Dataset::Cifar10, Split::Test) => &cifar::TEST,
        }
    }

    /// How to obtain the files, for error messages.
    pub(crate) fn fetch_hint(self) -> String {
        match self {
            Dataset::Mnist | Dataset::FashionMnist => format!(
                "it must hold {}/{{train,t10k}}-{{images-idx3,labels-idx1}}-ubyte.gz \
                 (the canonical distribution files; uncompressed files are accepted too)",
                self.subdir()
            ),
            Dataset::Cifar10 => format!(
                "it must hold {}/{{data_batch_1..5,test_batch}}.bin, as extracted from the \
                 official binary archive cifar-10-binary.tar.gz (sha256 {})",
                self.subdir(),
                cifar::ARCHIVE_SHA256
            ),
        }
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Dataset {
    type Err = anyhow::Error;

    /// Parses `mnist`, `fashion-mnist` (also `fashion_mnist`, `fashionmnist`) or `cifar10`
    /// (also `cifar-10`, `cifar_10`), ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "mnist" => Ok(Dataset::Mnist),
            "fashion-mnist" | "fashion_mnist" | "fashionmnist" => Ok(Dataset::FashionMnist),
            "cifar10" | "cifar-10" | "cifar_10" => Ok(Dataset::Cifar10),
            _ => bail!("unknown dataset {s:?}: expected one of mnist, fashion-mnist, cifar10"),
        }
    }
}

impl Split {
    /// Both splits, train first.
    pub const ALL: [Split; 2] = [Split::Train, Split::Test];

    /// `"train"` or `"test"`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Split {
    type Err = anyhow::Error;

    /// Parses `train` or `test` (also `t10k`), ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "train" => Ok(Split::Train),
            "test" | "t10k" => Ok(Split::Test),
            _ => bail!("unknown split {s:?}: expected train or test"),
        }
    }
}

/// Resolves the data directory: the `--data-dir` flag if given, else the `PHYSLEARN_DATA`
/// environment variable if set and non-empty, else an error saying how to set one. The
/// directory must exist.
pub fn data_dir(flag: Option<&Path>) -> Result<PathBuf> {
    data_dir_from(flag, std::env::var_os(DATA_ENV))
}

/// [`data_dir`] with the environment variable's value passed in (`None` when unset), so
/// the precedence can be used and tested without touching the process environment.
pub fn data_dir_from(flag: Option<&Path>, env: Option<OsString>) -> Result<PathBuf> {
    let (dir, source) = match (flag, env) {
        (Some(f), _) => (f.to_path_buf(), "--data-dir"),
        (None, Some(e)) if !e.is_empty() => (PathBuf::from(e), DATA_ENV),
        _ => bail!(
            "no data directory given: pass --data-dir DIR or set the environment variable \
             {DATA_ENV}=DIR, where DIR holds mnist/, fashion-mnist/ and/or cifar-10-batches-bin/"
        ),
    };
    ensure!(
        dir.is_dir(),
        "data directory {} (from {source}) does not exist or is not a directory; pass \
         --data-dir DIR or set {DATA_ENV}=DIR",
        dir.display()
    );
    Ok(dir)
}
