//! A relaxation phase as one value ([`Phase`]: what is clamped and held, the nudge, the noise
//! stream, the name) and what relaxing it measured ([`Relaxed`]), so that `relax` takes a
//! phase description instead of a list of positional arguments.

use super::{NoiseKey, Nudge};
use crate::real::Real;

/// One relaxation phase, apart from its integrator (step size, budget, temperature).
#[derive(Clone, Copy)]
pub struct Phase<'a, T: Real> {
    /// Length of the clamped input prefix `0..nc` (other blocks are held by the nudge's
    /// [`super::Hold`]).
    pub nc: usize,
    /// `β C` added to the energy and the held block, if any (`None`: the free phase).
    pub nudge: Option<Nudge<'a, T>>,
    /// The phase's noise stream.
    pub key: NoiseKey,
    /// The name a [`super::Diverged`] error names the phase by.
    pub name: &'a str,
}

impl<'a, T: Real> Phase<'a, T> {
    /// The free phase `name` with the prefix `0..nc` clamped, noise keyed by `key`.
    pub fn free(name: &'a str, nc: usize, key: NoiseKey) -> Self {
        Self {
            nc,
            nudge: None,
            key,
            name,
        }
    }
}

/// What a relaxation measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Relaxed {
    /// Steps taken.
    pub steps: usize,
}
