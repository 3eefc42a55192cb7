//! Registry of the real image data sets: where their files live under the data directory,
//! their published checksums, loading into an [`ImageSet`], and verification.
//!
//! The data directory is never built in: it comes from the `--data-dir` flag or the
//! [`DATA_ENV`] (`PHYSLEARN_DATA`) environment variable, see [`data_dir`]. Its layout:
//!
//! ```text
//! <data-dir>/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
//! <data-dir>/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
//! <data-dir>/cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin
//! ```
//!
//! Checksums. MNIST and Fashion-MNIST: SHA-256 of the canonical `.gz` distribution files
//! and of their uncompressed contents (computed from copies whose gzip and raw MD5s match
//! the published canonical MD5s), so either form is verified; a `.gz` whose bytes differ
//! from the canonical file only in its gzip wrapper (recompressed, or a stripped header) is
//! accepted when its gunzipped content has the canonical SHA-256. CIFAR-10: no
//! SHA-256 of the individual batch files is published; their MD5s are, with the same six
//! values in independent public projects (`prabhuomkar/pytorch-cpp`
//! `cmake/fetch_cifar10.cmake`, reused by `adap/flower`
//! `examples/libtorch_client/cmake/fetch_cifar10.cmake`, and `rai-project/dldataset`
//! `vision/cifar10.go`), so CIFAR-10 batches are checked by exact size and MD5. The archive
//! they come from, `cifar-10-binary.tar.gz`, has the author-published MD5
//! `c32a1d4ab5d03f1284b67883e8d87530`
//! and the widely pinned SHA-256 [`CIFAR10_ARCHIVE_SHA256`].

use crate::data::{cifar, idx};
use anyhow::{Context, Result, bail, ensure};
use flate2::read::MultiGzDecoder;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Name of the environment variable that gives the data directory when no `--data-dir`
/// flag is passed.
pub const DATA_ENV: &str = "PHYSLEARN_DATA";

/// SHA-256 of the official `cifar-10-binary.tar.gz` archive (170,052,171 bytes), whose
/// extraction yields the `cifar-10-batches-bin/` directory; shown in error messages.
pub const CIFAR10_ARCHIVE_SHA256: &str =
    "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd";

// ---------------------------------------------------------------------------------------------
// ImageSet
// ---------------------------------------------------------------------------------------------

/// A labelled set of `u8` images held in memory.
///
/// `images` is sample-major, and within a sample channel-major (CHW: all of channel 0 in
/// row-major order, then channel 1, …), so sample `i` is
/// `images[i * dim() .. (i + 1) * dim()]`. Construct it with [`ImageSet::new`], which checks
/// the invariants below; the fields are public for reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSet {
    /// Pixels, `n × channels × rows × cols` bytes, sample-major, CHW within a sample.
    pub images: Vec<u8>,
    /// One label per sample, each `< classes`.
    pub labels: Vec<u8>,
    /// Number of samples.
    pub n: usize,
    /// Channels per image (1 for MNIST, 3 for CIFAR-10).
    pub channels: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// Number of classes; every label is `< classes`.
    pub classes: usize,
}

impl ImageSet {
    /// Builds an image set from pixels (sample-major, CHW) and labels, checking that the
    /// shape is non-degenerate, that `images.len() == labels.len() × channels × rows × cols`,
    /// and that every label is `< classes` (at most 256 classes, since labels are bytes).
    pub fn new(
        images: Vec<u8>,
        labels: Vec<u8>,
        channels: usize,
        rows: usize,
        cols: usize,
        classes: usize,
    ) -> Result<Self> {
        ensure!(
            channels > 0 && rows > 0 && cols > 0,
            "image shape {channels}×{rows}×{cols} has a zero dimension"
        );
        ensure!(
            (1..=256).contains(&classes),
            "{classes} classes: u8 labels allow 1 to 256 classes"
        );
        let dim = channels
            .checked_mul(rows)
            .and_then(|d| d.checked_mul(cols))
            .context("image shape overflows")?;
        let n = labels.len();
        ensure!(
            n.checked_mul(dim) == Some(images.len()),
            "image/label count mismatch: {} pixel bytes do not hold exactly {n} images of \
             {channels}×{rows}×{cols} = {dim} bytes",
            images.len()
        );
        if let Some((i, &l)) = labels
            .iter()
            .enumerate()
            .find(|&(_, &l)| l as usize >= classes)
        {
            bail!("label {l} of sample {i} is out of range: labels must be < {classes}");
        }
        Ok(Self {
            images,
            labels,
            n,
            channels,
            rows,
            cols,
            classes,
        })
    }

