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
