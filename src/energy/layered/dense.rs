//! The dense coupling `−s_bᵀ W s_a` of the layered Hopfield energy (Scellier & Bengio 2017,
//! "Equilibrium Propagation", eq. 1), flattening a feature map below it. `W` is `[out, in]`
//! row-major, PyTorch's `Linear` layout.

use super::coupling::{Block, BlockMut, Coupling, col};
use super::shape::Shape;
use crate::linalg::gemm;
use crate::real::Real;
use faer::{MatMut, MatRef};
use rand_xoshiro::Xoshiro256PlusPlus;

/// How a dense coupling's weights are drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenseInit {
    /// Glorot-uniform, `U(±√(6 / (n_in + n_out)))`, as the dense Hopfield net.
    #[default]
    Glorot,
    /// PyTorch's default `Linear` initialisation, `U(±1/√n_in)`, as the published EP code
    /// (Laborieux et al. 2021): smaller for a wide input, so few output units start on a wall.
    FanIn,
}

/// A dense coupling from a layer of any shape (read flat) to `out` units.
#[derive(Clone, Debug)]
pub struct Dense {
    input: Shape,
    out: usize,
    init: DenseInit,
}

impl Dense {
    /// A dense coupling from `input` to `out` units, Glorot-initialised.
    pub fn new(input: Shape, out: usize) -> Self {
        Self::with_init(input, out, DenseInit::Glorot)
    }

    /// A dense coupling with the given initialisation.
    pub fn with_init(input: Shape, out: usize, init: DenseInit) -> Self {
        Self { input, out, init }
    }

    fn w<'a, T: Real>(&self, w: &'a [T]) -> MatRef<'a, T> {
        MatRef::from_row_major_slice(w, self.out, self.input.len())
    }
}

impl<T: Real> Coupling<T> for Dense {
    fn kind(&self) -> &'static str {
        "dense"
    }
    fn input(&self) -> Shape {
        self.input
    }
    fn output(&self) -> Shape {
        Shape::flat(self.out)
    }
    fn weight_shape(&self) -> Vec<usize> {
        vec![self.out, self.input.len()]
    }
    fn macs(&self) -> usize {
        self.out * self.input.len()
    }

    /// Weights drawn as [`DenseInit`] says.
    fn init(&self, rng: &mut Xoshiro256PlusPlus, w: &mut [T]) {
        let n_in = self.input.len() as f64;
        let lim = match self.init {
            DenseInit::Glorot => (6.0 / (n_in + self.out as f64)).sqrt(),
            DenseInit::FanIn => 1.0 / n_in.sqrt(),
        };
        for v in w {
            *v = T::of(rand::Rng::random_range(rng, -lim..lim));
        }
    }

    fn apply(
        &self,
        w: &[T],
        _at: Block<'_, T>,
        x: Block<'_, T>,
        out: BlockMut<'_, T>,
        accumulate: bool,
        alpha: T,
    ) {
        gemm(out, accumulate, self.w(w), x, alpha);
    }

    fn apply_t(&self, w: &[T], _at: Block<'_, T>, y: Block<'_, T>, out: BlockMut<'_, T>, alpha: T) {
        gemm(out, true, self.w(w).transpose(), y, alpha);
    }

    /// `gw += alpha Σ_j c_j y_j x_jᵀ`, as one product with the weighted `y`.
    fn grad_w(
        &self,
        w: &[T],
        _at: Block<'_, T>,
        x: Block<'_, T>,
        y: Block<'_, T>,
        c: &[T],
        (gw, alpha): (&mut [T], T),
    ) {
        let _ = w;
        let (r, n) = (self.out, c.len());
        T::with_scratch(r * n, |buf| {
            for (j, &cj) in c.iter().enumerate() {
                for (o, &v) in buf[j * r..(j + 1) * r].iter_mut().zip(col(y, j)) {
                    *o = cj * v;
                }
            }
            let yw = MatRef::from_column_major_slice(buf, r, n);
            let o = MatMut::from_row_major_slice_mut(gw, r, self.input.len());
            gemm(o, true, yw, x.transpose(), alpha);
        });
    }
}
