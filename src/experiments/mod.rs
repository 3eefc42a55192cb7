//! Paper reproductions, one module each.

pub mod csb_eqprop;
pub mod thermo_eqprop;
