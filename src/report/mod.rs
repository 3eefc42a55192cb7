//! Reporting: atomic JSON/CSV output, PNG plots, console tables and run directories.
//!
//! Everything here is presentation/persistence only; no physics lives in this module.

pub mod console;
pub mod json;
pub mod npy;
pub mod plot;
pub mod progress;
pub mod rundir;
pub mod table;
