//! Script functions: energy.

use super::Api;

/// Registers the energy functions.
pub fn register(_api: &mut Api) {}
