//! libtorch's global configuration that tch does not expose (the C shim
//! `native/torch_config.cpp`): the CPU capability ATen dispatches to, deterministic
//! algorithms, and the version of the libtorch this process runs.

use std::ffi::{c_char, c_int};

extern "C" {
    fn telescope_cpu_capability(buf: *mut c_char, n: usize) -> usize;
    fn telescope_set_deterministic(on: c_int) -> c_int;
    fn telescope_deterministic() -> c_int;
    fn telescope_set_mkldnn(on: c_int) -> c_int;
    fn telescope_torch_version(buf: *mut c_char, n: usize) -> usize;
}

/// Reads a string from one of the shim's `(buf, n) -> length` functions.
fn read_string(f: unsafe extern "C" fn(*mut c_char, usize) -> usize) -> String {
    let mut buf = vec![0u8; 128];
    // SAFETY: the shim writes at most `n - 1` bytes and a NUL into `buf`.
    unsafe { f(buf.as_mut_ptr() as *mut c_char, buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// ATen's CPU capability, as `torch.backends.cpu.get_cpu_capability()` reports it
/// (`"DEFAULT"`, `"AVX2"`, `"AVX512"`, ...). The first call fixes it for the process.
pub fn cpu_capability() -> String {
    read_string(telescope_cpu_capability)
}

/// The version of the libtorch this process runs (`"2.13.0"`).
pub fn torch_version() -> String {
    read_string(telescope_torch_version)
}

/// `torch.use_deterministic_algorithms(on)`; false when libtorch refused.
pub fn set_deterministic(on: bool) -> bool {
    // SAFETY: a plain C call into the shim; it catches every C++ exception.
    unsafe { telescope_set_deterministic(on as c_int) == 0 }
}

/// Whether deterministic algorithms are on.
pub fn deterministic() -> bool {
    // SAFETY: a plain C call into the shim.
    unsafe { telescope_deterministic() != 0 }
}

/// `torch.backends.mkldnn.enabled = on` (oneDNN picks its kernels by the CPU's instruction
/// set); false when libtorch refused.
pub fn set_mkldnn(on: bool) -> bool {
    // SAFETY: a plain C call into the shim; it catches every C++ exception.
    unsafe { telescope_set_mkldnn(on as c_int) == 0 }
}
