//! `telescope check FILE`: diagnostics without running — parse errors, calls to unknown
//! functions and wrong argument counts, printed as `file:line:col: message` on stdout.

use super::analysis::{diagnose, Catalog, Diagnostic};
use std::path::Path;

/// Diagnostics of `code` against the standard telescope engine; imports resolve from
/// `base_dir`.
pub fn check_source(code: &str, base_dir: &Path) -> Vec<Diagnostic> {
    let (engine, cat) = Catalog::standard();
    diagnose(&engine, &cat, code, base_dir)
}

/// Checks the script at `path` and prints its problems; returns 1 when there are any, else 0.
pub fn run(path: &Path) -> u8 {
    let code = match std::fs::read_to_string(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            return 1;
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let diags = check_source(&code, dir);
    for d in &diags {
        println!("{}:{}:{}: {}", path.display(), d.line, d.col, d.message);
    }
    u8::from(!diags.is_empty())
}
