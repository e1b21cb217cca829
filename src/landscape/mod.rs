//! Attraction-Diffusion, ADELM mapping, barriers, tuning, NEB and disconnectivity graphs.

pub mod ad;
pub mod barrier;
pub mod bench;
pub mod demo;
pub mod adelm;
pub mod map;
pub mod tune;
