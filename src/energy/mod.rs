//! Substrates: an energy `E_θ(x)` with its force, curvature and parameter derivatives.
//!
//! Every substrate implements [`Energy`]; dynamics and learning rules only talk to this trait,
//! so a new substrate is one new file. Batches use the sample-major layout of
//! [`crate::linalg`]. Clamped coordinates are, by convention, a *prefix* `0..nc` of the state
//! vector (input blocks come first), so the free coordinates `nc..D` are contiguous.

pub mod bilinear;
pub mod cost;
pub mod hopfield;
pub mod layered;
pub mod oscillator;

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
    /// How many leading free coordinates (`nc..nc + p`) [`Energy::grad_free_flow`] steps
    /// itself; 0 (the default) when the substrate has no fused gradient-flow step.
    fn flow_prefix(&self, nc: usize) -> usize {
        let _ = nc;
        0
    }
    /// [`Energy::grad_free`], except that the first [`Energy::flow_prefix`] free coordinates
    /// are not given a force but are stepped in place by projected gradient flow,
    /// `x ← clip(x − dt ∂E/∂x, lo, hi)`, in the same pass that computes their force (their
    /// rows of `out` are left as they were). The forces of the other coordinates use the old
    /// values. Returns the NaN detector `Σ v · 0` over the unprojected new values. Only valid
    /// when nothing else adds to the stepped coordinates' force (no nudge on them, no noise).
    #[allow(clippy::too_many_arguments)]
    fn grad_free_flow(
        &self,
        x: &mut [T],
        nc: usize,
        drive: &[T],
        dt: T,
        lo: T,
        hi: T,
        out: &mut [T],
    ) -> T {
        let _ = (dt, lo, hi);
        self.grad_free(x, nc, drive, out);
        T::zero()
    }
    /// Hessian–vector product `∇²_x E(x_b) v_b` over all coordinates (`B × D`).
    fn hvp(&self, x: &[T], v: &[T], out: &mut [T]);
    /// `out += Σ_b w_b ∂E/∂θ (x_b)` (length `n_params`).
    fn grad_theta(&self, x: &[T], w: &[T], out: &mut [T]);
    /// `out += Σ_b w_b ∂/∂θ (∇_x E(x_b) · v_b)`, the mixed second derivative contracted with
    /// `v` (the directional derivative of [`Energy::grad_theta`] along `v`).
    fn grad_theta_dir(&self, x: &[T], v: &[T], w: &[T], out: &mut [T]);

    /// Per-sample energies given the cached drive of the clamped prefix (as returned by
    /// [`Energy::clamped_drive`] for the same prefix); substrates may override it to skip the
    /// clamped block's products. Default: [`Energy::energy`].
    fn energy_free(&self, x: &[T], nc: usize, drive: &[T], out: &mut [T]) {
        let _ = (nc, drive);
        self.energy(x, out);
    }

    /// `out += Σ_b w_b (ca ∂E/∂θ(xa_b) + cb ∂E/∂θ(xb_b))` for two batches that share their
    /// clamped prefix `0..nc` — the difference of two EqProp phase readouts in one pass.
    /// Substrates may override it to contract the shared clamped block once.
    #[allow(clippy::too_many_arguments)]
    fn grad_theta_pair(&self, xa: &[T], xb: &[T], nc: usize, w: &[T], ca: T, cb: T, out: &mut [T]) {
        let _ = nc;
        T::with_scratch(w.len(), |ws| {
            for (o, &wi) in ws.iter_mut().zip(w) {
                *o = ca * wi;
            }
            self.grad_theta(xa, ws, out);
            for (o, &wi) in ws.iter_mut().zip(w) {
                *o = cb * wi;
            }
            self.grad_theta(xb, ws, out);
        });
    }

    /// Box `[lo, hi]` that every free coordinate must stay in (the dynamics project onto it),
    /// or `None` for an unconstrained state.
    fn bounds(&self) -> Option<(f64, f64)> {
        None
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
