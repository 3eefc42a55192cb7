//! The floating-point scalar the engine is generic over (`f32` or `f64`).

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// A real scalar usable by every substrate, dynamics and rule: `f32` or `f64`.
///
/// It bundles faer's [`faer::traits::RealField`] (so GEMMs and solves work on it) with
/// [`num_traits::Float`] and a standard-normal draw (ziggurat, from `rand_distr`).
pub trait Real:
    faer::traits::RealField
    + num_traits::Float
    + num_traits::FromPrimitive
    + num_traits::ToPrimitive
    + Copy
    + Default
    + Send
    + Sync
    + std::fmt::Debug
    + std::fmt::Display
    + std::iter::Sum
    + 'static
{
    /// Short name used in benchmark ids and reports ("f32" / "f64").
    const NAME: &'static str;
    /// Converts from `f64` (rounding for `f32`).
    fn of(x: f64) -> Self;
    /// Converts to `f64`.
    fn f64(self) -> f64;
    /// One standard-normal draw.
    fn randn<R: Rng + ?Sized>(rng: &mut R) -> Self;
    /// Runs `f` on a zeroed per-thread scratch buffer of `len` scalars, reused across calls
    /// (so hot paths need no allocation). Re-entrant: a nested call gets its own buffer.
    fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R;
}

fn scratch<T: Copy + Default, R>(
    cell: &'static std::thread::LocalKey<std::cell::RefCell<Vec<T>>>,
    len: usize,
    f: impl FnOnce(&mut [T]) -> R,
) -> R {
    let mut buf = cell.with(|c| std::mem::take(&mut *c.borrow_mut()));
    buf.clear();
    buf.resize(len, T::default());
    let r = f(&mut buf);
    cell.with(|c| {
        let mut slot = c.borrow_mut();
        if slot.capacity() < buf.capacity() {
            *slot = buf;
        }
    });
    r
}

