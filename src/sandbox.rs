//! Confined writes for scripts someone else wrote (`telescope run --sandbox`): once
//! [`confine_writes`] is called, every file telescope writes (maps, figures, arrays,
//! checkpoints, networks) and every folder it creates must lie under one folder. Without it
//! nothing is checked.

use crate::{
    error::{invalid, WithPath},
    Result,
};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// Confines all later writes to `root` (which must exist). Can be called once per process.
pub fn confine_writes(root: &Path) -> Result<()> {
    let canonical = root
        .canonicalize()
        .map_err(|e| invalid(format!("sandbox folder {}: {e}", root.display())))?;
    ROOT.set(canonical)
        .map_err(|_| invalid("the sandbox folder is already set"))
}

/// The folder writes are confined to, when a sandbox is active.
pub fn root() -> Option<&'static Path> {
    ROOT.get().map(PathBuf::as_path)
}

/// `Ok` when `path` may be written (always, without a sandbox). Relative paths count from the
/// working directory; the part of the path that exists is resolved (symbolic links and `..`)
/// before the check, and the part that does not exist yet is taken by name.
pub fn check_write(path: &Path) -> Result<()> {
    let Some(root) = root() else {
        return Ok(());
    };
    let refuse = || {
        invalid(format!(
            "sandbox: {} is outside {}; a sandboxed script writes only there",
            path.display(),
            root.display()
        ))
    };
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| invalid(format!("sandbox: the working folder: {e}")))?
            .join(path)
    };
    // The longest existing ancestor, resolved; the rest is appended as written.
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return Err(refuse()),
        }
    }
    let mut resolved = existing.canonicalize().map_err(|_| refuse())?;
    for name in rest.iter().rev() {
        resolved.push(name);
    }
    if resolved.starts_with(root) {
        Ok(())
    } else {
        Err(refuse())
    }
}

/// `std::fs::create_dir_all` after [`check_write`].
pub fn create_dir_all(dir: &Path) -> Result<()> {
    check_write(dir)?;
    std::fs::create_dir_all(dir).with_path(dir)
}
