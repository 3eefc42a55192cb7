//! Dynamics that relax a substrate: gradient flow, overdamped Langevin (Euler–Maruyama),
//! continuous simulated bifurcation, and Newton solves to the exact equilibrium, with a
//! clamped prefix and an optional nudge `β C`.

pub mod csb;
pub mod energetics;
pub mod langevin;
pub mod newton;
pub mod noise;
pub mod phase;
pub mod reverse;
pub mod sequence;

pub use csb::Csb;
pub use energetics::{Energetics, Potential};
pub use langevin::{Integrator, Langevin, Observer, Workspace, relax};
pub use newton::{NewtonOptions, relax_to_equilibrium};
pub use noise::NoiseKey;
pub use phase::{Phase, Relaxed};

use crate::energy::cost::Cost;
use crate::real::Real;

/// What a phase adds to the free dynamics: the dynamics relax `E + β C` instead of `E` (β may
/// be negative), and optionally hold a block of coordinates at given values.
#[derive(Clone, Copy)]
pub struct Nudge<'a, T: Real> {
    /// The cost attached to the output block.
    pub cost: &'a dyn Cost<T>,
    /// Signed nudge strength β.
    pub beta: T,
    /// Coordinates held fixed during the phase besides the clamped prefix (the clamped
    /// output of contrastive and coupled learning), if any.
    pub hold: Option<Hold<'a, T>>,
}

impl<'a, T: Real> Nudge<'a, T> {
    /// The nudge `β C` with nothing held.
    pub fn new(cost: &'a dyn Cost<T>, beta: T) -> Self {
        Self {
            cost,
            beta,
            hold: None,
        }
    }
}

/// A block of coordinates `start..start + len` of every sample held at `values`
/// (sample-major, `B × len`): the dynamics set them before the first step and after every
/// step, so the other free coordinates relax with these fixed. Clamping by an index range
/// anywhere in the state, not only the prefix.
#[derive(Clone, Copy, Debug)]
pub struct Hold<'a, T> {
    /// First held coordinate of a sample.
    pub start: usize,
    /// Number of held coordinates per sample.
    pub len: usize,
    /// The held values, `B × len`.
    pub values: &'a [T],
}

impl<T: Real> Hold<'_, T> {
    /// Writes the held values into the samples `sample0..` of `x` (rows of `d`).
    pub fn apply(&self, x: &mut [T], d: usize, sample0: usize) {
        let len = self.len;
        for (b, xs) in x.chunks_exact_mut(d).enumerate() {
            let v = &self.values[(sample0 + b) * len..(sample0 + b + 1) * len];
            xs[self.start..self.start + len].copy_from_slice(v);
        }
    }

    /// The held coordinate range.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start..self.start + self.len
    }
}

/// Dynamics stopped because a state became NaN or infinite.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "dynamics diverged in phase '{phase}' at step {step}: sample {sample} has a NaN/Inf coordinate (reduce dt, the temperature or the couplings)"
)]
pub struct Diverged {
    /// Phase name (e.g. "free", "nudged(+β)").
    pub phase: String,
    /// Step index at which the non-finite value appeared.
    pub step: usize,
    /// First offending sample.
    pub sample: usize,
}

/// The relaxation dynamics of a phase: overdamped Langevin / gradient flow or cSB.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Relaxation {
    /// Euler–Maruyama / gradient flow.
    Langevin(Langevin),
    /// Continuous simulated bifurcation.
    Csb(Csb),
}

impl Relaxation {
    /// Checks the values (see [`Langevin::check`], [`Csb::check`]); `key` names the table.
    pub fn check(&self, key: &str) -> anyhow::Result<()> {
        match self {
            Relaxation::Langevin(l) => l.check(key),
            Relaxation::Csb(c) => c.check(key),
        }
    }

    /// Whether the phase draws noise (Langevin at a temperature > 0, cSB with neuron noise).
    pub fn is_noisy(&self) -> bool {
        match self {
            Relaxation::Langevin(l) => l.temperature > 0.0,
            Relaxation::Csb(c) => c.noise > 0.0,
        }
    }
}

impl From<Langevin> for Relaxation {
    fn from(l: Langevin) -> Self {
        Relaxation::Langevin(l)
    }
}

impl From<Csb> for Relaxation {
    fn from(c: Csb) -> Self {
        Relaxation::Csb(c)
    }
}

impl Integrator for Relaxation {
    fn steps(&self) -> usize {
        match self {
            Relaxation::Langevin(l) => l.steps(),
            Relaxation::Csb(c) => c.steps(),
        }
    }

    fn flow_dt(&self) -> Option<f64> {
        match self {
            Relaxation::Langevin(l) => l.flow_dt(),
            Relaxation::Csb(c) => c.flow_dt(),
        }
    }

    #[inline]
    fn update<T: Real>(
        &self,
        x: &mut [T],
        f: &[T],
        aux: &mut [T],
        rng: &mut rand_xoshiro::Xoshiro256PlusPlus,
        lo: T,
        hi: T,
    ) -> T {
        match self {
            Relaxation::Langevin(l) => l.update(x, f, aux, rng, lo, hi),
            Relaxation::Csb(c) => c.update(x, f, aux, rng, lo, hi),
        }
    }
}
