//! Stochastic energetics of a relaxation (Sekimoto, "Langevin equation and thermodynamics",
//! Prog. Theor. Phys. Suppl. 130, 17 (1998); "Stochastic Energetics", 2010): per sample, the
//! heat given to the bath and the work done on the system, measured from its trajectory.
//!
//! A phase relaxes the potential `U_λ(x) = E_θ(x) + β C(x)`, with the protocol
//! `λ = (θ, β)` held fixed during the phase and changed between phases. Along a discrete
//! trajectory `x_0, x_1, …` (the free coordinates move, the clamped prefix does not):
//! - heat to the bath, Stratonovich (midpoint) discretisation:
//!   `Q = −Σ_k ½ (∇U(x_k) + ∇U(x_{k+1})) · (x_{k+1} − x_k)`;
//! - work, at each protocol change `λ → λ'` at fixed state `x`: `W += U_{λ'}(x) − U_λ(x)`.
//!
//! The first law `U_final(x_final) − U_initial(x_0) = W − Q` then holds up to the
//! discretisation error of the midpoint rule (exactly for a quadratic `U`), which the tests
//! check. Heat and work are in the energy's units (`k_BT` = the dynamics' temperature).
//!
//! The reverse-time SDE of a physical diffusion model (Bösch et al. 2025, eq. 6) is the
//! Langevin dynamics of `U_s(x) = 2 Ê_{θ(τ−s)}(x) − ½‖x‖²` (its drift is `−2∇Ê + x`), whose
//! protocol changes at every step: [`reverse_energetics`] measures the work that playing the
//! protocol backwards does on each generated sample, and the heat it gives to the bath.

use super::Nudge;
use crate::energy::Energy;
use crate::real::Real;

/// Which potential a phase's dynamics descend, built from its energy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `U = E_θ + β C`: relaxation, clamped or nudged.
    Relaxation,
    /// `U = 2 E_θ − ½‖x‖²`: the reverse-time SDE of a physical diffusion model.
    ReverseDiffusion,
}

/// A phase's potential: the energy and the nudge it relaxes under.
#[derive(Clone, Copy)]
pub struct Potential<'a, T: Real> {
    /// `E_θ` at the phase's parameters.
    pub energy: &'a dyn Energy<T>,
    /// `β C`, if the phase is nudged.
    pub nudge: Option<Nudge<'a, T>>,
    /// How `U` is built from `E_θ`.
    pub form: Form,
}

impl<'a, T: Real> Potential<'a, T> {
    /// `U = E_θ + β C` (`nudge: None` for a free or clamped phase).
    pub fn new(energy: &'a dyn Energy<T>, nudge: Option<Nudge<'a, T>>) -> Self {
        Self {
            energy,
            nudge,
            form: Form::Relaxation,
        }
    }

    /// `U = 2 E_θ − ½‖x‖²`, the potential of the reverse-time SDE.
    pub fn reverse_diffusion(energy: &'a dyn Energy<T>) -> Self {
        Self {
            energy,
            nudge: None,
            form: Form::ReverseDiffusion,
        }
    }
}

impl<T: Real> Potential<'_, T> {
    /// Per-sample `U(x_b)` in f64.
    pub fn values(&self, x: &[T], out: &mut [f64]) {
        T::with_scratch(out.len(), |v| self.values_with(x, v, out));
    }

    /// [`Potential::values`] with `v` (length `B`) as scratch.
    fn values_with(&self, x: &[T], v: &mut [T], out: &mut [f64]) {
        self.energy.energy(x, v);
        for (o, e) in out.iter_mut().zip(v.iter()) {
            *o = e.f64();
        }
        if self.form == Form::ReverseDiffusion {
            let d = self.energy.dim();
            for (o, xs) in out.iter_mut().zip(x.chunks_exact(d)) {
                *o = 2.0 * *o - 0.5 * xs.iter().map(|v| v.f64() * v.f64()).sum::<f64>();
            }
        }
        if let Some(nu) = self.nudge {
            nu.cost.value(x, self.energy.dim(), 0, v);
            for (o, c) in out.iter_mut().zip(v.iter()) {
                *o += nu.beta.f64() * c.f64();
            }
        }
    }

    /// `∇U` over the free coordinates `nc..D` (`out`: `B × (D − nc)`).
    fn grad(&self, x: &[T], nc: usize, out: &mut [T]) {
        T::with_scratch(out.len(), |drive| {
            self.energy.clamped_drive(x, nc, drive);
            self.energy.grad_free(x, nc, drive, out);
        });
        if self.form == Form::ReverseDiffusion {
            let (d, nf) = (self.energy.dim(), self.energy.dim() - nc);
            for (g, xs) in out.chunks_exact_mut(nf).zip(x.chunks_exact(d)) {
                for (g, &xv) in g.iter_mut().zip(&xs[nc..]) {
                    *g = T::of(2.0) * *g - xv;
                }
            }
        }
        if let Some(nu) = self.nudge {
            nu.cost.add_grad(x, self.energy.dim(), nc, 0, nu.beta, out);
        }
    }
}

