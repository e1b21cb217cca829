//! Hostile input, kept as regression tests: every reproducer of the robustness report ends in a
//! clear, located error (never a panic, abort or hang), sizes are checked against the memory
//! budget before anything is allocated, callbacks cannot recurse without bound, and Ctrl-C
//! keeps partial results in scripts.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Serialises the in-process tests: Ctrl-C presses and limits are process-wide.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `code` as a script file in a child process (so an abort or a stack overflow fails
/// this test instead of ending the test binary) with `limit` seconds to finish.
fn run_script(code: &str, extra_args: &[&str]) -> (Option<i32>, String) {
    run_script_capped(code, extra_args, None)
}

/// [`run_script`] with the child's address space capped at `address_space` bytes (`ulimit -v`).
fn run_script_capped(
    code: &str,
    extra_args: &[&str],
    address_space: Option<u64>,
) -> (Option<i32>, String) {
    let tmp = tempfile::Builder::new()
        .prefix("telescope-robust-")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    let name = format!(
        "case{}.rhai",
        code.len() ^ (code.bytes().map(u64::from).sum::<u64>() as usize)
    );
    let file = dir.join(name);
    std::fs::File::create(&file)
        .unwrap()
        .write_all(code.as_bytes())
        .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_telescope"));
    command
        .arg("run")
        .args(extra_args)
        .arg(&file)
        .current_dir(dir)
        .env("OMP_NUM_THREADS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(bytes) = address_space {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe and touches only the child.
        unsafe {
            command.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: bytes,
                    rlim_max: bytes,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().ok();
            panic!("hang: the script did not finish in 60 s:\n{code}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code(),
        text.replace(&format!("{}/", dir.display()), ""),
    )
}

/// Each reproducer of the report with the words its error must contain. All must fail with
/// status 1 and a `file:line:col:` location, and none may be an internal error.
const REPRODUCERS: &[(&str, &str)] = &[
    // libtorch errors in ops with number arguments (tch raised them as panics).
    ("zeros([2,3]).norm(5)", "Dimension out of range"),
    ("arange(0, 10, -1)", "step sign"),
    ("zeros([2,3]).sum(7)", "Dimension out of range"),
    // Sizes refused before allocating.
    ("arange(1e18)", "would allocate"),
    ("full([100000000000], 1.0)", "would allocate"),
    ("zeros([100000000000])", "would allocate"),
    ("randn([4294967296, 4294967296])", "would allocate"),
    ("linspace(0, 1, 10000000000)", "would allocate"),
    ("eye(10000000)", "would allocate"),
    (
        "descriptor(\"fc(100000000) fc(1)\", #{shape: [1,16,16]})",
        "would allocate",
    ),
    ("sk(100000, 1)", "would allocate"),
    ("sk(4294967296, 1)", "would allocate"),
    (
        "dataset(\"spots_stripes\", #{n: 100000000000})",
        "must lie in [1, 1e6]",
    ),
    (
        "dataset(\"spots_stripes\", #{n: 1000000, size: 512})",
        "would allocate",
    ),
    ("histogram([1.0, 2.0], #{bins: 100000000000})", "bins"),
    ("blob(100000000000)", "would allocate"),
    (
        "sample(muller_brown(), zeros([64, 2]), #{steps: 1000000000, thin: 1})",
        "would allocate",
    ),
    ("let a = [];\na.pad(100000000000, 0.5)", "would allocate"),
    ("let s = \"\";\ns.pad(100000000000, \"ab\")", "would allocate"),
    (
        "phase_diagram(quadratic(2), zeros([0, 2]), [0.0, 0.0], #{temps: [0.1], trials: 1, max_rounds: 1, max_steps: 10})",
        "two single states",
    ),
    (
        "train_coop(descriptor(\"fc(1)\", #{shape: [1, 8, 8]}), generator(\"convT(4,4,1) convT(1,5,2)\", #{latent: 2}), rand([8, 64]), #{epochs: 1, steps: 2, batch: 4, latent_steps: 2, hi: 1.0e308})",
        "must lie in [-1e300, 1e300]",
    ),
    (
        "barrier_1d(quadratic(2), [0.0, 0.0], [1.0, 1.0], 100000000000)",
        "would allocate",
    ),
    (
        "let m = adelm(quadratic(8), #{iters: 2});\nm.barrier_matrix(sk(4, 1), #{})",
        "another energy",
    ),
    ("embed(quadratic(2), 4294967296)", "would allocate"),
    (
        "energy(|x| x.square().sum(1), 4294967296)",
        "would allocate",
    ),
    ("ising(100000000, 3)", "would allocate"),
    ("ising(4294967296, 3)", "too large"),
    ("ising(100000000000, 100000000000)", "too large"),
    (
        "neb(quadratic(2), zeros([2]), ones([2]), #{images: 1000000})",
        "images",
    ),
    // Wrong shapes and values.
    (
        "barrier_greedy(sk(10, 1), ones([7]), ones([7]))",
        "10 spins",
    ),
    (
        "heatmap(muller_brown(), #{xlim: [0.0/0.0, 1.0], n: 10})",
        "finite",
    ),
    (
        "line_plot([0.0, 1.7e308]).save(\"x.svg\")",
        "too large to draw",
    ),
    (
        "energy(|x| (x*x).sum(), 2).at([[1,0],[0,3]])",
        "one energy per row",
    ),
    (
        "adelm(quadratic(2), #{iters: 3, propose: |n| zeros([0, 2])})",
        "0 states",
    ),
    (
        "adelm(quadratic(2), #{iters: 3, propose: |n| randn([n + 5, 2])})",
        "37 states",
    ),
    (
        "adelm(quadratic(2), #{iters: 3, checkpoint: 5})",
        "path string",
    ),
    // Absurd option values, refused where the options are declared (issue 36).
    (
        "let U = energy(|x| x.sum(1), #{dim: 2, space: \"levels\", levels: 100000000000});\nminimize(U, [0.0, 0.0])",
        "must lie in [2, 65536]",
    ),
    (
        "heatmap(muller_brown(), #{n: 10, levels: 100000000})",
        "must lie in [0, 1000]",
    ),
    ("tune_alpha(muller_brown(), #{n: 100000000})", "must lie in [1, 10000]"),
    (
        "barrier_ad(muller_brown(), [-0.558, 1.442], [-0.050, 0.467], #{max_rounds: 100000000})",
        "must lie in [1, 1e6]",
    ),
    (
        "barrier_ad(muller_brown(), [-0.558, 1.442], [-0.050, 0.467], #{alpha: 1e300})",
        "got 1e300",
    ),
    (
        "ad(muller_brown(), [-0.558, 1.442], [-0.050, 0.467], #{trials: 100000000})",
        "must lie in [1, 1e6]",
    ),
    ("sample(quadratic(2), zeros([2]), #{T: 0.0})", "must lie in [1e-12, 1e12]"),
    (
        "deepframe_energy(descriptor(\"fc(1)\", #{shape: [1, 4, 4]}), #{levels: 100000})",
        "must lie in [0, 256]",
    ),
    // Recursion through native callbacks (used to overflow the stack and abort).
    (
        "fn g(x) { let U = energy(|y| g(y), 1); U.at(x) }\ng(zeros([1, 1]))",
        "native_depth",
    ),
];

#[test]
fn every_reproducer_ends_in_a_located_error() {
    let mut failures = Vec::new();
    for (code, words) in REPRODUCERS {
        let (status, text) = run_script(code, &[]);
        let first = text.lines().last().unwrap_or("");
        let located = regex_like_location(first);
        if status != Some(1) || !located || !text.contains(words) || text.contains("internal error")
        {
            failures.push(format!(
                "{code}\n  status {status:?}, expected a located error with `{words}`:\n  {}",
                text.trim()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// True for `caseN.rhai:LINE:COL: message`.
fn regex_like_location(line: &str) -> bool {
    let mut parts = line.splitn(4, ':');
    let (file, l, c) = (parts.next(), parts.next(), parts.next());
    file.is_some_and(|f| f.ends_with(".rhai"))
        && l.is_some_and(|l| !l.is_empty() && l.chars().all(|ch| ch.is_ascii_digit()))
        && c.is_some_and(|c| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_digit()))
}

/// A script loop that pushes without end (1e11 values: 1.5 TiB) under a 5 GiB address-space
/// cap stops with a located error from the memory check, long before an allocation fails.
/// Array sizes are not limited by default, so pushes stay O(1) and it gets there fast.
#[test]
fn a_script_array_that_grows_without_end_stops_before_memory_runs_out() {
    let code = "let a = [];\nfor i in 0..100000000000 { a.push(i); }";
    let (status, text) = run_script_capped(code, &[], Some(5 << 30));
    let last = text.lines().last().unwrap_or("");
    assert_eq!(status, Some(1), "{text}");
    assert!(regex_like_location(last), "{text}");
    assert!(
        last.contains(":2:") && last.contains("stopped before"),
        "{text}"
    );
}

#[test]
fn limits_are_shown_and_changed_from_the_command_line() {
    let (status, text) = run_script(
        "print(limits());\nzeros([1000000])",
        &["--limit", "memory=0.001"],
    );
    assert_eq!(status, Some(1), "{text}");
    assert!(
        text.contains("memory") && text.contains("1.0 MiB"),
        "{text}"
    );
    assert!(
        text.contains(":2:1:") && text.contains("would allocate 7.6 MiB"),
        "{text}"
    );
    // Rhai's own limits: an array past the set size is refused.
    let (status, text) = run_script(
        "let a = []; for i in 0..100 { a.push(i); }",
        &["--limit", "array=10"],
    );
    assert_eq!(status, Some(1), "{text}");
    assert!(text.contains("too large"), "{text}");
    // A limit fixed at the start cannot change later; a live one can.
    let (status, text) = run_script(
        "set_limit(\"native_depth\", 2);\nset_limit(\"array\", 5)",
        &[],
    );
    assert_eq!(status, Some(1), "{text}");
    assert!(
        text.contains(":2:1:") && text.contains("--limit array="),
        "{text}"
    );
    let (status, text) = run_script("", &["--limit", "nosuch=1"]);
    assert_eq!(status, Some(2), "{text}");
    assert!(text.contains("native_depth"), "{text}");
}

#[test]
fn the_callback_depth_limit_counts_every_nesting() {
    // Two nested callbacks (a proposer running an adelm over a closure energy) are legitimate
    // under the default limit and refused under a limit of 1.
    let code = "let U = energy(|x| (x * x).sum(1), 2);\n\
                let m = adelm(quadratic(2), #{iters: 2, propose: |n| { adelm(U, #{iters: 1}); randn([n, 2]) }});\n\
                print(`iterations ${m.iterations}`);";
    let (status, text) = run_script(code, &[]);
    assert_eq!(status, Some(0), "{text}");
    assert!(text.contains("iterations 2"), "{text}");
    let (status, text) = run_script(code, &["--limit", "native_depth=1"]);
    assert_eq!(status, Some(1), "{text}");
    assert!(text.contains("nested 2 deep"), "{text}");
}

/// Evaluates `code` in a fresh session on a thread with a large stack while `press` runs
/// beside it (it raises Ctrl-C as the signal handler would).
fn eval_with_presses(code: &str, press: impl FnOnce() + Send + 'static) -> Result<String, String> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    telescope::interrupt::clear();
    let code = code.to_string();
    let worker = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            let mut s = telescope::script::new_session(None);
            s.eval("ctrlc.rhai", &code).map(|v| v.to_string())
        })
        .unwrap();
    let presser = std::thread::spawn(press);
    let out = worker.join().unwrap();
    presser.join().unwrap();
    telescope::interrupt::clear();
    out
}

/// Waits until the running ADELM has done some work, then presses Ctrl-C `times` times.
fn press_after(delay_ms: u64, times: usize) -> impl FnOnce() + Send + 'static {
    move || {
        std::thread::sleep(Duration::from_millis(delay_ms));
        for _ in 0..times {
            telescope::interrupt::request();
        }
    }
}

#[test]
fn one_ctrl_c_stops_the_computation_and_the_script_goes_on() {
    // A run that would never end by itself: only Ctrl-C stops it. The script then uses the map.
    for energy in [
        "quadratic(2)",
        "energy(|x| ((x * x).sum(1) - 1.0).pow(2.0), 2)",
    ] {
        let code = format!(
            "let m = adelm({energy}, #{{iters: 1000000000, seed: 1}});\n\
             let after = 0;\n\
             for i in 0..5 {{ after += 1; }}\n\
             `${{m.interrupted}} ${{m.iterations > 0}} ${{after}}`"
        );
        let out = eval_with_presses(&code, press_after(2000, 1));
        assert_eq!(out.as_deref(), Ok("true true 5"), "{energy}: {out:?}");
    }
}

#[test]
fn a_second_ctrl_c_stops_the_script() {
    let code = "let m = adelm(energy(|x| (x * x).sum(1), 2), #{iters: 1000000000});\nprint(\"went on\");\n1";
    let out = eval_with_presses(code, press_after(2000, 2));
    let e = out.expect_err("two presses must stop the script");
    assert!(e.contains("interrupted by Ctrl-C"), "{e}");
}

#[test]
fn ctrl_c_in_plain_script_code_stops_it_at_once() {
    let out = eval_with_presses("let n = 0;\nloop { n += 1; }", press_after(1500, 1));
    let e = out.expect_err("a loop with no computation must stop on the first press");
    assert!(
        e.starts_with("ctrlc.rhai:2:") && e.contains("interrupted by Ctrl-C"),
        "{e}"
    );
}

/// A fresh folder for one test's files, removed when the guard drops (also on a panic).
fn fresh_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("telescope-sandbox-{name}-"))
        .tempdir()
        .unwrap()
}

/// Runs `telescope run ARGS...` in `dir`.
fn run_in(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_telescope"))
        .arg("run")
        .args(args)
        .current_dir(dir)
        .env("OMP_NUM_THREADS", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn a_sandboxed_script_writes_and_imports_only_where_allowed() {
    let dir_guard = fresh_dir("rules");
    let dir = dir_guard.path().to_path_buf();
    let outside_guard = fresh_dir("outside");
    let outside = outside_guard.path().to_path_buf();
    std::fs::create_dir_all(dir.join("shared")).unwrap();
    std::fs::write(dir.join("helper.rhai"), "fn f() { 41 }").unwrap();
    std::fs::write(dir.join("shared/helper2.rhai"), "fn g() { 1 }").unwrap();
    let target = outside.join("stolen.png");
    // Writing inside the working folder works; outside it is refused with a location.
    std::fs::write(
        dir.join("writes.rhai"),
        format!(
            "import \"helper\" as h;\nimport \"stats\" as st;\nline_plot([1.0, 2.0]).save(\"inside.png\");\nprint(h::f() + 1);\nline_plot([1.0, 2.0]).save({:?});\n",
            target.display().to_string()
        ),
    )
    .unwrap();
    let (status, text) = run_in(&dir, &["--sandbox", "writes.rhai"]);
    assert_eq!(status, Some(1), "{text}");
    assert!(text.contains("42"), "{text}");
    assert!(
        text.contains("writes.rhai:5:") && text.contains("outside"),
        "{text}"
    );
    assert!(dir.join("inside.png").is_file() && !target.exists());
    // `--out` moves the allowed folder: the working folder itself is now outside.
    let (status, text) = run_in(&dir, &["--sandbox", "--out", "results", "writes.rhai"]);
    assert_eq!(status, Some(1), "{text}");
    assert!(text.contains("writes.rhai:3:"), "{text}");
    assert!(dir.join("results").is_dir());
    // `..` cannot climb out of the allowed folder.
    std::fs::write(
        dir.join("climb.rhai"),
        "line_plot([1.0]).save(\"results/../../up.png\");",
    )
    .unwrap();
    let (status, text) = run_in(&dir, &["--sandbox", "--out", "results", "climb.rhai"]);
    assert_eq!(status, Some(1), "{text}");
    assert!(!dir.parent().unwrap().join("up.png").exists());
    // Imports come only from the script's own folder (and the stdlib).
    std::fs::write(
        dir.join("shared/up.rhai"),
        "import \"../helper\" as h;\nprint(h::f());",
    )
    .unwrap();
    let (status, text) = run_in(&dir, &["--sandbox", "shared/up.rhai"]);
    assert_eq!(status, Some(1), "{text}");
    assert!(
        text.contains("up.rhai:1:") && text.contains("outside the script's folder"),
        "{text}"
    );
    // Without the sandbox both are allowed, as before.
    let (status, text) = run_in(&dir, &["shared/up.rhai"]);
    assert_eq!(status, Some(0), "{text}");
    let (status, text) = run_in(&dir, &["climb.rhai"]);
    assert_eq!(status, Some(0), "{text}");
    let _ = std::fs::remove_file(dir.parent().unwrap().join("up.png"));
}

#[test]
fn a_file_that_imports_itself_is_an_import_cycle_not_a_stack_overflow() {
    let dir_guard = fresh_dir("cycle");
    let dir = dir_guard.path().to_path_buf();
    std::fs::write(dir.join("a.rhai"), "import \"b\" as b;\n1").unwrap();
    std::fs::write(dir.join("b.rhai"), "import \"a\" as a;\n2").unwrap();
    std::fs::write(dir.join("me.rhai"), "import \"me\" as me;\n3").unwrap();
    for file in ["a.rhai", "me.rhai"] {
        let (status, text) = run_in(&dir, &[file]);
        assert_eq!(status, Some(1), "{text}");
        assert!(
            text.contains(&format!("{file}:1:")) && text.contains("import cycle"),
            "{text}"
        );
    }
}

#[test]
fn ctrl_c_stops_a_minimization_where_it_is() {
    // A linear energy has no minimum: only Ctrl-C ends the descent.
    let code = "let m = minimize(energy(|x| x.sum(1), 2), [0.0, 0.0], #{max_iter: 1000000000});\n\
                `${m.interrupted} ${m.converged} ${(m.x[0] < -1.0).item() == 1.0}`";
    let out = eval_with_presses(code, press_after(2000, 1));
    assert_eq!(out.as_deref(), Ok("true false true"), "{out:?}");
}

#[test]
fn ctrl_c_cuts_scans_short_and_keeps_what_they_hold() {
    // Neither ends by itself: the first press ends each scan and the script uses the result.
    let code = "let rows = tune_alpha(quadratic(2), #{alphas: [0.1, 1.0], iters: 1000000000});\n\
                let mins = find_minima(energy(|x| x.sum(1), 2), #{starts: 4, max_iter: 1000000000});\n\
                `${rows.len()} ${mins.len()} went on`";
    let out = eval_with_presses(code, move || {
        // One press for each scan, the second after the first scan has ended.
        std::thread::sleep(Duration::from_millis(2000));
        telescope::interrupt::request();
        std::thread::sleep(Duration::from_millis(2000));
        telescope::interrupt::request();
    });
    assert_eq!(out.as_deref(), Ok("0 0 went on"), "{out:?}");
}

/// Random import paths under `--sandbox` (absolute and relative, `.` and `..`, doubled
/// slashes, a symlinked file and a symlinked folder that lead outside, a module inside that
/// itself imports outside): no path ever runs the outside module; a path whose file really
/// lies in the script's folder imports it; every refusal is a located error.
#[test]
fn no_random_import_path_escapes_the_sandbox() {
    use rand::seq::IndexedRandom;
    use rand::{Rng, SeedableRng};
    let root_guard = fresh_dir("imports");
    let root = root_guard.path().canonicalize().unwrap();
    let inside = root.join("box");
    let outside = root.join("out");
    std::fs::create_dir_all(inside.join("sub")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(inside.join("in.rhai"), "fn f() { \"INSIDE\" }").unwrap();
    std::fs::write(inside.join("sub/in2.rhai"), "fn f() { \"INSIDE\" }").unwrap();
    std::fs::write(outside.join("mod.rhai"), "fn f() { \"ESCAPED\" }").unwrap();
    std::fs::write(
        inside.join("sub/nested_out.rhai"),
        "import \"../../out/mod\" as m;\nfn f() { m::f() }",
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.join("mod.rhai"), inside.join("link_out.rhai")).unwrap();
    std::os::unix::fs::symlink(&outside, inside.join("linkdir")).unwrap();
    let inside_s = format!("{}/", inside.display());
    let root_s = format!("{}/", root.display());
    let prefixes = [
        "",
        "./",
        &inside_s,
        &root_s,
        "sub/../",
        "../box/",
        "../",
        "../../",
        "linkdir/",
        "sub/",
        ".//",
        "../out/",
        "sub/../../",
    ];
    let targets = [
        "in",
        "mod",
        "link_out",
        "in2",
        "nested_out",
        "out/mod",
        "box/in",
        "sub/in2",
    ];
    // A located refusal: at the import, or inside the module that imports outside.
    let refused = |status: Option<i32>, text: &str, path: &str| {
        status == Some(1)
            && (text.contains("main.rhai:1:")
                || path.contains("nested_out") && text.contains("nested_out.rhai:1:"))
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(36);
    let mut problems = Vec::new();
    for _ in 0..30 {
        let depth = rng.random_range(1..=2);
        let mut path = String::new();
        for _ in 0..depth {
            path.push_str(prefixes.choose(&mut rng).unwrap());
        }
        path.push_str(targets.choose(&mut rng).unwrap());
        std::fs::write(
            inside.join("main.rhai"),
            format!("import {path:?} as m;\nprint(m::f());"),
        )
        .unwrap();
        let (status, text) = run_in(&inside, &["--sandbox", "main.rhai"]);
        let file = if path.starts_with('/') {
            std::path::PathBuf::from(format!("{path}.rhai"))
        } else {
            inside.join(format!("{path}.rhai"))
        };
        let really_inside = file
            .canonicalize()
            .is_ok_and(|f| f.starts_with(&inside) && !f.ends_with("nested_out.rhai"));
        if text.contains("ESCAPED") {
            problems.push(format!("`{path}` ran the outside module"));
        } else if really_inside && !(status == Some(0) && text.contains("INSIDE")) {
            problems.push(format!("`{path}` lies inside but failed: {text}"));
        } else if !really_inside && !refused(status, &text, &path) {
            problems.push(format!("`{path}`: expected a located refusal, got {text}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
