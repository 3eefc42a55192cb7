//! MNIST (Y. LeCun, C. Cortes, C. J. C. Burges): the files of its two splits and their
//! checksums, and its class names. The files are IDX ([`idx`](crate::data::idx)).
//!
//! Checksums: SHA-256 of the canonical `.gz` distribution files and of their uncompressed
//! contents (computed from copies whose gzip and raw MD5s match the published canonical
//! MD5s), so either form is verified.

use crate::data::checksum::{ExpectedFile, FileForm};

/// The training split: images then labels.
pub(crate) const TRAIN: [ExpectedFile; 2] = [
    ExpectedFile {
        forms: &[
            FileForm::gz_sha256(
                "train-images-idx3-ubyte.gz",
                9_912_422,
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            ),
            FileForm::raw_sha256(
                "train-images-idx3-ubyte",
                47_040_016,
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            ),
        ],
    },
    ExpectedFile {
        forms: &[
            FileForm::gz_sha256(
                "train-labels-idx1-ubyte.gz",
                28_881,
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            ),
            FileForm::raw_sha256(
                "train-labels-idx1-ubyte",
                60_008,
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            ),
        ],
    },
];

/// The test split: images then labels.
pub(crate) const TEST: [ExpectedFile; 2] = [
    ExpectedFile {
        forms: &[
            FileForm::gz_sha256(
                "t10k-images-idx3-ubyte.gz",
                1_648_877,
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            ),
            FileForm::raw_sha256(
                "t10k-images-idx3-ubyte",
                7_840_016,
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            ),
        ],
    },
    ExpectedFile {
        forms: &[
            FileForm::gz_sha256(
                "t10k-labels-idx1-ubyte.gz",
                4_542,
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            ),
            FileForm::raw_sha256(
                "t10k-labels-idx1-ubyte",
                10_008,
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            ),
        ],
    },
];

/// Class names, indexed by label.
pub(crate) const CLASSES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
