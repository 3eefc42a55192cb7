//! A free phase followed by nudged phases that each start from the free phase's final state
//! (the phase structure of EqProp), run chunk by chunk: each chunk of [`CHUNK`] samples goes
//! through its clamped drive, the free phase and every nudged phase inside one parallel task.
//!
//! Samples never interact, so this gives the same states as relaxing the whole batch phase
//! after phase with [`relax_with`](crate::dynamics::relax_with) (same keyed noise per step and chunk), but with one
//! parallel region instead of one per phase and the drive, and with each chunk's buffers
//! staying in its core's cache across phases.

use super::langevin::{CHUNK, ChunkPhase, Integrator, Workspace};
use super::{Diverged, NoiseKey, Nudge};
use crate::energy::Energy;
use crate::real::Real;
use rayon::prelude::*;

/// One nudged phase: its nudge, its noise stream and its name (for errors).
pub struct NudgedPhase<'a, T: Real> {
    /// `β C` added to the energy.
    pub nudge: Nudge<'a, T>,
    /// The phase's noise stream.
    pub key: NoiseKey,
    /// Name used in a [`Diverged`] error.
    pub name: &'a str,
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

/// Relaxes `xf` (sample-major, clamped prefix `0..nc`) under `free` with noise stream
/// `free_key`, then, from the free state, phase `j` of `nudged` under `nudged_integ` into
/// `outs[j]` (resized to `xf.len()`). The drive of the clamped prefix is computed here, per
/// chunk, into the workspace (read it back with [`Workspace::drive`]); a pinned drive is
/// reused instead. Errors name the first phase (in order) that produced a NaN/Inf.
#[allow(clippy::too_many_arguments)]
pub fn relax_free_then_nudged<T: Real, E: Energy<T> + ?Sized, I: Integrator>(
    energy: &E,
    xf: &mut [T],
    nc: usize,
    free: &I,
    free_key: NoiseKey,
    nudged_integ: &I,
    nudged: &[NudgedPhase<'_, T>],
    outs: &mut [Vec<T>],
    ws: &mut Workspace<T>,
) -> Result<(), Diverged> {
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
            let mut ph = ChunkPhase::new(energy, nudged_integ, Some(p.nudge), p.key, nc);
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
                "free".to_string()
            } else {
                nudged[p - 1].name.to_string()
            },
            step: step + 1,
            sample,
        }),
        None => Ok(()),
    }
}
