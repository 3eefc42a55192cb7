//! Learning rules as values: one trait, [`Rule`], through which the training loop asks for a
//! gradient, the way each algorithm of Scellier et al.'s energy-based-learning code is one
//! `GradientEstimator` subclass.
//!
//! A rule is given a substrate, a batch (initial states with their clamped prefix and the cost
//! on the output), the dynamics of its phases and a noise key, and returns a gradient of
//! `mean_b C_b` with its diagnostics. Each rule is one file of this module; its name in a config
//! is a variant of [`RuleKind`]. A rule that is not defined for a substrate or a dynamics
//! refuses it with [`RuleError::Unsupported`], naming both.

mod bptt;
mod cd1;
mod contrastive;
mod coupled;
mod dsm;
mod eqprop;
mod finite_nudge;
mod force_matching;
mod implicit;
mod score;

pub use bptt::Bptt;
pub use cd1::Cd1;
pub use contrastive::Contrastive;
pub use coupled::Coupled;
pub use dsm::Dsm;
pub use eqprop::EqPropRule;
pub use finite_nudge::{FiniteNudge, FiniteNudgeForm, gauss_legendre};
pub use force_matching::ForceMatching;
pub use implicit::Implicit;

use crate::dynamics::{Diverged, NoiseKey, Workspace};
use crate::energy::Energy;
use crate::energy::cost::Cost;
use crate::learn::eqprop::{Estimator, Formula, PhaseSpec};
use crate::real::Real;
use serde::{Deserialize, Serialize};

/// One batch of a learning problem.
pub struct Batch<'a, T> {
    /// Initial states, sample-major (`B × D`), with the clamped prefix already set.
    pub x0: &'a [T],
    /// Length of the clamped prefix.
    pub nc: usize,
    /// The cost whose batch mean the gradient is of ([`crate::energy::cost::NoCost`] for a
    /// generative batch: the score rules' objective is the samples' score-matching loss).
    pub cost: &'a dyn Cost<T>,
    /// The forward-process noise `ε` that produced the states from clean data,
    /// `x = e^{−t} x_0 + σ_t ε` (`B × D`): denoising score matching regresses on it.
    pub noise: Option<&'a [T]>,
}

/// How a rule's phases are relaxed: the free phase and the nudged (or clamped) phases.
#[derive(Clone, Copy, Debug)]
pub struct Phases {
    /// The free phase.
    pub free: PhaseSpec,
    /// The nudged phases.
    pub nudged: PhaseSpec,
}

/// What a rule measured besides the gradient.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Diagnostics {
    /// The names of the phases relaxed, in order.
    pub phases: Vec<String>,
    /// `mean_b C_b` at the final free state.
    pub free_cost: f64,
}

/// A rule's gradient estimate.
pub struct Estimate<T> {
    /// The estimate of `∇_θ mean_b C_b`, in f64.
    pub grad: Vec<f64>,
    /// The final free-phase state (`B × D`).
    pub free_state: Vec<T>,
    /// What else was measured.
    pub diagnostics: Diagnostics,
}

/// Why a rule gave no gradient.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RuleError {
    /// A phase's state became NaN or infinite.
    #[error(transparent)]
    Diverged(#[from] Diverged),
    /// The rule is not defined for this substrate or dynamics.
    #[error("rule '{rule}' is not defined {what}")]
    Unsupported {
        /// The rule's name.
        rule: String,
        /// What it is not defined for (e.g. "for cSB dynamics: backprop through time needs …").
        what: String,
    },
}

/// A gradient estimator as a value.
pub trait Rule<T: Real>: Send + Sync {
    /// The rule's name, as written in a config (e.g. `symmetric`, `bptt`).
    fn name(&self) -> String;

    /// Refuses dynamics the rule is not defined for, before any work is done (the default
    /// accepts every dynamics). [`Rule::gradient`] refuses them too.
    fn check(&self, phases: &Phases) -> Result<(), RuleError> {
        let _ = phases;
        Ok(())
    }

    /// The estimate of `∇_θ mean_b C_b` at the energy's current parameters.
    fn gradient(
        &self,
        energy: &dyn Energy<T>,
        batch: &Batch<'_, T>,
        phases: &Phases,
        key: NoiseKey,
        ws: &mut Workspace<T>,
    ) -> Result<Estimate<T>, RuleError>;
}

