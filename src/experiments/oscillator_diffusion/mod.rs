//! Reproduction of "Local Learning Rules for Out-of-Equilibrium Physical Generative Models"
//! (Bösch, Roeder, Serra-Garcia & Adams 2025):
//! `physlearn exp oscillator-diffusion {gmm2d, mnist01}`.
//!
//! - [`gmm2d`]: a 2-oscillator network learns the driving protocol of a score-based
//!   generative model of a 2D mixture of two Gaussians by local force matching (eq. 8), then
//!   samples with the reverse-time SDE (eq. 2 run as the physical dynamics of eq. 6) and,
//!   for comparison, by equilibrium sampling on the static `Ê_θ(0)` (paper Fig. 1).
//! - [`mnist01`]: a 10×10 lattice of oscillators coupled up to next-next-nearest neighbours
//!   learns binarized 10×10 MNIST 0s and 1s, by force matching and by CD1 (eqs. 10–12),
//!   with the sample quality measured by a classifier and nearest-neighbour distances
//!   (paper Fig. 2).
//!
//! Each run writes `summary.json` (measured numbers beside the paper's claims), PNG figures,
//! the samples as `.npy`, the learned protocol as JSON and the run record of
//! [`crate::report::rundir`].

pub mod config;
pub mod gmm2d;
pub mod metrics;
pub mod mnist01;
pub mod plots;
pub mod summary;

pub use config::{Gmm2dConfig, Mnist01Config};
pub use summary::Summary;

use crate::config::Layered;
use crate::dynamics::energetics::{SampleEnergetics, reverse_energetics};
use crate::dynamics::reverse::{
    EquilibriumSampling, ReverseSde, ReverseWorkspace, gaussian_init, reverse_integrate,
    sample_equilibrium,
};
use crate::dynamics::{Diverged, NoiseKey, Workspace};
use crate::energy::Energy;
use crate::energy::oscillator::{LinearEnergy, OscillatorProtocol};
use crate::real::Real;
use crate::report::console::Console;
use crate::train::protocol::{ProtocolTrainConfig, TrainedProtocol, train_protocol};
use indicatif::ProgressBar;

pub use super::ExpOptions as Options;

/// A progress bar of `len` steps labelled `msg` on `console` (hidden when it shows no
/// progress or stderr is not a terminal).
pub fn bar(console: &Console, len: u64, msg: &str) -> ProgressBar {
    console.labelled_bar(len, msg)
}

/// [`train_protocol`] with a progress bar over all optimizer steps.
pub fn train_with_progress<T: Real, E: LinearEnergy<T>>(
    energy: &mut E,
    data: &[T],
    cfg: &ProtocolTrainConfig,
    key: NoiseKey,
    label: &str,
    console: &Console,
) -> anyhow::Result<TrainedProtocol> {
    let first = cfg.first_steps.unwrap_or(cfg.steps);
    let total = first + (cfg.times.len() - 1) * cfg.steps;
    let pb = bar(console, total as u64, label);
    let mut obs = |k: usize, _s: usize, _th: &[f64], _g: &[f64]| {
        pb.inc(1);
        if _s == 0 {
            pb.set_message(format!("{label}: t = {:.3}", cfg.times[k]));
        }
    };
    let out = train_protocol(energy, data, cfg, key, Some(&mut obs));
    pb.finish_and_clear();
    out
}

/// One run of the reverse-time sampler with a progress bar: the protocol, how many samples,
/// the SDE, the key (starts from `key.child(0)`, integration noise from `key.child(1)`, as
/// [`crate::dynamics::reverse::sample_reverse`]) and the bar's label.
pub struct ReverseRun<'a> {
    /// The learned protocol.
    pub protocol: &'a OscillatorProtocol,
    /// Samples.
    pub n: usize,
    /// Step and temperature.
    pub sde: &'a ReverseSde,
    /// Noise key.
    pub key: NoiseKey,
    /// Progress-bar label.
    pub label: &'a str,
    /// Where the bar goes.
    pub console: &'a Console,
}

