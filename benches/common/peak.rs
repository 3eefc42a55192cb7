//! The GEMM peak every benchmark reports its rate against, measured in the same run.

use physlearn::Real;
use std::hint::black_box;
use std::time::Instant;

/// Median of `v`.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// This machine's GEMM rate in precision `T` on all rayon threads (FLOP/s): the median of 9
/// faer products of 2048³ (the median, so that the rate and the timed work it is compared
/// with see the same machine noise).
pub fn gemm_peak<T: Real>() -> f64 {
    let n = 2048;
    let a = faer::Mat::<T>::from_fn(n, n, |i, j| T::of(((i * 7 + j * 3) % 11) as f64 * 0.1));
    let b = a.clone();
    let mut c = faer::Mat::<T>::zeros(n, n);
    let par = faer::Par::rayon(rayon::current_num_threads());
    let mut times = vec![];
    for _ in 0..9 {
        let t = Instant::now();
        faer::linalg::matmul::matmul(
            c.as_mut(),
            faer::Accum::Replace,
            a.as_ref(),
            b.as_ref(),
            T::one(),
            par,
        );
        times.push(t.elapsed().as_secs_f64());
    }
    black_box(c[(0, 0)]);
    2.0 * (n as f64).powi(3) / median(times)
}
