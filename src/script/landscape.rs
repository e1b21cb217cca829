//! Script functions: landscape.

use super::Api;

/// Registers the landscape functions.
pub fn register(_api: &mut Api) {}
