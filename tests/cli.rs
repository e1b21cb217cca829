//! The command line: located errors, exit codes, every example script, the demo and the docs.

use std::path::{Path, PathBuf};
use std::process::Command;

fn telescope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_telescope"))
}

/// A fresh folder for one test, removed when the returned guard drops (also on a panic).
fn fresh_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("telescope-cli-{name}-"))
        .tempdir()
        .unwrap()
}

#[test]
fn a_bad_script_gives_a_located_error_and_exit_status_1() {
    let tmp = fresh_dir("bad");
    let dir = tmp.path();
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

/// The scripts under `scripts/` that a test below runs (with short arguments: each script
/// documents its full-size run).
const SCRIPT_TESTS: &[&str] = &[
    "closure_energy",
    "demo",
    "digits09_latent",
    "digits_image",
    "digits_latent",
    "gpu_check",
    "ivy_latent_map",
    "mnist_image",
    "muller_brown_minima",
    "muller_brown_paths",
    "multiscale_latent",
    "sk_sampling",
    "sk_spin_glass",
    "spots_stripes_latent",
    "texture_latent",
];

/// Runs `scripts/NAME.rhai` with `args` (`{dir}` stands for a fresh output folder) from the
/// output folder, or from the project root when it reads `data/`; fails with its output.
fn script_runs(name: &str, args: &[&str]) {
    script_writes(name, args, &[]);
}

/// `script_runs`, then checks that the script wrote each of `files` into `{dir}`, not empty.
fn script_writes(name: &str, args: &[&str], files: &[&str]) {
    let (_, tmp) = script_output(name, args);
    for f in files {
        let len = std::fs::metadata(tmp.path().join(f))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 0, "{name} did not write {f}");
    }
}

/// Runs `scripts/NAME.rhai` as `script_runs` does; its stdout and its output folder, kept
/// until the returned guard drops.
fn script_output(name: &str, args: &[&str]) -> (String, tempfile::TempDir) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = fresh_dir(&format!("script-{name}"));
    let dir = tmp.path();
    let args: Vec<String> = args
        .iter()
        .map(|a| a.replace("{dir}", &dir.display().to_string()))
        .collect();
    let reads_data = args.first().map(String::as_str) == Some("tiny");
    let path = root.join("scripts").join(format!("{name}.rhai"));
    let out = telescope()
        .current_dir(if reads_data { root } else { dir })
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
    (String::from_utf8_lossy(&out.stdout).into_owned(), tmp)
}

#[test]
fn every_example_script_has_a_test() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found: Vec<String> = std::fs::read_dir(root.join("scripts"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension().and_then(|e| e.to_str()) == Some("rhai"))
                .then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    found.sort();
    assert_eq!(found, SCRIPT_TESTS, "scripts/ and the script tests differ");
}

#[test]
fn script_closure_energy_runs() {
    script_runs("closure_energy", &[]);
}

#[test]
fn script_demo_runs() {
    script_runs("demo", &["{dir}"]);
}

#[test]
fn script_muller_brown_minima_runs() {
    script_runs("muller_brown_minima", &[]);
}

#[test]
fn script_muller_brown_paths_runs() {
    script_runs("muller_brown_paths", &[]);
}

#[test]
fn script_sk_sampling_runs() {
    script_runs("sk_sampling", &[]);
}

