//! A network of driven, nonlinear, overdamped oscillators with polynomial energy, the
//! substrate of the physical diffusion model of Bösch, Roeder, Serra-Garcia & Adams,
//! *Local Learning Rules for Out-of-Equilibrium Physical Generative Models* (2025).
//!
//! Local energy (paper eq. 3), per oscillator `n`:
//! `½ α_n x_n² + ¼ β_n x_n⁴ + ⅙ γ_n x_n⁶ + f_n x_n`, with `γ_n ≥ γ_min > 0` so that the energy
//! is coercive. Pair energy (eq. 4), per coupled pair `(n, m)`:
//! `½ κ (x_n − x_m)² + ¼ λ (x_n − x_m)⁴ + χ x_n x_m² + χ̂ x_n² x_m`, summed over the pairs (eq. 5).
//! The pairs come from a lattice up to next-next-nearest neighbours ([`Topology`]) or from an
//! explicit list; for an explicit pair `[n, m]` the asymmetric terms are `χ x_n x_m² + χ̂ x_n² x_m`
//! in the order given, for lattice pairs `n < m`.
//!
//! Parameter layout θ (named blocks, see [`Energy::param_blocks`]):
//! `alpha[N] beta[N] gamma[N] f[N] kappa[P] lambda[P] chi[P] chi_hat[P]`.
//!
//! Every parameter enters the energy linearly, `Ê = Σ_i θ_i φ_i(x)`, so the score-matching
//! objective is a quadratic form in θ and its gradient (eq. 8) only needs the per-parameter
//! features `∇_x φ_i` and `Δφ_i`: the [`LinearEnergy`] trait exposes them. The
//! time-dependent driving protocol `θ(t)` is an [`OscillatorProtocol`].
//!
//! Hot paths loop over oscillators and pairs sample by sample (cost `O(N + P)` per sample,
//! no allocation); the clamped drive holds the external forces `f` only, every other term is
//! recomputed by [`Energy::grad_free`] from the full state (so clamping works with any prefix).

use super::{Energy, ParamBlock};
use crate::real::Real;
use anyhow::{bail, ensure};
use serde::{Deserialize, Serialize};
use std::ops::Range;

fn default_reach() -> usize {
    2
}
fn default_shells() -> usize {
    3
}

/// Which oscillators are coupled (TOML table `[oscillator.topology]`, tagged by `kind`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Topology {
    /// A 1D chain of `n` oscillators; sites up to `reach` apart are coupled
    /// (`reach = 2`, the default, is next-next-nearest: distances 1 and 2).
    Chain {
        /// Number of oscillators.
        n: usize,
        /// Largest coupled distance (≥ 1).
        #[serde(default = "default_reach")]
        reach: usize,
    },
    /// A `rows × cols` grid, oscillator `r · cols + c` at row `r`, column `c` (an image in
    /// row-major order). `shells`: 1 couples distance 1, 2 adds the diagonals (√2), 3 (the
    /// default, next-next-nearest) adds distance 2.
    Grid {
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
        /// Number of neighbour shells (1..=3).
        #[serde(default = "default_shells")]
        shells: usize,
    },
    /// `n` oscillators with an explicit list of coupled pairs (e.g. a fully connected
    /// 2-oscillator network: `n = 2, pairs = [[0, 1]]`).
    Pairs {
        /// Number of oscillators.
        n: usize,
        /// Coupled pairs `[n, m]`, `n ≠ m`, each unordered pair at most once.
        pairs: Vec<[usize; 2]>,
    },
}

impl Topology {
    /// Number of oscillators `N` (the state dimension).
    pub fn n_oscillators(&self) -> usize {
        match self {
            Topology::Chain { n, .. } | Topology::Pairs { n, .. } => *n,
            Topology::Grid { rows, cols, .. } => rows * cols,
        }
    }

