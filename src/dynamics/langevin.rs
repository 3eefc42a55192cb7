//! Overdamped Langevin dynamics (Euler–Maruyama) and its zero-temperature limit, gradient flow.
//!
//! `x_{free} ← x_{free} − dt (∇E(x) + β ∇C(x)) + sqrt(2 dt k_BT) ξ`, `ξ ~ N(0, I)`
//! (the SDE `dx = −∇E dt + sqrt(2/β_phys) dW` of the symmetric-EqProp paper (arXiv 2604.23806) with `k_BT = 1/β_phys`).
//! The clamped prefix never moves; its drive on the free cells is computed once per phase.
//! Substrates with [`Energy::bounds`] are projected onto their box after each step.
//! The batch is cut into chunks of [`CHUNK`] samples, each processed in one fused pass (GEMM,
//! nudge, update, noise, finiteness check) with its own keyed random stream.

use super::{Diverged, NoiseKey, Nudge, Phase, Relaxed};
use crate::energy::Energy;
use crate::real::{Real, clip};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A per-step callback `(step, batch)`.
pub type Observer<'a, T> = &'a mut dyn FnMut(usize, &[T]);

type ChunkItem<'a, T> = (usize, (((&'a mut [T], &'a mut [T]), &'a [T]), &'a mut [T]));

/// Samples per chunk: the unit of parallel work and of random-stream keying.
pub const CHUNK: usize = 64;

/// Step size, step budget and temperature of a relaxation.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Langevin {
    /// Euler–Maruyama step `dt`.
    pub dt: f64,
    /// Number of steps `K`.
    pub steps: usize,
    /// `k_B T = 1/β_phys`; 0 is deterministic gradient flow.
    pub temperature: f64,
}

impl Langevin {
    /// Checks the values: `dt` finite and > 0, `steps` ≥ 1, `temperature` finite and ≥ 0;
    /// `key` names the table in messages (e.g. `training.free`).
    pub fn check(&self, key: &str) -> anyhow::Result<()> {
        use crate::config::check;
        check::positive(&format!("{key}.dt"), self.dt)?;
        check::at_least_one(&format!("{key}.steps"), self.steps)?;
        check::non_negative(&format!("{key}.temperature"), self.temperature)
    }
}

/// Scratch buffers reused across steps and phases (no allocation per step).
#[derive(Default)]
pub struct Workspace<T> {
    pub(crate) drive: Vec<T>,
    pub(crate) force: Vec<T>,
    pub(crate) aux: Vec<T>,
    /// The drive was computed by [`Workspace::pin_drive`] and is reused by every relaxation
    /// until [`Workspace::unpin_drive`].
    pub(crate) pinned: bool,
    /// Readout accumulator for learning rules (reused across calls).
    pub readout: Vec<T>,
    /// A spent f64 gradient handed back by [`Workspace::recycle`], whose allocation the next
    /// gradient reuses.
    pub(crate) spare: Vec<f64>,
    /// Spent state buffers handed back by [`Workspace::recycle_state`] (or kept by a rule
    /// between calls), reused by the next relaxation's phases.
    pub(crate) states: Vec<Vec<T>>,
    /// Per-chunk partial sums of the score rules' batch gradients.
    pub(crate) partial: Vec<T>,
}

impl<T: Real> Workspace<T> {
    /// An empty workspace (buffers grow on first use).
    pub fn new() -> Self {
        Self {
            drive: Vec::new(),
            force: Vec::new(),
            aux: Vec::new(),
            pinned: false,
            readout: Vec::new(),
            spare: Vec::new(),
            states: Vec::new(),
            partial: Vec::new(),
        }
    }

    /// Hands back a state buffer the caller is done with (e.g. a rule's free state), so that
    /// a later phase reuses its allocation.
    pub fn recycle_state(&mut self, state: Vec<T>) {
        if state.capacity() > 0 && self.states.len() < 8 {
            self.states.push(state);
        }
    }

    /// A state buffer holding a copy of `x`, from the recycled ones when there is one.
    pub(crate) fn state_from(&mut self, x: &[T]) -> Vec<T> {
        let mut v = self.states.pop().unwrap_or_default();
        v.clear();
        v.extend_from_slice(x);
        v
    }