#[test]
fn script_sk_spin_glass_reports_the_spread_of_its_seed_maps() {
    let (stdout, tmp) = script_output("sk_spin_glass", &["20", "20000", "30", "{dir}", "10", "3"]);
    let dir = tmp.path();
    let read = |f: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap()
    };
    let report = read(&dir.join("sk_seeds.json"));
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "one run per seed");
    // Each run's counts, recomputed from the maps the script wrote: its refined ADELM map against
    // the GWL map, by the rule compare_maps documents (a basin is among GWL's when its state or
    // its mirror is one of GWL's minima or representatives; beyond, when its energy is above
    // all of them).
    let gwl = read(&dir.join("sk_gwl.json"));
    let states_of = |m: &serde_json::Value| -> Vec<(Vec<i64>, f64)> {
        ["minima", "groups"]
            .iter()
            .flat_map(|k| m[k].as_array().unwrap().clone())
            .map(|r| {
                let s = r["state"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap().round() as i64)
                    .collect();
                (s, r["energy"].as_f64().unwrap())
            })
            .collect()
    };
    let gwl_states = states_of(&gwl);
    let gwl_top = gwl_states
        .iter()
        .map(|s| s.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut seeds = Vec::new();
    for run in runs {
        let map = read(Path::new(run["map"].as_str().unwrap()));
        assert_eq!(
            map["params"]["seed"], run["seed"],
            "the map is the seed's own"
        );
        seeds.push(run["seed"].as_i64().unwrap());
        let groups = map["groups"].as_array().unwrap();
        let (mut among, mut beyond, mut mirrors) = (0, 0, 0);
        let own: Vec<Vec<i64>> = states_of(&map).into_iter().map(|s| s.0).collect();
        for g in groups {
            let s: Vec<i64> = g["state"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap().round() as i64)
                .collect();
            let flipped: Vec<i64> = s.iter().map(|v| -v).collect();
            if gwl_states.iter().any(|(t, _)| *t == s || *t == flipped) {
                among += 1;
            } else if g["energy"].as_f64().unwrap() > gwl_top {
                beyond += 1;
            }
            mirrors += own.contains(&flipped) as i64;
        }
        let recomputed = [
            ("basins", groups.len() as i64),
            ("among_gwl_lowest", among),
            ("beyond_gwl", beyond),
            ("missed_by_gwl", groups.len() as i64 - among - beyond),
            ("mirrors_found", mirrors),
        ];
        for (count, want) in recomputed {
            assert_eq!(
                run[count].as_i64(),
                Some(want),
                "seed {}: {count}",
                run["seed"]
            );
        }
    }
    assert_eq!(seeds, [1, 2, 3], "seeds 1..SEEDS");
    // The summary and the printed table are the runs' mean, sample sd, min and max.
    for (count, label) in [
        ("basins", "ADELM basins:"),
        ("among_gwl_lowest", "of them among GWL's 500 lowest minima:"),
        ("beyond_gwl", "beyond GWL's energy threshold:"),
        ("mirrors_found", "ADELM basins with their mirror found:"),
    ] {
        let xs: Vec<f64> = runs.iter().map(|r| r[count].as_f64().unwrap()).collect();
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let (lo, hi) = xs
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            });
        let s = &report["summary"][count];
        assert!(
            (s["mean"].as_f64().unwrap() - mean).abs() < 1e-12,
            "{count} mean"
        );
        assert!((s["sd"].as_f64().unwrap() - sd).abs() < 1e-12, "{count} sd");
        assert_eq!(
            (s["min"].as_f64().unwrap(), s["max"].as_f64().unwrap()),
            (lo, hi),
            "{count}"
        );
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no `{label}` line:\n{stdout}"));
        let shown: Vec<f64> = line[line.find(label).unwrap() + label.len()..]
            .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-'))
            .filter_map(|w| w.parse().ok())
            .collect();
        // "mean ± sd (min to max, 3 seeds)", mean and sd to 3 significant digits.
        let close = |a: f64, b: f64| (a - b).abs() <= 5e-3 * b.abs().max(1e-9);
        assert!(
            shown.len() >= 5 && close(shown[0], mean) && close(shown[1], sd),
            "{line}: mean {mean}, sd {sd}"
        );
        assert_eq!((shown[2], shown[3], shown[4]), (lo, hi, n), "{line}");
    }
}

#[test]
fn script_digits_latent_runs() {
    script_runs("digits_latent", &["1", "2", "{dir}", "quick"]);
}

#[test]
fn script_spots_stripes_latent_runs() {
    script_runs("spots_stripes_latent", &["1", "2", "{dir}", "quick"]);
}

#[test]
fn script_digits_image_runs() {
    script_runs("digits_image", &["1", "2", "{dir}", "40"]);
}