    /// The coupled pairs, validated. Lattice pairs are listed with `n < m`, shell by shell.
    pub fn pairs(&self) -> anyhow::Result<Vec<[usize; 2]>> {
        match self {
            Topology::Chain { n, reach } => {
                ensure!(*n > 0, "oscillator.topology: chain needs n > 0");
                ensure!(*reach >= 1, "oscillator.topology: chain reach must be ≥ 1");
                let mut v = Vec::new();
                for r in 1..=*reach {
                    for i in 0..n.saturating_sub(r) {
                        v.push([i, i + r]);
                    }
                }
                Ok(v)
            }
            Topology::Grid { rows, cols, shells } => {
                ensure!(
                    *rows > 0 && *cols > 0,
                    "oscillator.topology: grid needs rows, cols > 0"
                );
                ensure!(
                    (1..=3).contains(shells),
                    "oscillator.topology: grid shells must be 1, 2 or 3 (got {shells})"
                );
                // Offsets (dr, dc) with squared distance 1, 2, 4, one of each ± pair.
                let shell_offsets: [&[(isize, isize)]; 3] =
                    [&[(0, 1), (1, 0)], &[(1, 1), (1, -1)], &[(0, 2), (2, 0)]];
                let (r_, c_) = (*rows as isize, *cols as isize);
                let mut v = Vec::new();
                for offs in &shell_offsets[..*shells] {
                    for &(dr, dc) in offs.iter() {
                        for r in 0..r_ {
                            for c in 0..c_ {
                                let (r2, c2) = (r + dr, c + dc);
                                if r2 < r_ && c2 >= 0 && c2 < c_ {
                                    let a = (r * c_ + c) as usize;
                                    let b = (r2 * c_ + c2) as usize;
                                    v.push([a.min(b), a.max(b)]);
                                }
                            }
                        }
                    }
                }
                Ok(v)
            }
            Topology::Pairs { n, pairs } => {
                ensure!(*n > 0, "oscillator.topology: pairs needs n > 0");
                for (k, &[a, b]) in pairs.iter().enumerate() {
                    ensure!(
                        a < *n && b < *n && a != b,
                        "oscillator.topology.pairs[{k}] = [{a}, {b}]: need two distinct indices < {n}"
                    );
                    ensure!(
                        !pairs[..k]
                            .iter()
                            .any(|&[c, d]| (c == a && d == b) || (c == b && d == a)),
                        "oscillator.topology.pairs lists [{a}, {b}] twice"
                    );
                }
                Ok(pairs.clone())
            }
        }
    }
}

fn default_gamma_min() -> f64 {
    1e-3
}
fn default_init_alpha() -> f64 {
    1.0
}

/// Configuration of the oscillator network (TOML table `[oscillator]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OscillatorConfig {
    /// Coupling graph.
    pub topology: Topology,
    /// Lower bound `γ_min > 0` of every sextic coefficient `γ_n` (coercivity; Bösch et al. 2025:
    /// unconstrained fits drive `γ_n` negative and the samples diverge).
    #[serde(default = "default_gamma_min")]
    pub gamma_min: f64,
    /// Initial `α_n` (1 makes `Ê = ½‖x‖²`, whose score `−x/k_BT` is exact for the
    /// stationary `N(0, k_BT)` of the forward process); every other parameter starts at 0,
    /// `γ_n` at `γ_min`.
    #[serde(default = "default_init_alpha")]
    pub init_alpha: f64,
}

impl OscillatorConfig {
    /// A configuration with the default `γ_min` and initialisation.
    pub fn new(topology: Topology) -> Self {
        Self {
            topology,
            gamma_min: default_gamma_min(),
            init_alpha: default_init_alpha(),
        }
    }

    /// Checks the configuration.
    pub fn validate(&self) -> anyhow::Result<()> {
        ensure!(
            self.gamma_min.is_finite() && self.gamma_min > 0.0,
            "oscillator.gamma_min must be > 0 (got {}): the energy must stay coercive",
            self.gamma_min
        );
        ensure!(
            self.init_alpha.is_finite(),
            "oscillator.init_alpha must be finite"
        );
        self.topology.pairs()?;
        Ok(())
    }
}

