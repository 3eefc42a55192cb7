//! Substrates: an energy `E_θ(x)` with its force, curvature and parameter derivatives.
//!
//! Every substrate implements [`Energy`]; dynamics and learning rules only talk to this trait,
//! so a new substrate is one new file. Batches use the sample-major layout of
//! [`crate::linalg`]. Clamped coordinates are, by convention, a *prefix* `0..nc` of the state
//! vector (input blocks come first), so the free coordinates `nc..D` are contiguous.

pub mod bilinear;
pub mod cost;
mod fast;
pub mod hopfield;
pub mod layered;
pub mod oscillator;

pub use fast::{FastPaths, FlowStep, energy_free, flow_prefix, grad_theta_pair, two_readouts};

use crate::linalg::view_mut;
use crate::real::Real;
use faer::Mat;

/// A named block of the flat parameter vector (used for checkpoints and reports).
#[derive(Clone, Debug, PartialEq)]
pub struct ParamBlock {
    /// Tensor name, e.g. `"U_0_1"`.
    pub name: String,
    /// Row-major shape.
    pub shape: Vec<usize>,
    /// Offset into the flat parameter vector.
    pub offset: usize,
}

impl ParamBlock {
    /// Number of scalars in the block.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    /// True when the block holds no scalar.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Checks a new parameter vector for a substrate (`what` names it in messages): its length
/// against `expected`, and that every value is finite, naming the tensor (from `blocks`,
/// called only then) of the first that is not.
pub fn check_params<T: Real>(
    what: &str,
    blocks: impl FnOnce() -> Vec<ParamBlock>,
    theta: &[T],
    expected: usize,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        theta.len() == expected,
        "{what}: parameter vector has length {}, expected {expected}",
        theta.len()
    );
    if let Some(i) = crate::real::first_non_finite(theta) {
        let name = blocks()
            .into_iter()
            .find(|b| i >= b.offset && i < b.offset + b.len())
            .map(|b| b.name)
            .unwrap_or_default();
        anyhow::bail!("{what}: parameter {name} is NaN or Inf (index {i})");
    }
    Ok(())
}

/// A physical substrate's energy `E_θ(x)`, batched over samples.
///
/// All methods take sample-major batches (`x.len() = B · D`); `B` is implied by the length,
/// so the engine may call them on any contiguous chunk of samples.
pub trait Energy<T: Real>: Send + Sync {
    /// State dimension `D`.
    fn dim(&self) -> usize;
    /// The flat parameter vector θ.
    fn params(&self) -> &[T];
    /// Replaces θ (validating it and rebuilding any cached operators).
    fn set_params(&mut self, theta: &[T]) -> anyhow::Result<()>;
    /// Layout of θ as named tensors.
    fn param_blocks(&self) -> Vec<ParamBlock>;
    /// Number of parameters.
    fn n_params(&self) -> usize {
        self.params().len()
    }
    /// Per-sample energies `E_θ(x_b)` into `out` (length `B`).
    fn energy(&self, x: &[T], out: &mut [T]);
    /// The part of `∂E/∂x_free` that does not depend on the free coordinates (biases and the
    /// drive of the clamped prefix `0..nc`), written into `drive` (`B × (D − nc)`). It is
    /// constant during a phase, so the dynamics compute it once per phase.
    fn clamped_drive(&self, x: &[T], nc: usize, drive: &mut [T]);
    /// `∂E/∂x_free` for the free coordinates `nc..D` (`out`: `B × (D − nc)`), given the
    /// cached `drive` from [`Energy::clamped_drive`].
    fn grad_free(&self, x: &[T], nc: usize, drive: &[T], out: &mut [T]);
    /// Hessian–vector product `∇²_x E(x_b) v_b` over all coordinates (`B × D`).
    fn hvp(&self, x: &[T], v: &[T], out: &mut [T]);
    /// `out += Σ_b w_b ∂E/∂θ (x_b)` (length `n_params`).
    fn grad_theta(&self, x: &[T], w: &[T], out: &mut [T]);
    /// `out += Σ_b w_b ∂/∂θ (∇_x E(x_b) · v_b)`, the mixed second derivative contracted with
    /// `v` (the directional derivative of [`Energy::grad_theta`] along `v`).
    fn grad_theta_dir(&self, x: &[T], v: &[T], w: &[T], out: &mut [T]);

    /// The fast paths this substrate offers, if any ([`FastPaths`]); the engine reaches them
    /// through [`energy_free`], [`grad_theta_pair`] and [`flow_prefix`], which fall back to
    /// the methods above.
    fn fast(&self) -> Option<&dyn FastPaths<T>> {
        None
    }

    /// This substrate as an energy linear in its parameters, `E = Σ_i θ_i φ_i(x)`, if it is
    /// one ([`oscillator::LinearEnergy`]): the score rules (force matching, denoising score
    /// matching, CD1) need its feature derivatives and refuse a substrate without them.
    fn linear(&self) -> Option<&dyn oscillator::LinearEnergy<T>> {
        None
    }

    /// Projects the parameters `theta` (f64) onto this substrate's feasible set, in place,
    /// and says whether the substrate has one (default: unconstrained, `false`). The training
    /// step applies it after every optimizer step.
    fn project_params(&self, theta: &mut [f64]) -> bool {
        let _ = theta;
        false
    }

    /// Box `[lo, hi]` that every free coordinate must stay in (the dynamics project onto it),
    /// or `None` for an unconstrained state.
    fn bounds(&self) -> Option<(f64, f64)> {
        None
    }

    /// Coordinates `0..box_end()` of a sample lie in the box of [`Energy::bounds`]; those
    /// past it are unbounded (for example a linear output layer). The default, `dim()`,
    /// boxes every coordinate.
    fn box_end(&self) -> usize {
        self.dim()
    }

    /// Full gradient `∇_x E` over all coordinates (not a hot path: allocates).
    fn grad_x(&self, x: &[T], out: &mut [T]) {
        let mut drive = vec![T::zero(); x.len()];
        self.clamped_drive(x, 0, &mut drive);
        self.grad_free(x, 0, &drive, out);
    }

    /// Dense Hessian of one sample's energy restricted to the free block `nc..D`, built from
    /// Hessian–vector products with unit vectors (substrates may override).
    fn hessian_free(&self, x: &[T], nc: usize) -> Mat<T> {
        let d = self.dim();
        let nf = d - nc;
        let mut xs = vec![T::zero(); nf * d];
        let mut vs = vec![T::zero(); nf * d];
        for j in 0..nf {
            xs[j * d..(j + 1) * d].copy_from_slice(x);
            vs[j * d + nc + j] = T::one();
        }
        let mut hv = vec![T::zero(); nf * d];
        self.hvp(&xs, &vs, &mut hv);
        let hv = view_mut(&mut hv, d);
        Mat::from_fn(nf, nf, |i, j| hv[(nc + i, j)])
    }
}

/// A substrate used as a classifier: its clamped input is the prefix `0..n_clamped`, its
/// output block is nudged towards the target and read by argmax (the layered Hopfield nets
/// trained by `physlearn train`).
pub trait Classifier<T: Real>: Energy<T> {
    /// Size of the clamped input (the prefix of the state).
    fn n_clamped(&self) -> usize;
    /// The output block as `(start, len)`.
    fn output_block(&self) -> (usize, usize);
    /// The layer shapes, for reports (e.g. `1×28×28 → 32×12×12 → 64×4×4 → 10`).
    fn describe(&self) -> String;
}
