//! Learning rules (EqProp estimators), exact reference gradients and optimizers.

pub mod cd1;
pub mod eqprop;
pub mod exact;
pub mod optim;
pub mod score;

pub use eqprop::{EqProp, EqPropOutput, Estimator, PhaseSpec};
pub use optim::{Optimizer, OptimizerConfig};