/// The eight parameter families of the oscillator energy, in θ order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Param {
    /// Harmonic stiffness `α_n`.
    Alpha,
    /// Duffing (quartic) coefficient `β_n`.
    Beta,
    /// Sextic coefficient `γ_n ≥ γ_min`.
    Gamma,
    /// External force `f_n`.
    F,
    /// Linear coupling `κ_nm`.
    Kappa,
    /// Quartic coupling `λ_nm`.
    Lambda,
    /// Asymmetric coupling `χ_nm` (term `χ x_n x_m²`).
    Chi,
    /// Asymmetric coupling `χ̂_nm` (term `χ̂ x_n² x_m`).
    ChiHat,
}

impl Param {
    /// All families in θ order.
    pub const ALL: [Param; 8] = [
        Param::Alpha,
        Param::Beta,
        Param::Gamma,
        Param::F,
        Param::Kappa,
        Param::Lambda,
        Param::Chi,
        Param::ChiHat,
    ];
    /// Block name in [`Energy::param_blocks`].
    pub fn name(self) -> &'static str {
        match self {
            Param::Alpha => "alpha",
            Param::Beta => "beta",
            Param::Gamma => "gamma",
            Param::F => "f",
            Param::Kappa => "kappa",
            Param::Lambda => "lambda",
            Param::Chi => "chi",
            Param::ChiHat => "chi_hat",
        }
    }
}

/// An energy that is linear in its parameters, `Ê_θ(x) = Σ_i θ_i φ_i(x)`, with the feature
/// derivatives that the local score-matching rules need.
///
/// Relation to [`Energy`]: `grad_theta(x, w)` gives `Σ_b w_b φ_i(x_b)` and
/// `grad_theta_dir(x, v, w)` gives `Σ_b w_b ∇_x φ_i(x_b) · v_b`; the extra methods here give
/// the Laplacians `Δφ_i`, the sparse feature Jacobian, Gaussian-smoothed features (the exact
/// noise expectation of CD1) and the feasible set of θ.
pub trait LinearEnergy<T: Real>: Energy<T> {
    /// Per-sample `Tr ∇²_x Ê(x_b)` into `out` (length `B`).
    fn laplacian(&self, x: &[T], out: &mut [T]);
    /// `out += Σ_b w_b Δφ_i(x_b)` (length `n_params`).
    fn grad_theta_laplacian(&self, x: &[T], w: &[T], out: &mut [T]);
    /// The nonzero entries `(i, n, ∂φ_i/∂x_n)` of one sample's feature Jacobian, appended to
    /// `out` (cleared first). Not a hot path (used by the quadratic-form oracle).
    fn feature_jacobian(&self, x: &[T], out: &mut Vec<(usize, usize, T)>);
    /// `out += Σ_b w_b E_{y ~ N(mean_b, var·I)}[φ_i(y)]`: features smoothed by isotropic
    /// Gaussian noise, in closed form (all features are polynomials).
    fn grad_theta_gaussian(&self, mean: &[T], var: T, w: &[T], out: &mut [T]);
    /// Per-parameter lower bounds (`-∞` where unconstrained).
    fn lower_bounds(&self) -> Vec<f64>;
    /// Projects θ onto the feasible set (in place, no allocation).
    fn project(&self, theta: &mut [f64]);
}

/// The oscillator network energy `Ê_θ(x) = E^l + E^c` (paper eqs. 3–5).
#[derive(Clone, Debug)]
pub struct Oscillator<T: Real> {
    cfg: OscillatorConfig,
    n: usize,
    pairs: Vec<[usize; 2]>,
    theta: Vec<T>,
}

impl<T: Real> Oscillator<T> {
    /// Builds the network with the initial parameters of [`OscillatorConfig::init_alpha`].
    pub fn new(cfg: &OscillatorConfig) -> anyhow::Result<Self> {
        cfg.validate()?;
        let n = cfg.topology.n_oscillators();
        let pairs = cfg.topology.pairs()?;
        let np = 4 * n + 4 * pairs.len();
        let mut s = Self {
            cfg: cfg.clone(),
            n,
            pairs,
            theta: vec![T::zero(); np],
        };
        let mut th = vec![0.0; np];
        th[s.range(Param::Alpha)].fill(cfg.init_alpha);
        th[s.range(Param::Gamma)].fill(cfg.gamma_min);
        s.set_params_f64(&th)?;
        Ok(s)
    }

