//! Attraction-Diffusion, ADELM mapping, barriers, tuning, NEB and disconnectivity graphs.

pub mod bench;
pub mod demo;
pub mod dg;
