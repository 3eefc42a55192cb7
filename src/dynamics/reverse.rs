//! Sampling from a learned physical diffusion model (Bösch et al. 2025).
//!
//! **Reverse-time SDE** (paper eq. 2 with the score `∇ log p_t ≈ −∇Ê_θ(t)/k_BT`, run as the
//! physical Langevin dynamics of eq. 6 with total force `−2∇Ê + x`):
//! `dx = (−2∇Ê_{θ(τ−s)}(x) + x) ds + sqrt(2 k_BT) dw`, `s ∈ [0, τ]`, started from the
//! stationary law `N(0, k_BT I)` of the forward process; the protocol `θ(·)` is played
//! backwards. Euler–Maruyama with `K = round(τ/dt)` steps of `h = τ/K`, the drift of step `k`
//! evaluated at the left end `s_k = k h` (so the last step uses `θ(h)`, never `θ(0)` itself).
//!
//! **Equilibrium-sampling baseline (ES)**: overdamped Langevin on the static `Ê_{θ(0)}`,
//! whose stationary law is `exp(−Ê_{θ(0)}/k_BT)`, for a time `τ × S` (the paper records one
//! chain for `τ × S` to compare with `S` reverse samples); [`sample_equilibrium`] records
//! each chain every `interval` (= τ) of simulated time.
//!
//! Noise is keyed like [`super::relax`]: chunk `c` of [`CHUNK`] samples at step `k` draws
//! from `key.rng(k, c)`; results do not depend on the number of threads.

use super::Phase;
use super::langevin::{CHUNK, Langevin, Workspace, relax};
use super::{Diverged, NoiseKey};
use crate::energy::Energy;
use crate::energy::oscillator::OscillatorProtocol;
use crate::real::Real;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

type ChunkItem<'a, T> = (usize, ((&'a mut [T], &'a mut [T]), &'a mut [T]));

/// A per-step callback of [`reverse_integrate`]: `(k, x after step k, the energy at the
/// parameters step k used)`.
pub type ReverseObserver<'a, T, E> = &'a mut dyn FnMut(usize, &[T], &E);

/// Step size and temperature of the reverse-time sampler.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReverseSde {
    /// Euler–Maruyama step (rounded so that a whole number of steps spans `τ`).
    pub dt: f64,
    /// `k_BT` (the temperature the protocol was trained at).
    pub temperature: f64,
}

impl ReverseSde {
    /// Number of steps and the step length for a protocol of duration `tau`.
    pub fn steps(&self, tau: f64) -> (usize, f64) {
        let k = ((tau / self.dt).round() as usize).max(1);
        (k, tau / k as f64)
    }
}

/// Scratch buffers of the reverse sampler (reused across calls).
#[derive(Default)]
pub struct ReverseWorkspace<T> {
    drive: Vec<T>,
    force: Vec<T>,
    theta: Vec<T>,
}

impl<T: Real> ReverseWorkspace<T> {
    /// An empty workspace (grows on first use).
    pub fn new() -> Self {
        Self {
            drive: Vec::new(),
            force: Vec::new(),
            theta: Vec::new(),
        }
    }
}

/// Fills `x` (sample-major, dimension `d`) with `N(0, k_BT)` draws, chunk `c` from
/// `key.rng(0, c)`.
pub fn gaussian_init<T: Real>(x: &mut [T], d: usize, kt: f64, key: NoiseKey) {
    let s = T::of(kt.sqrt());
    let fill = |(ci, xc): (usize, &mut [T])| {
        let mut rng = key.rng(0, ci as u64);
        for v in xc.iter_mut() {
            *v = s * T::randn(&mut rng);
        }
    };
    if x.len() > CHUNK * d {
        x.par_chunks_mut(CHUNK * d).enumerate().for_each(fill);
    } else {
        x.chunks_mut(CHUNK * d).enumerate().for_each(fill);
    }
}