    /// The configuration.
    pub fn config(&self) -> &OscillatorConfig {
        &self.cfg
    }
    /// Number of oscillators `N`.
    pub fn n_oscillators(&self) -> usize {
        self.n
    }
    /// The coupled pairs `[n, m]` (pair `p` owns `kappa[p]`, `lambda[p]`, `chi[p]`, `chi_hat[p]`).
    pub fn pairs(&self) -> &[[usize; 2]] {
        &self.pairs
    }
    /// Number of pairs `P`.
    pub fn n_pairs(&self) -> usize {
        self.pairs.len()
    }
    /// `γ_min`.
    pub fn gamma_min(&self) -> f64 {
        self.cfg.gamma_min
    }
    /// Where the family `p` lives in θ.
    pub fn range(&self, p: Param) -> Range<usize> {
        let (n, np) = (self.n, self.pairs.len());
        let k = p as usize;
        if k < 4 {
            k * n..(k + 1) * n
        } else {
            4 * n + (k - 4) * np..4 * n + (k - 3) * np
        }
    }
    /// `set_params` from an `f64` vector (converted to `T`).
    pub fn set_params_f64(&mut self, theta: &[f64]) -> anyhow::Result<()> {
        let t: Vec<T> = theta.iter().map(|&v| T::of(v)).collect();
        self.set_params(&t)
    }

    #[inline(always)]
    fn blocks(&self) -> [&[T]; 8] {
        let th = &self.theta;
        Param::ALL.map(|p| &th[self.range(p)])
    }

    /// Full `∇_x Ê` of one sample without the external force `f`, written into `g` (len `N`).
    #[inline]
    fn grad_sample_nof(&self, xs: &[T], g: &mut [T]) {
        let [a, b, c, _f, k, l, ch, chh] = self.blocks();
        for i in 0..self.n {
            let x = xs[i];
            let x2 = x * x;
            g[i] = x * (a[i] + x2 * (b[i] + c[i] * x2));
        }
        let two = T::of(2.0);
        for (p, &[i, j]) in self.pairs.iter().enumerate() {
            let (xi, xj) = (xs[i], xs[j]);
            let d = xi - xj;
            let s = d * (k[p] + l[p] * d * d);
            g[i] += s + ch[p] * xj * xj + two * chh[p] * xi * xj;
            g[j] += -s + two * ch[p] * xi * xj + chh[p] * xi * xi;
        }
    }
}

impl<T: Real> Energy<T> for Oscillator<T> {
    fn dim(&self) -> usize {
        self.n
    }

    fn linear(&self) -> Option<&dyn LinearEnergy<T>> {
        Some(self)
    }

    fn project_params(&self, theta: &mut [f64]) -> bool {
        LinearEnergy::project(self, theta);
        true
    }

    fn params(&self) -> &[T] {
        &self.theta
    }

    /// Replaces θ; rejects a wrong length, NaN/Inf, and any `γ_n ≤ 0` (the energy would not
    /// be coercive). Values in `(0, γ_min)` are accepted (finite differences step around
    /// them); [`LinearEnergy::project`] enforces `γ_n ≥ γ_min`.
    fn set_params(&mut self, theta: &[T]) -> anyhow::Result<()> {
        if theta.len() != self.theta.len() {
            bail!(
                "oscillator network: parameter vector has length {}, expected {}",
                theta.len(),
                self.theta.len()
            );
        }
        if let Some(i) = crate::real::first_non_finite(theta) {
            let b = Param::ALL
                .into_iter()
                .find(|&p| self.range(p).contains(&i))
                .map(|p| p.name())
                .unwrap_or("?");
            bail!("oscillator network: parameter {b} (index {i}) is NaN or Inf");
        }
        let g = self.range(Param::Gamma);
        if let Some(k) = theta[g.clone()].iter().position(|&v| v <= T::zero()) {
            bail!(
                "oscillator network: gamma[{k}] = {} ≤ 0: the sextic coefficients must be positive \
                 (≥ gamma_min = {}) so the energy stays coercive",
                theta[g.start + k],
                self.cfg.gamma_min
            );
        }
        self.theta.copy_from_slice(theta);
        Ok(())
    }

