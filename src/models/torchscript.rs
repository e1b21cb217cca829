//! TorchScript modules exported from PyTorch (`torch.jit.script(model).save(path)` or
//! `torch.jit.trace(model, example).save(path)`), loaded with libtorch's own loader.
//!
//! A module is an opaque function of tensors: telescope never sees its layers, only its
//! parameters (for dtype, counting and training) and what it returns for a probe batch. Every
//! call goes through [`ScriptModule::forward`], which turns TorchScript errors (wrong input
//! shape, a module returning a tuple) into clear errors naming the file.

use crate::{
    error::{invalid, WithPath},
    Result,
};
use std::path::{Path, PathBuf};
use tch::{CModule, Device, Kind, Tensor};

/// A TorchScript module on one device, in evaluation mode.
pub struct ScriptModule {
    module: CModule,
    path: PathBuf,
    kind: Kind,
    device: Device,
}

/// How a libtorch error reads in telescope. An error inside the TorchScript interpreter is a
/// traceback whose last line holds the reason (`RuntimeError: mat1 and mat2 shapes cannot be
/// multiplied (2x5 and 3x16)`) and whose original-code part names the line of the user's
/// Python `forward` that raised it; other errors keep their first line.
fn torch_reason(e: &tch::TchError) -> String {
    reason_of(&e.to_string())
}

/// [`torch_reason`] of an error's text (libtorch's own, or a shim's).
pub(crate) fn reason_of(raw: &str) -> String {
    let raw = raw.to_string();
    if !raw.contains("TorchScript interpreter") {
        return crate::error::clean_torch_message(&raw);
    }
    let reason = raw
        .lines()
        .rev()
        .find_map(|l| {
            let (kind, rest) = l.trim().split_once(": ")?;
            let is_error = kind.ends_with("Error") || kind.ends_with("Exception");
            (is_error && !kind.contains(' ')).then(|| rest.trim().to_string())
        })
        .unwrap_or_else(|| crate::error::clean_torch_message(&raw));
    let origin = raw.split("original code").nth(1).and_then(|tb| {
        tb.lines().find_map(|l| {
            let rest = l.trim().strip_prefix("File \"")?;
            let (file, rest) = rest.split_once('"')?;
            let line = rest.trim_start_matches(", line ").split(',').next()?;
            let name = Path::new(file).file_name()?.to_string_lossy().to_string();
            Some(format!("{name}:{line}"))
        })
    });
    match origin {
        Some(at) => format!("{reason} (in the module's forward, {at})"),
        None => reason,
    }
}

impl ScriptModule {
    /// Loads the module at `path` onto `device`. The dtype is that of its floating-point
    /// parameters; a module without parameters computes in the session dtype.
    pub fn load(path: &Path, device: Device) -> Result<ScriptModule> {
        if !path.is_file() {
            return Err(invalid(format!("{}: no such file", path.display())));
        }
        let mut module = CModule::load_on_device(path, device).map_err(|e| {
            invalid(format!(
                "{}: not a TorchScript module ({}); export one from PyTorch with torch.jit.script(model).save(path) or torch.jit.trace(model, example).save(path)",
                path.display(),
                torch_reason(&e)
            ))
        })?;
        module
            .f_set_eval()
            .map_err(|e| invalid(format!("{}: {}", path.display(), torch_reason(&e))))?;
        let params = module
            .named_parameters()
            .map_err(|e| invalid(format!("{}: {}", path.display(), torch_reason(&e))))?;
        let kinds: Vec<Kind> = params
            .iter()
            .map(|(_, t)| t.kind())
            .filter(|&k| is_float(k))
            .collect();
        let kind = match kinds.first() {
            None => crate::tensor::dtype(),
            Some(&k) if kinds.iter().all(|&o| o == k) => k,
            Some(_) => {
                return Err(invalid(format!(
                    "{}: the module's parameters mix dtypes {:?}; convert it with model.float() or model.double() before exporting",
                    path.display(),
                    kinds
                )))
            }
        };
        Ok(ScriptModule {
            module,
            path: path.to_path_buf(),
            kind,
            device,
        })
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// The file name, for display.
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_else(|| self.path.display().to_string())
    }
    /// The parameters' dtype (the session dtype for a module without parameters).
    pub fn kind(&self) -> Kind {
        self.kind
    }
    /// The device the module lives on.
    pub fn device(&self) -> Device {
        self.device
    }
    /// The parameters, sharing storage with the module (training updates them in place).
    pub fn parameters(&self) -> Result<Vec<Tensor>> {
        Ok(self
            .module
            .named_parameters()?
            .into_iter()
            .map(|(_, t)| t)
            .collect())
    }
    /// The number of parameter values.
    pub fn num_params(&self) -> i64 {
        self.parameters()
            .map(|ps| ps.iter().map(|t| t.numel() as i64).sum())
            .unwrap_or(0)
    }

    /// Runs the module's `forward` on `x` (already in the module's dtype and device).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.module.forward_ts(&[x]).map_err(|e| {
            invalid(format!(
                "{}: the module failed on input {:?} ({}): {}",
                self.file_name(),
                x.size(),
                dtype_name(x.kind()),
                torch_reason(&e)
            ))
        })
    }

    /// Writes the module (with its current parameters) to `path`, atomically: a temporary file
    /// beside it is written and renamed over it.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::sandbox::check_write(path)?;
        let tmp = crate::tensor_io::temporary_beside(path)?;
        if let Err(e) = self.module.save(&tmp) {
            let _ = std::fs::remove_file(&tmp);
            return Err(invalid(format!("{}: {}", path.display(), torch_reason(&e))));
        }
        std::fs::rename(&tmp, path)
            .inspect_err(|_| {
                let _ = std::fs::remove_file(&tmp);
            })
            .with_path(path)
    }

    /// An independent copy with the same parameters (written to a temporary file and loaded
    /// back, which is how libtorch copies a module). The file is removed whether or not the
    /// copy succeeds.
    pub fn try_clone(&self) -> Result<ScriptModule> {
        // One counter for the process: copies made on different threads never share a name.
        let k = CLONES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp =
            std::env::temp_dir().join(format!("telescope-module-{}-{k}.pt", std::process::id()));
        let copy = match self.module.save(&tmp) {
            Ok(()) => ScriptModule::load(&tmp, self.device),
            Err(e) => Err(invalid(format!(
                "copying {}: {}",
                self.file_name(),
                torch_reason(&e)
            ))),
        };
        // A failed save may have left part of the file.
        let _ = std::fs::remove_file(&tmp);
        let mut copy = copy?;
        copy.path = self.path.clone();
        Ok(copy)
    }
}

static CLONES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// True for the floating-point dtypes a module may compute in.
pub fn is_float(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16
    )
}

/// `"float32"`, `"float64"`, ... for messages and specs.
pub fn dtype_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Double => "float64",
        Kind::Float => "float32",
        Kind::Half => "float16",
        Kind::BFloat16 => "bfloat16",
        _ => "non-float",
    }
}
