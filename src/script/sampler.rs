//! Script functions: sampler.

use super::Api;

/// Registers the sampler functions.
pub fn register(_api: &mut Api) {}