/// Heat and work of every sample of a batch, accumulated over phases and protocol changes.
/// Not a hot path: each step evaluates `∇U` once more (the reference measurement), into
/// buffers allocated when the measurement starts.
#[derive(Clone, Debug)]
pub struct Energetics<T> {
    nc: usize,
    d: usize,
    /// Heat given to the bath so far, per sample.
    pub heat: Vec<f64>,
    /// Work done on the system so far, per sample.
    pub work: Vec<f64>,
    /// `U(x_0)` at the start, per sample.
    pub start: Vec<f64>,
    prev_x: Vec<T>,
    prev_grad: Vec<T>,
    /// `U(x)` at the current state under the potential of the last step (see
    /// [`Energetics::hold`]).
    held: Vec<f64>,
    /// `∇U` at the new state of a step (swapped with `prev_grad`).
    next_grad: Vec<T>,
    /// Per-sample potential values of a protocol change.
    vals: Vec<f64>,
}

impl<T: Real> Energetics<T> {
    /// Starts measuring the batch `x` (clamped prefix `0..nc`) under `u`.
    pub fn new(u: &Potential<'_, T>, x: &[T], nc: usize) -> Self {
        let d = u.energy.dim();
        let n = x.len() / d;
        let mut start = vec![0.0; n];
        u.values(x, &mut start);
        let mut prev_grad = vec![T::zero(); n * (d - nc)];
        u.grad(x, nc, &mut prev_grad);
        Self {
            nc,
            d,
            heat: vec![0.0; n],
            work: vec![0.0; n],
            held: start.clone(),
            start,
            prev_x: x.to_vec(),
            next_grad: vec![T::zero(); prev_grad.len()],
            prev_grad,
            vals: vec![0.0; n],
        }
    }

    /// Records `U(x)` at the current state under `u` (the potential just stepped under), so
    /// that a later [`Energetics::switch_held`] can charge the protocol change after `u` is
    /// gone (the reverse-time sampler changes the energy's parameters in place).
    pub fn hold(&mut self, u: &Potential<'_, T>) {
        u.values(&self.prev_x, &mut self.held);
    }

    /// A protocol change to `to` at the current state, from the potential whose values
    /// [`Energetics::hold`] recorded: adds `U_to(x) − U_held(x)` to each sample's work.
    pub fn switch_held(&mut self, to: &Potential<'_, T>) {
        to.values(&self.prev_x, &mut self.vals);
        for ((w, a), b) in self.work.iter_mut().zip(&self.held).zip(&self.vals) {
            *w += b - a;
        }
        to.grad(&self.prev_x, self.nc, &mut self.prev_grad);
    }

    /// The first law's relative violation per sample (as [`Energetics::first_law_rel_error`]),
    /// with the final `U` the values [`Energetics::hold`] recorded last.
    pub fn first_law_rel_error_held(&self) -> Vec<f64> {
        self.violations(&self.held)
    }

    /// One step of the trajectory under `u`, to the new state `x`: adds
    /// `−½ (∇U(x_prev) + ∇U(x)) · (x − x_prev)` to each sample's heat.
    pub fn step(&mut self, u: &Potential<'_, T>, x: &[T]) {
        let (d, nc) = (self.d, self.nc);
        let nf = d - nc;
        let mut g = std::mem::take(&mut self.next_grad);
        u.grad(x, nc, &mut g);
        for (b, q) in self.heat.iter_mut().enumerate() {
            let (xs, ps) = (
                &x[b * d + nc..(b + 1) * d],
                &self.prev_x[b * d + nc..(b + 1) * d],
            );
            let (gs, hs) = (
                &g[b * nf..(b + 1) * nf],
                &self.prev_grad[b * nf..(b + 1) * nf],
            );
            let mut dq = 0.0;
            for i in 0..nf {
                dq -= 0.5 * (gs[i].f64() + hs[i].f64()) * (xs[i].f64() - ps[i].f64());
            }
            *q += dq;
        }
        self.prev_x.copy_from_slice(x);
        self.next_grad = std::mem::replace(&mut self.prev_grad, g);
    }

    /// A protocol change from `from` to `to` at the current state: adds
    /// `U_to(x) − U_from(x)` to each sample's work.
    pub fn switch(&mut self, from: &Potential<'_, T>, to: &Potential<'_, T>) {
        from.values(&self.prev_x, &mut self.vals);
        for (w, a) in self.work.iter_mut().zip(&self.vals) {
            *w -= a;
        }
        to.values(&self.prev_x, &mut self.vals);
        for (w, b) in self.work.iter_mut().zip(&self.vals) {
            *w += b;
        }
        to.grad(&self.prev_x, self.nc, &mut self.prev_grad);
    }