    /// A state buffer of length `len` (contents unspecified), recycled when possible.
    pub(crate) fn state_buffer(&mut self, len: usize) -> Vec<T> {
        let mut v = self.states.pop().unwrap_or_default();
        v.resize(len, T::zero());
        v
    }

    /// Hands back a gradient the caller is done with (e.g. [`crate::learn::EqPropOutput`]'s),
    /// so that the next one reuses its allocation instead of faulting in fresh pages.
    pub fn recycle(&mut self, grad: Vec<f64>) {
        self.spare = grad;
    }

    /// Computes the clamped drive of `x`'s prefix `0..nc` once and keeps it for every
    /// following relaxation of a batch with the same clamped prefix (e.g. the free and nudged
    /// phases of one EqProp step), until [`Workspace::unpin_drive`].
    pub fn pin_drive<E: Energy<T> + ?Sized>(&mut self, energy: &E, x: &[T], nc: usize) {
        let d = energy.dim();
        self.drive.resize(x.len() / d * (d - nc), T::zero());
        energy.clamped_drive(x, nc, &mut self.drive);
        self.pinned = true;
    }

    /// Forgets the pinned drive: the next relaxation computes its own.
    pub fn unpin_drive(&mut self) {
        self.pinned = false;
    }

    /// Sizes the buffers for `n` samples of `nf` free coordinates (the integrator state
    /// zeroed) and returns whether the drive is pinned (checking its shape) — otherwise the
    /// caller computes it into `self.drive`.
    pub(crate) fn prepare(&mut self, n: usize, nf: usize) -> bool {
        self.force.resize(n * nf, T::zero());
        self.aux.clear();
        self.aux.resize(n * nf, T::zero());
        if self.pinned {
            assert_eq!(
                self.drive.len(),
                n * nf,
                "the pinned drive was computed for another batch shape"
            );
        } else {
            self.drive.resize(n * nf, T::zero());
        }
        self.pinned
    }

    /// The current clamped drive (`B × (D − nc)`), valid after a relaxation or a pin.
    pub fn drive(&self) -> &[T] {
        &self.drive
    }
}

/// An explicit integrator of `ẋ = −∇(E + βC)` and friends, applied sample by sample to the
/// free coordinates. The shared driver ([`relax`]) handles clamping, the once-per-phase
/// drive, nudging, chunking, random-stream keying and NaN detection.
pub trait Integrator: Sync {
    /// Number of steps per phase.
    fn steps(&self) -> usize;
    /// `Some(dt)` when a step is exactly projected gradient flow, `x ← clip(x − dt f)` (no
    /// noise, no integrator state), so a substrate may fuse it into its force pass
    /// ([`crate::energy::FastPaths::grad_free_flow`]); `None` (the default) otherwise.
    fn flow_dt(&self) -> Option<f64> {
        None
    }
    /// Updates one sample's free coordinates `x` given the force `f = ∂(E + βC)/∂x` and the
    /// integrator's auxiliary state `aux` (same length, zero at the start of a phase, e.g. a
    /// momentum), projecting onto `[lo, hi]`. Returns `Σ v · 0` over the unprojected new
    /// values `v`, which is NaN exactly when one of them is not finite.
    fn update<T: Real>(
        &self,
        x: &mut [T],
        f: &[T],
        aux: &mut [T],
        rng: &mut Xoshiro256PlusPlus,
        lo: T,
        hi: T,
    ) -> T;
}

impl Integrator for Langevin {
    fn steps(&self) -> usize {
        self.steps
    }
    fn flow_dt(&self) -> Option<f64> {
        (self.temperature == 0.0).then_some(self.dt)
    }
    #[inline]
    fn update<T: Real>(
        &self,
        x: &mut [T],
        f: &[T],
        aux: &mut [T],
        rng: &mut Xoshiro256PlusPlus,
        lo: T,
        hi: T,
    ) -> T {
        let dt = T::of(self.dt);
        if self.temperature > 0.0 {
            // Draw the sample's Gaussians in one tight pass, then a branch-free fused update
            // the compiler can vectorise (the draws dominate the cost of a step).
            for a in aux.iter_mut() {
                *a = T::randn(rng);
            }
            let amp = T::of((2.0 * self.dt * self.temperature).sqrt());
            fused_update(x, f, aux, dt, amp, lo, hi)
        } else {
            fused_update(x, f, &[], dt, T::zero(), lo, hi)
        }
    }
}

