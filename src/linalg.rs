//! Thin helpers over faer for the engine's batch layout.
//!
//! A batch of `B` states of dimension `D` is stored *sample-major*: sample `b`, coordinate
//! `i` lives at `x[b * D + i]`, so one sample is one contiguous slice and a chunk of samples
//! is a contiguous sub-slice. Seen by faer it is a column-major `D × B` matrix (one column
//! per sample), so a linear map `J` acts on the whole batch as the GEMM `J · X`.

use crate::real::Real;
use faer::{Accum, MatMut, MatRef, Par};

/// The `d × (len / d)` column-major view of a sample-major batch.
#[inline]
pub fn view<T: Real>(x: &[T], d: usize) -> MatRef<'_, T> {
    debug_assert!(d > 0 && x.len().is_multiple_of(d));
    MatRef::from_column_major_slice(x, d, x.len() / d)
}

/// Mutable version of [`view`].
#[inline]
pub fn view_mut<T: Real>(x: &mut [T], d: usize) -> MatMut<'_, T> {
    debug_assert!(d > 0 && x.len().is_multiple_of(d));
    let n = x.len() / d;
    MatMut::from_column_major_slice_mut(x, d, n)
}

/// `dst (+)= alpha · lhs · rhs`, sequential (the engine parallelises over sample chunks).
#[inline]
pub fn gemm<T: Real>(
    dst: MatMut<'_, T>,
    accumulate: bool,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    alpha: T,
) {
    let acc = if accumulate {
        Accum::Add
    } else {
        Accum::Replace
    };
    let flops = 2 * dst.nrows() * dst.ncols() * lhs.ncols();
    faer::linalg::matmul::matmul(dst, acc, lhs, rhs, alpha, par_for(flops));
}

/// Products of at least this many flops run on all rayon threads when called from outside
/// a rayon worker (a product issued inside a parallel chunk stays sequential).
pub const PAR_GEMM_FLOPS: usize = 8 << 20;

/// The faer parallelism for a product of `flops`: all threads for a large product issued
/// outside the thread pool, sequential otherwise. faer splits a product over output blocks
/// and reduces each inner dimension in one thread, so the result does not depend on it.
fn par_for(flops: usize) -> Par {
    let threads = rayon::current_num_threads();
    if flops >= PAR_GEMM_FLOPS && threads > 1 && rayon::current_thread_index().is_none() {
        Par::rayon(threads)
    } else {
        Par::Seq
    }
}

/// Dot product.
#[inline]
pub fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    a.iter().zip(b).fold(T::zero(), |s, (&x, &y)| s + x * y)
}

/// Euclidean norm, accumulated in f64.
pub fn norm(a: &[f64]) -> f64 {
    a.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Cosine similarity of two vectors (0 when either is zero).
pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let na = norm(a);
    let nb = norm(b);
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() / (na * nb)
}

/// `‖a − b‖₂`.
pub fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// Mean and (population) standard deviation.
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, var.sqrt())
}

/// Least-squares slope and intercept of `log y` against `log x` (natural logs; the slope is
/// base-independent). Points with non-positive or non-finite values are skipped.
pub fn loglog_slope(x: &[f64], y: &[f64]) -> (f64, f64) {
    let pts: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .filter(|(a, b)| **a > 0.0 && **b > 0.0 && a.is_finite() && b.is_finite())
        .map(|(a, b)| (a.ln(), b.ln()))
        .collect();
    linear_fit(&pts)
}

/// Ordinary least squares `y = slope · x + intercept`; NaNs when fewer than two points.
pub fn linear_fit(pts: &[(f64, f64)]) -> (f64, f64) {
    if pts.len() < 2 {
        return (f64::NAN, f64::NAN);
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let slope = sxy / sxx;
    (slope, my - slope * mx)
}
