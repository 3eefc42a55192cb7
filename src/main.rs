//! The `physlearn` command-line tool.

use clap::{Parser, Subcommand};
use physlearn::config::Layered;
use physlearn::experiments::thermo_eqprop;
use physlearn::report::console::Console;
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
    /// Datasets: check what is present and valid.
    Data {
        #[command(subcommand)]
        cmd: DataCmd,
    },
    /// Train a Hopfield classifier with EqProp on real image data.
    Train {
        /// TOML configuration (see configs/mnist-*.toml); defaults: classic EqProp on MNIST.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Override a configuration key, e.g. --set training.epochs=2 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Run directory (created; holds config, metrics.csv, checkpoint, summary). A
        /// directory that already holds a run is refused (see --resume, --overwrite).
        #[arg(long, default_value = "runs/train")]
        out: PathBuf,
        /// Continue the run in this directory from its last checkpoint (with --seeds: the
        /// seed set). --config and --set may only change training.epochs, to extend it.
        #[arg(long, value_name = "DIR", conflicts_with = "out")]
        resume: Option<PathBuf>,
        /// Delete the run that --out holds, then start a new one there.
        #[arg(long, conflicts_with = "resume")]
        overwrite: bool,
        /// Train once per seed (e.g. --seeds 0,1,2,3), each in OUT/seed-<s>/, and report the
        /// spread of the test error in OUT/seeds.json; continue a set with --resume OUT.
        #[arg(long, value_delimiter = ',')]
        seeds: Vec<u64>,
        /// Data directory (default: $PHYSLEARN_DATA).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Print the resolved configuration and exit.
        #[arg(long)]
        print_config: bool,
    },
}

#[derive(Subcommand)]
enum DataCmd {
    /// Report every known dataset file: present, checksum OK, missing, truncated or corrupt.
    /// Exits non-zero when a present file is not valid or a dataset named by --dataset is
    /// not complete.
    Verify {
        /// Data directory (default: $PHYSLEARN_DATA).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// A dataset that must be complete: mnist, fashion-mnist or cifar10 (repeatable or
        /// comma-separated).
        #[arg(long = "dataset", value_name = "NAME", value_delimiter = ',')]
        datasets: Vec<physlearn::data::Dataset>,
    },
}

/// Arguments every reproduction takes.
#[derive(clap::Args)]
struct ExpArgs {
    /// Cheaper settings (under a minute).
    #[arg(long)]
    quick: bool,
    /// Run seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory (default: runs/EXPERIMENT).
    #[arg(long)]
    out: Option<PathBuf>,
    /// TOML configuration (defaults: configs/EXPERIMENT.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Override a configuration key, e.g. --set seed=3 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Data directory for experiments on real data (else the environment variable
    /// PHYSLEARN_DATA).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Print the resolved configuration and exit.
    #[arg(long)]
    print_config: bool,
    /// Delete the run that the output directory holds, then start a new one there.
    #[arg(long)]
    overwrite: bool,
}

impl ExpArgs {
    /// The library's options, with `default_out` when `--out` is not given (reads `--config`).
    fn options(self, default_out: &str) -> anyhow::Result<physlearn::experiments::ExpOptions> {
        Ok(physlearn::experiments::ExpOptions {
            quick: self.quick,
            seed: self.seed,
            out: self.out.unwrap_or_else(|| PathBuf::from(default_out)),
            config_text: read_config(self.config.as_deref())?,
            sets: self.sets,
            data_dir: self.data_dir,
            command: std::env::args().collect::<Vec<_>>().join(" "),
            overwrite: self.overwrite,
            console: Console::stdio(),
        })
    }
}

#[derive(Subcommand)]
enum Exp {
    /// cSB-EqProp vs EP on the MNIST MLP 784-120-10 (energies, errors, noise, budget).
    CsbEqprop {
        #[command(flatten)]
        args: ExpArgs,
    },
    /// Learning rules compared on synthetic systems: EqProp bias against β, cosine against
    /// the relaxation budget, variance at finite temperature, finite-nudge quadrature, heat.
    Estimators {
        #[command(flatten)]
        args: ExpArgs,
    },
    /// Physical diffusion model on oscillator networks (gmm2d: 2D mixture, Fig. 1;
    /// mnist01: binarized 10×10 MNIST 0s and 1s, Fig. 2).
    OscillatorDiffusion {
        /// Which reproduction.
        #[arg(value_enum)]
        which: physlearn::experiments::oscillator_diffusion::Which,
        #[command(flatten)]
        args: ExpArgs,
    },
    /// Symmetric EqProp on the bilinear Langevin substrate (E1, E2, E3, cost).
    ThermoEqprop {
        #[command(flatten)]
        args: ExpArgs,
    },
}

