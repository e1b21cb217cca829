//! Script functions: plot.

use super::Api;

/// Registers the plot functions.
pub fn register(_api: &mut Api) {}
