//! A TorchScript module whose parameter and buffer slots can be read and pointed at other
//! tensors (the C shim `native/module_slots.cpp`). Pointing a parameter slot at a view of a
//! state that requires grad makes the module's forward a function of that state for autograd,
//! as `torch.func.functional_call` does in Python: what a loss over a network's own
//! parameters needs.

use crate::{error::invalid, Result};
use std::ffi::{c_char, c_int, c_void, CString};
use std::path::{Path, PathBuf};
use tch::{Device, Tensor};

extern "C" {
    fn telescope_module_load(
        path: *const c_char,
        cuda: c_int,
        err: *mut c_char,
        n: usize,
    ) -> *mut c_void;
    fn telescope_module_free(h: *mut c_void);
    fn telescope_module_slot_count(h: *mut c_void, kind: c_int) -> i64;
    fn telescope_module_slot_name(
        h: *mut c_void,
        kind: c_int,
        i: i64,
        buf: *mut c_char,
        n: usize,
    ) -> usize;
    fn telescope_module_slot(
        h: *mut c_void,
        kind: c_int,
        i: i64,
        err: *mut c_char,
        n: usize,
    ) -> *mut c_void;
    fn telescope_module_set_slot(
        h: *mut c_void,
        kind: c_int,
        i: i64,
        t: *const c_void,
        err: *mut c_char,
        n: usize,
    ) -> c_int;
    fn telescope_module_forward(
        h: *mut c_void,
        inputs: *const *const c_void,
        count: c_int,
        err: *mut c_char,
        n: usize,
    ) -> *mut c_void;
    fn telescope_module_set_train(h: *mut c_void, on: c_int);
    fn telescope_module_types(h: *mut c_void, buf: *mut c_char, n: usize) -> usize;
}

/// Which slots: the module's parameters or its buffers (batch-norm running statistics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotKind {
    /// `named_parameters()`, recursive, in the module's order.
    Parameter = 0,
    /// `named_buffers()`, recursive, in the module's order.
    Buffer = 1,
}

const ERR_LEN: usize = 4096;

/// A loaded TorchScript module with settable slots. Not thread-safe (slots are shared state).
pub struct SlotModule {
    handle: *mut c_void,
    path: PathBuf,
    names: [Vec<String>; 2],
}

impl Drop for SlotModule {
    fn drop(&mut self) {
        // SAFETY: the handle came from telescope_module_load and is freed once.
        unsafe { telescope_module_free(self.handle) }
    }
}

/// Calls a shim function that reports failure through an error buffer.
fn with_err<T>(f: impl FnOnce(*mut c_char, usize) -> T) -> (T, String) {
    let mut buf = vec![0 as c_char; ERR_LEN];
    let out = f(buf.as_mut_ptr(), ERR_LEN);
    // SAFETY: the shim always NUL-terminates within the buffer (it is zeroed besides).
    let text = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    (out, text.to_string_lossy().into_owned())
}

/// A tensor handle the shim returned (it owns a new `at::Tensor`), or its error.
fn owned(ptr: *mut c_void, err: String) -> Result<Tensor> {
    if ptr.is_null() {
        return Err(invalid(super::torchscript::reason_of(&err)));
    }
    // SAFETY: a non-null result is a fresh heap `at::Tensor*`, tch's own representation.
    Ok(unsafe { Tensor::from_ptr(ptr as *mut torch_sys::C_tensor) })
}

impl SlotModule {
    /// Loads the module at `path` onto `device`, in evaluation mode.
    pub fn load(path: &Path, device: Device) -> Result<SlotModule> {
        if !path.is_file() {
            return Err(invalid(format!("{}: no such file", path.display())));
        }
        let c_path = CString::new(path.to_string_lossy().as_bytes())
            .map_err(|_| invalid(format!("{}: the path has a NUL byte", path.display())))?;
        let cuda = match device {
            Device::Cuda(i) => i as c_int,
            _ => -1,
        };
        // SAFETY: valid C string and error buffer.
        let (handle, err) =
            with_err(|e, n| unsafe { telescope_module_load(c_path.as_ptr(), cuda, e, n) });
        if handle.is_null() {
            return Err(invalid(format!(
                "{}: not a TorchScript module ({}); export one from PyTorch with torch.jit.script(model).save(path)",
                path.display(),
                super::torchscript::reason_of(&err)
            )));
        }
        let mut m = SlotModule {
            handle,
            path: path.to_path_buf(),
            names: [Vec::new(), Vec::new()],
        };
        for kind in [SlotKind::Parameter, SlotKind::Buffer] {
            // SAFETY: a live handle.
            let count = unsafe { telescope_module_slot_count(m.handle, kind as c_int) };
            m.names[kind as usize] = (0..count).map(|i| m.read_name(kind, i)).collect();
        }
        Ok(m)
    }