    /// Bytes (pixels) per sample: `channels × rows × cols`.
    pub fn dim(&self) -> usize {
        self.channels * self.rows * self.cols
    }

    /// The pixels of sample `i` (CHW). Panics if `i >= n`.
    pub fn image(&self, i: usize) -> &[u8] {
        assert!(i < self.n, "sample {i} out of range (n = {})", self.n);
        let d = self.dim();
        &self.images[i * d..(i + 1) * d]
    }

    /// Pixels of the samples in `range`, scaled to `[0, 1]` (`p / 255`), sample-major:
    /// `range.len() × dim()` values. Panics if `range` is not within `0..n`.
    pub fn to_f32_scaled(&self, range: Range<usize>) -> Vec<f32> {
        self.check_range(&range);
        let d = self.dim();
        self.images[range.start * d..range.end * d]
            .iter()
            .map(|&p| f32::from(p) / 255.0)
            .collect()
    }

    /// One-hot encoding of the labels of the samples in `range`, sample-major:
    /// `range.len() × classes` values. Panics if `range` is not within `0..n`.
    pub fn one_hot(&self, range: Range<usize>) -> Vec<f32> {
        self.check_range(&range);
        let mut out = vec![0.0f32; range.len() * self.classes];
        for (row, &l) in out.chunks_exact_mut(self.classes).zip(&self.labels[range]) {
            row[l as usize] = 1.0;
        }
        out
    }

    /// A new set holding the samples at `indices`, in that order (repeats allowed).
    /// Panics if an index is `>= n`.
    pub fn subset(&self, indices: &[usize]) -> ImageSet {
        let d = self.dim();
        let mut images = Vec::with_capacity(indices.len() * d);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            images.extend_from_slice(self.image(i));
            labels.push(self.labels[i]);
        }
        ImageSet {
            images,
            labels,
            n: indices.len(),
            channels: self.channels,
            rows: self.rows,
            cols: self.cols,
            classes: self.classes,
        }
    }

    /// Number of samples of each class: `classes` counts.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0usize; self.classes];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    fn check_range(&self, range: &Range<usize>) {
        assert!(
            range.start <= range.end && range.end <= self.n,
            "sample range {range:?} out of bounds (n = {})",
            self.n
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Datasets, splits and their files
// ---------------------------------------------------------------------------------------------

/// A real image data set known to the registry.
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

/// Whether [`load`] verifies published checksums before decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Verify each file against its published checksum: SHA-256 for MNIST and
    /// Fashion-MNIST (`.gz` or uncompressed), exact size plus MD5 for CIFAR-10 batches
    /// (the only per-file checksum published for them).
    Sha256,
    /// Skip checksums (structure is still fully checked); for synthetic or modified files.
    Skip,
}

/// A published checksum: algorithm and lowercase hex digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksum {
    /// SHA-256 (FIPS 180-4), 64 hex digits.
    Sha256(&'static str),
    /// MD5 (RFC 1321), 32 hex digits; used only where no SHA-256 is published.
    Md5(&'static str),
}

impl Checksum {
    /// The algorithm's name: `"sha256"` or `"md5"`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Checksum::Sha256(_) => "sha256",
            Checksum::Md5(_) => "md5",
        }
    }

    /// The expected lowercase hex digest.
    pub fn expected(&self) -> &'static str {
        match self {
            Checksum::Sha256(h) | Checksum::Md5(h) => h,
        }
    }

    /// The lowercase hex digest of `bytes` under this checksum's algorithm.
    pub fn digest_of(&self, bytes: &[u8]) -> String {
        match self {
            Checksum::Sha256(_) => sha256_hex(bytes),
            Checksum::Md5(_) => md5_hex(bytes),
        }
    }

    /// Streams `reader` to its end and returns its lowercase hex digest under this
    /// checksum's algorithm and the number of bytes read.
    pub fn digest_of_reader(&self, reader: impl Read) -> std::io::Result<(String, u64)> {
        match self {
            Checksum::Sha256(_) => stream_digest::<Sha256>(reader),
            Checksum::Md5(_) => stream_digest::<md5::Md5>(reader),
        }
    }
}

/// What an expected file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileRole {
    /// IDX images (magic `0x00000803`).
    Images,
    /// IDX labels (magic `0x00000801`).
    Labels,
    /// A CIFAR-10 binary batch (labels and images interleaved).
    Batch,
}

