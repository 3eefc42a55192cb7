//! Paper reproductions, one module each.

pub mod csb_eqprop;
pub mod oscillator_diffusion;
pub mod thermo_eqprop;

use std::path::PathBuf;

/// Command-line options of a reproduction (`physlearn exp NAME ...`).
#[derive(Clone, Debug, Default)]
pub struct ExpOptions {
    /// Use the cheaper `--quick` settings.
    pub quick: bool,
    /// Override the seed.
    pub seed: Option<u64>,
    /// Output directory.
    pub out: PathBuf,
    /// TOML configuration text (overrides the defaults).
    pub config_text: Option<String>,
    /// `key=value` overrides.
    pub sets: Vec<String>,
    /// Data directory flag (falls back to `$PHYSLEARN_DATA`; unused by experiments on
    /// embedded data).
    pub data_dir: Option<PathBuf>,
    /// The command line, recorded in the run directory.
    pub command: String,
}
