//! Datasets: embedded synthetic generators (no download needed), and loaders for real
//! image data (MNIST, Fashion-MNIST, CIFAR-10) read from a user-supplied data directory.

pub mod cifar;
pub mod idx;
pub mod registry;
pub mod synthetic;

pub use registry::{
    Check, Dataset, FileReport, FileStatus, ImageSet, Split, data_dir, dataset_present, load,
    verify,
};
