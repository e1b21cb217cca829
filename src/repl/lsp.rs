//! `telescope lsp`: a language server for `.rhai` files on stdio.

/// Runs the language server; returns the exit status.
pub fn run() -> u8 {
    eprintln!("telescope lsp: not available yet");
    1
}
