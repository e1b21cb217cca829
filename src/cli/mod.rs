//! Commands of the `telescope` binary that are more than a dispatch: the demo (which runs a
//! script) and the benchmarks. Not part of the core library: this layer may use the script
//! layer; the core may not use it.

pub mod bench;
pub mod demo;
mod peers;
