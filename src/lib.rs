//! physlearn: simulate physical learning machines and train them with local rules.
//!
//! Architecture: [`data`] → [`energy`] (substrates) → [`dynamics`] (relaxation, clamping,
//! nudging) → [`learn`] (EqProp estimators, exact references, optimizers) → [`experiments`]
//! (one module per paper reproduction) → [`report`] (JSON, CSV, plots) → the `physlearn` CLI.
//!
//! # Example: a symmetric EqProp gradient checked against the exact gradient
//!
//! ```
//! use physlearn::data::synthetic::{GaussianData, SyntheticConfig};
//! use physlearn::dynamics::{NewtonOptions, NoiseKey, Workspace, relax_to_equilibrium};
//! use physlearn::energy::bilinear::{Bilinear, BilinearConfig};
//! use physlearn::learn::{EqProp, Estimator, PhaseSpec, exact::implicit_gradient};
//!
//! let cfg = BilinearConfig { modules: vec![4, 6, 4], rank: 3, ..BilinearConfig::default() };
//! let energy = Bilinear::<f64>::new(&cfg, 0).unwrap();
//! let data = GaussianData::new(&SyntheticConfig::default(), 4, 0).unwrap();
//! let batch = data.batch(8, NoiseKey::new(0, 1));
//! let (x0, cost) = (batch.initial_state::<f64>(14), batch.cost::<f64>(10));
//!
//! // Symmetric EqProp with both phases relaxed to their exact equilibria.
//! let ep = EqProp::new(Estimator::Symmetric, 1e-3, PhaseSpec::equilibrium());
//! let g = ep.gradient(&energy, &x0, 4, &cost, NoiseKey::new(0, 2), &mut Workspace::new()).unwrap();
//!
//! // The exact gradient by implicit differentiation at the free equilibrium.
//! let mut x = x0.clone();
//! relax_to_equilibrium(&energy, &mut x, 4, None, NewtonOptions::default(), "free").unwrap();
//! let exact = implicit_gradient(&energy, &x, 4, &cost);
//! assert!(physlearn::linalg::cosine(&g.grad, &exact) > 0.9999);
//! ```

pub mod checkpoint;
pub mod config;
pub mod data;
pub mod dynamics;
pub mod energy;
pub mod experiments;
pub mod learn;
pub mod linalg;
pub mod mem;
pub mod real;
pub mod report;
pub mod train;

pub use real::Real;
