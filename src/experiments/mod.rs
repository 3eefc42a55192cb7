//! Paper reproductions, one module each.

pub mod csb_eqprop;
pub mod oscillator_diffusion;
pub mod thermo_eqprop;
