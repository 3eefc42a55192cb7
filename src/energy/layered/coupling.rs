//! The interaction between two layers of a [`super::Layered`] energy.
//!
//! A coupling from a lower layer `a` to an upper layer `b` contributes `−⟨f_W(s_a), s_b⟩` to
//! the energy, where `f_W` is linear in its weights `W` and piecewise linear in `s_a`: a
//! dense product `W s_a`, or a convolution followed by pooling (the max-pool's window argmax
//! makes it piecewise linear). Inside one linear piece `f_W(s_a) = J(s_a) s_a` with a
//! Jacobian `J` that depends on `s_a` only through the piece (the pooling argmax), so every
//! derivative the engine needs is one of three maps evaluated "at" a state:
//! `J(at) x` ([`Coupling::apply`]), `J(at)ᵀ y` ([`Coupling::apply_t`]) and the weight
//! derivative of `⟨J(at) x, y⟩` ([`Coupling::grad_w`]). A coupling type is one file
//! implementing this trait.
//!
//! Blocks are faer views of a sample-major batch restricted to one layer: one column per
//! sample, the layer's units (in `CHW` order) down the rows, row stride 1.

use super::shape::Shape;
use crate::real::Real;
use faer::{MatMut, MatRef};
use rand_xoshiro::Xoshiro256PlusPlus;

/// One layer of a batch: rows are the layer's units, columns the samples.
pub type Block<'a, T> = MatRef<'a, T>;
/// A mutable [`Block`].
pub type BlockMut<'a, T> = MatMut<'a, T>;

/// Sample `j` of a block as a slice (blocks have row stride 1).
#[inline]
pub fn col<'a, T: Real>(m: Block<'a, T>, j: usize) -> &'a [T] {
    m.col(j)
        .try_as_col_major()
        .expect("layer blocks have row stride 1")
        .as_slice()
}

/// Sample `j` of a mutable block as a slice.
#[inline]
pub fn col_mut<'a, T: Real>(m: BlockMut<'a, T>, j: usize) -> &'a mut [T] {
    m.col_mut(j)
        .try_as_col_major_mut()
        .expect("layer blocks have row stride 1")
        .as_slice_mut()
}

/// A coupling `−⟨f_W(s_a), s_b⟩` between a lower layer `a` and an upper layer `b`.
pub trait Coupling<T: Real>: Send + Sync + std::fmt::Debug {
    /// The coupling type's name, as in configs (`"dense"`, `"conv"`).
    fn kind(&self) -> &'static str;
    /// Shape of the lower layer `a`.
    fn input(&self) -> Shape;
    /// Shape of the upper layer `b` (the shape of `f_W(s_a)`).
    fn output(&self) -> Shape;
    /// Shape of the weight tensor, in PyTorch's layout (`[out, in]` for a dense coupling,
    /// `[out, in, kh, kw]` for a convolution).
    fn weight_shape(&self) -> Vec<usize>;
    /// Number of weights.
    fn n_weights(&self) -> usize {
        self.weight_shape().iter().product()
    }
    /// Multiply-adds of one sample's `f_W(s_a)` (for FLOP counts in benchmarks).
    fn macs(&self) -> usize;
    /// Draws the initial weights into `w`.
    fn init(&self, rng: &mut Xoshiro256PlusPlus, w: &mut [T]);
    /// `out (+)= alpha · J(at) x` (overwritten when `accumulate` is false).
    fn apply(
        &self,
        w: &[T],
        at: Block<'_, T>,
        x: Block<'_, T>,
        out: BlockMut<'_, T>,
        accumulate: bool,
        alpha: T,
    );
    /// `out += alpha · J(at)ᵀ y`.
    fn apply_t(&self, w: &[T], at: Block<'_, T>, y: Block<'_, T>, out: BlockMut<'_, T>, alpha: T);
    /// `gw += alpha · Σ_j c_j ∂⟨J(at_j) x_j, y_j⟩/∂W` (the per-sample weights `c`, then
    /// the accumulator with its factor).
    fn grad_w(
        &self,
        w: &[T],
        at: Block<'_, T>,
        x: Block<'_, T>,
        y: Block<'_, T>,
        c: &[T],
        acc: (&mut [T], T),
    );
    /// Both halves of the coupling's force in one pass, both layers free:
    /// `fa += alpha · J(a)ᵀ b` and `fb += alpha · f_W(a)`. Couplings whose piece must be
    /// found (the max-pool) override it to find it once.
    fn force_pair(
        &self,
        w: &[T],
        a: Block<'_, T>,
        b: Block<'_, T>,
        fa: BlockMut<'_, T>,
        fb: BlockMut<'_, T>,
        alpha: T,
    ) {
        self.apply(w, a, a, fb, true, alpha);
        self.apply_t(w, a, b, fa, alpha);
    }
}
