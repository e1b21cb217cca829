//! Script functions: tensor.

use super::Api;

/// Registers the tensor functions.
pub fn register(_api: &mut Api) {}

/// Human-readable tensor text: values (abbreviated when large), shape, dtype and device.
pub fn format_tensor(t: &tch::Tensor) -> String {
    format!("{t}")
}
