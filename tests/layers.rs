//! Architecture invariants, as rust-analyzer's tidy tests keep theirs: the core library (every
//! module but `script`, `repl` and `cli`) has no Rhai in it and never reaches up into the
//! script, REPL or command layers; the script layer (a binding over the core) never reaches
//! into the REPL or the commands, which sit on top.

use std::path::{Path, PathBuf};

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().and_then(|e| e.to_str()) == Some("rs") {
            out.push(path);
        }
    }
}

/// How many source files lie under the top-level modules `keep` selects, and their lines
/// that name one of `forbidden` in code (comments left out), as `file:line: text`.
fn offences(keep: &dyn Fn(&str) -> bool, forbidden: &[&str]) -> (usize, Vec<String>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let chosen: Vec<&PathBuf> = files
        .iter()
        .filter(|p| {
            let rel = p.strip_prefix(&src).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            keep(top.trim_end_matches(".rs"))
        })
        .collect();
    let mut found = Vec::new();
    for path in &chosen {
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if forbidden.iter().any(|f| code.contains(f)) {
                found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    (chosen.len(), found)
}

#[test]
fn the_core_names_no_rhai_script_repl_or_cli() {
    let core = |top: &str| !["script", "repl", "cli", "main", "lib"].contains(&top);
    let forbidden = [
        "rhai::",
        "use rhai",
        "crate::script",
        "crate::repl",
        "crate::cli",
    ];
    let (files, found) = offences(&core, &forbidden);
    assert!(files > 40, "the core's files were not found: {files}");
    assert!(
        found.is_empty(),
        "core modules reach into upper layers:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_script_layer_does_not_reach_into_the_repl_or_the_commands() {
    let (files, found) = offences(&|top| top == "script", &["crate::repl", "crate::cli"]);
    assert!(
        files > 10,
        "the script layer's files were not found: {files}"
    );
    assert!(
        found.is_empty(),
        "the script layer reaches up:\n{}",
        found.join("\n")
    );
}