/// `x ← clip(x − dt f + amp ξ, lo, hi)` with `ξ = noise` (empty: no noise), returning the
/// NaN detector `Σ v · 0` accumulated over 8 independent lanes so the loop vectorises.
#[inline(always)]
fn fused_update<T: Real>(x: &mut [T], f: &[T], noise: &[T], dt: T, amp: T, lo: T, hi: T) -> T {
    const L: usize = 8;
    let mut acc = [T::zero(); L];
    // The remainder has its own detector: folding it into lane 0 made LLVM split the lanes
    // unevenly and half-vectorise the main loop.
    let mut tail = T::zero();
    let n = x.len();
    let body = n - n % L;
    let (xb, xr) = x.split_at_mut(body);
    let (fb, fr) = f.split_at(body);
    if noise.is_empty() {
        for (xc, fc) in xb.chunks_exact_mut(L).zip(fb.chunks_exact(L)) {
            let (xa, fa): ([T; L], [T; L]) = (xc.try_into().unwrap(), fc.try_into().unwrap());
            let mut o = [T::zero(); L];
            for j in 0..L {
                let v = xa[j] - dt * fa[j];
                acc[j] += v * T::zero();
                o[j] = clip(v, lo, hi);
            }
            xc.copy_from_slice(&o);
        }
        for (xi, &fi) in xr.iter_mut().zip(fr) {
            let v = *xi - dt * fi;
            tail += v * T::zero();
            *xi = clip(v, lo, hi);
        }
    } else {
        let (nb, nr) = noise.split_at(body);
        for ((xc, fc), nc) in xb
            .chunks_exact_mut(L)
            .zip(fb.chunks_exact(L))
            .zip(nb.chunks_exact(L))
        {
            let (xa, fa, na): ([T; L], [T; L], [T; L]) = (
                xc.try_into().unwrap(),
                fc.try_into().unwrap(),
                nc.try_into().unwrap(),
            );
            let mut o = [T::zero(); L];
            for j in 0..L {
                let v = xa[j] - dt * fa[j] + amp * na[j];
                acc[j] += v * T::zero();
                o[j] = clip(v, lo, hi);
            }
            xc.copy_from_slice(&o);
        }
        for ((xi, &fi), &ni) in xr.iter_mut().zip(fr).zip(nr) {
            let v = *xi - dt * fi + amp * ni;
            tail += v * T::zero();
            *xi = clip(v, lo, hi);
        }
    }
    acc.iter().fold(tail, |s, &a| s + a)
}

/// Applies `f` to every chunk (in parallel when `parallel`) and returns the smallest result.
fn over_chunks<T: Real, R: Ord + Send>(
    x: &mut [T],
    ws: &mut Workspace<T>,
    d: usize,
    nf: usize,
    parallel: bool,
    f: impl Fn(ChunkItem<'_, T>) -> Option<R> + Sync + Send,
) -> Option<R> {
    if parallel {
        x.par_chunks_mut(CHUNK * d)
            .zip(ws.force.par_chunks_mut(CHUNK * nf))
            .zip(ws.drive.par_chunks(CHUNK * nf))
            .zip(ws.aux.par_chunks_mut(CHUNK * nf))
            .enumerate()
            .filter_map(f)
            .min()
    } else {
        x.chunks_mut(CHUNK * d)
            .zip(ws.force.chunks_mut(CHUNK * nf))
            .zip(ws.drive.chunks(CHUNK * nf))
            .zip(ws.aux.chunks_mut(CHUNK * nf))
            .enumerate()
            .filter_map(f)
            .min()
    }
}

/// One phase's settings as seen by one chunk: what [`relax`] runs per chunk, and what
/// [`super::sequence`] chains across phases without leaving the chunk.
pub(crate) struct ChunkPhase<'a, T: Real, E: Energy<T> + ?Sized, I: Integrator> {
    pub energy: &'a E,
    pub integ: &'a I,
    pub nudge: Option<Nudge<'a, T>>,
    pub key: NoiseKey,
    pub nc: usize,
    pub lo: T,
    pub hi: T,
    /// Coordinates `box_end..` of a sample are unbounded ([`Energy::box_end`]).
    pub box_end: usize,
    /// `(dt, p)` when the substrate steps the first `p` free coordinates itself, fused into
    /// its force pass ([`crate::energy::FastPaths::grad_free_flow`]): deterministic gradient flow whose nudge
    /// (if any) neither reads nor writes them.
    pub fused: Option<(T, usize)>,
    /// Samples per chunk: chunk `ci` holds samples `ci·chunk..` ([`CHUNK`] unless set).
    pub chunk: usize,
}

