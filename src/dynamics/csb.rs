//! Continuous simulated bifurcation (cSB): damped conjugate-momentum dynamics with inelastic
//! walls, the relaxation of the cSB-EqProp paper (Fan et al.,
//! arXiv 2606.09112).
//!
//! The paper's equations were lost in extraction; this follows the paper's prose and ballistic
//! simulated bifurcation (Goto et al. 2019/2021): each neuron has a position `x` and a
//! conjugate momentum `y`, and one step is
//! `y ← y + Δ (−∂(E + βC)/∂x − γ y) [+ noise]`, `x ← x + Δ y`,
//! after which positions outside the box are set back onto the wall and their momentum is
//! zeroed (the inelastic wall replaces SB's nonlinear potential barrier). The optional noise
//! is the paper's "zero-mean Gaussian noise injected into the dynamics of each neuron": an
//! additive `noise · ξ` on the position at every step. Momenta start at zero in every phase.

use super::langevin::Integrator;
use crate::real::Real;
use crate::real::clip;
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

impl Csb {
    /// Checks the values: `dt` finite and > 0, `steps` ≥ 1, `damping` and `noise` finite and
    /// ≥ 0; `key` names the table in messages (e.g. `training.free`).
    pub fn check(&self, key: &str) -> anyhow::Result<()> {
        use crate::config::check;
        check::positive(&format!("{key}.dt"), self.dt)?;
        check::at_least_one(&format!("{key}.steps"), self.steps)?;
        check::non_negative(&format!("{key}.damping"), self.damping)?;
        check::non_negative(&format!("{key}.noise"), self.noise)
    }
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
        if self.noise > 0.0 {
            // Draw the sample's Gaussians in one pass, then the fused update (as Langevin).
            T::with_scratch(x.len(), |xi| {
                for v in xi.iter_mut() {
                    *v = T::randn(rng);
                }
                let c = Coeffs {
                    dt,
                    keep,
                    amp: T::of(self.noise),
                    lo,
                    hi,
                };
                csb_update(x, f, y, xi, c)
            })
        } else {
            let c = Coeffs {
                dt,
                keep,
                amp: T::zero(),
                lo,
                hi,
            };
            csb_update(x, f, y, &[], c)
        }
    }
}

/// The scalars of one cSB step: `Δ`, `keep = 1 − Δγ`, the noise amplitude and the box.
#[derive(Clone, Copy)]
struct Coeffs<T> {
    dt: T,
    keep: T,
    amp: T,
    lo: T,
    hi: T,
}

/// One cSB step over a sample: `y ← (1 − Δγ) y − Δ f`, `x ← clip(x + Δ y + amp ξ)`, `y ← 0`
/// where clipped; returns the NaN detector accumulated over independent lanes so the loop
/// vectorises.
#[inline(always)]
fn csb_update<T: Real>(x: &mut [T], f: &[T], y: &mut [T], noise: &[T], c: Coeffs<T>) -> T {
    let Coeffs {
        dt,
        keep,
        amp,
        lo,
        hi,
    } = c;
    const L: usize = 8;
    let mut acc = [T::zero(); L];
    let n = x.len();
    let step = |xi: &mut T, yi: &mut T, fi: T, ni: T, a: &mut T| {
        let yn = keep * *yi - dt * fi;
        let v = *xi + dt * yn + amp * ni;
        *a += v * T::zero();
        let c = clip(v, lo, hi);
        *yi = if c == v { yn } else { T::zero() };
        *xi = c;
    };
    let body = n - n % L;
    let zeros = [T::zero(); L];
    {
        let (xb, xr) = x.split_at_mut(body);
        let (yb, yr) = y.split_at_mut(body);
        let (fb, fr) = f.split_at(body);
        let chunks = xb
            .chunks_exact_mut(L)
            .zip(yb.chunks_exact_mut(L))
            .zip(fb.chunks_exact(L))
            .enumerate();
        for (c, ((xc, yc), fc)) in chunks {
            let nc = if noise.is_empty() {
                &zeros
            } else {
                &noise[c * L..c * L + L]
            };
            for j in 0..L {
                step(&mut xc[j], &mut yc[j], fc[j], nc[j], &mut acc[j]);
            }
        }
        for (k, ((xi, yi), &fi)) in xr.iter_mut().zip(yr.iter_mut()).zip(fr).enumerate() {
            let ni = if noise.is_empty() {
                T::zero()
            } else {
                noise[body + k]
            };
            step(xi, yi, fi, ni, &mut acc[0]);
        }
    }
    acc.iter().fold(T::zero(), |s, &a| s + a)
}