    fn read_name(&self, kind: SlotKind, i: i64) -> String {
        let mut buf = vec![0u8; 512];
        loop {
            // SAFETY: a live handle, an index below the count, a buffer of the given length.
            let len = unsafe {
                telescope_module_slot_name(
                    self.handle,
                    kind as c_int,
                    i,
                    buf.as_mut_ptr() as *mut c_char,
                    buf.len(),
                )
            };
            if len < buf.len() {
                return String::from_utf8_lossy(&buf[..len]).into_owned();
            }
            buf.resize(len + 1, 0);
        }
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file name, for messages.
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.path.display().to_string())
    }

    /// The dotted names of the slots of `kind`, in the module's order.
    pub fn names(&self, kind: SlotKind) -> &[String] {
        &self.names[kind as usize]
    }

    /// The tensor now in slot `i` (sharing storage with the module).
    pub fn slot(&self, kind: SlotKind, i: usize) -> Result<Tensor> {
        self.check_index(kind, i)?;
        // SAFETY: a live handle and an index below the count.
        let (ptr, err) = with_err(|e, n| unsafe {
            telescope_module_slot(self.handle, kind as c_int, i as i64, e, n)
        });
        owned(ptr, err)
    }

    /// Points slot `i` at `t` (any tensor; a view of a state that requires grad included).
    pub fn set_slot(&self, kind: SlotKind, i: usize, t: &Tensor) -> Result<()> {
        self.check_index(kind, i)?;
        // SAFETY: a live handle, an index below the count, a live tensor.
        let (rc, err) = with_err(|e, n| unsafe {
            telescope_module_set_slot(
                self.handle,
                kind as c_int,
                i as i64,
                t.as_ptr() as *const c_void,
                e,
                n,
            )
        });
        match rc {
            0 => Ok(()),
            _ => Err(invalid(format!(
                "{}: setting {}: {}",
                self.file_name(),
                self.names[kind as usize][i],
                super::torchscript::reason_of(&err)
            ))),
        }
    }

    fn check_index(&self, kind: SlotKind, i: usize) -> Result<()> {
        match i < self.names[kind as usize].len() {
            true => Ok(()),
            false => Err(invalid(format!("{}: no slot {i}", self.file_name()))),
        }
    }

    /// `forward(inputs...)` of a module that returns one tensor. Errors keep TorchScript's
    /// reason and the line of the user's `forward` that raised it.
    pub fn forward(&self, inputs: &[&Tensor]) -> Result<Tensor> {
        let ptrs: Vec<*const c_void> = inputs.iter().map(|t| t.as_ptr() as *const c_void).collect();
        // SAFETY: a live handle and live tensors for the length of the call.
        let (ptr, err) = with_err(|e, n| unsafe {
            telescope_module_forward(self.handle, ptrs.as_ptr(), ptrs.len() as c_int, e, n)
        });
        owned(ptr, err)
    }

    /// Training mode (batch norm normalizes by the batch's statistics, dropout drops) or
    /// evaluation mode, for the module and its submodules.
    pub fn set_train(&self, on: bool) {
        // SAFETY: a live handle.
        unsafe { telescope_module_set_train(self.handle, on as c_int) }
    }

    /// The qualified type names of the module and every submodule
    /// (`__torch__.torch.nn.modules.batchnorm.BatchNorm2d`, ...).
    pub fn module_types(&self) -> Vec<String> {
        let mut buf = vec![0u8; 4096];
        loop {
            // SAFETY: a live handle and a buffer of the given length.
            let len = unsafe {
                telescope_module_types(self.handle, buf.as_mut_ptr() as *mut c_char, buf.len())
            };
            if len < buf.len() {
                return String::from_utf8_lossy(&buf[..len])
                    .lines()
                    .map(str::to_owned)
                    .collect();
            }
            buf.resize(len + 1, 0);
        }
    }
}
