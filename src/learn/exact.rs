//! Exact reference gradients that the local rules are checked against.
//!
//! All return the gradient of the batch-mean cost `L = mean_b C_b(x_b)` with respect to θ.
//! - [`implicit_gradient`]: at an equilibrium `x⋆` of the free phase, by the implicit
//!   function theorem `dL/dθ = −mean_b (∂²E/∂θ∂x)ᵀ H⁻¹ ∇_x C_b` (`H` the free
//!   block of the Hessian) — the `β → 0` limit of EqProp at full relaxation.
//! - [`bptt_gradient`]: backpropagation through the `K` unrolled Euler(–Maruyama) steps of the
//!   free phase (the paper's "digital baseline"), the exact gradient of `C(x_K)`.
//! - [`finite_budget_limit`]: forward-mode (tangent) propagation through a finite nudged
//!   phase, the exact `β → 0` limit of the symmetric estimator under that relaxation budget.

use crate::dynamics::Phase;
use crate::dynamics::{Diverged, Langevin, NoiseKey, Workspace, relax};
use crate::energy::Energy;
use crate::energy::cost::Cost;
use crate::real::Real;
use faer::{Mat, Side, linalg::solvers::Solve};
use rayon::prelude::*;

/// A substrate's box: `[lo, hi]` on the coordinates `0..end` of each sample.
#[derive(Clone, Copy)]
struct BoxOf {
    bounds: Option<(f64, f64)>,
    end: usize,
}

impl BoxOf {
    fn of<T: Real, E: Energy<T> + ?Sized>(energy: &E) -> Self {
        Self {
            bounds: energy.bounds(),
            end: energy.box_end(),
        }
    }
    /// The box of coordinate `i` of a sample, if it has one.
    fn at(&self, i: usize) -> Option<(f64, f64)> {
        self.bounds.filter(|_| i < self.end)
    }
    /// Whether coordinate `i` of a sample, of value `v`, sits on a wall of its box
    /// (projected dynamics put it there exactly), so it is locally fixed and carries no
    /// derivative.
    #[inline]
    fn pinned<T: Real>(&self, i: usize, v: T) -> bool {
        match self.at(i) {
            Some((lo, hi)) => v == T::of(lo) || v == T::of(hi),
            None => false,
        }
    }
}

/// Batch-mean cost `mean_b C_b(x_b)`.
pub fn mean_cost<T: Real>(cost: &dyn Cost<T>, x: &[T], d: usize) -> f64 {
    let n = x.len() / d;
    let mut v = vec![T::zero(); n];
    cost.value(x, d, 0, &mut v);
    v.iter().map(|c| c.f64()).sum::<f64>() / n as f64
}

/// Implicit-differentiation gradient at the equilibrium batch `x_eq`.
pub fn implicit_gradient<T: Real, E: Energy<T> + ?Sized>(
    energy: &E,
    x_eq: &[T],
    nc: usize,
    cost: &dyn Cost<T>,
) -> Vec<f64> {
    let d = energy.dim();
    let nf = d - nc;
    let n = x_eq.len() / d;
    let boxed = BoxOf::of(energy);
    // λ_b = H_b⁻¹ ∇C_b, placed in a full-dimension direction vector (zero on the clamped block).
    let mut lam = vec![T::zero(); n * d];
    lam.par_chunks_mut(d).enumerate().for_each(|(b, lb)| {
        let xs = &x_eq[b * d..(b + 1) * d];
        let mut g = vec![T::zero(); nf];
        cost.add_grad(xs, d, nc, b, T::one(), &mut g);
        let mut h = energy.hessian_free(xs, nc);
        // Units pinned at a wall of the box do not move to first order: drop them (active set).
        let pinned: Vec<bool> = (0..nf).map(|i| boxed.pinned(nc + i, xs[nc + i])).collect();
        for i in 0..nf {
            for j in 0..nf {
                if pinned[i] || pinned[j] {
                    h[(i, j)] = if i == j { T::one() } else { T::zero() };
                }
            }
            if pinned[i] {
                g[i] = T::zero();
            }
        }
        let rhs = Mat::<T>::from_fn(nf, 1, |i, _| g[i]);
        let s = match h.llt(Side::Lower) {
            Ok(ch) => ch.solve(&rhs),
            Err(_) => h.partial_piv_lu().solve(&rhs),
        };
        for i in 0..nf {
            lb[nc + i] = s[(i, 0)];
        }
    });
    let mut out = vec![T::zero(); energy.n_params()];
    let w = vec![T::of(-1.0 / n as f64); n];
    energy.grad_theta_dir(x_eq, &lam, &w, &mut out);
    out.iter().map(|v| v.f64()).collect()
}

