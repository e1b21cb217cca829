//! telescope: look inside the energy landscapes of learned and physical models.
//!
//! The core library (everything but [`script`], [`repl`] and [`cli`]) has no Rhai in it: energies,
//! samplers, minimizers, Attraction-Diffusion, ADELM, barriers, NEB, disconnectivity graphs,
//! plots and networks are plain Rust over libtorch tensors. The script layer is a thin,
//! documented binding over it.

// `!(x > 0.0)` is used on purpose: unlike `x <= 0.0` it also rejects NaN parameters.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod budget;
pub mod cli;
pub mod energy;
pub mod error;
pub mod interrupt;
pub mod landscape;
pub mod minimize;
pub mod models;
pub mod plot;
pub mod profile;
pub mod progress;
pub mod provenance;
pub mod repl;
pub mod sampler;
pub mod sandbox;
pub mod script;
pub mod shard;
pub mod tensor;
pub mod tensor_io;

pub use error::{Error, Result};

/// The program version, recorded in saved maps.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