/// The rules by the name a config gives them (`training.estimator`).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// EqProp from the pair `(0, +β)`.
    OneSided,
    /// EqProp from the pair `(−β, 0)`.
    Negative,
    /// EqProp from the pair `(−β, +β)` (Scellier et al. 2023's "centered" EP, Laborieux et
    /// al. 2021's "thirdphase").
    Symmetric,
    /// EqProp from `(0, sβ)` with a random sign `s` per call.
    RandomSign,
    /// Backprop through time of the free phase (exact for its finite budget).
    Bptt,
    /// Implicit differentiation at the free phase's final state (exact at an equilibrium).
    Implicit,
    /// Finite-nudge EqProp: `(E_β[∂_θE] − E_0[∂_θE]) / β`, the exact gradient of
    /// `(F_β − F_0)/β` at finite temperature for any β (Litman, arXiv 2511.22024).
    FiniteNudge,
    /// The same gradient from the path integral over `b ∈ [0, β]` of `Cov_b(C, ∂_θE)`.
    FiniteNudgeCovariance,
    /// Contrastive learning: free phase against the output clamped to its target.
    Contrastive,
    /// Coupled learning (Stern et al. 2021): the output clamped to `η y + (1 − η) s_out`.
    Coupled,
    /// Local force matching (Bösch et al. 2025, eq. 8) on the batch's states, for an energy
    /// linear in its parameters.
    ForceMatching,
    /// Denoising score matching on the batch's noised states and their noise.
    Dsm,
    /// Contrastive divergence with one step (Bösch et al. 2025, eqs. 10–12).
    Cd1,
}

/// The settings every rule may read, from a config.
#[derive(Clone, Copy, Debug)]
pub struct RuleSettings {
    /// Which rule.
    pub kind: RuleKind,
    /// Nudge strength β of the EqProp rules.
    pub beta: f64,
    /// The EqProp formula.
    pub formula: Formula,
    /// Quadrature nodes of `finite_nudge_covariance`.
    pub nodes: usize,
    /// The clamping fraction η of `coupled`.
    pub eta: f64,
    /// The noise scale `σ_t` of `dsm`.
    pub sigma: f64,
    /// The one-step settings of `cd1`.
    pub cd1: crate::learn::cd1::Cd1Config,
}

impl RuleKind {
    /// The snake-case name used in configs and reports.
    pub fn name(self) -> &'static str {
        match self {
            RuleKind::OneSided => "one_sided",
            RuleKind::Negative => "negative",
            RuleKind::Symmetric => "symmetric",
            RuleKind::RandomSign => "random_sign",
            RuleKind::Bptt => "bptt",
            RuleKind::Implicit => "implicit",
            RuleKind::FiniteNudge => "finite_nudge",
            RuleKind::FiniteNudgeCovariance => "finite_nudge_covariance",
            RuleKind::Contrastive => "contrastive",
            RuleKind::Coupled => "coupled",
            RuleKind::ForceMatching => "force_matching",
            RuleKind::Dsm => "dsm",
            RuleKind::Cd1 => "cd1",
        }
    }

    /// The EqProp estimator of an EqProp rule.
    pub fn estimator(self) -> Option<Estimator> {
        match self {
            RuleKind::OneSided => Some(Estimator::OneSided),
            RuleKind::Negative => Some(Estimator::Negative),
            RuleKind::Symmetric => Some(Estimator::Symmetric),
            RuleKind::RandomSign => Some(Estimator::RandomSign),
            _ => None,
        }
    }

    /// Every rule, in the order reports list them.
    pub fn all() -> [RuleKind; 13] {
        [
            RuleKind::OneSided,
            RuleKind::Negative,
            RuleKind::Symmetric,
            RuleKind::RandomSign,
            RuleKind::Bptt,
            RuleKind::Implicit,
            RuleKind::FiniteNudge,
            RuleKind::FiniteNudgeCovariance,
            RuleKind::Contrastive,
            RuleKind::Coupled,
            RuleKind::ForceMatching,
            RuleKind::Dsm,
            RuleKind::Cd1,
        ]
    }

    /// Whether this is a score rule (force matching, DSM, CD1): its objective is the
    /// score-matching loss of the batch's states, not a cost on a relaxed output.
    pub fn is_score(self) -> bool {
        matches!(
            self,
            RuleKind::ForceMatching | RuleKind::Dsm | RuleKind::Cd1
        )
    }
}

