//! Ctrl-C as a flag that long loops poll, so they stop cleanly and keep what they found.
//!
//! Presses are counted. The first stops the running computation (ADELM, a sampler, NEB, ...),
//! which returns what it found marked as interrupted, and the script goes on; a second press
//! stops the script. A press while only script code runs (no computation polled the flag)
//! stops the script at once. [`script_must_stop`] applies that rule for the script engine.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Once;

static PRESSES: AtomicU32 = AtomicU32::new(0);
/// Set when a computation polled the flag while it was raised (so it stops by itself).
static OBSERVED: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// Installs the Ctrl-C handler once per process (later calls do nothing).
pub fn install_handler() {
    INSTALL.call_once(|| {
        let _ = ctrlc::set_handler(request);
    });
}

/// True once Ctrl-C was pressed and not yet cleared. Computations poll this and stop with
/// what they found.
pub fn requested() -> bool {
    let raised = PRESSES.load(Ordering::Relaxed) > 0;
    if raised {
        OBSERVED.store(true, Ordering::Relaxed);
    }
    raised
}

/// How many times Ctrl-C was pressed since the flag was last cleared.
pub fn presses() -> u32 {
    PRESSES.load(Ordering::Relaxed)
}

/// Clears the flag (the REPL does this before each input).
pub fn clear() {
    PRESSES.store(0, Ordering::SeqCst);
    OBSERVED.store(false, Ordering::SeqCst);
}

/// Counts one press (the signal handlers call this; tests and code that want to stop a run
/// may too).
pub fn request() {
    PRESSES.fetch_add(1, Ordering::SeqCst);
}

/// `Err(Error::Interrupted)` once Ctrl-C was pressed.
pub fn check() -> crate::Result<()> {
    if requested() {
        Err(crate::Error::Interrupted)
    } else {
        Ok(())
    }
}

/// Whether script evaluation must stop now. `in_callback` is true while the script code
/// runs inside a computation (a closure energy, a proposer): there one press lets the
/// computation stop by itself and only a second stops the script. Outside, a press that a
/// computation already answered is used up (the script goes on with the partial result);
/// any other press stops the script.
pub fn script_must_stop(in_callback: bool) -> bool {
    match presses() {
        0 => false,
        1 if in_callback => false,
        1 if OBSERVED.swap(false, Ordering::SeqCst) => {
            let _ = PRESSES.compare_exchange(1, 0, Ordering::SeqCst, Ordering::SeqCst);
            false
        }
        _ => true,
    }
}