/// One accepted form of an expected file: its name, exact size and published checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileForm {
    /// File name inside the data set's subdirectory ([`Dataset::subdir`]).
    pub name: &'static str,
    /// Exact size in bytes of the published file.
    pub size: u64,
    /// Whether this form is gzip-compressed.
    pub gzip: bool,
    /// Published checksum of the file's bytes.
    pub checksum: Checksum,
}

/// An expected file of a data set split, with the forms it may take (tried in order:
/// the `.gz` distribution file first, then the uncompressed file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpectedFile {
    /// What the file holds.
    pub role: FileRole,
    /// Accepted forms, in the order [`load`] and [`verify`] look for them.
    pub forms: &'static [FileForm],
}

impl ExpectedFile {
    /// The uncompressed form, if one is listed (its checksum verifies gunzipped content).
    pub fn raw_form(&self) -> Option<&'static FileForm> {
        self.forms.iter().find(|f| !f.gzip)
    }
}

const fn gz(name: &'static str, size: u64, sha256: &'static str) -> FileForm {
    FileForm {
        name,
        size,
        gzip: true,
        checksum: Checksum::Sha256(sha256),
    }
}

const fn raw(name: &'static str, size: u64, sha256: &'static str) -> FileForm {
    FileForm {
        name,
        size,
        gzip: false,
        checksum: Checksum::Sha256(sha256),
    }
}

const fn cifar_form(name: &'static str, md5: &'static str) -> FileForm {
    FileForm {
        name,
        size: cifar::BATCH_BYTES as u64,
        gzip: false,
        checksum: Checksum::Md5(md5),
    }
}

// SHA-256 of the canonical MNIST .gz files (see shared data SOURCES) and of their
// uncompressed contents (computed from the verified canonical files; the raw MD5s of these
// contents match the published ones).
const MNIST_TRAIN: [ExpectedFile; 2] = [
    ExpectedFile {
        role: FileRole::Images,
        forms: &[
            gz(
                "train-images-idx3-ubyte.gz",
                9_912_422,
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            ),
            raw(
                "train-images-idx3-ubyte",
                47_040_016,
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            ),
        ],
    },
    ExpectedFile {
        role: FileRole::Labels,
        forms: &[
            gz(
                "train-labels-idx1-ubyte.gz",
                28_881,
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            ),
            raw(
                "train-labels-idx1-ubyte",
                60_008,
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            ),
        ],
    },
];

const MNIST_TEST: [ExpectedFile; 2] = [
    ExpectedFile {
        role: FileRole::Images,
        forms: &[
            gz(
                "t10k-images-idx3-ubyte.gz",
                1_648_877,
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            ),
            raw(
                "t10k-images-idx3-ubyte",
                7_840_016,
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            ),
        ],
    },
    ExpectedFile {
        role: FileRole::Labels,
        forms: &[
            gz(
                "t10k-labels-idx1-ubyte.gz",
                4_542,
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            ),
            raw(
                "t10k-labels-idx1-ubyte",
                10_008,
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            ),
        ],
    },
];

const FASHION_TRAIN: [ExpectedFile; 2] = [
    ExpectedFile {
        role: FileRole::Images,
        forms: &[
            gz(
                "train-images-idx3-ubyte.gz",
                26_421_880,
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            ),
            raw(
                "train-images-idx3-ubyte",
                47_040_016,
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            ),
        ],
    },
    ExpectedFile {
        role: FileRole::Labels,
        forms: &[
            gz(
                "train-labels-idx1-ubyte.gz",
                29_515,
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            ),
            raw(
                "train-labels-idx1-ubyte",
                60_008,
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            ),
        ],
    },
];

const FASHION_TEST: [ExpectedFile; 2] = [
    ExpectedFile {
        role: FileRole::Images,
        forms: &[
            gz(
                "t10k-images-idx3-ubyte.gz",
                4_422_102,
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            ),
            raw(
                "t10k-images-idx3-ubyte",
                7_840_016,
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            ),
        ],
    },
    ExpectedFile {
        role: FileRole::Labels,
        forms: &[
            gz(
                "t10k-labels-idx1-ubyte.gz",
                5_148,
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            ),
            raw(
                "t10k-labels-idx1-ubyte",
                10_008,
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            ),
        ],
    },
];

