//! Reference values from PyTorch itself: an exporter script run once per test binary with the
//! project's `.venv`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `.venv/bin/python SCRIPT DIR` into Cargo's scratch folder `DIR = name` (a static never
/// drops, so a temporary folder would outlive the run) and reads the `reference.json` it
/// writes there.
pub fn export(script: &str, name: &str) -> (PathBuf, serde_json::Value) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let out = Command::new(".venv/bin/python")
        .arg(script)
        .arg(&dir)
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .expect("run .venv/bin/python (make setup creates it)");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.join("reference.json")).unwrap();
    (dir, serde_json::from_str(&text).unwrap())
}
