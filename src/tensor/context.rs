//! Session-wide choices: device (CPU or CUDA), floating dtype, libtorch threads and the seed.

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};
use tch::{Device, Kind};

static DEVICE: AtomicI64 = AtomicI64::new(-1); // -1: CPU, n >= 0: CUDA n
static DTYPE: AtomicU8 = AtomicU8::new(1); // 0: f32, 1: f64
static SEED: AtomicU64 = AtomicU64::new(0);
static SEED_COUNTER: AtomicU64 = AtomicU64::new(0);

/// True when libtorch sees a CUDA device.
pub fn cuda_available() -> bool {
    tch::Cuda::is_available()
}

/// The device new tensors are created on.
pub fn device() -> Device {
    match DEVICE.load(Ordering::Relaxed) {
        n if n >= 0 => Device::Cuda(n as usize),
        _ => Device::Cpu,
    }
}

/// Chooses the device for new tensors; CUDA only when available.
pub fn set_device(d: Device) -> crate::Result<()> {
    match d {
        Device::Cpu => DEVICE.store(-1, Ordering::Relaxed),
        Device::Cuda(n) => {
            if !cuda_available() {
                return Err(crate::error::invalid(
                    "CUDA is not available on this machine",
                ));
            }
            DEVICE.store(n as i64, Ordering::Relaxed)
        }
        other => {
            return Err(crate::error::invalid(format!(
                "unsupported device {other:?}"
            )))
        }
    }
    Ok(())
}

/// The floating dtype of new tensors and built-in energies (float64 unless changed).
pub fn dtype() -> Kind {
    match DTYPE.load(Ordering::Relaxed) {
        0 => Kind::Float,
        _ => Kind::Double,
    }
}

/// Sets the floating dtype: `Kind::Float` or `Kind::Double`.
pub fn set_dtype(k: Kind) -> crate::Result<()> {
    match k {
        Kind::Float => DTYPE.store(0, Ordering::Relaxed),
        Kind::Double => DTYPE.store(1, Ordering::Relaxed),
        other => {
            return Err(crate::error::invalid(format!(
                "dtype must be float32 or float64, not {other:?}"
            )))
        }
    }
    Ok(())
}

/// libtorch's intra-op threads (shared by the whole process).
pub fn threads() -> usize {
    tch::get_num_threads().max(1) as usize
}

/// Sets libtorch's intra-op threads (1 to 1024). On a busy machine with few cores one thread
/// is often fastest: idle workers spin waiting for work (two threads ran 10x slower than one
/// on a loaded 2-core box).
pub fn set_threads(n: usize) -> crate::Result<()> {
    if !(1..=1024).contains(&n) {
        return Err(crate::error::invalid(format!(
            "threads must be between 1 and 1024, got {n}"
        )));
    }
    super::reproducible::check_threads(n)?;
    tch::set_num_threads(n as i32);
    Ok(())
}

/// Applies the environment variable `TELESCOPE_THREADS` when it is set (libtorch's own
/// default, one thread per core, otherwise).
pub fn threads_from_env() -> crate::Result<()> {
    match std::env::var("TELESCOPE_THREADS") {
        Ok(v) => {
            let n = v.trim().parse::<usize>().map_err(|_| {
                crate::error::invalid(format!(
                    "TELESCOPE_THREADS must be a number of threads, not {v:?}"
                ))
            })?;
            set_threads(n)
        }
        Err(_) => Ok(()),
    }
}

/// Seeds libtorch's generator and telescope's own streams; the same seed gives the same run.
pub fn manual_seed(seed: u64) {
    SEED.store(seed, Ordering::Relaxed);
    SEED_COUNTER.store(0, Ordering::Relaxed);
    tch::manual_seed(seed as i64);
}

/// Restores the session seed and its counter when dropped: code that reseeds internally for
/// its own reproducibility (ADELM reseeds every iteration) leaves the session as it found it,
/// so a later call that defaults to the session seed gets the seed the script set.
pub struct SessionSeedGuard {
    seed: u64,
    counter: u64,
}

impl SessionSeedGuard {
    /// Remembers the current session seed and counter.
    pub fn new() -> SessionSeedGuard {
        SessionSeedGuard {
            seed: SEED.load(Ordering::Relaxed),
            counter: SEED_COUNTER.load(Ordering::Relaxed),
        }
    }
}

impl Default for SessionSeedGuard {
    fn default() -> Self {
        SessionSeedGuard::new()
    }
}

impl Drop for SessionSeedGuard {
    fn drop(&mut self) {
        SEED.store(self.seed, Ordering::Relaxed);
        SEED_COUNTER.store(self.counter, Ordering::Relaxed);
    }
}

/// A call's own seed ([`call_seed`]): while it lives, libtorch's generator and telescope's
/// streams run from that seed; when it drops, the session's streams go on from where they
/// were, advanced by one draw. So a call with a seed gives the same result wherever it stands
/// in a script, and the draws after it do not depend on the seed it was given.
pub struct CallSeed {
    restore: Option<(SessionSeedGuard, i64)>,
}

/// Seeds one call's random draws with `seed` (nothing changes for `None`: the call draws from
/// the session's stream). Keep the value alive for the call.
pub fn call_seed(seed: Option<u64>) -> CallSeed {
    let Some(seed) = seed else {
        return CallSeed { restore: None };
    };
    // The session stream's continuation: one draw from it, taken before the call reseeds.
    let next =
        tch::Tensor::randint(i64::MAX, [1], (tch::Kind::Int64, tch::Device::Cpu)).int64_value(&[0]);
    let guard = SessionSeedGuard::new();
    manual_seed(seed);
    CallSeed {
        restore: Some((guard, next)),
    }
}

impl Drop for CallSeed {
    fn drop(&mut self) {
        if let Some((guard, next)) = self.restore.take() {
            // The session seed and counter come back with the guard; libtorch's generator
            // goes on from the continuation drawn before the call.
            drop(guard);
            tch::manual_seed(next);
        }
    }
}

/// The last seed given to [`manual_seed`].
pub fn session_seed() -> u64 {
    SEED.load(Ordering::Relaxed)
}

/// A fresh seed derived from the session seed (for native RNG streams, e.g. per-chain spin samplers).
pub fn next_seed() -> u64 {
    let k = SEED_COUNTER.fetch_add(1, Ordering::Relaxed);
    splitmix(SEED.load(Ordering::Relaxed) ^ splitmix(k.wrapping_add(0x9E37_79B9)))
}

/// SplitMix64: a good bijective mixer for deriving independent seeds.
pub fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed for stream `index` derived from `base` (deterministic, independent streams).
pub fn next_seed_for(base: u64, index: u64) -> u64 {
    splitmix(base ^ splitmix(index.wrapping_mul(0xD1B5_4A32_D192_ED03).wrapping_add(1)))
}