// MD5 of the members of cifar-10-binary.tar.gz: no SHA-256 per member is published.
const CIFAR_TRAIN: [ExpectedFile; 5] = [
    ExpectedFile {
        role: FileRole::Batch,
        forms: &[cifar_form(
            "data_batch_1.bin",
            "5dd7e06a14cb22eb9f671a540d1b7c25",
        )],
    },
    ExpectedFile {
        role: FileRole::Batch,
        forms: &[cifar_form(
            "data_batch_2.bin",
            "5ea93a67294ea407fff1d09f752e9692",
        )],
    },
    ExpectedFile {
        role: FileRole::Batch,
        forms: &[cifar_form(
            "data_batch_3.bin",
            "942cd6a4bcdd0dd3c604fbe906cb4421",
        )],
    },
    ExpectedFile {
        role: FileRole::Batch,
        forms: &[cifar_form(
            "data_batch_4.bin",
            "ae636b3ba5c66a11e91e8cb52e771fcb",
        )],
    },
    ExpectedFile {
        role: FileRole::Batch,
        forms: &[cifar_form(
            "data_batch_5.bin",
            "53f37980c15c3d472c316c40844f3f0d",
        )],
    },
];

const CIFAR_TEST: [ExpectedFile; 1] = [ExpectedFile {
    role: FileRole::Batch,
    forms: &[cifar_form(
        "test_batch.bin",
        "803d5f7f4d78ea53de84dbe85f74fb6d",
    )],
}];

const MNIST_CLASSES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];
const CIFAR_CLASSES: [&str; 10] = [
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

impl Dataset {
    /// Every data set the registry knows, in a fixed order.
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
            Dataset::Mnist => &MNIST_CLASSES,
            Dataset::FashionMnist => &FASHION_CLASSES,
            Dataset::Cifar10 => &CIFAR_CLASSES,
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
            (Dataset::Mnist, Split::Train) => &MNIST_TRAIN,
            (Dataset::Mnist, Split::Test) => &MNIST_TEST,
            (Dataset::FashionMnist, Split::Train) => &FASHION_TRAIN,
            (Dataset::FashionMnist, Split::Test) => &FASHION_TEST,
            (Dataset::Cifar10, Split::Train) => &CIFAR_TRAIN,
            (Dataset::Cifar10, Split::Test) => &CIFAR_TEST,
        }
    }

    /// How to obtain the files, for error messages.
    fn fetch_hint(self) -> String {
        match self {
            Dataset::Mnist | Dataset::FashionMnist => format!(
                "it must hold {}/{{train,t10k}}-{{images-idx3,labels-idx1}}-ubyte.gz \
                 (the canonical distribution files; uncompressed files are accepted too)",
                self.subdir()
            ),
            Dataset::Cifar10 => format!(
                "it must hold {}/{{data_batch_1..5,test_batch}}.bin, as extracted from the \
                 official binary archive cifar-10-binary.tar.gz (sha256 {CIFAR10_ARCHIVE_SHA256})",
                self.subdir()
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

// ---------------------------------------------------------------------------------------------
// Data directory
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Hashing
// ---------------------------------------------------------------------------------------------

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 * bytes.len());
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Lowercase hex SHA-256 (FIPS 180-4) of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex MD5 (RFC 1321) of `bytes`.
pub fn md5_hex(bytes: &[u8]) -> String {
    hex(&md5::Md5::digest(bytes))
}

fn stream_digest<D: Digest>(mut reader: impl Read) -> std::io::Result<(String, u64)> {
    let mut hasher = D::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => {
                hasher.update(&buf[..k]);
                total += k as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((hex(&hasher.finalize()), total))
}

/// Streams the file at `path` and returns its lowercase hex SHA-256 and its length.
pub fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    stream_digest::<Sha256>(f).with_context(|| format!("cannot read {}", path.display()))
}

fn mismatch_error(path: &Path, algorithm: &str, expected: &str, actual: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: checksum mismatch: expected {algorithm} {expected}, got {actual}: the file is \
         corrupt or not the published one (delete it and fetch the canonical file again, or \
         load with checksums skipped if it is deliberately different)",
        path.display()
    )
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/// Finds the first existing form of `file` under `dir`, or explains what is missing.
fn locate(dir: &Path, ds: Dataset, file: &ExpectedFile) -> Result<(PathBuf, &'static FileForm)> {
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
        if hex(&h.finalize()) == raw.checksum.expected() {
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
    if check == Check::Sha256 {
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
/// ranges) and, with [`Check::Sha256`], the published checksum of every file.
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

// ---------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------

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