    /// Per sample, `|ΔU − (W − Q)| / (|W| + |Q| + |ΔU|)` with `ΔU = U(x_now) − U(x_0)` under
    /// the current potential `u`: the first law's relative violation.
    pub fn first_law_rel_error(&self, u: &Potential<'_, T>) -> Vec<f64> {
        let mut end = vec![0.0; self.heat.len()];
        u.values(&self.prev_x, &mut end);
        self.violations(&end)
    }

    fn violations(&self, end: &[f64]) -> Vec<f64> {
        (0..self.heat.len())
            .map(|b| {
                let du = end[b] - self.start[b];
                let (w, q) = (self.work[b], self.heat[b]);
                (du - (w - q)).abs() / (w.abs() + q.abs() + du.abs()).max(f64::MIN_POSITIVE)
            })
            .collect()
    }
}

/// Heat and work of a batch of generated samples, summarised in units of `k_BT`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct SampleEnergetics {
    /// Samples measured.
    pub samples: usize,
    /// Mean work the protocol does on a sample, `k_BT`.
    pub work_mean_kbt: f64,
    /// Its standard deviation over the samples.
    pub work_std_kbt: f64,
    /// Mean heat a sample gives to the bath, `k_BT`.
    pub heat_mean_kbt: f64,
    /// Its standard deviation over the samples.
    pub heat_std_kbt: f64,
    /// Mean change of the potential, `U_end(x_end) − U_start(x_0)`, `k_BT`.
    pub delta_u_mean_kbt: f64,
    /// Largest first-law violation `|ΔU − (W − Q)| / (|W| + |Q| + |ΔU|)` over the samples.
    /// The midpoint rule's error per step is `O(|Δx|³) = O(dt^{3/2})`, so over a fixed time
    /// the violation shrinks like `dt^{1/2}`.
    pub first_law_rel_error: f64,
    /// The mean violation over the samples.
    pub first_law_rel_error_mean: f64,
}

impl SampleEnergetics {
    /// The summary of a measurement whose final potential values were held
    /// ([`Energetics::hold`]), at temperature `kt`.
    pub fn of<T: Real>(en: &Energetics<T>, kt: f64) -> Self {
        let stats =
            |v: &[f64]| crate::linalg::mean_std(&v.iter().map(|x| x / kt).collect::<Vec<_>>());
        let (w, ws) = stats(&en.work);
        let (q, qs) = stats(&en.heat);
        let du: Vec<f64> = en.held.iter().zip(&en.start).map(|(a, b)| a - b).collect();
        let violations = en.first_law_rel_error_held();
        Self {
            samples: en.heat.len(),
            work_mean_kbt: w,
            work_std_kbt: ws,
            heat_mean_kbt: q,
            heat_std_kbt: qs,
            delta_u_mean_kbt: stats(&du).0,
            first_law_rel_error: violations.iter().copied().fold(0.0, f64::max),
            first_law_rel_error_mean: violations.iter().sum::<f64>()
                / violations.len().max(1) as f64,
        }
    }
}

/// Integrates the reverse-time SDE from the states in `x` exactly as
/// [`super::reverse::reverse_integrate`] does (same keys, same states) while measuring, per
/// sample, the work the backwards protocol does (`U_{s_{k+1}}(x) − U_{s_k}(x)` at each step's
/// parameter change) and the heat to the bath, with `U_s = 2 Ê_{θ(τ−s)} − ½‖x‖²`.
/// `tick(k)` is called after step `k`. Each step evaluates `U` twice and `∇U` twice more than
/// the sampler (the reference measurement, not a hot path).
pub fn reverse_energetics<T: Real, E: Energy<T>>(
    energy: &mut E,
    protocol: &crate::energy::oscillator::OscillatorProtocol,
    x: &mut [T],
    cfg: &super::reverse::ReverseSde,
    key: super::NoiseKey,
    ws: &mut super::reverse::ReverseWorkspace<T>,
    mut tick: Option<&mut dyn FnMut(usize)>,
) -> Result<Energetics<T>, super::Diverged> {
    let saved = energy.params().to_vec();
    let mut start = vec![T::zero(); saved.len()];
    protocol.at_into(protocol.tau(), &mut start);
    energy.set_params(&start).map_err(|e| super::Diverged {
        phase: format!("reverse: invalid protocol parameters ({e})"),
        step: 0,
        sample: 0,
    })?;
    let mut en = Energetics::new(&Potential::reverse_diffusion(&*energy), x, 0);
    energy
        .set_params(&saved)
        .expect("restoring parameters the energy accepted before");
    let mut obs = |k: usize, x: &[T], e: &E| {
        let u = Potential::reverse_diffusion(e);
        if k > 1 {
            en.switch_held(&u);
        }
        en.step(&u, x);
        en.hold(&u);
        if let Some(t) = tick.as_mut() {
            t(k);
        }
    };
    super::reverse::reverse_integrate(energy, protocol, x, cfg, key, ws, Some(&mut obs))?;
    Ok(en)
}