#[test]
fn script_mnist_image_runs() {
    script_writes(
        "mnist_image",
        &["1", "2", "{dir}", "10"],
        &[
            "mnist_image_samples.png",
            "mnist_image_gibbs_path.png",
            "mnist_image_dg.png",
            "mnist_image_map.json",
            "mnist_image_descriptor.safetensors",
        ],
    );
}

// The real-data scripts read data/ (make data) from the project root.
#[test]
fn script_digits09_latent_runs() {
    script_runs("digits09_latent", &["tiny", "1", "2", "{dir}", "40"]);
}

#[test]
fn script_texture_latent_runs() {
    script_runs("texture_latent", &["tiny", "1", "2", "{dir}", "40"]);
}

#[test]
fn script_multiscale_latent_runs() {
    script_runs("multiscale_latent", &["tiny", "1", "2", "{dir}", "40"]);
}

/// Without a GPU the check compares the CPU with itself: every area, the same seeds.
#[test]
fn script_gpu_check_runs() {
    script_runs("gpu_check", &["cuda", "{dir}"]);
}

#[test]
fn script_ivy_latent_map_runs() {
    script_runs("ivy_latent_map", &["2", "cpu", "{dir}", "50"]);
}

#[test]
fn demo_maps_the_built_in_landscape_and_writes_its_pictures() {
    let tmp = fresh_dir("demo");
    let dir = tmp.path();
    let out = telescope().current_dir(dir).arg("demo").output().unwrap();
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
    // The shipped modules are in the reference, and each function by its qualified name.
    assert!(text.contains("latent_map::basin_classes(m, images, data, gen)"));
    let out = telescope()
        .args(["doc", "lm::wall_radius"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("sqrt(d + 3 sqrt(2d))"));
    let out = telescope().args(["doc", ""]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("latent_map::map_latent"));
    let out = telescope().args(["doc", "no_such_fn"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = telescope().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bench_refuses_unknown_names_and_a_device_it_does_not_have() {
    let out = telescope().args(["bench", "nosuch"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown benchmark `nosuch`") && err.contains("latent"),
        "{err}"
    );
    let out = telescope()
        .args(["bench", "--device", "tpu"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--device takes cpu or cuda"));
    if !tch::Cuda::is_available() {
        let out = telescope()
            .args(["bench", "--device", "cuda", "sk"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("CUDA is not available"));
    }
}

/// A text plot written to a pipe carries no colour escapes, even when TELESCOPE_PLOT=text
/// forces the text display; an unknown TELESCOPE_PLOT value is said once, not ignored.
#[test]
fn text_plots_in_a_pipe_are_plain_and_unknown_displays_are_said() {
    let tmp = fresh_dir("show");
    let dir = tmp.path();
    let file = dir.join("show.rhai");
    std::fs::write(
        &file,
        "let p = histogram([1.0, 2.0, 2.5, 3.0, 3.5]);\np.show();\np.show();\n",
    )
    .unwrap();
    let out = telescope()
        .current_dir(dir)
        .env("TELESCOPE_PLOT", "text")
        .args(["run", "show.rhai"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains('│') || text.contains('|'),
        "a text plot: {text}"
    );
    assert!(!text.contains('\x1b'), "colour escapes in a pipe: {text:?}");
    let out = telescope()
        .current_dir(dir)
        .env("TELESCOPE_PLOT", "sixels")
        .args(["run", "show.rhai"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.matches("TELESCOPE_PLOT=sixels is none of").count(),
        1,
        "{err}"
    );
}

/// A documented function called with arguments of the wrong types says what it takes (the
/// docs' signatures) and what it was given, not Rhai's Rust type names.
#[test]
fn wrong_argument_types_say_what_the_function_takes() {
    let tmp = fresh_dir("types");
    let dir = tmp.path();
    for (code, want) in [
        ("seed(\"x\");", "seed takes seed(n: int), not (string)"),
        (
            "let U = muller_brown();\nneb(U, 1, \"a\", 3);",
            "not (Energy, int, string, int)",
        ),
        ("zeros([2]).reshape(1.5, 2);", "reshape takes"),
    ] {
        let file = dir.join("types.rhai");
        std::fs::write(&file, code).unwrap();
        let out = telescope().arg("run").arg(&file).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{code}: {err}");
        assert!(
            !err.contains("ImmutableString") && !err.contains("i64"),
            "{err}"
        );
        assert!(
            err.contains(&format!("{}:", file.display())),
            "located: {err}"
        );
    }
}

/// A figure shown while stdout is not a terminal is a PNG in the session's plot folder,
/// `$TMPDIR/telescope-plots-PID`: its path is printed, the file is there while the script runs,
/// and the folder is gone once `telescope run` ends, unless `TELESCOPE_KEEP_PLOTS=1` keeps it.
/// A file shown into a folder the script names is the user's and always stays.
#[test]
fn shown_plots_leave_with_the_session_unless_kept() {
    let tmp = fresh_dir("plots");
    let dir = tmp.path();
    let script = dir.join("plots.rhai");
    std::fs::write(
        &script,
        "let p = histogram([1.0, 2.0, 2.5, 3.0, 3.5]);\n\
         p.show();\n\
         // The temp directory holds only the session's plot folder, a class of one image.\n\
         let d = load_images(ARGS[0], #{size: 8});\n\
         print(`during: ${d.classes} ${d.images.shape}`);\n\
         p.show(ARGS[1]);\n",
    )
    .unwrap();
    let run = |keep: bool| -> (PathBuf, PathBuf, PathBuf) {
        let temp = dir.join(if keep { "tmp-keep" } else { "tmp" });
        let mine = dir.join(if keep { "mine-keep" } else { "mine" });
        std::fs::create_dir_all(&temp).unwrap();
        let mut cmd = telescope();
        cmd.current_dir(dir)
            .env("TMPDIR", &temp)
            .env_remove("TELESCOPE_PLOT")
            .env_remove("TELESCOPE_KEEP_PLOTS")
            .arg("run")
            .arg(&script)
            .arg(&temp)
            .arg(&mine);
        if keep {
            cmd.env("TELESCOPE_KEEP_PLOTS", "1");
        }
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pngs: Vec<PathBuf> = text
            .lines()
            .filter(|l| l.ends_with(".png"))
            .map(PathBuf::from)
            .collect();
        assert_eq!(pngs.len(), 2, "two shown files: {text}");
        let (shown, named) = (pngs[0].clone(), pngs[1].clone());
        let folder = shown.parent().unwrap().to_path_buf();
        assert_eq!(folder.parent(), Some(temp.as_path()), "{text}");
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("telescope-plots-"), "{text}");
        assert!(
            text.contains(&format!("during: [\"{name}\"] [1, 64]")),
            "the shown file was there during the run: {text}"
        );
        assert_eq!(named.parent(), Some(mine.as_path()), "{text}");
        assert!(named.is_file(), "a file shown into a named folder stays");
        (temp, folder, shown)
    };
    let (temp, folder, shown) = run(false);
    assert!(
        !shown.exists() && !folder.exists(),
        "{} left behind",
        folder.display()
    );
    assert_eq!(
        std::fs::read_dir(&temp).unwrap().count(),
        0,
        "nothing else in TMPDIR"
    );
    let (_, folder, shown) = run(true);
    assert!(
        shown.is_file(),
        "TELESCOPE_KEEP_PLOTS=1 keeps {}",
        shown.display()
    );
    std::fs::remove_dir_all(&folder).unwrap();
}

/// `telescope run --reproducible` gives a bit-identical map whatever instruction set MKL and
/// ATen would pick on this CPU: the same script under MKL's AVX2 code path and under ATen's
/// AVX2 kernels writes the same JSON, field by field (floats are written shortest-round-trip, so
/// equal text is equal bits), except the wall-clock seconds; the map records the mode.
#[test]
fn reproducible_mode_gives_the_same_map_whatever_the_cpu_offers() {
    let tmp = fresh_dir("reproducible");
    let dir = tmp.path();
    let script = dir.join("map.rhai");
    std::fs::write(
        &script,
        "seed(3);\n\
         let U = embed(muller_brown(), 10);\n\
         let m = adelm(U, #{iters: 20, T: 3.0, alpha: 60.0});\n\
         m.save(ARGS[0]);\n",
    )
    .unwrap();
    let run = |name: &str, env: &[(&str, &str)]| -> serde_json::Value {
        let path = dir.join(format!("{name}.json"));
        let mut cmd = telescope();
        cmd.current_dir(dir)
            .env_remove("MKL_CBWR")
            .env_remove("ATEN_CPU_CAPABILITY")
            .env_remove("MKL_ENABLE_INSTRUCTIONS")
            .env_remove("TELESCOPE_THREADS")
            .envs(env.iter().copied())
            .args(["run", "--reproducible"])
            .arg(&script)
            .arg(&path);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut map: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        map["stats"]
            .as_object_mut()
            .unwrap()
            .remove("seconds")
            .expect("a map records its seconds");
        map
    };
    let plain = run("plain", &[]);
    let p = &plain["provenance"];
    assert_eq!(p["reproducible"], true, "{p}");
    assert_eq!(p["cpu_capability"], "DEFAULT", "{p}");
    assert_eq!(p["mkl_cbwr"], "COMPATIBLE", "{p}");
    assert_eq!(p["threads"], 1, "{p}");
    assert!(
        plain["groups"].as_array().unwrap().len() >= 2,
        "a map with barriers to compare: {plain}"
    );
    for (name, env) in [
        ("mkl-avx2", [("MKL_ENABLE_INSTRUCTIONS", "AVX2")]),
        ("aten-avx2", [("ATEN_CPU_CAPABILITY", "avx2")]),
    ] {
        let other = run(name, &env);
        for (key, value) in plain.as_object().unwrap() {
            assert_eq!(&other[key], value, "{name}: field {key} differs");
        }
    }
}

/// Every command prints its usage for `COMMAND --help`, `COMMAND -h` and `help COMMAND`;
/// unknown flags are errors with the list of flags; `--` ends the flags; flags after the
/// script's file belong to the script.
#[test]
fn commands_print_their_usage_and_flags_follow_the_conventions() {
    for command in ["run", "demo", "check", "doc", "bench", "lsp"] {
        for args in [
            vec![command, "--help"],
            vec![command, "-h"],
            vec!["help", command],
        ] {
            let out = telescope().args(&args).output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(0), "{args:?}: {text}");
            assert!(
                text.starts_with(&format!("Usage: telescope {command}")),
                "{args:?}: {text}"
            );
        }
    }
    let out = telescope().args(["run", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--sandbox") && text.contains("--limit"),
        "{text}"
    );
    for args in [vec!["run", "--sandbx", "s.rhai"], vec!["--frobnicate"]] {
        let out = telescope().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("unknown flag") && err.contains("--reproducible"),
            "{args:?}: {err}"
        );
    }
    let out = telescope().args(["run", "--sandbx"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean --sandbox?"));
    // `--` ends the flags: a file whose name starts with `-`; the script's own flags pass.
    let tmp = fresh_dir("flags");
    std::fs::write(tmp.path().join("-odd.rhai"), "print(ARGS);").unwrap();
    let out = telescope()
        .args(["run", "--", "-odd.rhai", "--help", "-x"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("--help") && text.contains("-x"), "{text}");
}

/// `--shard I/N` and Slurm's array variables make the process a shard: the script sees
/// `SHARD`, a map records it in its provenance, and the default seed differs between shards
/// (an explicit one does not); a malformed shard is a usage error naming the flag.
#[test]
fn shards_come_from_the_flag_or_slurm_and_reach_scripts_maps_and_seeds() {
    let tmp = fresh_dir("shards");
    let dir = tmp.path();
    let script = dir.join("shard.rhai");
    std::fs::write(
        &script,
        "let U = sk(12, 1);\n\
         let m = adelm(U, #{T: 0.01, alpha: 1.0, delta: 0, iters: 4, progress: false});\n\
         let fixed = adelm(U, #{T: 0.01, alpha: 1.0, delta: 0, iters: 4, seed: 5, progress: false});\n\
         let s = m.provenance.shard;\n\
         let sh = if type_of(s) == \"()\" { \"none\" } else { `${s.index}of${s.count}` };\n\
         print(`${SHARD.index}/${SHARD.count} ${m.provenance.seed} ${fixed.provenance.seed} ${sh}`);\n",
    )
    .unwrap();
    let run = |flags: &[&str], env: &[(&str, &str)]| -> (bool, String, String) {
        let out = telescope()
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("SLURM_ARRAY_TASK_COUNT")
            .env_remove("SLURM_ARRAY_TASK_MIN")
            .envs(env.iter().copied())
            .arg("run")
            .args(flags)
            .arg(&script)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let fields = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    let (ok, alone, err) = run(&[], &[]);
    assert!(ok, "{err}");
    let alone = fields(&alone);
    assert_eq!(alone[0], "0/1");
    assert_eq!(
        alone[3], "none",
        "no shard in the provenance of a run of its own"
    );
    let (ok, one, err) = run(&["--shard", "1/4"], &[]);
    assert!(ok, "{err}");
    let one = fields(&one);
    assert_eq!(one[0], "1/4");
    assert_eq!(one[3], "1of4", "the shard in the map's provenance");
    let (ok, two, err) = run(&["--shard=2/4"], &[]);
    assert!(ok, "{err}");
    let two = fields(&two);
    assert_ne!(one[1], two[1], "shards draw different default seeds");
    assert_ne!(one[1], alone[1]);
    assert_eq!(one[2], "5");
    assert_eq!(two[2], "5", "an explicit seed wins");
    // Slurm's array task 7 of an array 5..8 is shard 2 of 4: the same as --shard 2/4.
    let slurm = [
        ("SLURM_ARRAY_TASK_ID", "7"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
        ("SLURM_ARRAY_TASK_MIN", "5"),
    ];
    let (ok, from_slurm, err) = run(&[], &slurm);
    assert!(ok, "{err}");
    assert_eq!(fields(&from_slurm), two);
    for bad in ["4/4", "1", "a/b", "-1/3"] {
        let (ok, _, err) = run(&["--shard", bad], &[]);
        assert!(!ok && err.contains("--shard"), "{bad}: {err}");
    }
    let (ok, _, err) = run(
        &[],
        &[
            ("SLURM_ARRAY_TASK_ID", "9"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ],
    );
    assert!(!ok && err.contains("--array=0-3"), "{err}");
}

/// `load_maps` reads the maps a glob matches in path order, and says which file is not a map;
/// `merge_maps` of an empty array or of something that is not a map is a located error.
#[test]
fn load_maps_and_merge_maps_refuse_what_is_not_a_map() {
    let tmp = fresh_dir("load_maps");
    let dir = tmp.path();
    let script = dir.join("m.rhai");
    std::fs::write(
        &script,
        "let U = sk(10, 1);\n\
         for i in 0..2 { adelm(U, #{T: 0.01, alpha: 1.0, delta: 0, iters: 3, seed: i, progress: false}).save(`${ARGS[0]}/s${i}.json`); }\n\
         let ms = load_maps(`${ARGS[0]}/s*.json`);\n\
         print(`${ms.len()} ${merge_maps(ms, U, #{progress: false}).iterations}`);\n",
    )
    .unwrap();
    let run = |code: Option<&str>| {
        if let Some(c) = code {
            std::fs::write(&script, c).unwrap();
        }
        telescope()
            .arg("run")
            .arg(&script)
            .arg(dir)
            .output()
            .unwrap()
    };
    let out = run(None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2 6");
    std::fs::write(dir.join("s2.json"), "{ not a map").unwrap();
    let out = run(Some("load_maps(`${ARGS[0]}/s*.json`);\n"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("s2.json") && err.contains("m.rhai:1"),
        "{err}"
    );
    let out = run(Some("let x = 1;\nload_maps(`${ARGS[0]}/none*.json`);\n"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no file matches") && err.contains("m.rhai:2"),
        "{err}"
    );
    let out = run(Some("merge_maps([], sk(10, 1));\n"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at least one map"), "{err}");
    let out = run(Some("merge_maps([1], sk(10, 1));\n"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a Map"), "{err}");
}
