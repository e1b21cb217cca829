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

/// The resident size of this process in bytes, when the system says (Linux).
pub fn resident_bytes() -> Option<u64> {
    statm_pages(1).map(|p| p * page_size())
}

/// The virtual size of this process in bytes, when the system says (Linux).
fn virtual_bytes() -> Option<u64> {
    statm_pages(0).map(|p| p * page_size())
}

fn statm_pages(field: usize) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    s.split_whitespace().nth(field)?.parse().ok()
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

/// The machine's (or the container's) memory in bytes: the smaller of MemTotal and the
/// cgroup's `memory.max`.
fn machine_bytes() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    });
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    match (total, cgroup) {
        (Some(t), Some(c)) => Some(t.min(c)),
        (t, c) => t.or(c),
    }
}

/// The address-space limit (`ulimit -v`) in bytes, when one is set.
fn address_space_limit() -> Option<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut r) } == 0;
    (ok && r.rlim_cur != libc::RLIM_INFINITY).then_some(r.rlim_cur)
}

/// The ceilings of [`check_process`]: resident bytes (90% of the machine) and virtual bytes
/// (half of what the address-space limit left free when first asked, as a growing array
/// asks for twice its size at once).
fn process_ceilings() -> (Option<u64>, Option<u64>) {
    static CEILINGS: std::sync::OnceLock<(Option<u64>, Option<u64>)> = std::sync::OnceLock::new();
    *CEILINGS.get_or_init(|| {
        let resident = machine_bytes().map(|m| m / 10 * 9);
        let virt = address_space_limit().map(|limit| {
            let now = virtual_bytes().unwrap_or(0).min(limit);
            now + (limit - now) / 2
        });
        (resident, virt)
    })
}

/// `Ok` while the whole process stays below its ceilings (90% of the machine's memory; half
/// of what an address-space limit left free). Long script loops ask it now and then, so a
/// script whose arrays, strings or maps grow without end stops with this error instead of
/// ending in an out-of-memory abort.
pub fn check_process() -> Result<()> {
    let (resident_ceiling, virtual_ceiling) = process_ceilings();
    let over = |now: Option<u64>, ceiling: Option<u64>| match (now, ceiling) {
        (Some(n), Some(c)) if n > c => Some((n, c)),
        _ => None,
    };
    let found = over(resident_bytes(), resident_ceiling)
        .map(|(n, c)| (n, c, "resident memory", "90% of the machine's memory"))
        .or_else(|| {
            over(virtual_bytes(), virtual_ceiling).map(|(n, c)| {
                (
                    n,
                    c,
                    "address space",
                    "half of what the address-space limit left free",
                )
            })
        });
    match found {
        Some((now, ceiling, what, why)) => Err(invalid(format!(
            "the session uses {} of {what}, past the {} a script may reach ({why}); the script was stopped before memory runs out: does an array, string or map grow without end? (large data belongs in tensors)",
            human(now as f64),
            human(ceiling as f64)
        ))),
        None => Ok(()),
    }
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
