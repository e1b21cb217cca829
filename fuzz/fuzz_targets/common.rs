//! Shared by the targets: each input is written to a file of its own, because the loaders
//! read paths, and the memory budget is kept small so that a size the parser accepts cannot
//! exhaust libFuzzer's memory limit.

use std::path::PathBuf;

/// Writes `data` to `name` in a per-process scratch folder and returns its path.
pub fn input_file(name: &str, data: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("telescope-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let path = dir.join(name);
    std::fs::write(&path, data).expect("scratch file");
    path
}

/// A memory budget of 256 MiB for everything a parsed file asks for.
pub fn small_budget() {
    telescope::budget::set_limit_gib(0.25).expect("budget");
}