impl<'a, T: Real, E: Energy<T> + ?Sized, I: Integrator> ChunkPhase<'a, T, E, I> {
    /// The phase; box-constrained substrates (e.g. the hard-sigmoid Hopfield net) are
    /// projected back onto their box after every step (projected gradient flow / Langevin).
    pub fn new(
        energy: &'a E,
        integ: &'a I,
        nudge: Option<Nudge<'a, T>>,
        key: NoiseKey,
        nc: usize,
    ) -> Self {
        let (lo, hi) = box_of(energy);
        let p = crate::energy::flow_prefix(energy, nc);
        let outside = |s: std::ops::Range<usize>| s.end <= nc || s.start >= nc + p;
        let clear = |nu: &Nudge<'_, T>| {
            outside(nu.cost.support(energy.dim())) && nu.hold.is_none_or(|h| outside(h.range()))
        };
        let fused = integ
            .flow_dt()
            .filter(|_| p > 0 && nudge.as_ref().is_none_or(clear))
            .map(|dt| (T::of(dt), p));
        Self {
            energy,
            integ,
            nudge,
            key,
            nc,
            lo,
            hi,
            box_end: energy.box_end().clamp(nc + p, energy.dim()),
            fused,
            chunk: CHUNK,
        }
    }

    /// Step `step` of chunk `ci` (state `xc`, force `fc`, drive `dc`, integrator state `ac`);
    /// `Some(sample)` when a coordinate became NaN/Inf.
    #[inline]
    pub fn step(
        &self,
        step: usize,
        ci: usize,
        xc: &mut [T],
        fc: &mut [T],
        dc: &[T],
        ac: &mut [T],
    ) -> Option<usize> {
        let (nc, d) = (self.nc, self.energy.dim());
        let nf = d - nc;
        let hold = self.nudge.and_then(|nu| nu.hold);
        if let (0, Some(h)) = (step, hold) {
            h.apply(xc, d, ci * self.chunk);
        }
        // `p` leading free coordinates stepped inside the force pass (gradient flow only).
        let (p, mut bad) = match self.fused {
            Some((dt, p)) => {
                let fast = self
                    .energy
                    .fast()
                    .expect("a fused prefix comes from a fast path");
                let bad = fast.grad_free_flow(
                    xc,
                    nc,
                    dc,
                    crate::energy::FlowStep {
                        dt,
                        lo: self.lo,
                        hi: self.hi,
                    },
                    fc,
                );
                (p, bad)
            }
            None => {
                self.energy.grad_free(xc, nc, dc, fc);
                (0, T::zero())
            }
        };
        if let Some(nu) = self.nudge {
            nu.cost.add_grad(xc, d, nc, ci * self.chunk, nu.beta, fc);
        }
        let mut rng = self.key.rng(step as u64, ci as u64);
        // Free coordinates `nc + p..box_end` are projected onto the box, the rest are not.
        let e = self.box_end - nc;
        for ((xs, fs), a) in xc
            .chunks_exact_mut(d)
            .zip(fc.chunks_exact(nf))
            .zip(ac.chunks_exact_mut(nf))
        {
            let (xb, xu) = xs[nc..].split_at_mut(e);
            let (fb, fu) = fs.split_at(e);
            let (ab, au) = a.split_at_mut(e);
            bad += self.integ.update(
                &mut xb[p..],
                &fb[p..],
                &mut ab[p..],
                &mut rng,
                self.lo,
                self.hi,
            );
            if !xu.is_empty() {
                let (lo, hi) = (T::neg_infinity(), T::infinity());
                bad += self.integ.update(xu, fu, au, &mut rng, lo, hi);
            }
        }
        if let Some(h) = hold {
            h.apply(xc, d, ci * self.chunk);
        }
        if bad.is_nan() {
            let first = xc
                .chunks_exact(d)
                .position(|s| s[nc..].iter().any(|v| !v.is_finite()));
            Some(ci * self.chunk + first.unwrap_or(0))
        } else {
            None
        }
    }

    /// All steps of the phase for chunk `ci`, from a zeroed integrator state; the first
    /// `(step, sample)` that became NaN/Inf, if any.
    pub fn run(
        &self,
        ci: usize,
        xc: &mut [T],
        fc: &mut [T],
        dc: &[T],
        ac: &mut [T],
    ) -> Option<(usize, usize)> {
        ac.fill(T::zero());
        (0..self.integ.steps())
            .find_map(|step| self.step(step, ci, xc, fc, dc, ac).map(|s| (step, s)))
    }
}

