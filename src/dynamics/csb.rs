//! Continuous simulated bifurcation (cSB): damped conjugate-momentum dynamics with inelastic
//! walls, the relaxation of the cSB-EqProp paper (`csb-eqprop-ising-machines.txt`,
//! SYSTEMS.md C).
//!
//! The paper's equations were lost in extraction; this follows SYSTEMS.md C and ballistic
//! simulated bifurcation (Goto et al. 2019/2021): each neuron has a position `x` and a
//! conjugate momentum `y`, and one step is
//! `y ← y + Δ (−∂(E + βC)/∂x − γ y) [+ noise]`, `x ← x + Δ y`,
//! after which positions outside the box are set back onto the wall and their momentum is
//! zeroed (the inelastic wall replaces SB's nonlinear potential barrier). The optional noise
//! is the paper's "zero-mean Gaussian noise injected into the dynamics of each neuron": an
//! additive `noise · ξ` on the position at every step. Momenta start at zero in every phase.

use super::langevin::Integrator;
use crate::real::Real;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// cSB step size, damping, budget and neuron noise.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Csb {
    /// Time step Δ.
    pub dt: f64,
    /// Damping γ.
    pub damping: f64,
    /// Steps per phase.
    pub steps: usize,
    /// Standard deviation of the Gaussian noise added to each position per step.
    pub noise: f64,
}

impl Integrator for Csb {
    fn steps(&self) -> usize {
        self.steps
    }

    #[inline]
    fn update<T: Real>(
        &self,
        x: &mut [T],
        f: &[T],
        y: &mut [T],
        rng: &mut Xoshiro256PlusPlus,
        lo: T,
        hi: T,
    ) -> T {
        let (dt, keep) = (T::of(self.dt), T::of(1.0 - self.dt * self.damping));
        let amp = T::of(self.noise);
        let noisy = self.noise > 0.0;
        let mut bad = T::zero();
        for ((xi, yi), &fi) in x.iter_mut().zip(y.iter_mut()).zip(f) {
            let yn = keep * *yi - dt * fi;
            let mut v = *xi + dt * yn;
            if noisy {
                v += amp * T::randn(rng);
            }
            bad += v * T::zero();
            let clipped = v.max(lo).min(hi);
            *yi = if clipped == v { yn } else { T::zero() };
            *xi = clipped;
        }
        bad
    }
}