fn main() {
    if let Err(e) = run() {
        if let Some(i) = e.downcast_ref::<physlearn::train::Interrupted>() {
            eprintln!("{i}");
            std::process::exit(130);
        }
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// A flag set by the first Ctrl-C or SIGTERM, so training stops at the next batch boundary
/// with its directory resumable; a second one exits at once.
fn stop_on_signal() -> anyhow::Result<physlearn::train::StopFlag> {
    use std::sync::atomic::Ordering;
    let flag = physlearn::train::StopFlag::default();
    let f = flag.clone();
    ctrlc::set_handler(move || {
        if f.swap(true, Ordering::SeqCst) {
            eprintln!("\nsecond signal: exiting now (the run resumes from its last checkpoint)");
            std::process::exit(130);
        }
        eprintln!(
            "\nstopping at the next batch boundary (the last completed epoch is kept; press \
             Ctrl-C again to exit at once)"
        );
    })
    .map_err(|e| anyhow::anyhow!("cannot install the Ctrl-C / SIGTERM handler: {e}"))?;
    Ok(flag)
}

/// The text of an optional `--config` file.
fn read_config(path: Option<&std::path::Path>) -> anyhow::Result<Option<String>> {
    path.map(|p| {
        std::fs::read_to_string(p)
            .map_err(|e| anyhow::anyhow!("cannot read config {}: {e}", p.display()))
    })
    .transpose()
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Exp {
            exp: Exp::ThermoEqprop { args },
        } => {
            let print_config = args.print_config;
            let opts = args.options("runs/thermo-eqprop")?;
            if print_config {
                print!("{}", thermo_eqprop::resolve_config(&opts)?.to_toml());
                return Ok(());
            }
            thermo_eqprop::run(&opts)?;
        }
        Cmd::Exp {
            exp: Exp::CsbEqprop { args },
        } => {
            use physlearn::experiments::csb_eqprop;
            let print_config = args.print_config;
            let opts = args.options("runs/csb-eqprop")?;
            if print_config {
                print!("{}", csb_eqprop::resolve_config(&opts)?.to_toml());
                return Ok(());
            }
            csb_eqprop::run(&opts)?;
        }
        Cmd::Exp {
            exp: Exp::Estimators { args },
        } => {
            use physlearn::config::Layered;
            use physlearn::experiments::estimators;
            let print_config = args.print_config;
            let opts = args.options("runs/estimators")?;
            if print_config {
                print!("{}", estimators::resolve_config(&opts)?.to_toml());
                return Ok(());
            }
            estimators::run(&opts)?;
        }
        Cmd::Exp {
            exp: Exp::OscillatorDiffusion { which, args },
        } => {
            use physlearn::experiments::oscillator_diffusion as od;
            let print_config = args.print_config;
            let opts = args.options(&format!("runs/oscillator-diffusion-{}", which.name()))?;
            if print_config {
                print!("{}", od::config_toml(which, &opts)?);
                return Ok(());
            }
            od::run(which, &opts)?;
        }
        Cmd::Data {
            cmd: DataCmd::Verify { data_dir, datasets },
        } => {
            let dir = physlearn::data::data_dir(data_dir.as_deref())?;
            println!("data directory: {}", dir.display());
            let report = physlearn::data::verify(&dir, &datasets);
            print!("{report}");
            report.result()?;
        }
        Cmd::Train {
            config,
            sets,
            out,
            resume,
            overwrite,
            seeds,
            data_dir,
            print_config,
        } => {
            use physlearn::report::rundir::Claim;
            use physlearn::train::{TrainConfig, TrainOptions, resume_config, seeds};
            let command = std::env::args().collect::<Vec<_>>().join(" ");
            let text = read_config(config.as_deref())?;
            let (cfg, claim, out) = match resume {
                Some(dir) => {
                    let record = if seeds.is_empty() {
                        dir.join("config.toml")
                    } else {
                        dir.join(seeds::SEED_SET_CONFIG)
                    };
                    let (cfg, changes) = resume_config(&record, text.as_deref(), &sets)?;
                    for c in &changes {
                        eprintln!("resuming with {c}");
                    }
                    (cfg, Claim::Resume, dir)
                }
                None => {
                    let how = if overwrite {
                        Claim::Overwrite
                    } else {
                        Claim::New
                    };
                    (TrainConfig::load(text.as_deref(), &sets)?, how, out)
                }
            };
            if print_config {
                print!("{}", cfg.to_toml());
                return Ok(());
            }
            let data_dir = physlearn::data::data_dir(data_dir.as_deref())?;
            let opts = TrainOptions {
                cfg,
                data_dir,
                out,
                claim,
                command,
                stop: Some(stop_on_signal()?),
                console: Console::stdio(),
            };
            if !seeds.is_empty() {
                physlearn::train::train_seeds(&opts, &seeds)?;
                return Ok(());
            }
            let s = physlearn::train::train(&opts)?;
            println!(
                "test error {:.2}%  train error {:.2}%  ({:.1} s/epoch, {:.0} samples/s)",
                100.0 * s.test_error,
                100.0 * s.train_error,
                s.seconds_per_epoch,
                s.samples_per_second
            );
        }
    }
    Ok(())
}
