//! `telescope check FILE`: diagnostics without running.

use std::path::Path;

/// Parses the script and reports problems as `file:line:col: message`; returns the exit status.
pub fn run(path: &Path) -> u8 {
    let code = match std::fs::read_to_string(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return 1;
        }
    };
    let session = crate::script::new_session(path.parent());
    match session.engine.compile(&code) {
        Ok(_) => 0,
        Err(e) => {
            eprintln!(
                "{}",
                crate::script::located_message(
                    &path.display().to_string(),
                    &e.to_string(),
                    e.position()
                )
            );
            1
        }
    }
}
