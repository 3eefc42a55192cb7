//! A free phase followed by nudged phases that each start from the free phase's final state
//! (the phase structure of EqProp), run chunk by chunk: each chunk of [`CHUNK`] samples goes
//! through its clamped drive, the free phase and every nudged phase inside one parallel task.
//!
//! Samples never interact, so this gives the same states as relaxing the whole batch phase
//! after phase with [`relax`](crate::dynamics::relax) (same keyed noise per step and chunk), but with one
//! parallel region instead of one per phase and the drive, and with each chunk's buffers
//! staying in its core's cache across phases.

use super::langevin::{CHUNK, ChunkPhase, Integrator, Workspace};
use super::{Diverged, Phase};
use crate::energy::Energy;
use crate::real::Real;
use rayon::prelude::*;

/// A free phase and the nudged phases that start from its final state, each under its own
/// integrator: what [`relax_free_then_nudged`] runs in one parallel task per chunk.
pub struct Sequence<'a, T: Real, I> {
    /// The free phase (its nudge, if any, is ignored: the free phase is not nudged).
    pub free: Phase<'a, T>,
    /// The free phase's integrator.
    pub free_integ: &'a I,
    /// The nudged phases (all with the free phase's clamped prefix).
    pub nudged: &'a [Phase<'a, T>],
    /// The nudged phases' integrator.
    pub nudged_integ: &'a I,
}

/// Samples per chunk for a batch of `n`: [`CHUNK`], or half the batch (rounded up) when that is
/// smaller and both phases are noise-free gradient flow, so that a small batch (the MLP
/// configs' 20) still runs as two parallel chunks. It depends on `n` only, never on the
/// thread count, so a run gives the same bits on any number of threads; and no noise is
/// drawn on that path, so no random stream depends on the chunking.
fn chunk_len<I: Integrator>(n: usize, free: &I, nudged: &I) -> usize {
    if free.flow_dt().is_some() && nudged.flow_dt().is_some() {
        n.div_ceil(2).clamp(1, CHUNK)
    } else {
        CHUNK
    }
}

struct Job<'a, T> {
    ci: usize,
    xf: &'a mut [T],
    outs: Vec<&'a mut [T]>,
    force: &'a mut [T],
    drive: &'a mut [T],
    aux: &'a mut [T],
}

/// Relaxes `xf` (sample-major, clamped prefix `0..nc` of the free phase) through `seq`'s free
/// phase, then, from the free state, nudged phase `j` into `outs[j]` (resized to
/// `xf.len()`). The drive of the clamped prefix is computed here, per chunk, into the
/// workspace (read it back with [`Workspace::drive`]); a pinned drive is reused instead.
/// Errors name the first phase (in order) that produced a NaN/Inf.
pub fn relax_free_then_nudged<T: Real, E: Energy<T> + ?Sized, I: Integrator>(
    energy: &E,
    xf: &mut [T],
    seq: &Sequence<'_, T, I>,
    outs: &mut [Vec<T>],
    ws: &mut Workspace<T>,
) -> Result<(), Diverged> {
    let Sequence {
        free:
            Phase {
                nc,
                key: free_key,
                name: free_name,
                ..
            },
        free_integ: free,
        nudged,
        nudged_integ,
    } = *seq;
    assert!(
        nudged.iter().all(|p| p.nc == nc),
        "every nudged phase clamps the free phase's prefix"
    );
    assert_eq!(outs.len(), nudged.len(), "one output per nudged phase");
    let d = energy.dim();
    let nf = d - nc;
    let n = xf.len() / d;
    let pinned = ws.prepare(n, nf);
    for o in outs.iter_mut() {
        o.resize(xf.len(), T::zero());
    }
    let chunk = chunk_len(n, free, nudged_integ);
    let mut free_phase = ChunkPhase::new(energy, free, None, free_key, nc);
    free_phase.chunk = chunk;
    let nudged_phases: Vec<_> = nudged
        .iter()
        .map(|p| {
            let mut ph = ChunkPhase::new(energy, nudged_integ, p.nudge, p.key, nc);
            ph.chunk = chunk;
            ph
        })
        .collect();
    let mut out_chunks: Vec<_> = outs.iter_mut().map(|o| o.chunks_mut(chunk * d)).collect();
    let jobs: Vec<Job<'_, T>> = xf
        .chunks_mut(chunk * d)
        .zip(ws.force.chunks_mut(chunk * nf))
        .zip(ws.drive.chunks_mut(chunk * nf))
        .zip(ws.aux.chunks_mut(chunk * nf))
        .enumerate()
        .map(|(ci, (((xf, force), drive), aux))| Job {
            ci,
            xf,
            outs: out_chunks.iter_mut().map(|it| it.next().unwrap()).collect(),
            force,
            drive,
            aux,
        })
        .collect();
    // (phase index, step, sample) of the first NaN/Inf of a chunk.
    let run = |job: Job<'_, T>| -> Option<(usize, usize, usize)> {
        let Job {
            ci,
            xf,
            mut outs,
            force,
            drive,
            aux,
        } = job;
        if !pinned {
            energy.clamped_drive(xf, nc, drive);
        }
        if let Some((step, sample)) = free_phase.run(ci, xf, force, drive, aux) {
            return Some((0, step, sample));
        }
        for (j, (p, out)) in nudged_phases.iter().zip(outs.iter_mut()).enumerate() {
            out.copy_from_slice(xf);
            if let Some((step, sample)) = p.run(ci, out, force, drive, aux) {
                return Some((j + 1, step, sample));
            }
        }
        None
    };
    let bad = if jobs.len() > 1 {
        jobs.into_par_iter().filter_map(run).min()
    } else {
        jobs.into_iter().filter_map(run).min()
    };
    match bad {
        Some((p, step, sample)) => Err(Diverged {
            phase: if p == 0 {
                free_name.to_string()
            } else {
                nudged[p - 1].name.to_string()
            },
            step: step + 1,
            sample,
        }),
        None => Ok(()),
    }
}
