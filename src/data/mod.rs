//! Datasets: embedded synthetic generators (no download needed), and loaders for real
//! image data (MNIST, Fashion-MNIST, CIFAR-10) read from a user-supplied data directory.
//!
//! Layers, each module importing only those above it: [`image_set`] (the in-memory type),
//! [`checksum`] (published checksums, file descriptions) and [`error`] (decoding errors);
//! the format readers [`idx`] and [`cifar`] (which also holds CIFAR-10's file table) and
//! the file tables [`mnist`] and [`fashion_mnist`]; [`dataset`] (data sets, splits, the data directory); [`inspect`] (the
//! one decision on whether a file is valid); [`verify`](mod@verify) (reports, and whether
//! verification failed) and [`load`](mod@load) (into an [`ImageSet`]), which both decide
//! through [`inspect`].

pub mod checksum;
pub mod cifar;
pub mod dataset;
pub mod error;
pub mod fashion_mnist;
pub mod idx;
pub mod image_set;
pub mod inspect;
pub mod load;
pub mod mnist;
pub mod synthetic;
pub mod verify;

pub use checksum::{Checksum, ExpectedFile, FileForm, md5_hex, sha256_hex};
pub use dataset::{DATA_ENV, Dataset, Split, data_dir, data_dir_from};
pub use error::{DecodeError, Defect};
pub use image_set::ImageSet;
pub use inspect::{Check, FileContents, FileStatus};
pub use load::{load, load_file};
pub use verify::{DatasetState, Failure, FileReport, VerifyReport, verify, verify_file};