impl std::str::FromStr for RuleKind {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        RuleKind::all()
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = RuleKind::all().iter().map(|k| k.name()).collect();
                anyhow::anyhow!("unknown rule '{s}' (known: {})", names.join(", "))
            })
    }
}

impl From<Estimator> for RuleKind {
    fn from(e: Estimator) -> Self {
        match e {
            Estimator::OneSided => RuleKind::OneSided,
            Estimator::Negative => RuleKind::Negative,
            Estimator::Symmetric => RuleKind::Symmetric,
            Estimator::RandomSign => RuleKind::RandomSign,
        }
    }
}

impl RuleSettings {
    /// The rule `kind` at strength `beta`, standard formula, 8 quadrature nodes, η = 0.5,
    /// σ = 1 and the default CD1 settings.
    pub fn new(kind: RuleKind, beta: f64) -> Self {
        Self {
            kind,
            beta,
            formula: Formula::Standard,
            nodes: 8,
            eta: 0.5,
            sigma: 1.0,
            cd1: crate::learn::cd1::Cd1Config::default(),
        }
    }

    /// The same settings with the given DSM noise scale `σ_t`.
    pub fn with_sigma(mut self, sigma: f64) -> Self {
        self.sigma = sigma;
        self
    }

    /// The same settings with the given CD1 settings.
    pub fn with_cd1(mut self, cd1: crate::learn::cd1::Cd1Config) -> Self {
        self.cd1 = cd1;
        self
    }

    /// The same settings with the given coupled-learning fraction η.
    pub fn with_eta(mut self, eta: f64) -> Self {
        self.eta = eta;
        self
    }

    /// The same settings with the given EqProp formula.
    pub fn with_formula(mut self, formula: Formula) -> Self {
        self.formula = formula;
        self
    }

    /// The rule these settings name.
    pub fn build<T: Real>(&self) -> Box<dyn Rule<T>> {
        if let Some(estimator) = self.kind.estimator() {
            return Box::new(EqPropRule {
                estimator,
                beta: self.beta,
                formula: self.formula,
            });
        }
        let nudge = |form| {
            Box::new(FiniteNudge {
                beta: self.beta,
                form,
            })
        };
        match self.kind {
            RuleKind::Bptt => Box::new(Bptt),
            RuleKind::FiniteNudge => nudge(FiniteNudgeForm::Difference),
            RuleKind::FiniteNudgeCovariance => nudge(FiniteNudgeForm::Covariance(self.nodes)),
            RuleKind::Contrastive => Box::new(Contrastive),
            RuleKind::Coupled => Box::new(Coupled { eta: self.eta }),
            RuleKind::ForceMatching => Box::new(ForceMatching),
            RuleKind::Dsm => Box::new(Dsm { sigma: self.sigma }),
            RuleKind::Cd1 => Box::new(Cd1 { cfg: self.cd1 }),
            _ => Box::new(Implicit),
        }
    }
}

impl Phases {
    /// Relaxes a copy of the batch's initial states through the free phase (noise stream 0,
    /// as every rule keys it) and returns the final states.
    pub fn relax_free<T: Real>(
        &self,
        energy: &dyn Energy<T>,
        batch: &Batch<'_, T>,
        key: NoiseKey,
        ws: &mut Workspace<T>,
    ) -> Result<Vec<T>, Diverged> {
        let mut x = batch.x0.to_vec();
        crate::learn::eqprop::run_phase(
            energy,
            &mut x,
            &self.free,
            &crate::dynamics::Phase::free("free", batch.nc, key.child(0)),
            ws,
            false,
        )?;
        Ok(x)
    }
}

/// The diagnostics every rule reports: its phase names and the free state's mean cost.
pub(crate) fn diagnostics<T: Real>(
    phases: &[&str],
    batch: &Batch<'_, T>,
    free_state: &[T],
    d: usize,
) -> Diagnostics {
    Diagnostics {
        phases: phases.iter().map(|p| p.to_string()).collect(),
        free_cost: crate::learn::exact::mean_cost(batch.cost, free_state, d),
    }
}