    fn param_blocks(&self) -> Vec<ParamBlock> {
        Param::ALL
            .iter()
            .map(|&p| {
                let r = self.range(p);
                ParamBlock {
                    name: p.name().into(),
                    shape: vec![r.len()],
                    offset: r.start,
                }
            })
            .collect()
    }

    fn energy(&self, x: &[T], out: &mut [T]) {
        let [a, b, c, f, k, l, ch, chh] = self.blocks();
        let (half, quarter, sixth) = (T::of(0.5), T::of(0.25), T::of(1.0 / 6.0));
        for (o, xs) in out.iter_mut().zip(x.chunks_exact(self.n)) {
            let mut e = T::zero();
            for i in 0..self.n {
                let xi = xs[i];
                let x2 = xi * xi;
                e += x2 * (half * a[i] + x2 * (quarter * b[i] + sixth * c[i] * x2)) + f[i] * xi;
            }
            for (p, &[i, j]) in self.pairs.iter().enumerate() {
                let (xi, xj) = (xs[i], xs[j]);
                let d2 = (xi - xj) * (xi - xj);
                e +=
                    d2 * (half * k[p] + quarter * l[p] * d2) + xi * xj * (ch[p] * xj + chh[p] * xi);
            }
            *o = e;
        }
    }

    /// The external forces `f_n` of the free oscillators (the only term of `∂Ê/∂x_free` that
    /// is independent of the state); everything else is in [`Energy::grad_free`].
    fn clamped_drive(&self, x: &[T], nc: usize, drive: &mut [T]) {
        let nf = self.n - nc;
        let f = &self.theta[self.range(Param::F)][nc..];
        let nb = x.len() / self.n;
        for d in drive[..nb * nf].chunks_exact_mut(nf) {
            d.copy_from_slice(f);
        }
    }

    fn grad_free(&self, x: &[T], nc: usize, drive: &[T], out: &mut [T]) {
        let n = self.n;
        let nf = n - nc;
        if nc == 0 {
            for ((o, xs), d) in out
                .chunks_exact_mut(n)
                .zip(x.chunks_exact(n))
                .zip(drive.chunks_exact(n))
            {
                self.grad_sample_nof(xs, o);
                for (o, &d) in o.iter_mut().zip(d) {
                    *o += d;
                }
            }
        } else {
            T::with_scratch(n, |g| {
                for ((o, xs), d) in out
                    .chunks_exact_mut(nf)
                    .zip(x.chunks_exact(n))
                    .zip(drive.chunks_exact(nf))
                {
                    self.grad_sample_nof(xs, g);
                    for ((o, &gi), &d) in o.iter_mut().zip(&g[nc..]).zip(d) {
                        *o = gi + d;
                    }
                }
            });
        }
    }

    fn hvp(&self, x: &[T], v: &[T], out: &mut [T]) {
        let [a, b, c, _f, k, l, ch, chh] = self.blocks();
        let n = self.n;
        let (two, three, five) = (T::of(2.0), T::of(3.0), T::of(5.0));
        for ((o, xs), vs) in out
            .chunks_exact_mut(n)
            .zip(x.chunks_exact(n))
            .zip(v.chunks_exact(n))
        {
            for i in 0..n {
                let x2 = xs[i] * xs[i];
                o[i] = (a[i] + x2 * (three * b[i] + five * c[i] * x2)) * vs[i];
            }
            for (p, &[i, j]) in self.pairs.iter().enumerate() {
                let (xi, xj) = (xs[i], xs[j]);
                let d = xi - xj;
                let h = k[p] + three * l[p] * d * d;
                let hii = h + two * chh[p] * xj;
                let hjj = h + two * ch[p] * xi;
                let hij = -h + two * (ch[p] * xj + chh[p] * xi);
                o[i] += hii * vs[i] + hij * vs[j];
                o[j] += hij * vs[i] + hjj * vs[j];
            }
        }
    }

