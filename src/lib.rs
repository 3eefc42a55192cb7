//! physlearn: simulate physical learning machines and train them with local rules.
//!
//! Architecture: [`data`] → [`energy`] (substrates) → [`dynamics`] (relaxation, clamping,
//! nudging) → [`learn`] (EqProp estimators, exact references, optimizers) → [`experiments`]
//! (one module per paper reproduction) → [`report`] (JSON, CSV, plots) → the `physlearn` CLI.

pub mod checkpoint;
pub mod config;
pub mod data;
pub mod dynamics;
pub mod energy;
pub mod experiments;
pub mod learn;
pub mod linalg;
pub mod real;
pub mod report;

pub use real::Real;
