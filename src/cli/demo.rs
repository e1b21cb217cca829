//! `telescope demo`: the main job on a built-in landscape (the embedded `scripts/demo.rhai`).

/// The demo script, embedded so that `telescope demo` works from any directory.
pub const DEMO_SCRIPT: &str = include_str!("../../scripts/demo.rhai");

/// Runs the demo, writing its files to `telescope_demo/` in the current directory; returns
/// the exit status.
pub fn run() -> u8 {
    let out = std::path::Path::new("telescope_demo");
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("telescope demo: cannot create {}: {e}", out.display());
        return 1;
    }
    println!(
        "telescope demo — the script is scripts/demo.rhai; output goes to {}/\n",
        out.display()
    );
    let mut session = crate::script::new_session(None);
    session
        .scope
        .push_constant("ARGS", vec![rhai::Dynamic::from(out.display().to_string())]);
    match session.eval("scripts/demo.rhai", DEMO_SCRIPT) {
        Ok(_) => 0,
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}
