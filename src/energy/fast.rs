//! Optional fast paths of a substrate: work that a layered structure lets a substrate skip
//! or fuse, kept out of [`Energy`] so that the core trait holds only what every substrate
//! needs. A substrate offers them by returning itself from [`Energy::fast`]; the engine calls
//! the functions of this module, which use the fast path when there is one and the plain
//! [`Energy`] methods otherwise.

use super::Energy;
use crate::real::Real;

/// Fast paths a substrate may offer (every method has the plain fallback as its default).
pub trait FastPaths<T: Real>: Energy<T> {
    /// Per-sample energies given the cached drive of the clamped prefix (as returned by
    /// [`Energy::clamped_drive`] for the same prefix), skipping the clamped block's products.
    fn energy_free(&self, x: &[T], nc: usize, drive: &[T], out: &mut [T]) {
        let _ = (nc, drive);
        self.energy(x, out);
    }

    /// `out += Σ_b w_b (ca ∂E/∂θ(xa_b) + cb ∂E/∂θ(xb_b))` for two batches that share their
    /// clamped prefix `0..nc` — the difference of two EqProp phase readouts — contracting the
    /// shared clamped block once.
    fn grad_theta_pair(
        &self,
        xa: &[T],
        xb: &[T],
        nc: usize,
        w: &[T],
        (ca, cb): (T, T),
        out: &mut [T],
    ) {
        let _ = nc;
        two_readouts(self, xa, xb, w, ca, cb, out);
    }

    /// How many leading free coordinates (`nc..nc + p`) [`FastPaths::grad_free_flow`] steps
    /// itself; 0 when the substrate has no fused gradient-flow step.
    fn flow_prefix(&self, nc: usize) -> usize {
        let _ = nc;
        0
    }

    /// [`Energy::grad_free`], except that the first [`FastPaths::flow_prefix`] free
    /// coordinates are not given a force but are stepped in place by projected gradient flow,
    /// `x ← clip(x − dt ∂E/∂x, lo, hi)`, in the same pass that computes their force (their
    /// rows of `out` are left as they were). The forces of the other coordinates use the old
    /// values. Returns the NaN detector `Σ v · 0` over the unprojected new values. Only valid
    /// when nothing else adds to the stepped coordinates' force (no nudge on them, no noise).
    fn grad_free_flow(
        &self,
        x: &mut [T],
        nc: usize,
        drive: &[T],
        flow: FlowStep<T>,
        out: &mut [T],
    ) -> T {
        let _ = flow;
        self.grad_free(x, nc, drive, out);
        T::zero()
    }
}

/// One projected gradient-flow step `x ← clip(x − dt ∂E/∂x, lo, hi)` of
/// [`FastPaths::grad_free_flow`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlowStep<T> {
    /// Step length.
    pub dt: T,
    /// Lower wall of the box.
    pub lo: T,
    /// Upper wall of the box.
    pub hi: T,
}

/// The two readouts of [`FastPaths::grad_theta_pair`] done separately (the fallback).
pub fn two_readouts<T: Real, E: Energy<T> + ?Sized>(
    e: &E,
    xa: &[T],
    xb: &[T],
    w: &[T],
    ca: T,
    cb: T,
    out: &mut [T],
) {
    T::with_scratch(w.len(), |ws| {
        for (o, &wi) in ws.iter_mut().zip(w) {
            *o = ca * wi;
        }
        e.grad_theta(xa, ws, out);
        for (o, &wi) in ws.iter_mut().zip(w) {
            *o = cb * wi;
        }
        e.grad_theta(xb, ws, out);
    });
}

/// [`FastPaths::energy_free`] when offered, else [`Energy::energy`].
pub fn energy_free<T: Real, E: Energy<T> + ?Sized>(
    e: &E,
    x: &[T],
    nc: usize,
    drive: &[T],
    out: &mut [T],
) {
    match e.fast() {
        Some(f) => f.energy_free(x, nc, drive, out),
        None => e.energy(x, out),
    }
}

/// [`FastPaths::grad_theta_pair`] when offered, else [`two_readouts`].
pub fn grad_theta_pair<T: Real, E: Energy<T> + ?Sized>(
    e: &E,
    xa: &[T],
    xb: &[T],
    nc: usize,
    w: &[T],
    (ca, cb): (T, T),
    out: &mut [T],
) {
    match e.fast() {
        Some(f) => f.grad_theta_pair(xa, xb, nc, w, (ca, cb), out),
        None => two_readouts(e, xa, xb, w, ca, cb, out),
    }
}

/// [`FastPaths::flow_prefix`] when offered, else 0.
pub fn flow_prefix<T: Real, E: Energy<T> + ?Sized>(e: &E, nc: usize) -> usize {
    e.fast().map_or(0, |f| f.flow_prefix(nc))
}
