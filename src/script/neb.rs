//! Script functions: neb.

use super::Api;

/// Registers the neb functions.
pub fn register(_api: &mut Api) {}
