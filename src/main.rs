//! The `physlearn` command-line tool.

use clap::{Parser, Subcommand};
use physlearn::experiments::thermo_eqprop;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "physlearn",
    version,
    about = "Simulate physical learning machines and train them with local rules"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a paper reproduction.
    Exp {
        #[command(subcommand)]
        exp: Exp,
    },
}

#[derive(Subcommand)]
enum Exp {
    /// Symmetric EqProp on the bilinear Langevin substrate (E1, E2, E3, cost).
    ThermoEqprop {
        /// Cheaper settings (under a minute).
        #[arg(long)]
        quick: bool,
        /// Run seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Output directory.
        #[arg(long, default_value = "runs/thermo-eqprop")]
        out: PathBuf,
        /// TOML configuration (defaults: configs/thermo-eqprop.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Override a configuration key, e.g. --set e1.beta=0.05 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Print the resolved configuration and exit.
        #[arg(long)]
        print_config: bool,
    },
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Exp {
            exp:
                Exp::ThermoEqprop {
                    quick,
                    seed,
                    out,
                    config,
                    sets,
                    print_config,
                },
        } => {
            let config_text = match &config {
                Some(p) => Some(
                    std::fs::read_to_string(p)
                        .map_err(|e| anyhow::anyhow!("cannot read config {}: {e}", p.display()))?,
                ),
                None => None,
            };
            let opts = thermo_eqprop::Options {
                quick,
                seed,
                out,
                config_text,
                sets,
                command: std::env::args().collect::<Vec<_>>().join(" "),
            };
            if print_config {
                print!("{}", thermo_eqprop::resolve_config(&opts)?.to_toml());
                return Ok(());
            }
            thermo_eqprop::run(&opts)?;
        }
    }
    Ok(())
}
