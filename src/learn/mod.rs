//! Learning rules ([`Rule`]: the EqProp family, backprop through time, implicit
//! differentiation), exact reference gradients, score-matching rules and optimizers.

pub mod cd1;
pub mod eqprop;
pub mod exact;
pub mod optim;
pub mod rule;
pub mod score;

pub use eqprop::{EqProp, EqPropOutput, Estimator, Formula, PhaseSpec};
pub use optim::{Optimizer, OptimizerConfig};
pub use rule::{Rule, RuleKind, RuleSettings};