    fn grad_theta(&self, x: &[T], w: &[T], out: &mut [T]) {
        let n = self.n;
        let np = self.pairs.len();
        let (half, quarter, sixth) = (T::of(0.5), T::of(0.25), T::of(1.0 / 6.0));
        let (loc, pair) = out.split_at_mut(4 * n);
        let (oa, rest) = loc.split_at_mut(n);
        let (ob, rest) = rest.split_at_mut(n);
        let (oc, of) = rest.split_at_mut(n);
        let (ok, rest) = pair.split_at_mut(np);
        let (ol, rest) = rest.split_at_mut(np);
        let (och, ochh) = rest.split_at_mut(np);
        for (xs, &wb) in x.chunks_exact(n).zip(w) {
            for i in 0..n {
                let xi = xs[i];
                let x2 = xi * xi;
                let wx2 = wb * x2;
                oa[i] += half * wx2;
                ob[i] += quarter * wx2 * x2;
                oc[i] += sixth * wx2 * x2 * x2;
                of[i] += wb * xi;
            }
            for (p, &[i, j]) in self.pairs.iter().enumerate() {
                let (xi, xj) = (xs[i], xs[j]);
                let wd2 = wb * (xi - xj) * (xi - xj);
                ok[p] += half * wd2;
                ol[p] += quarter * wd2 * (xi - xj) * (xi - xj);
                let wxx = wb * xi * xj;
                och[p] += wxx * xj;
                ochh[p] += wxx * xi;
            }
        }
    }

    fn grad_theta_dir(&self, x: &[T], v: &[T], w: &[T], out: &mut [T]) {
        let n = self.n;
        let np = self.pairs.len();
        let two = T::of(2.0);
        let (loc, pair) = out.split_at_mut(4 * n);
        let (oa, rest) = loc.split_at_mut(n);
        let (ob, rest) = rest.split_at_mut(n);
        let (oc, of) = rest.split_at_mut(n);
        let (ok, rest) = pair.split_at_mut(np);
        let (ol, rest) = rest.split_at_mut(np);
        let (och, ochh) = rest.split_at_mut(np);
        for ((xs, vs), &wb) in x.chunks_exact(n).zip(v.chunks_exact(n)).zip(w) {
            for i in 0..n {
                let xi = xs[i];
                let x2 = xi * xi;
                let wv = wb * vs[i];
                let wvx = wv * xi;
                oa[i] += wvx;
                ob[i] += wvx * x2;
                oc[i] += wvx * x2 * x2;
                of[i] += wv;
            }
            for (p, &[i, j]) in self.pairs.iter().enumerate() {
                let (xi, xj) = (xs[i], xs[j]);
                let d = xi - xj;
                let wdv = wb * d * (vs[i] - vs[j]);
                ok[p] += wdv;
                ol[p] += wdv * d * d;
                och[p] += wb * (xj * xj * vs[i] + two * xi * xj * vs[j]);
                ochh[p] += wb * (two * xi * xj * vs[i] + xi * xi * vs[j]);
            }
        }
    }
}

impl<T: Real> LinearEnergy<T> for Oscillator<T> {
    fn laplacian(&self, x: &[T], out: &mut [T]) {
        let [a, b, c, _f, k, l, ch, chh] = self.blocks();
        let (two, three, five, six) = (T::of(2.0), T::of(3.0), T::of(5.0), T::of(6.0));
        for (o, xs) in out.iter_mut().zip(x.chunks_exact(self.n)) {
            let mut s = T::zero();
            for i in 0..self.n {
                let x2 = xs[i] * xs[i];
                s += a[i] + x2 * (three * b[i] + five * c[i] * x2);
            }
            for (p, &[i, j]) in self.pairs.iter().enumerate() {
                let (xi, xj) = (xs[i], xs[j]);
                let d = xi - xj;
                s += two * k[p] + six * l[p] * d * d + two * (ch[p] * xi + chh[p] * xj);
            }
            *o = s;
        }
    }

