//! Architecture invariant, as rust-analyzer's tidy tests keep theirs: the core library (every
//! module but `script`, `repl` and `cli`) has no Rhai in it and never reaches up into the
//! script, REPL or command layers. The script layer is a binding over the core, the REPL and
//! the commands sit on top.

use std::path::Path;

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().and_then(|e| e.to_str()) == Some("rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_core_names_no_rhai_script_repl_or_cli() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let upper = ["script", "repl", "cli"];
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let core: Vec<_> = files
        .iter()
        .filter(|p| {
            let rel = p.strip_prefix(&src).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let top = top.trim_end_matches(".rs");
            !upper.contains(&top) && top != "main" && top != "lib"
        })
        .collect();
    assert!(
        core.len() > 40,
        "the core's files were not found: {}",
        core.len()
    );
    let forbidden = [
        "rhai::",
        "use rhai",
        "crate::script",
        "crate::repl",
        "crate::cli",
    ];
    let mut offences = Vec::new();
    for path in core {
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for f in forbidden {
                if code.contains(f) {
                    offences.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "core modules reach into upper layers:\n{}",
        offences.join("\n")
    );
}
