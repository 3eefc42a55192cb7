//! Stochastic energetics of a relaxation (Sekimoto, "Langevin equation and thermodynamics",
//! Prog. Theor. Phys. Suppl. 130, 17 (1998); "Stochastic Energetics", 2010): per sample, the
//! heat given to the bath and the work done on the system, measured from its trajectory.
//!
//! A phase relaxes the potential `U_λ(x) = E_θ(x) + β C(x)`, with the protocol
//! `λ = (θ, β)` held fixed during the phase and changed between phases. Along a discrete
//! trajectory `x_0, x_1, …` (the free coordinates move, the clamped prefix does not):
//! - heat to the bath, Stratonovich (midpoint) discretisation:
//!   `Q = −Σ_k ½ (∇U(x_k) + ∇U(x_{k+1})) · (x_{k+1} − x_k)`;
//! - work, at each protocol change `λ → λ'` at fixed state `x`: `W += U_{λ'}(x) − U_λ(x)`.
//!
//! The first law `U_final(x_final) − U_initial(x_0) = W − Q` then holds up to the
//! discretisation error of the midpoint rule (exactly for a quadratic `U`), which the tests
//! check. Heat and work are in the energy's units (`k_BT` = the dynamics' temperature).

use super::Nudge;
use crate::energy::Energy;
use crate::real::Real;

/// A phase's potential: the energy and the nudge it relaxes under.
#[derive(Clone, Copy)]
pub struct Potential<'a, T: Real> {
    /// `E_θ` at the phase's parameters.
    pub energy: &'a dyn Energy<T>,
    /// `β C`, if the phase is nudged.
    pub nudge: Option<Nudge<'a, T>>,
}

impl<T: Real> Potential<'_, T> {
    /// Per-sample `U(x_b)` in f64.
    pub fn values(&self, x: &[T], out: &mut [f64]) {
        let mut v = vec![T::zero(); out.len()];
        self.energy.energy(x, &mut v);
        for (o, e) in out.iter_mut().zip(&v) {
            *o = e.f64();
        }
        if let Some(nu) = self.nudge {
            nu.cost.value(x, self.energy.dim(), 0, &mut v);
            for (o, c) in out.iter_mut().zip(&v) {
                *o += nu.beta.f64() * c.f64();
            }
        }
    }

    /// `∇U` over the free coordinates `nc..D` (`out`: `B × (D − nc)`).
    fn grad(&self, x: &[T], nc: usize, out: &mut [T]) {
        let mut drive = vec![T::zero(); out.len()];
        self.energy.clamped_drive(x, nc, &mut drive);
        self.energy.grad_free(x, nc, &drive, out);
        if let Some(nu) = self.nudge {
            nu.cost.add_grad(x, self.energy.dim(), nc, 0, nu.beta, out);
        }
    }
}

/// Heat and work of every sample of a batch, accumulated over phases and protocol changes.
/// Not a hot path: each step evaluates `∇U` once more (the reference measurement).
#[derive(Clone, Debug)]
pub struct Energetics<T> {
    nc: usize,
    d: usize,
    /// Heat given to the bath so far, per sample.
    pub heat: Vec<f64>,
    /// Work done on the system so far, per sample.
    pub work: Vec<f64>,
    /// `U(x_0)` at the start, per sample.
    pub start: Vec<f64>,
    prev_x: Vec<T>,
    prev_grad: Vec<T>,
}

impl<T: Real> Energetics<T> {
    /// Starts measuring the batch `x` (clamped prefix `0..nc`) under `u`.
    pub fn new(u: &Potential<'_, T>, x: &[T], nc: usize) -> Self {
        let d = u.energy.dim();
        let n = x.len() / d;
        let mut start = vec![0.0; n];
        u.values(x, &mut start);
        let mut prev_grad = vec![T::zero(); n * (d - nc)];
        u.grad(x, nc, &mut prev_grad);
        Self {
            nc,
            d,
            heat: vec![0.0; n],
            work: vec![0.0; n],
            start,
            prev_x: x.to_vec(),
            prev_grad,
        }
    }

    /// One step of the trajectory under `u`, to the new state `x`: adds
    /// `−½ (∇U(x_prev) + ∇U(x)) · (x − x_prev)` to each sample's heat.
    pub fn step(&mut self, u: &Potential<'_, T>, x: &[T]) {
        let (d, nc) = (self.d, self.nc);
        let nf = d - nc;
        let mut g = vec![T::zero(); self.prev_grad.len()];
        u.grad(x, nc, &mut g);
        for (b, q) in self.heat.iter_mut().enumerate() {
            let (xs, ps) = (
                &x[b * d + nc..(b + 1) * d],
                &self.prev_x[b * d + nc..(b + 1) * d],
            );
            let (gs, hs) = (
                &g[b * nf..(b + 1) * nf],
                &self.prev_grad[b * nf..(b + 1) * nf],
            );
            let mut dq = 0.0;
            for i in 0..nf {
                dq -= 0.5 * (gs[i].f64() + hs[i].f64()) * (xs[i].f64() - ps[i].f64());
            }
            *q += dq;
        }
        self.prev_x.copy_from_slice(x);
        self.prev_grad = g;
    }

    /// A protocol change from `from` to `to` at the current state: adds
    /// `U_to(x) − U_from(x)` to each sample's work.
    pub fn switch(&mut self, from: &Potential<'_, T>, to: &Potential<'_, T>) {
        let n = self.heat.len();
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        from.values(&self.prev_x, &mut a);
        to.values(&self.prev_x, &mut b);
        for ((w, a), b) in self.work.iter_mut().zip(&a).zip(&b) {
            *w += b - a;
        }
        to.grad(&self.prev_x, self.nc, &mut self.prev_grad);
    }

    /// Per sample, `|ΔU − (W − Q)| / (|W| + |Q| + |ΔU|)` with `ΔU = U(x_now) − U(x_0)` under
    /// the current potential `u`: the first law's relative violation.
    pub fn first_law_rel_error(&self, u: &Potential<'_, T>) -> Vec<f64> {
        let n = self.heat.len();
        let mut end = vec![0.0; n];
        u.values(&self.prev_x, &mut end);
        (0..n)
            .map(|b| {
                let du = end[b] - self.start[b];
                let (w, q) = (self.work[b], self.heat[b]);
                (du - (w - q)).abs() / (w.abs() + q.abs() + du.abs()).max(f64::MIN_POSITIVE)
            })
            .collect()
    }
}