/// Backprop through `dyn_.steps` Euler(–Maruyama) steps of the free phase from `x0` (noise,
/// if any, drawn from `key` exactly as [`relax`] draws it). Returns the gradient and the
/// final state.
pub fn bptt_gradient<T: Real, E: Energy<T> + ?Sized>(
    energy: &E,
    x0: &[T],
    nc: usize,
    dyn_: &Langevin,
    cost: &dyn Cost<T>,
    key: NoiseKey,
    ws: &mut Workspace<T>,
) -> Result<(Vec<f64>, Vec<T>), Diverged> {
    let d = energy.dim();
    let nf = d - nc;
    let n = x0.len() / d;
    let k = dyn_.steps;
    let mut traj: Vec<T> = Vec::with_capacity((k + 1) * x0.len());
    traj.extend_from_slice(x0);
    let mut x = x0.to_vec();
    {
        let mut obs = |_s: usize, xs: &[T]| traj.extend_from_slice(xs);
        relax(
            energy,
            &mut x,
            dyn_,
            &Phase::free("free", nc, key),
            ws,
            Some(&mut obs),
        )?;
    }
    // Adjoint a_K = ∇C(x_K)/B on the free block, embedded in full-dimension vectors.
    let mut a = vec![T::zero(); n * d];
    let mut g = vec![T::zero(); n * nf];
    cost.add_grad(&x, d, nc, 0, T::of(1.0 / n as f64), &mut g);
    for b in 0..n {
        a[b * d + nc..(b + 1) * d].copy_from_slice(&g[b * nf..(b + 1) * nf]);
    }
    let dt = T::of(dyn_.dt);
    let w = vec![-dt; n];
    let mut out = vec![T::zero(); energy.n_params()];
    let mut ha = vec![T::zero(); n * d];
    let boxed = BoxOf::of(energy);
    for step in (0..k).rev() {
        let xk = &traj[step * n * d..(step + 1) * n * d];
        if boxed.bounds.is_some() {
            // x_{k+1} = P(x_k − dt ∇E): the projection's Jacobian is zero on clipped units.
            let xk1 = &traj[(step + 1) * n * d..(step + 2) * n * d];
            for (j, (aj, &xj)) in a.iter_mut().zip(xk1).enumerate() {
                if boxed.pinned(j % d, xj) {
                    *aj = T::zero();
                }
            }
        }
        // x_{k+1} = x_k − dt ∇_f E(x_k; θ)  ⇒  dL/dθ += −dt ∂_θ(∇_f E · a_{k+1}).
        energy.grad_theta_dir(xk, &a, &w, &mut out);
        energy.hvp(xk, &a, &mut ha);
        for b in 0..n {
            for i in nc..d {
                let j = b * d + i;
                a[j] -= dt * ha[j];
            }
        }
    }
    Ok((out.iter().map(|v| v.f64()).collect(), x))
}

/// The `β → 0` limit of the symmetric estimator when the nudged phase runs `dyn_.steps`
/// gradient-flow steps from `x_start` (the free phase's final state): propagates the tangent
/// `t = dx/dβ`, `t_{k+1} = t_k − dt (H(x_k) t_k + ∇C(x_k))`, `t_0 = 0`, along the β = 0
/// trajectory, and returns `mean_b ∂_θ(∇_x E(x_K) · t_K)`.
pub fn finite_budget_limit<T: Real, E: Energy<T> + ?Sized>(
    energy: &E,
    x_start: &[T],
    nc: usize,
    dyn_: &Langevin,
    cost: &dyn Cost<T>,
) -> Vec<f64> {
    let d = energy.dim();
    let nf = d - nc;
    let n = x_start.len() / d;
    let mut x = x_start.to_vec();
    let mut t = vec![T::zero(); n * d];
    let mut ht = vec![T::zero(); n * d];
    let mut drive = vec![T::zero(); n * nf];
    let mut f = vec![T::zero(); n * nf];
    let mut gc = vec![T::zero(); n * nf];
    energy.clamped_drive(&x, nc, &mut drive);
    let dt = T::of(dyn_.dt);
    let boxed = BoxOf::of(energy);
    for _ in 0..dyn_.steps {
        energy.hvp(&x, &t, &mut ht);
        gc.fill(T::zero());
        cost.add_grad(&x, d, nc, 0, T::one(), &mut gc);
        energy.grad_free(&x, nc, &drive, &mut f);
        for b in 0..n {
            for i in 0..nf {
                let j = b * d + nc + i;
                t[j] -= dt * (ht[j] + gc[b * nf + i]);
                x[j] -= dt * f[b * nf + i];
                if let Some((lo, hi)) = boxed.at(nc + i) {
                    x[j] = x[j].max(T::of(lo)).min(T::of(hi));
                    if boxed.pinned(nc + i, x[j]) {
                        t[j] = T::zero();
                    }
                }
            }
        }
    }
    let mut out = vec![T::zero(); energy.n_params()];
    let w = vec![T::of(1.0 / n as f64); n];
    energy.grad_theta_dir(&x, &t, &w, &mut out);
    out.iter().map(|v| v.f64()).collect()
}