/// Integrates the reverse-time SDE for `s ∈ [0, τ]` from the states in `x` (sample-major),
/// setting the energy's parameters to `θ(τ − s_k)` before every step and restoring the
/// original parameters at the end. `observe(k, x, energy)` is called after step `k` (from 1),
/// with the energy still at the parameters that step used.
/// Returns [`Diverged`] (phase `"reverse"`) at the first NaN/Inf coordinate, or with phase
/// `"reverse: invalid protocol …"` if the energy rejects an interpolated θ.
pub fn reverse_integrate<T: Real, E: Energy<T> + ?Sized>(
    energy: &mut E,
    protocol: &OscillatorProtocol,
    x: &mut [T],
    cfg: &ReverseSde,
    key: NoiseKey,
    ws: &mut ReverseWorkspace<T>,
    mut observe: Option<ReverseObserver<'_, T, E>>,
) -> Result<(), Diverged> {
    let d = energy.dim();
    let n = x.len() / d;
    let np = energy.n_params();
    let saved: Vec<T> = energy.params().to_vec();
    ws.drive.resize(n * d, T::zero());
    ws.force.resize(n * d, T::zero());
    ws.theta.resize(np, T::zero());
    let tau = protocol.tau();
    let (k_steps, h) = cfg.steps(tau);
    let (ht, amp) = (T::of(h), T::of((2.0 * h * cfg.temperature).sqrt()));
    let two = T::of(2.0);
    let nchunks = n.div_ceil(CHUNK);
    let mut result = Ok(());
    for k in 0..k_steps {
        protocol.at_into(tau - k as f64 * h, &mut ws.theta);
        if let Err(e) = energy.set_params(&ws.theta) {
            result = Err(Diverged {
                phase: format!("reverse: invalid protocol parameters ({e})"),
                step: k + 1,
                sample: 0,
            });
            break;
        }
        let en = &*energy;
        let chunk_step = |(ci, ((xc, fc), dc)): ChunkItem<'_, T>| {
            en.clamped_drive(xc, 0, dc);
            en.grad_free(xc, 0, dc, fc);
            let mut rng = key.rng(k as u64, ci as u64);
            let mut bad = T::zero();
            for (xv, &f) in xc.iter_mut().zip(fc.iter()) {
                let v = *xv + ht * (*xv - two * f) + amp * T::randn(&mut rng);
                bad += v * T::zero();
                *xv = v;
            }
            if bad.is_nan() {
                let first = xc
                    .chunks_exact(d)
                    .position(|s| s.iter().any(|v| !v.is_finite()));
                Some(ci * CHUNK + first.unwrap_or(0))
            } else {
                None
            }
        };
        let bad = if nchunks > 1 {
            x.par_chunks_mut(CHUNK * d)
                .zip(ws.force.par_chunks_mut(CHUNK * d))
                .zip(ws.drive.par_chunks_mut(CHUNK * d))
                .enumerate()
                .filter_map(chunk_step)
                .min()
        } else {
            x.chunks_mut(CHUNK * d)
                .zip(ws.force.chunks_mut(CHUNK * d))
                .zip(ws.drive.chunks_mut(CHUNK * d))
                .enumerate()
                .filter_map(chunk_step)
                .min()
        };
        if let Some(sample) = bad {
            result = Err(Diverged {
                phase: "reverse".into(),
                step: k + 1,
                sample,
            });
            break;
        }
        if let Some(obs) = observe.as_mut() {
            obs(k + 1, x, &*energy);
        }
    }
    energy
        .set_params(&saved)
        .expect("restoring parameters the energy accepted before");
    result
}

/// `n` samples of the learned model: `N(0, k_BT)` starts (key `key.child(0)`) integrated by
/// [`reverse_integrate`] (key `key.child(1)`). Sample-major, `n × D`.
pub fn sample_reverse<T: Real, E: Energy<T> + ?Sized>(
    energy: &mut E,
    protocol: &OscillatorProtocol,
    n: usize,
    cfg: &ReverseSde,
    key: NoiseKey,
    ws: &mut ReverseWorkspace<T>,
) -> Result<Vec<T>, Diverged> {
    let d = energy.dim();
    let mut x = vec![T::zero(); n * d];
    gaussian_init(&mut x, d, cfg.temperature, key.child(0));
    reverse_integrate(energy, protocol, &mut x, cfg, key.child(1), ws, None)?;
    Ok(x)
}

/// The equilibrium-sampling baseline's settings: `chains` independent Langevin chains, each
/// recorded every `interval` of simulated time at step `dt` and temperature `k_BT`,
/// `per_chain` times.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EquilibriumSampling {
    /// Independent chains.
    pub chains: usize,
    /// Records per chain.
    pub per_chain: usize,
    /// Simulated time between records.
    pub interval: f64,
    /// Langevin step.
    pub dt: f64,
    /// Temperature `k_BT`.
    pub temperature: f64,
}

/// The equilibrium-sampling baseline: `plan.chains` independent Langevin chains on the static
/// energy (set it to `θ(0)` first), each started from `N(0, k_BT)` (key `key.child(0)`) and
/// recorded every `interval` of simulated time (`round(interval/dt)` steps of [`Langevin`]
/// with key `key.child(1 + r)` for record `r`), `per_chain` times. Returns
/// `per_chain × chains` samples, sample-major, record-major (`[r · chains + c]`). The paper's
/// setting is one chain, `per_chain = S`, `interval = τ`. `on_record(r)` is called after
/// each record (e.g. to tick a progress bar).
pub fn sample_equilibrium<T: Real, E: Energy<T> + ?Sized>(
    energy: &E,
    plan: &EquilibriumSampling,
    key: NoiseKey,
    ws: &mut Workspace<T>,
    mut on_record: Option<&mut dyn FnMut(usize)>,
) -> Result<Vec<T>, Diverged> {
    let EquilibriumSampling {
        chains,
        per_chain,
        interval,
        dt,
        temperature,
    } = *plan;
    let d = energy.dim();
    let mut x = vec![T::zero(); chains * d];
    gaussian_init(&mut x, d, temperature, key.child(0));
    let lang = Langevin {
        dt,
        steps: ((interval / dt).round() as usize).max(1),
        temperature,
    };
    let mut out = Vec::with_capacity(per_chain * chains * d);
    for r in 0..per_chain {
        relax(
            energy,
            &mut x,
            &lang,
            &Phase::free("equilibrium", 0, key.child(1 + r as u64)),
            ws,
            None,
        )?;
        out.extend_from_slice(&x);
        if let Some(f) = on_record.as_mut() {
            f(r);
        }
    }
    Ok(out)
}
