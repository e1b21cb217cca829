//! Ctrl-C as a flag that long loops poll, so they stop cleanly and keep what they found.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// Installs the Ctrl-C handler once per process (later calls do nothing).
pub fn install_handler() {
    INSTALL.call_once(|| {
        let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
    });
}

/// True once Ctrl-C was pressed and not yet cleared.
pub fn requested() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Clears the flag (the REPL does this before each input).
pub fn clear() {
    INTERRUPTED.store(false, Ordering::SeqCst);
}

/// Raises the flag by hand (tests, and code that wants to stop a run).
pub fn request() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// `Err(Error::Interrupted)` once Ctrl-C was pressed.
pub fn check() -> crate::Result<()> {
    if requested() {
        Err(crate::Error::Interrupted)
    } else {
        Ok(())
    }
}