thread_local! {
    static SCRATCH_F64: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
    static SCRATCH_F32: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Real for f64 {
    const NAME: &'static str = "f64";
    #[inline(always)]
    fn of(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn randn<R: Rng + ?Sized>(rng: &mut R) -> Self {
        StandardNormal.sample(rng)
    }
    fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R {
        scratch(&SCRATCH_F64, len, f)
    }
}

impl Real for f32 {
    const NAME: &'static str = "f32";
    #[inline(always)]
    fn of(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn randn<R: Rng + ?Sized>(rng: &mut R) -> Self {
        StandardNormal.sample(rng)
    }
    fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R {
        scratch(&SCRATCH_F32, len, f)
    }
}

/// Converts a slice to `f64`.
pub fn to_f64<T: Real>(v: &[T]) -> Vec<f64> {
    v.iter().map(|x| x.f64()).collect()
}

/// Converts a slice from `f64`.
pub fn from_f64<T: Real>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&x| T::of(x)).collect()
}

/// `min(max(v, lo), hi)` as plain compare-and-select, which vectorises (`f32::max` does not,
/// because of its NaN rule). A NaN `v` stays NaN (both comparisons are false); the callers'
/// NaN detectors flag it.
#[inline(always)]
pub(crate) fn clip<T: Real>(v: T, lo: T, hi: T) -> T {
    let c = if v < lo { lo } else { v };
    if c > hi { hi } else { c }
}

/// `½ Σ v²` in f64, summed over 16 interleaved lanes so that the reduction vectorises (a
/// plain fold is one dependent add per element). The sum order is fixed by the length alone.
pub fn half_sq_norm_f64<T: Real>(v: &[T]) -> f64 {
    const L: usize = 16;
    let mut acc = [0.0f64; L];
    let chunks = v.chunks_exact(L);
    let tail: f64 = chunks.remainder().iter().map(|x| x.f64() * x.f64()).sum();
    for c in chunks {
        for j in 0..L {
            let x = c[j].f64();
            acc[j] += x * x;
        }
    }
    0.5 * acc.iter().fold(tail, |s, &a| s + a)
}

/// `Σ_i a_i (½ a_i + b_i + ½ c_i)` over 16 interleaved lanes (see [`half_sq_norm_f64`]): the
/// quadratic-plus-linear energy of a free state `a` with its drive `b` and couplings `c`.
pub fn quad_lin_sum<T: Real>(a: &[T], b: &[T], c: &[T]) -> T {
    const L: usize = 16;
    let half = T::of(0.5);
    let n = a.len();
    assert!(b.len() == n && c.len() == n, "quad_lin_sum: lengths differ");
    let mut acc = [T::zero(); L];
    let full = n / L * L;
    for k in (0..full).step_by(L) {
        let (a, b, c) = (&a[k..k + L], &b[k..k + L], &c[k..k + L]);
        for j in 0..L {
            acc[j] += a[j] * (half * a[j] + b[j] + half * c[j]);
        }
    }
    let mut tail = T::zero();
    for i in full..n {
        tail += a[i] * (half * a[i] + b[i] + half * c[i]);
    }
    acc.iter().fold(tail, |s, &v| s + v)
}

/// The index of the first NaN/Inf in `v`, if any. The scan accumulates `Σ v · 0` over 16
/// independent lanes (NaN exactly when some `v` is not finite), which vectorises, and looks
/// for the position only then; `iter().position(..)` alone runs one element at a time (a
/// parameter write of the 784-500-10 net spent more time in it than in copying θ).
///
/// Slices longer than [`SCAN_PIECE`] are scanned in pieces of that length on the rayon pool
/// (a parameter vector of the MNIST MLP is 400 000 values, read once per training step).
pub fn first_non_finite<T: Real>(v: &[T]) -> Option<usize> {
    use rayon::prelude::*;
    if v.len() <= SCAN_PIECE {
        return first_non_finite_seq(v);
    }
    let piece = v
        .par_chunks(SCAN_PIECE)
        .position_first(|p| first_non_finite_seq(p).is_some())?;
    first_non_finite_seq(&v[piece * SCAN_PIECE..]).map(|i| piece * SCAN_PIECE + i)
}

/// Values per parallel piece of [`first_non_finite`].
pub const SCAN_PIECE: usize = 1 << 15;

fn first_non_finite_seq<T: Real>(v: &[T]) -> Option<usize> {
    const L: usize = 16;
    let mut acc = [T::zero(); L];
    let chunks = v.chunks_exact(L);
    let mut tail = T::zero();
    for &x in chunks.remainder() {
        tail += x * T::zero();
    }
    for c in chunks {
        for j in 0..L {
            acc[j] += c[j] * T::zero();
        }
    }
    if acc.iter().fold(tail, |s, &a| s + a).is_nan() {
        v.iter().position(|x| !x.is_finite())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::first_non_finite;

    #[test]
    fn first_non_finite_finds_nan_and_inf_in_body_and_tail() {
        for n in [0usize, 5, 16, 37, 100, 3 * super::SCAN_PIECE + 5] {
            let v: Vec<f32> = (0..n).map(|i| i as f32 * 1e30).collect();
            assert_eq!(first_non_finite(&v), None, "n {n}");
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                for i in [0, n / 2, n.saturating_sub(1)]
                    .into_iter()
                    .filter(|&i| i < n)
                {
                    let mut w = v.clone();
                    w[i] = bad;
                    if i + 1 < n {
                        w[n - 1] = f32::NAN;
                    }
                    assert_eq!(first_non_finite(&w), Some(i), "n {n}, {bad} at {i}");
                }
            }
        }
    }
}

/// The floating-point precision a run simulates in, as a config names it (`"f32"`, `"f64"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Single precision.
    F32,
    /// Double precision.
    F64,
}

/// A computation generic over the scalar, run by [`Precision::dispatch`] in the precision a
/// config names (Rust has no generic closures, so a job is a value of this trait).
pub trait PrecisionJob {
    /// What the job returns.
    type Output;
    /// Runs the job with scalar `T`.
    fn run<T: Real>(self) -> Self::Output;
}

impl Precision {
    /// Runs `job` with `f32` or `f64`.
    pub fn dispatch<J: PrecisionJob>(self, job: J) -> J::Output {
        match self {
            Precision::F32 => job.run::<f32>(),
            Precision::F64 => job.run::<f64>(),
        }
    }

    /// The size of one scalar, in bytes.
    pub fn bytes(self) -> usize {
        match self {
            Precision::F32 => 4,
            Precision::F64 => 8,
        }
    }

    /// The name a config gives it.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