impl ReverseRun<'_> {
    /// The `N(0, k_BT)` starts and a bar over the integration steps.
    fn start<T: Real>(&self, d: usize) -> (Vec<T>, ProgressBar) {
        let mut x = vec![T::zero(); self.n * d];
        gaussian_init(&mut x, d, self.sde.temperature, self.key.child(0));
        let (steps, _) = self.sde.steps(self.protocol.tau());
        (x, bar(self.console, steps as u64, self.label))
    }
}

/// `run.n` samples of the reverse-time SDE (exactly
/// [`crate::dynamics::reverse::sample_reverse`]), with a progress bar over the steps.
pub fn sample_reverse_with_progress<T: Real, E: Energy<T> + ?Sized>(
    energy: &mut E,
    run: &ReverseRun<'_>,
) -> Result<Vec<T>, Diverged> {
    let (mut x, pb) = run.start(energy.dim());
    let mut obs = |_k: usize, _x: &[T], _e: &E| pb.inc(1);
    let r = reverse_integrate(
        energy,
        run.protocol,
        &mut x,
        run.sde,
        run.key.child(1),
        &mut ReverseWorkspace::new(),
        Some(&mut obs),
    );
    pb.finish_and_clear();
    r.map(|()| x)
}

/// The work the backwards protocol does on the samples of [`sample_reverse_with_progress`]
/// with the same run (with fewer samples, exactly the first ones when `run.n` is a multiple
/// of the 64-sample noise chunk), and their heat
/// ([`crate::dynamics::energetics::reverse_energetics`]), with a progress bar.
pub fn reverse_work_with_progress<T: Real, E: Energy<T>>(
    energy: &mut E,
    run: &ReverseRun<'_>,
) -> Result<SampleEnergetics, Diverged> {
    let (mut x, pb) = run.start(energy.dim());
    let mut tick = |_k: usize| pb.inc(1);
    let en = reverse_energetics(
        energy,
        run.protocol,
        &mut x,
        run.sde,
        run.key.child(1),
        &mut ReverseWorkspace::new(),
        Some(&mut tick),
    );
    pb.finish_and_clear();
    Ok(SampleEnergetics::of(&en?, run.sde.temperature))
}

/// The equilibrium-sampling baseline ([`crate::dynamics::reverse::sample_equilibrium`]:
/// `chains` Langevin chains on the static energy from `N(0, k_BT)`, recorded every
/// `interval`, `per_chain` times), with a progress bar over the records.
pub fn sample_equilibrium_with_progress<T: Real, E: Energy<T> + ?Sized>(
    energy: &E,
    plan: &EquilibriumSampling,
    key: NoiseKey,
    label: &str,
    console: &Console,
) -> Result<Vec<T>, Diverged> {
    let pb = bar(console, plan.per_chain as u64, label);
    let mut tick = |_r: usize| pb.inc(1);
    let out = sample_equilibrium(energy, plan, key, &mut Workspace::new(), Some(&mut tick));
    pb.finish_and_clear();
    out
}

/// Which reproduction to run (`physlearn exp oscillator-diffusion WHICH`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// 2-oscillator network, 2D mixture of two Gaussians (Fig. 1).
    Gmm2d,
    /// 10×10 oscillator lattice, binarized MNIST 0s and 1s (Fig. 2).
    Mnist01,
}

impl Which {
    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Which::Gmm2d => "gmm2d",
            Which::Mnist01 => "mnist01",
        }
    }
}

/// The resolved configuration of `which` as TOML (`--print-config`).
pub fn config_toml(which: Which, opts: &Options) -> anyhow::Result<String> {
    Ok(match which {
        Which::Gmm2d => gmm2d::resolve_config(opts)?.to_toml(),
        Which::Mnist01 => mnist01::resolve_config(opts)?.to_toml(),
    })
}

/// Runs `which`; returns the summary written to `summary.json`.
pub fn run(which: Which, opts: &Options) -> anyhow::Result<Summary> {
    Ok(match which {
        Which::Gmm2d => Summary::Gmm2d(Box::new(gmm2d::run(opts)?)),
        Which::Mnist01 => Summary::Mnist01(Box::new(mnist01::run(opts)?)),
    })
}
