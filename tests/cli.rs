//! The command line: located errors, exit codes, every example script, the demo and the docs.

use std::path::{Path, PathBuf};
use std::process::Command;

fn telescope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_telescope"))
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("telescope-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_bad_script_gives_a_located_error_and_exit_status_1() {
    let dir = temp_dir("bad");
    let file = dir.join("bad.rhai");
    std::fs::write(
        &file,
        "let x = zeros([2, 3]);\nlet y = zeros([4, 5]);\nlet z = x + y;\n",
    )
    .unwrap();
    let out = telescope().arg("run").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let expected = format!("{}:3:", file.display());
    assert!(
        err.contains(&expected),
        "stderr should locate the error at line 3: {err}"
    );
    assert!(
        err.contains("size") || err.contains("shape"),
        "message should say what is wrong: {err}"
    );
    // A parse error is located too.
    std::fs::write(&file, "let a = 1;\nlet b = (2 + ;\n").unwrap();
    let out = telescope().arg("run").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("{}:2:", file.display())));
}

#[test]
fn every_example_script_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = temp_dir("scripts");
    let mut ran = 0;
    for entry in std::fs::read_dir(root.join("scripts")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("rhai") {
            continue;
        }
        // Short arguments keep the suite fast; each script documents its full-size run.
        let args: Vec<String> = match path.file_stem().and_then(|s| s.to_str()) {
            Some("sk_spin_glass") => vec![
                "20".into(),
                "20000".into(),
                "30".into(),
                dir.display().to_string(),
                "10".into(),
            ],
            Some("demo") => vec![dir.display().to_string()],
            Some("spots_stripes_latent") | Some("digits_latent") => {
                vec!["1".into(), "8".into(), dir.display().to_string()]
            }
            Some("digits_image") => vec![
                "1".into(),
                "2".into(),
                dir.display().to_string(),
                "8".into(),
            ],
            // The real-data scripts read data/ (make data) from the project root.
            Some("digits09_latent") | Some("texture_latent") | Some("multiscale_latent") => vec![
                "tiny".into(),
                "1".into(),
                "4".into(),
                dir.display().to_string(),
                "40".into(),
            ],
            _ => vec![],
        };
        let reads_data = args.first().map(String::as_str) == Some("tiny");
        let out = telescope()
            .current_dir(if reads_data { root } else { dir.as_path() })
            .env("OMP_NUM_THREADS", "1")
            .arg("run")
            .arg(&path)
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{} failed:\n{}\n{}",
            path.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    assert!(ran >= 12, "expected the example scripts, ran {ran}");
}

#[test]
fn demo_maps_the_built_in_landscape_and_writes_its_pictures() {
    let dir = temp_dir("demo");
    let out = telescope().current_dir(&dir).arg("demo").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("4 groups, 8 distinct minima"),
        "the demo's landscape has 4 basins and 8 minima:\n{text}"
    );
    for f in ["demo_dg.svg", "demo_dg.png", "demo_map.json"] {
        let p = dir.join("telescope_demo").join(f);
        assert!(
            p.metadata().map(|m| m.len() > 100).unwrap_or(false),
            "{} missing",
            p.display()
        );
    }
}

#[test]
fn doc_prints_the_reference_and_unknown_commands_fail() {
    let out = telescope().args(["doc", "adelm"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for key in [
        "adelm(U: Energy, opts: map)",
        "alpha",
        "max_checks",
        "burn_in",
        "checkpoint",
    ] {
        assert!(text.contains(key), "doc adelm lacks {key}");
    }
    let out = telescope().arg("doc").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for f in [
        "zeros",
        "muller_brown",
        "sample",
        "minimize",
        "ad(",
        "barrier_greedy",
        "neb",
        "dg(",
    ] {
        assert!(text.contains(f), "reference lacks {f}");
    }
    let out = telescope().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
