//! Datasets: embedded synthetic generators (no download needed).

pub mod synthetic;