/// The box of a substrate's coordinates (`±∞` when it has none).
pub(crate) fn box_of<T: Real, E: Energy<T> + ?Sized>(energy: &E) -> (T, T) {
    energy
        .bounds()
        .map(|(l, h)| (T::of(l), T::of(h)))
        .unwrap_or((T::neg_infinity(), T::infinity()))
}

/// Relaxes the batch `x` (sample-major, the phase's clamped prefix `0..nc`) through `phase`
/// with any [`Integrator`] (gradient flow / Langevin, cSB, or a [`super::Relaxation`]).
///
/// `observe(step, x)` is called after every step (step counts from 1) when given.
/// Returns [`Diverged`] naming the phase and the step if any free coordinate becomes NaN/Inf.
pub fn relax<T: Real, E: Energy<T> + ?Sized, I: Integrator>(
    energy: &E,
    x: &mut [T],
    integ: &I,
    phase: &Phase<'_, T>,
    ws: &mut Workspace<T>,
    mut observe: Option<Observer<'_, T>>,
) -> Result<Relaxed, Diverged> {
    let Phase {
        nc,
        nudge,
        key,
        name: phase,
    } = *phase;
    let d = energy.dim();
    let nf = d - nc;
    let n = x.len() / d;
    if !ws.prepare(n, nf) {
        energy.clamped_drive(x, nc, &mut ws.drive);
    }
    let nchunks = n.div_ceil(CHUNK);
    let chunk = ChunkPhase::new(energy, integ, nudge, key, nc);
    let chunk_step =
        |step: usize, ci: usize, xc: &mut [T], fc: &mut [T], dc: &[T], ac: &mut [T]| {
            chunk.step(step, ci, xc, fc, dc, ac)
        };
    if observe.is_none() {
        // Samples never interact, so without an observer each chunk runs all its steps in
        // one go: one parallel region per phase instead of one per step, and the chunk's
        // buffers stay in its core's cache. Same keyed noise, same bits.
        let run_chunk = |(ci, (((xc, fc), dc), ac)): ChunkItem<'_, T>| -> Option<(usize, usize)> {
            (0..integ.steps())
                .find_map(|step| chunk_step(step, ci, xc, fc, dc, ac).map(|s| (step, s)))
        };
        let bad = over_chunks(x, ws, d, nf, nchunks > 1, run_chunk);
        return match bad {
            Some((step, sample)) => Err(Diverged {
                phase: phase.to_string(),
                step: step + 1,
                sample,
            }),
            None => Ok(Relaxed {
                steps: integ.steps(),
            }),
        };
    }
    for step in 0..integ.steps() {
        let one =
            |(ci, (((xc, fc), dc), ac)): ChunkItem<'_, T>| chunk_step(step, ci, xc, fc, dc, ac);
        let bad = over_chunks(x, ws, d, nf, nchunks > 1, one);
        if let Some(sample) = bad {
            return Err(Diverged {
                phase: phase.to_string(),
                step: step + 1,
                sample,
            });
        }
        if let Some(obs) = observe.as_mut() {
            obs(step + 1, x);
        }
    }
    Ok(Relaxed {
        steps: integ.steps(),
    })
}