    fn grad_theta_laplacian(&self, x: &[T], w: &[T], out: &mut [T]) {
        let n = self.n;
        let np = self.pairs.len();
        let (two, three, five, six) = (T::of(2.0), T::of(3.0), T::of(5.0), T::of(6.0));
        let (loc, pair) = out.split_at_mut(4 * n);
        let (oa, rest) = loc.split_at_mut(n);
        let (ob, rest) = rest.split_at_mut(n);
        let (oc, _of) = rest.split_at_mut(n);
        let (ok, rest) = pair.split_at_mut(np);
        let (ol, rest) = rest.split_at_mut(np);
        let (och, ochh) = rest.split_at_mut(np);
        for (xs, &wb) in x.chunks_exact(n).zip(w) {
            for i in 0..n {
                let wx2 = wb * xs[i] * xs[i];
                oa[i] += wb;
                ob[i] += three * wx2;
                oc[i] += five * wx2 * xs[i] * xs[i];
            }
            for (p, &[i, j]) in self.pairs.iter().enumerate() {
                let d = xs[i] - xs[j];
                ok[p] += two * wb;
                ol[p] += six * wb * d * d;
                och[p] += two * wb * xs[i];
                ochh[p] += two * wb * xs[j];
            }
        }
    }

    fn feature_jacobian(&self, xs: &[T], out: &mut Vec<(usize, usize, T)>) {
        out.clear();
        let n = self.n;
        let two = T::of(2.0);
        let r = |p: Param| self.range(p).start;
        let (ra, rb, rc, rf) = (
            r(Param::Alpha),
            r(Param::Beta),
            r(Param::Gamma),
            r(Param::F),
        );
        for (i, &x) in xs[..n].iter().enumerate() {
            let x2 = x * x;
            out.push((ra + i, i, x));
            out.push((rb + i, i, x * x2));
            out.push((rc + i, i, x * x2 * x2));
            out.push((rf + i, i, T::one()));
        }
        let (rk, rl, rch, rchh) = (
            r(Param::Kappa),
            r(Param::Lambda),
            r(Param::Chi),
            r(Param::ChiHat),
        );
        for (p, &[i, j]) in self.pairs.iter().enumerate() {
            let (xi, xj) = (xs[i], xs[j]);
            let d = xi - xj;
            out.push((rk + p, i, d));
            out.push((rk + p, j, -d));
            out.push((rl + p, i, d * d * d));
            out.push((rl + p, j, -d * d * d));
            out.push((rch + p, i, xj * xj));
            out.push((rch + p, j, two * xi * xj));
            out.push((rchh + p, i, two * xi * xj));
            out.push((rchh + p, j, xi * xi));
        }
    }

    /// Gaussian moments `E[(μ + s w)^k]` for `w ~ N(0, 1)`, `s² = v`: `μ² + v`,
    /// `μ⁴ + 6μ²v + 3v²`, `μ⁶ + 15μ⁴v + 45μ²v² + 15v³`; a coupling difference
    /// `y_n − y_m` has variance `2v`; `E[y_n y_m²] = μ_n (μ_m² + v)`.
    fn grad_theta_gaussian(&self, mean: &[T], var: T, w: &[T], out: &mut [T]) {
        let n = self.n;
        let np = self.pairs.len();
        let (half, quarter, sixth) = (T::of(0.5), T::of(0.25), T::of(1.0 / 6.0));
        let (three, six, fifteen, fortyfive) = (T::of(3.0), T::of(6.0), T::of(15.0), T::of(45.0));
        let m4 = |m2: T, v: T| m2 * m2 + six * m2 * v + three * v * v;
        let (loc, pair) = out.split_at_mut(4 * n);
        let (oa, rest) = loc.split_at_mut(n);
        let (ob, rest) = rest.split_at_mut(n);
        let (oc, of) = rest.split_at_mut(n);
        let (ok, rest) = pair.split_at_mut(np);
        let (ol, rest) = rest.split_at_mut(np);
        let (och, ochh) = rest.split_at_mut(np);
        let v = var;
        let v2 = var + var;
        for (xs, &wb) in mean.chunks_exact(n).zip(w) {
            for i in 0..n {
                let m = xs[i];
                let m2 = m * m;
                oa[i] += wb * half * (m2 + v);
                ob[i] += wb * quarter * m4(m2, v);
                oc[i] += wb
                    * sixth
                    * (m2 * m2 * m2
                        + fifteen * m2 * m2 * v
                        + fortyfive * m2 * v * v
                        + fifteen * v * v * v);
                of[i] += wb * m;
            }
            for (p, &[i, j]) in self.pairs.iter().enumerate() {
                let (mi, mj) = (xs[i], xs[j]);
                let d2 = (mi - mj) * (mi - mj);
                ok[p] += wb * half * (d2 + v2);
                ol[p] += wb * quarter * m4(d2, v2);
                och[p] += wb * mi * (mj * mj + v);
                ochh[p] += wb * (mi * mi + v) * mj;
            }
        }
    }

