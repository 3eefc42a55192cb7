//! Paper reproductions, one module each.

pub mod thermo_eqprop;
