//! Costs attached to an output block, used to nudge the dynamics (`E + β C`) and as losses.

use crate::real::Real;

/// A per-sample cost `C_b(x)` on a block of coordinates.
///
/// `sample0` is the index of the first sample of the batch chunk passed in, so per-sample
/// targets line up when the engine works on chunks.
pub trait Cost<T: Real>: Send + Sync {
    /// The coordinates `C` reads and whose gradient it writes (default: all `0..d`).
    fn support(&self, d: usize) -> std::ops::Range<usize> {
        0..d
    }
    /// The output values that minimise `C_b` for each of the first `n` samples: the block
    /// they occupy and the values (`n × block.len()`), for rules that clamp the output to its
    /// target (contrastive and coupled learning); `None` (the default) when the cost has no
    /// such target.
    fn minimizer(&self, n: usize) -> Option<(std::ops::Range<usize>, Vec<T>)> {
        let _ = n;
        None
    }
    /// Per-sample values `C_b(x_b)` into `out`.
    fn value(&self, x: &[T], d: usize, sample0: usize, out: &mut [T]);
    /// `out_free += scale · ∂C/∂x_free` (`out_free`: `B × (d − nc)`).
    fn add_grad(&self, x: &[T], d: usize, nc: usize, sample0: usize, scale: T, out_free: &mut [T]);
    /// `out_free += scale · ∇²C v` over the free block (`v_free`, `out_free`: `B × (d − nc)`;
    /// the direction is given with its scale).
    fn add_hvp(
        &self,
        x: &[T],
        d: usize,
        nc: usize,
        sample0: usize,
        v: (&[T], T),
        out_free: &mut [T],
    );
}

/// `C_b(x) = w_b / 2 · ‖x_O − t_b‖²` on the output block `O = start..start+len`.
///
/// With `w_b = σ_b²` and `t_b = (y_b − ỹ_b)/σ_b²` this is the denoising-score-matching cost of
/// the symmetric-EqProp paper (arXiv 2604.23806, `C(x_O) = σ²/2 ‖x_O − (y − ỹ)/σ²‖²`).
#[derive(Clone, Debug)]
pub struct WeightedSquaredError<T> {
    /// First output coordinate.
    pub start: usize,
    /// Output block length.
    pub len: usize,
    /// Targets, sample-major `B × len`.
    pub target: Vec<T>,
    /// Per-sample weights `w_b`.
    pub weight: Vec<T>,
}

impl<T: Real> WeightedSquaredError<T> {
    /// Number of samples the cost has targets for.
    pub fn batch(&self) -> usize {
        self.weight.len()
    }
}

impl<T: Real> Cost<T> for WeightedSquaredError<T> {
    fn support(&self, _d: usize) -> std::ops::Range<usize> {
        self.start..self.start + self.len
    }
    /// The targets `t_b` (the minimum for any positive weight).
    fn minimizer(&self, n: usize) -> Option<(std::ops::Range<usize>, Vec<T>)> {
        Some((self.support(0), self.target[..n * self.len].to_vec()))
    }
    fn value(&self, x: &[T], d: usize, sample0: usize, out: &mut [T]) {
        for (b, o) in out.iter_mut().enumerate() {
            let xs = &x[b * d + self.start..b * d + self.start + self.len];
            let t = &self.target[(sample0 + b) * self.len..(sample0 + b + 1) * self.len];
            let s: T = xs.iter().zip(t).map(|(&a, &c)| (a - c) * (a - c)).sum();
            *o = self.weight[sample0 + b] * s * T::of(0.5);
        }
    }

    fn add_grad(&self, x: &[T], d: usize, nc: usize, sample0: usize, scale: T, out_free: &mut [T]) {
        let nf = d - nc;
        let n = x.len() / d;
        for b in 0..n {
            let w = scale * self.weight[sample0 + b];
            let xs = &x[b * d + self.start..b * d + self.start + self.len];
            let t = &self.target[(sample0 + b) * self.len..(sample0 + b + 1) * self.len];
            let o = &mut out_free[b * nf + self.start - nc..b * nf + self.start - nc + self.len];
            for ((o, &a), &c) in o.iter_mut().zip(xs).zip(t) {
                *o += w * (a - c);
            }
        }
    }

    fn add_hvp(
        &self,
        x: &[T],
        d: usize,
        nc: usize,
        sample0: usize,
        (v_free, scale): (&[T], T),
        out_free: &mut [T],
    ) {
        let nf = d - nc;
        let n = x.len() / d;
        for b in 0..n {
            let w = scale * self.weight[sample0 + b];
            let r = b * nf + self.start - nc..b * nf + self.start - nc + self.len;
            for (o, &v) in out_free[r.clone()].iter_mut().zip(&v_free[r]) {
                *o += w * v;
            }
        }
    }
}

/// No cost on the state (`C ≡ 0`): the batch of a generative rule, whose objective is a
/// score-matching loss of its samples rather than a cost on a relaxed output. A supervised
/// rule given it estimates `∇_θ 0 = 0`; contrastive and coupled learning refuse it (no target).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoCost;

impl<T: Real> Cost<T> for NoCost {
    fn value(&self, _x: &[T], _d: usize, _sample0: usize, out: &mut [T]) {
        out.fill(T::zero());
    }
    fn add_grad(&self, _: &[T], _: usize, _: usize, _: usize, _: T, _: &mut [T]) {}
    fn add_hvp(&self, _: &[T], _: usize, _: usize, _: usize, _: (&[T], T), _: &mut [T]) {}
}