    fn lower_bounds(&self) -> Vec<f64> {
        let mut lb = vec![f64::NEG_INFINITY; self.theta.len()];
        lb[self.range(Param::Gamma)].fill(self.cfg.gamma_min);
        lb
    }

    /// Clamps every `γ_n` to `≥ γ_min`.
    fn project(&self, theta: &mut [f64]) {
        let g = self.cfg.gamma_min;
        for v in &mut theta[self.range(Param::Gamma)] {
            if v.is_nan() || *v < g {
                *v = g;
            }
        }
    }
}

/// A driving protocol `θ(t)`: parameter vectors on a time grid `t_0 = 0 < … < t_Nt = τ`,
/// linearly interpolated in between and held constant outside `[t_0, t_Nt]` (the paper's
/// "interpolated and applied as the driving protocol at inference time").
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OscillatorProtocol {
    /// Grid times, strictly increasing.
    pub times: Vec<f64>,
    /// Parameter vectors, `params[k]` at `times[k]`.
    pub params: Vec<Vec<f64>>,
}

impl OscillatorProtocol {
    /// A protocol from grid times and the parameters at each.
    pub fn new(times: Vec<f64>, params: Vec<Vec<f64>>) -> anyhow::Result<Self> {
        ensure!(!times.is_empty(), "protocol: empty time grid");
        ensure!(
            times.len() == params.len(),
            "protocol: {} times but {} parameter vectors",
            times.len(),
            params.len()
        );
        ensure!(
            times.windows(2).all(|w| w[1] > w[0]) && times.iter().all(|t| t.is_finite()),
            "protocol: times must be finite and strictly increasing"
        );
        let np = params[0].len();
        ensure!(
            params.iter().all(|p| p.len() == np),
            "protocol: parameter vectors of different lengths"
        );
        Ok(Self { times, params })
    }

    /// Number of parameters.
    pub fn n_params(&self) -> usize {
        self.params[0].len()
    }
    /// The final time `τ = t_Nt`.
    pub fn tau(&self) -> f64 {
        *self.times.last().unwrap()
    }

    /// `θ(t)` written into `out` (any precision), no allocation.
    pub fn at_into<S: Real>(&self, t: f64, out: &mut [S]) {
        let ts = &self.times;
        let k = ts.partition_point(|&s| s <= t);
        if k == 0 {
            for (o, &v) in out.iter_mut().zip(&self.params[0]) {
                *o = S::of(v);
            }
        } else if k == ts.len() {
            for (o, &v) in out.iter_mut().zip(&self.params[k - 1]) {
                *o = S::of(v);
            }
        } else {
            let (t0, t1) = (ts[k - 1], ts[k]);
            let s = (t - t0) / (t1 - t0);
            for ((o, &a), &b) in out.iter_mut().zip(&self.params[k - 1]).zip(&self.params[k]) {
                *o = S::of(a + s * (b - a));
            }
        }
    }

    /// `θ(t)` (allocates).
    pub fn at(&self, t: f64) -> Vec<f64> {
        let mut v = vec![0.0; self.n_params()];
        self.at_into(t, &mut v);
        v
    }
}
