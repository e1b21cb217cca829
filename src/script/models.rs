//! Script functions: models.

use super::Api;

/// Registers the models functions.
pub fn register(_api: &mut Api) {}
