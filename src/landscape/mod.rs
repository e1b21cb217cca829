//! Attraction-Diffusion, ADELM and GWL mapping, barriers, tuning, NEB and disconnectivity graphs.

pub mod ad;
pub mod adelm;
pub mod barrier;
pub mod compare;
pub mod complete;
pub mod curve;
pub mod delta;
pub mod dg;
pub mod from_minima;
pub mod gwl;
pub mod map;
pub mod map_compare;
pub mod map_states;
pub mod merge;
pub mod neb;
pub mod placement;
pub mod proposer;
pub mod tune;
pub mod union_find;
