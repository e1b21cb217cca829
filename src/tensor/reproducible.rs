//! Reproducible mode (`telescope run --reproducible`, `TELESCOPE_REPRODUCIBLE=1`): the same
//! script and seed give the same map, bit for bit, on any x86-64 CPU with the same binary and
//! libtorch. It fixes what otherwise varies between CPUs and settings: MKL's kernels (its
//! conditional numerical reproducibility), ATen's vectorised kernels (the baseline CPU
//! capability), oneDNN (off: it picks kernels by instruction set), libtorch's thread count
//! (one) and nondeterministic algorithms (refused).

use crate::{error::invalid, Result};
use std::sync::atomic::{AtomicBool, Ordering};

/// The environment variable that turns the mode on (`1`, `true` or `yes`).
pub const ENV: &str = "TELESCOPE_REPRODUCIBLE";

/// The environment the mode sets for MKL and ATen, which read it at their first call:
/// (variable, value, what it fixes).
pub const FIXED_ENV: [(&str, &str, &str); 2] = [
    (
        "MKL_CBWR",
        "COMPATIBLE",
        "MKL's conditional numerical reproducibility: the same kernels on every x86-64 CPU",
    ),
    (
        "ATEN_CPU_CAPABILITY",
        "default",
        "ATen's baseline kernels instead of the AVX2 or AVX-512 ones",
    ),
];

static ON: AtomicBool = AtomicBool::new(false);

/// True when reproducible mode is on.
pub fn is_on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Whether the environment asks for the mode: `TELESCOPE_REPRODUCIBLE` set to `1`, `true` or
/// `yes` (`0`, `false`, `no` or empty: no); any other value is an error.
pub fn requested_by_env() -> Result<bool> {
    match std::env::var(ENV) {
        Err(_) => Ok(false),
        Ok(v) => match v.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => Ok(true),
            "" | "0" | "false" | "no" => Ok(false),
            _ => Err(invalid(format!("{ENV} must be 1 or 0, not {v:?}"))),
        },
    }
}

/// Turns reproducible mode on. It must come before libtorch's first computation: MKL and
/// ATen read their settings once, so the binary calls this first thing when asked.
/// Refused when ATen had already chosen a vectorised CPU capability.
pub fn enable() -> Result<()> {
    for (key, value, _) in FIXED_ENV {
        // Set while the process has one thread doing work (the binary's first step).
        std::env::set_var(key, value);
    }
    tch::set_num_threads(1);
    let capability = super::torch_config::cpu_capability();
    if !capability.eq_ignore_ascii_case("default") {
        return Err(invalid(format!(
            "reproducible mode must be turned on before libtorch's first call: ATen already uses its {capability} kernels"
        )));
    }
    if !super::torch_config::set_deterministic(true) || !super::torch_config::set_mkldnn(false) {
        return Err(invalid(
            "libtorch refused deterministic algorithms or turning oneDNN off",
        ));
    }
    ON.store(true, Ordering::Relaxed);
    Ok(())
}

/// Refuses a thread count other than one while the mode is on.
pub fn check_threads(n: usize) -> Result<()> {
    if is_on() && n != 1 {
        return Err(invalid(format!(
            "reproducible mode runs libtorch on one thread (a thread count changes the order of sums); asked for {n}"
        )));
    }
    Ok(())
}

/// One line on the mode, for the REPL's `:device`.
pub fn describe() -> String {
    if is_on() {
        let fixed: Vec<String> = FIXED_ENV
            .iter()
            .map(|(k, v, _)| format!("{k}={v}"))
            .collect();
        format!(
            "reproducible mode on ({}, oneDNN off, 1 thread, deterministic algorithms)",
            fixed.join(", ")
        )
    } else {
        format!("reproducible mode off (`telescope run --reproducible` or {ENV}=1 turn it on)")
    }
}
