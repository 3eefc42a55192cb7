//! Learning rules (EqProp estimators), exact reference gradients and optimizers.

pub mod eqprop;
pub mod exact;
pub mod optim;

pub use eqprop::{EqProp, EqPropOutput, Estimator, PhaseSpec};
pub use optim::{Optimizer, OptimizerConfig};
