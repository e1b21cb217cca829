//! Tensors: the session's device and dtype, seeding, and conversions to and from Rust data.

mod context;
mod convert;
mod op_count;
pub mod reproducible;
mod torch_config;

pub use context::{
    call_seed, cuda_available, device, dtype, manual_seed, next_seed, next_seed_for, session_seed,
    set_device, set_dtype, set_threads, splitmix, threads, threads_from_env, CallSeed,
    SessionSeedGuard,
};
pub use convert::{
    as_batch, distance, from_matrix, from_vec, host_reads, scalar_f64, to_matrix, to_vec_f64,
};
pub use op_count::{count_ops, OpCount};
pub use torch_config::{cpu_capability, deterministic, torch_version};
