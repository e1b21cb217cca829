//! `telescope bench --peers`: the benchmark kernels written as a researcher writes them in
//! PyTorch-Python (`bench/peers/`, embedded in the binary), run with the project's torch in the
//! same process run as ours, one thread each.

use crate::{error::invalid, Result};
use std::path::{Path, PathBuf};

/// The peer scripts, by file name.
const SCRIPTS: [(&str, &str); 5] = [
    ("common.py", include_str!("../../bench/peers/common.py")),
    ("samplers.py", include_str!("../../bench/peers/samplers.py")),
    ("ad.py", include_str!("../../bench/peers/ad.py")),
    ("latent.py", include_str!("../../bench/peers/latent.py")),
    ("sk_adelm.py", include_str!("../../bench/peers/sk_adelm.py")),
];

/// A peer's measurement, as its JSON line gives it.
#[derive(Debug, serde::Deserialize)]
pub struct PeerRate {
    /// Steps (or trials) per second.
    pub rate: f64,
    /// What `rate` counts, e.g. `steps/s`.
    pub unit: String,
    /// Top-level ATen operators per step, counted by the same rule as ours (none for the
    /// numpy peer).
    #[serde(default)]
    pub ops_per_step: Option<f64>,
    /// Heat-bath chain-sweeps per second (the SK peer).
    #[serde(default)]
    pub chain_sweeps_per_s: Option<f64>,
}

/// Where the peers run: the scripts written out to a temporary folder, and the Python.
pub struct Peers {
    dir: PathBuf,
    python: PathBuf,
}

impl Peers {
    /// Writes the scripts out and picks the Python: `TELESCOPE_PYTHON`, else the `.venv` of
    /// the checkout this binary was built from, else `python3`.
    pub fn new() -> Result<Peers> {
        let dir = std::env::temp_dir().join(format!("telescope-peers-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        for (name, text) in SCRIPTS {
            std::fs::write(dir.join(name), text)?;
        }
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
        let python = match std::env::var_os("TELESCOPE_PYTHON") {
            Some(p) => PathBuf::from(p),
            None if venv.exists() => venv,
            None => PathBuf::from("python3"),
        };
        Ok(Peers { dir, python })
    }

    /// Runs `script args...` with one thread and reads its JSON line.
    pub fn run(&self, script: &str, args: &[&str]) -> Result<PeerRate> {
        let out = std::process::Command::new(&self.python)
            .arg(self.dir.join(script))
            .args(args)
            .current_dir(&self.dir)
            .env("OMP_NUM_THREADS", "1")
            .env("MKL_NUM_THREADS", "1")
            .output()
            .map_err(|e| invalid(format!("cannot run {}: {e}", self.python.display())))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().rev().find(|l| l.starts_with('{'));
        match (out.status.success(), line) {
            (true, Some(line)) => serde_json::from_str(line)
                .map_err(|e| invalid(format!("peer {script} printed {line:?}: {e}"))),
            _ => {
                let err = String::from_utf8_lossy(&out.stderr);
                let last: Vec<&str> = err.lines().rev().take(3).collect();
                Err(invalid(format!(
                    "peer {script} {} failed ({}): {}",
                    args.join(" "),
                    out.status,
                    last.into_iter().rev().collect::<Vec<_>>().join(" | ")
                )))
            }
        }
    }
}

impl Drop for Peers {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
