//! `telescope demo`: the main job on a built-in landscape.

/// Runs the demo; returns the exit status.
pub fn run() -> u8 {
    println!("telescope demo");
    0
}
