//! Exact relaxation to a local minimum of `E + β C` by damped Newton iterations, per sample.
//!
//! This is the "full relaxation" reference (zero temperature, infinite time): the fixed point
//! that gradient flow approaches. Each sample solves `(∇²E + β ∇²C) p = −(∇E + β ∇C)` on the
//! free block (Cholesky, falling back to the gradient direction where the Hessian is not
//! positive definite) with a backtracking line search on `E + β C`.

use super::{Diverged, Nudge};
use crate::energy::Energy;
use crate::real::Real;
use faer::{Mat, Side, linalg::solvers::Solve};
use rayon::prelude::*;

/// Convergence controls for [`relax_to_equilibrium`].
#[derive(Clone, Copy, Debug)]
pub struct NewtonOptions {
    /// Stop when `max |∇(E + βC)|` over the free block is below this.
    pub tol: f64,
    /// Iteration cap per sample.
    pub max_iter: usize,
}

impl Default for NewtonOptions {
    fn default() -> Self {
        Self {
            tol: 1e-11,
            max_iter: 100,
        }
    }
}

fn objective<T: Real, E: Energy<T> + ?Sized>(
    e: &E,
    x: &[T],
    nudge: Option<Nudge<'_, T>>,
    b: usize,
) -> f64 {
    let mut v = [T::zero()];
    e.energy(x, &mut v);
    let mut out = v[0].f64();
    if let Some(nu) = nudge {
        nu.cost.value(x, e.dim(), b, &mut v);
        out += nu.beta.f64() * v[0].f64();
    }
    out
}

fn gradient<T: Real, E: Energy<T> + ?Sized>(
    e: &E,
    x: &[T],
    nc: usize,
    nudge: Option<Nudge<'_, T>>,
    b: usize,
    drive: &mut [T],
    g: &mut [T],
) {
    e.clamped_drive(x, nc, drive);
    e.grad_free(x, nc, drive, g);
    if let Some(nu) = nudge {
        nu.cost.add_grad(x, e.dim(), nc, b, nu.beta, g);
    }
}

/// Relaxes every sample of `x` to the exact equilibrium of `E + β C` (clamped prefix `0..nc`).
/// Returns the largest final gradient entry over the batch.
pub fn relax_to_equilibrium<T: Real, E: Energy<T> + ?Sized>(
    energy: &E,
    x: &mut [T],
    nc: usize,
    nudge: Option<Nudge<'_, T>>,
    opts: NewtonOptions,
    phase: &str,
) -> Result<f64, Diverged> {
    assert!(
        nudge.is_none_or(|nu| nu.hold.is_none()),
        "relax_to_equilibrium: held coordinates are not supported by the Newton solve"
    );
    let d = energy.dim();
    let nf = d - nc;
    let res: Result<Vec<f64>, Diverged> = x
        .par_chunks_mut(d)
        .enumerate()
        .map(|(b, xs)| {
            let mut drive = vec![T::zero(); nf];
            let mut g = vec![T::zero(); nf];
            let mut trial = xs.to_vec();
            let mut gmax = f64::INFINITY;
            for it in 0..opts.max_iter {
                gradient(energy, xs, nc, nudge, b, &mut drive, &mut g);
                gmax = g.iter().fold(0.0f64, |m, v| m.max(v.f64().abs()));
                if !gmax.is_finite() {
                    return Err(Diverged {
                        phase: phase.to_string(),
                        step: it,
                        sample: b,
                    });
                }
                if gmax < opts.tol {
                    break;
                }
                let mut h: Mat<T> = energy.hessian_free(xs, nc);
                if let Some(nu) = nudge {
                    let mut e = vec![T::zero(); nf];
                    let mut col = vec![T::zero(); nf];
                    for j in 0..nf {
                        e.fill(T::zero());
                        e[j] = T::one();
                        col.fill(T::zero());
                        nu.cost.add_hvp(xs, d, nc, b, (&e, nu.beta), &mut col);
                        for i in 0..nf {
                            h[(i, j)] += col[i];
                        }
                    }
                }
                let rhs = Mat::<T>::from_fn(nf, 1, |i, _| -g[i]);
                let p: Vec<T> = match h.llt(Side::Lower) {
                    Ok(ch) => {
                        let s = ch.solve(&rhs);
                        (0..nf).map(|i| s[(i, 0)]).collect()
                    }
                    Err(_) => g.iter().map(|&v| -v).collect(),
                };
                let slope: f64 = p.iter().zip(&g).map(|(a, b)| a.f64() * b.f64()).sum();
                let f0 = objective(energy, xs, nudge, b);
                let mut alpha = 1.0f64;
                let mut accepted = false;
                for _ in 0..40 {
                    trial.copy_from_slice(xs);
                    for i in 0..nf {
                        trial[nc + i] += T::of(alpha) * p[i];
                    }
                    let f1 = objective(energy, &trial, nudge, b);
                    if f1.is_finite()
                        && (f1 <= f0 + 1e-4 * alpha * slope
                            || (f1 - f0).abs() <= 1e-13 * f0.abs().max(1.0))
                    {
                        accepted = true;
                        break;
                    }
                    alpha *= 0.5;
                }
                if !accepted {
                    break;
                }
                xs.copy_from_slice(&trial);
            }
            Ok(gmax)
        })
        .collect();
    Ok(res?.into_iter().fold(0.0, f64::max))
}
