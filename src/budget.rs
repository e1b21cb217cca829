//! The memory budget: the size of anything big (a tensor, a data set, couplings, a network, a
//! band of images) is checked against one limit before it is allocated, so a typo such as
//! `zeros([100000000000])` is a clear error ("would allocate 745.1 GiB; the limit is 8 GiB")
//! instead of an out-of-memory abort. The limit is per allocation, not a running total.
//!
//! It is 8 GiB unless the environment variable `TELESCOPE_MEMORY_LIMIT` (in GiB) or
//! [`set_limit_gib`] (the script's `set_limit("memory", GiB)`) says otherwise.

use crate::{error::invalid, Result};
use std::sync::atomic::{AtomicU64, Ordering};

/// The limit when nothing sets it: 8 GiB.
pub const DEFAULT_LIMIT_BYTES: u64 = 8 << 30;

/// Environment variable that sets the limit in GiB when a process starts.
pub const LIMIT_ENV: &str = "TELESCOPE_MEMORY_LIMIT";

/// 0 means "not read yet"; the first [`limit_bytes`] fills it in.
static LIMIT: AtomicU64 = AtomicU64::new(0);

const GIB: f64 = (1u64 << 30) as f64;

/// The current limit in bytes.
pub fn limit_bytes() -> u64 {
    match LIMIT.load(Ordering::Relaxed) {
        0 => {
            let from_env = std::env::var(LIMIT_ENV)
                .ok()
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|g| g.is_finite() && *g > 0.0)
                .map(|g| (g * GIB).max(1.0) as u64)
                .unwrap_or(DEFAULT_LIMIT_BYTES);
            LIMIT.store(from_env, Ordering::Relaxed);
            from_env
        }
        b => b,
    }
}

/// Sets the limit to `gib` GiB (positive and finite).
pub fn set_limit_gib(gib: f64) -> Result<()> {
    if !(gib > 0.0) || !gib.is_finite() {
        return Err(invalid(format!(
            "the memory limit must be a positive number of GiB, not {gib}"
        )));
    }
    LIMIT.store(((gib * GIB) as u64).max(1), Ordering::Relaxed);
    Ok(())
}

/// The limit in GiB, as users read it.
pub fn limit_gib() -> f64 {
    limit_bytes() as f64 / GIB
}

/// `Ok` when `count` items of `bytes_each` bytes fit the limit; otherwise an error naming
/// `what` and both sizes. Counts are multiplied without overflow.
pub fn check(what: &str, count: f64, bytes_each: f64) -> Result<()> {
    let bytes = count * bytes_each;
    if !(bytes <= limit_bytes() as f64) {
        return Err(invalid(format!(
            "{what} would allocate {}; the limit is {} (raise it with set_limit(\"memory\", GiB) or {LIMIT_ENV})",
            human(bytes),
            human(limit_bytes() as f64)
        )));
    }
    Ok(())
}

/// [`check`] for a tensor of `shape` with elements of `bytes_each` bytes; negative sizes
/// (other than an inferred `-1`) are refused as well.
pub fn check_shape(what: &str, shape: &[i64], bytes_each: usize) -> Result<()> {
    if let Some(d) = shape.iter().find(|&&d| d < -1) {
        return Err(invalid(format!(
            "{what}: negative size {d} in shape {shape:?}"
        )));
    }
    let count: f64 = shape.iter().map(|&d| d.max(0) as f64).product();
    check(
        &format!("{what} of shape {shape:?}"),
        count,
        bytes_each as f64,
    )
}

/// A byte count as `745.1 GiB`, `12.0 MiB` or `512 bytes`.
pub fn human(bytes: f64) -> String {
    if !bytes.is_finite() {
        return "an unbounded amount of memory".into();
    }
    if bytes >= GIB {
        let g = bytes / GIB;
        if g >= 1e6 {
            format!("{g:.3e} GiB")
        } else if g.fract() == 0.0 {
            format!("{g:.0} GiB")
        } else {
            format!("{g:.1} GiB")
        }
    } else if bytes >= (1 << 20) as f64 {
        format!("{:.1} MiB", bytes / (1 << 20) as f64)
    } else {
        format!("{bytes:.0} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human(8.0 * GIB), "8 GiB");
        assert_eq!(human(1.5 * GIB), "1.5 GiB");
        assert_eq!(human(3.0 * (1 << 20) as f64), "3.0 MiB");
        assert_eq!(human(512.0), "512 bytes");
    }

    #[test]
    fn a_shape_past_the_limit_is_refused_before_allocating() {
        let limit = limit_bytes() as f64;
        // The product of these sizes overflows i64; it must still be refused, not wrap.
        let e = check_shape("zeros", &[1 << 40, 1 << 40], 8).unwrap_err();
        assert!(e.to_string().contains("would allocate"), "{e}");
        let fits = (limit / 8.0).floor() as i64;
        assert!(check_shape("zeros", &[fits], 8).is_ok());
        assert!(check_shape("zeros", &[fits + 1], 8).is_err());
        assert!(check_shape("zeros", &[-2], 8).is_err());
    }
}
