//! Paper reproductions, one module each.

pub mod csb_eqprop;
pub mod estimators;
pub mod oscillator_diffusion;
pub mod thermo_eqprop;

use crate::report::console::Console;
use crate::report::rundir::{Claim, NewRun, RunDir};
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
    /// Delete the run `out` holds before starting (`--overwrite`); without it a directory
    /// that holds a run is refused.
    pub overwrite: bool,
    /// Where the tables, notes and progress go (quiet by default).
    pub console: Console,
}

impl ExpOptions {
    /// Claims `out` for this reproduction's run (refused if it holds a run, unless
    /// `overwrite`) and records `config_toml` and `seed`; claim warnings go to the console.
    pub fn run_dir(&self, config_toml: &str, seed: u64) -> anyhow::Result<RunDir> {
        let how = if self.overwrite {
            Claim::Overwrite
        } else {
            Claim::New
        };
        let dir = RunDir::create(
            &self.out,
            how,
            &NewRun {
                config_toml,
                seed,
                command: &self.command,
                resume_hint: None,
            },
        )?;
        for w in dir.warnings() {
            self.console.warn(w);
        }
        Ok(dir)
    }
}

/// A reproduction's configuration: layered like every config, with cheaper `--quick`
/// settings and a seed that `--seed` overrides.
pub trait ExpConfig: crate::config::Layered {
    /// The `--quick` settings derived from these.
    fn quick_settings(self) -> Self;
    /// The run seed.
    fn seed_mut(&mut self) -> &mut u64;

    /// Defaults, `--config`, `--set`, then `--quick` and `--seed`, checked.
    fn resolve(opts: &ExpOptions) -> anyhow::Result<Self> {
        let mut cfg = Self::load(opts.config_text.as_deref(), &opts.sets)?;
        if opts.quick {
            cfg = cfg.quick_settings();
        }
        if let Some(s) = opts.seed {
            *cfg.seed_mut() = s;
        }
        cfg.check()?;
        Ok(cfg)
    }
}
