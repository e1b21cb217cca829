//! Reference points of the Müller-Brown surface (Müller & Brown 1979; the values every NEB
//! code checks against): its three minima and the two saddles between them.

/// Minimum A, the global one (U = -146.70).
pub const MIN_A: [f64; 2] = [-0.558224, 1.441726];
/// Minimum B (U = -108.17).
pub const MIN_B: [f64; 2] = [0.623499, 0.028038];
/// Minimum C, between A and B (U = -80.77).
pub const MIN_C: [f64; 2] = [-0.050011, 0.466694];
/// The saddle between A and C: x, y and U.
pub const SADDLE_AC: [f64; 3] = [-0.822002, 0.624313, -40.664844];
/// The saddle between C and B: x, y and U.
pub const SADDLE_CB: [f64; 3] = [0.212487, 0.292988, -72.248940];
