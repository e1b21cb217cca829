//! A researcher's daily needs, each against an independent truth: results written with
//! `save_npy`, `write_csv` and `write_json` read back by NumPy and Python's csv and json
//! modules, `stats::spread` against NumPy, `format` against
//! Rust's own formatter, `seed` options that make a call reproducible wherever it stands,
//! Ctrl-C reported in one sentence with an `interrupted` field, and the function-scope hint.

use rand::{Rng, SeedableRng};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn fresh_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("telescope-daily-{name}-"))
        .tempdir()
        .unwrap()
}

fn python() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python")
}

/// Runs `code` in the project's Python (NumPy) in `dir`; returns stdout.
fn run_python(dir: &Path, code: &str) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(code)
        .current_dir(dir)
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .expect("run .venv/bin/python (make setup creates it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A session whose constant `D` is `dir` with a trailing slash, for the files a test writes.
fn session_in(dir: &Path) -> telescope::script::Session {
    let mut s = session(dir);
    let _ = s
        .eval(
            "<dir>",
            &format!("const D = {:?};", format!("{}/", dir.display())),
        )
        .unwrap();
    s
}

fn session(dir: &Path) -> telescope::script::Session {
    tch::set_num_threads(1);
    telescope::script::new_session(Some(dir))
}

#[test]
fn save_npy_writes_what_numpy_reads_and_load_npy_reads_it_back() {
    let tmp = fresh_dir("npy");
    let dir = tmp.path();
    // Paths through `D` (the test's folder), never the process's working folder: the tests of
    // this binary run side by side.
    let mut s = session_in(dir);
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut expected = Vec::new();
    for case in 0..12 {
        let rank = rng.random_range(0..4usize);
        let shape: Vec<i64> = (0..rank).map(|_| rng.random_range(1..5)).collect();
        let code = format!(
            "let x = randn({shape:?}) * 1e3; save_npy(x, D + \"a{case}.npy\"); x.flatten().to_array()"
        );
        let code = if rank == 0 {
            format!("let x = 2.5; save_npy(x, D + \"a{case}.npy\"); [x]")
        } else {
            code
        };
        let v = s.eval("npy.rhai", &code).unwrap();
        let vals: Vec<f64> = v
            .into_array()
            .unwrap()
            .iter()
            .map(|x| x.as_float().unwrap())
            .collect();
        expected.push((shape, vals));
    }
    // NumPy's view of every file: its shape and its values to the last bit.
    let text = run_python(
        dir,
        "import numpy as np\nfor i in range(12):\n    a = np.load(f'a{i}.npy')\n    print(list(a.shape), ' '.join(x.hex() for x in a.astype(np.float64).ravel()))",
    );
    for (line, (shape, vals)) in text.lines().zip(&expected) {
        let (shape_text, hexes) = line.split_once("] ").unwrap_or((line, ""));
        let got_shape: Vec<i64> = shape_text
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(',')
            .filter(|t| !t.trim().is_empty())
            .map(|t| t.trim().parse().unwrap())
            .collect();
        assert_eq!(&got_shape, shape, "{line}");
        let got: Vec<f64> = hexes.split_whitespace().map(hexf).collect();
        assert_eq!(got.len(), vals.len(), "{line}");
        for (g, v) in got.iter().zip(vals) {
            assert_eq!(g.to_bits(), v.to_bits(), "{line}");
        }
    }
    // NumPy writes, telescope reads: float32, int64 and uint8 files in their shapes.
    run_python(
        dir,
        "import numpy as np\nnp.save('f4.npy', np.arange(6, dtype=np.float32).reshape(2, 3) / 4)\nnp.save('i8.npy', np.array([[-3], [7]], dtype=np.int64))\nnp.save('u1.npy', np.array([0, 255], dtype=np.uint8))",
    );
    let v = s
        .eval(
            "npy.rhai",
            "let a = load_npy(D + \"f4.npy\"); let b = load_npy(D + \"i8.npy\"); let c = load_npy(D + \"u1.npy\");\n\
             `${a.shape} ${a.sum().item()} ${b.shape} ${b.sum().item()} ${c.to_array()}`",
        )
        .unwrap();
    assert_eq!(v.to_string(), "[2, 3] 3.75 [2, 1] 4.0 [0.0, 255.0]");
    let e = s
        .eval("npy.rhai", "load_npy(D + \"missing.npy\")")
        .unwrap_err();
    assert!(
        e.starts_with("npy.rhai:1:1:") && e.contains("missing.npy"),
        "{e}"
    );
}

/// A float from Python's `float.hex()` form (`0x1.8p+1`, `-0x0.0p+0`, `inf`, `nan`).
fn hexf(h: &str) -> f64 {
    let (neg, h) = match h.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, h),
    };
    let v = match h {
        "inf" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => {
            let h = h.trim_start_matches("0x");
            let (mant, exp) = h.split_once('p').unwrap();
            let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
            let mut m = u64::from_str_radix(int, 16).unwrap() as f64;
            let mut scale = 1.0 / 16.0;
            for c in frac.chars() {
                m += c.to_digit(16).unwrap() as f64 * scale;
                scale /= 16.0;
            }
            m * 2f64.powi(exp.parse::<i32>().unwrap())
        }
    };
    if neg {
        -v
    } else {
        v
    }
}

#[test]
fn write_csv_rows_read_back_exactly_by_python() {
    let tmp = fresh_dir("csv");
    let dir = tmp.path();
    let mut s = session_in(dir);
    // Maps with awkward strings and floats, and a typed result whose array field is left out.
    let _ = s.eval(
        "csv.rhai",
        "let rows = [];\n\
         for i in 0..40 { rows.push(#{i: i, x: (i * 0.7315).sin() * 10.0 ** (i % 9 - 4), name: \"a,\\\"\" + i + \"\\\"\\nb\", ok: i % 2 == 0}); }\n\
         rows.push(#{i: 40, extra: 1});\n\
         write_csv(rows, D + \"t.csv\");\n\
         let r = barrier_1d(muller_brown(), [-0.56, 1.44], [0.62, 0.03], 30);\n\
         write_csv([r], D + \"r.csv\");\n\
         write_csv(rows, D + \"cols.csv\", [\"x\", \"i\"]);",
    )
    .unwrap();
    let text = run_python(
        dir,
        "import csv\nfor name in ['t.csv', 'r.csv', 'cols.csv']:\n    rows = list(csv.DictReader(open(name, newline='')))\n    print(name, len(rows), list(rows[0].keys()))\n    for r in rows: print(repr(r))",
    );
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert_eq!(
        header, "t.csv 41 ['i', 'name', 'ok', 'x', 'extra']",
        "{text}"
    );
    for i in 0..40i64 {
        let line = lines.next().unwrap();
        let x = ((i as f64) * 0.7315).sin() * 10f64.powi((i % 9 - 4) as i32);
        // Python's repr of the dict: every cell as the text it read.
        let want = format!(
            "{{'i': '{i}', 'name': 'a,\"{i}\"\\nb', 'ok': '{}', 'x': '{x:?}', 'extra': ''}}",
            i % 2 == 0
        );
        assert_eq!(line, want);
        let cell = line
            .rsplit("'x': '")
            .next()
            .unwrap()
            .split('\'')
            .next()
            .unwrap();
        assert_eq!(cell.parse::<f64>().unwrap().to_bits(), x.to_bits());
    }
    assert_eq!(
        lines.next().unwrap(),
        "{'i': '40', 'name': '', 'ok': '', 'x': '', 'extra': '1'}"
    );
    let r_header = lines.next().unwrap();
    assert_eq!(r_header, "r.csv 1 ['at', 'barrier']", "{text}");
    lines.next();
    assert_eq!(lines.next().unwrap(), "cols.csv 41 ['x', 'i']");
    // Arrays in named columns, and rows that are not maps, are located errors.
    let e = s
        .eval(
            "csv.rhai",
            "write_csv([r], D + \"bad.csv\", [\"energies\"])",
        )
        .unwrap_err();
    assert!(
        e.starts_with("csv.rhai:1:1:") && e.contains("save_npy"),
        "{e}"
    );
    let e = s
        .eval("csv.rhai", "write_csv([1, 2], D + \"bad.csv\")")
        .unwrap_err();
    assert!(e.contains("row 0 is i64"), "{e}");
    assert!(!dir.join("bad.csv").exists());
}

#[test]
fn write_json_values_and_stats_spread_read_back_exactly_by_python() {
    let tmp = fresh_dir("json");
    let dir = tmp.path();
    let mut s = session_in(dir);
    // Random runs of mixed values, a tensor of random shape, NaN and a typed result.
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    for case in 0..6 {
        let shape: Vec<i64> = (0..rng.random_range(0..4))
            .map(|_| rng.random_range(1..4))
            .collect();
        let n: usize = rng.random_range(2..9);
        let xs: Vec<f64> = (0..n)
            .map(|_| rng.random_range(-1.0f64..1.0) * 10f64.powi(rng.random_range(-6..7)))
            .collect();
        let xs_text = xs
            .iter()
            .map(|x| format!("{x:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = s
            .eval(
                "json.rhai",
                &format!(
                    "import \"stats\" as stats;\n\
                     let xs = [{xs_text}];\n\
                     let runs = [];\n\
                     for i in 0..xs.len() {{ runs.push(#{{seed: i + 1, x: xs[i], name: \"r\\\"\" + i, ok: i % 2 == 0, none: ()}}); }}\n\
                     let t = randn({shape:?});\n\
                     save_npy(t, D + \"t.npy\");\n\
                     write_json(#{{runs: runs, x: stats::spread(xs), t: t, nan: 0.0 / 0.0, inf: 1.0 / 0.0,\n\
                         r: barrier_1d(muller_brown(), [-0.56, 1.44], [0.62, 0.03], 30)}}, D + \"v{case}.json\");"
                ),
            )
            .unwrap();
        let out = run_python(
            dir,
            &format!(
                "import json, numpy as np\n\
                 d = json.load(open('v{case}.json'))\n\
                 xs = [r['x'] for r in d['runs']]\n\
                 print([x.hex() for x in xs])\n\
                 print([r['seed'] for r in d['runs']], [r['name'] for r in d['runs']], [r['ok'] for r in d['runs']], [r['none'] for r in d['runs']])\n\
                 t = np.load('t.npy')\n\
                 print(np.array_equal(np.array(d['t'], dtype=np.float64).reshape(t.shape), t), np.shape(d['t']) == t.shape)\n\
                 a = np.array(xs); s = d['x']\n\
                 print(s['n'] == len(xs), abs(s['mean'] - a.mean()) <= 1e-12 * abs(a).max(), abs(s['sd'] - a.std(ddof=1)) <= 1e-12 * abs(a).max(), s['min'] == a.min(), s['max'] == a.max())\n\
                 print(d['nan'], d['inf'], sorted(d['r'].keys()))"
            ),
        );
        let mut lines = out.lines();
        let hexes: Vec<f64> = lines
            .next()
            .unwrap()
            .trim_matches(['[', ']'])
            .split(", ")
            .map(|h| hexf(h.trim_matches('\'')))
            .collect();
        assert_eq!(
            hexes.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            "floats read back to the last bit"
        );
        let seeds: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
        let names: Vec<String> = (0..n).map(|i| format!("'r\"{i}'")).collect();
        let oks: Vec<String> = (0..n)
            .map(|i| if i % 2 == 0 { "True" } else { "False" }.to_string())
            .collect();
        assert_eq!(
            lines.next().unwrap(),
            format!(
                "[{}] [{}] [{}] [{}]",
                seeds.join(", "),
                names.join(", "),
                oks.join(", "),
                vec!["None"; n].join(", ")
            )
        );
        assert_eq!(
            lines.next().unwrap(),
            "True True",
            "tensor of shape {shape:?} as nested lists"
        );
        assert_eq!(
            lines.next().unwrap(),
            "True True True True True",
            "spread of {xs:?}"
        );
        assert_eq!(
            lines.next().unwrap(),
            "None None ['at', 'barrier', 'energies']"
        );
    }
    // A value JSON cannot hold is a located error naming where it sits, and nothing is written.
    let e = s
        .eval(
            "json.rhai",
            "write_json(#{runs: [1, #{f: muller_brown()}]}, D + \"bad.json\")",
        )
        .unwrap_err();
    assert!(
        e.starts_with("json.rhai:1:1:") && e.contains("`value.runs[1].f` is Energy"),
        "{e}"
    );
    assert!(!dir.join("bad.json").exists());
}

#[test]
fn format_agrees_with_rusts_formatter_and_fmt_and_round_with_printf() {
    let dir = fresh_dir("format");
    let mut s = session(dir.path());
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    for _ in 0..300 {
        let x: f64 = rng.random_range(-1.0..1.0) * 10f64.powi(rng.random_range(-6..8));
        let (w, p) = (rng.random_range(0..14usize), rng.random_range(0..8usize));
        let cases = [
            (format!("{{:.{p}}}"), format!("{x:.p$}")),
            (format!("{{:{w}.{p}}}"), format!("{x:w$.p$}")),
            (format!("{{:<{w}.{p}}}"), format!("{x:<w$.p$}")),
            (format!("{{:^{w}.{p}}}"), format!("{x:^w$.p$}")),
            (format!("{{:+.{p}}}"), format!("{x:+.p$}")),
            (format!("{{:0{w}.{p}}}"), format!("{x:0w$.p$}")),
            (format!("{{:.{p}e}}"), format!("{x:.p$e}")),
            (format!("{{:*>{w}.{p}}}"), format!("{x:*>w$.p$}")),
        ];
        for (spec, want) in cases {
            let code = format!("format(\"[{spec}]\", {x:?})");
            let got = s.eval("f.rhai", &code).unwrap().to_string();
            assert_eq!(got, format!("[{want}]"), "{code}");
        }
        // fmt: the same number as printf's %.{d}g, read back.
        let d = rng.random_range(1..10usize);
        let got: f64 = s
            .eval("f.rhai", &format!("fmt({x:?}, {d})"))
            .unwrap()
            .to_string()
            .parse()
            .unwrap();
        let want: f64 = format!("{:.*e}", d - 1, x).parse().unwrap();
        assert_eq!(got, want, "fmt({x}, {d})");
        let got = s
            .eval("f.rhai", &format!("{x:?}.round({p})"))
            .unwrap()
            .as_float()
            .unwrap();
        let want: f64 = format!("{x:.p$}").parse().unwrap();
        assert_eq!(got, want, "{x}.round({p})");
    }
    let got = s
        .eval(
            "f.rhai",
            "format(\"{} {} {:>5} {{}} {:.1}\", \"ok\", 42, true, tensor([2.25]))",
        )
        .unwrap();
    assert_eq!(got.to_string(), "ok 42  true {} 2.2");
    for (bad, why) in [
        ("format(\"{} {}\", 1)", "more fields"),
        ("format(\"{}\", 1, 2)", "2 value(s) given"),
        ("format(\"{:q}\", 1)", "not a format spec"),
        ("format(\"{0}\", 1)", "in order"),
        ("format(\"{\", 1)", "not closed"),
        ("fmt(1.0, 0)", "digits must be 1 to 17"),
    ] {
        let e = s.eval("f.rhai", bad).unwrap_err();
        assert!(
            e.starts_with("f.rhai:1:1:") && e.contains(why),
            "{bad}: {e}"
        );
    }
}

/// Calls of every function that draws from the session's random stream, at small sizes:
/// `SEED` is replaced by the options' seed entry. Each call's result is reduced to a string
/// that differs when any drawn number differs.
const SEEDED_CALLS: &[(&str, &str)] = &[
    ("find_minima", "find_minima(muller_brown(), #{starts: 6, max_iter: 50 SEED}).map(|m| m.x.sum().item())"),
    ("sample", "sample(muller_brown(), zeros([4, 2]), #{steps: 20 SEED}).x.sum().item()"),
    ("ad", "ad(muller_brown(), [-0.558, 1.442], [0.623, 0.028], #{max_steps: 30, M: 1000 SEED}).final_state.sum().item()"),
    ("barrier_ad", "barrier_ad(muller_brown(), [-0.558, 1.442], [-0.05, 0.467], #{T: 5.0, alpha: 200.0, step: 0.01, delta: 0.05, max_steps: 400, trials: 2, max_rounds: 2 SEED}).barrier"),
    ("tune_temperature", "tune_temperature(muller_brown(), [-0.558, 1.442], #{temps: [1.0], steps: 20, chains: 2 SEED})[0].mean_change"),
    ("phase_diagram", "phase_diagram(muller_brown(), [-0.558, 1.442], [-0.05, 0.467], #{temps: [5.0], alpha: 200.0, step: 0.01, delta: 0.05, max_steps: 400, trials: 2, max_rounds: 2 SEED})[0].barrier_ab"),
    ("compare_paths", "compare_paths(muller_brown(), [-0.558, 1.442], [-0.05, 0.467], #{table: false, ad: #{T: 5.0, alpha: 200.0, step: 0.01, delta: 0.05, max_steps: 400, trials: 2, max_rounds: 2}, neb: #{max_iter: 5} SEED}).ad.barrier"),
    ("descriptor", "descriptor(\"fc(3) fc(1)\", #{shape: [1, 2, 2] SEED}).score(ones([1, 4]))"),
    ("generator", "generator(\"convT(2,4,1) convT(1,5,2)\", #{latent: 2 SEED}).generate(ones([1, 2])).sum().item()"),
];

#[test]
fn a_seed_option_makes_every_random_call_reproducible_wherever_it_stands() {
    let dir = fresh_dir("seeds");
    let mut s = session(dir.path());
    let run = |s: &mut telescope::script::Session,
               session_seed: u64,
               call: &str|
     -> (String, String) {
        let code = format!("seed({session_seed});\nlet r = {call};\nlet after = randn([3]).to_array();\n`${{r}}|${{after}}`");
        let v = s
            .eval("seeds.rhai", &code)
            .unwrap_or_else(|e| panic!("{call}: {e}"));
        let text = v.to_string();
        let (r, after) = text.split_once('|').unwrap();
        (r.to_string(), after.to_string())
    };
    for (name, call) in SEEDED_CALLS {
        let docs = telescope::script::docs();
        let doc = docs.get(name).unwrap();
        assert!(
            doc.options.iter().any(|o| o.name == "seed"),
            "{name} draws randomness but has no seed option"
        );
        let unseeded = call.replace(" SEED", "");
        let seeded = call.replace(" SEED", ", seed: 77");
        let other = call.replace(" SEED", ", seed: 78");
        // It draws randomness: two session seeds give two results ...
        let (a, _) = run(&mut s, 1, &unseeded);
        let (b, _) = run(&mut s, 2, &unseeded);
        assert_ne!(a, b, "{name}: the test call draws nothing");
        // ... and its own seed gives one result whatever the session seed, another seed
        // another result, and the draws after it follow the session's stream alone.
        let (x1, after1) = run(&mut s, 1, &seeded);
        let (x2, after2) = run(&mut s, 2, &seeded);
        let (y1, after3) = run(&mut s, 1, &other);
        assert_eq!(x1, x2, "{name}: seed 77 under session seeds 1 and 2");
        assert_ne!(x1, y1, "{name}: seeds 77 and 78 give the same result");
        assert_eq!(
            after1, after3,
            "{name}: the session stream depends on the call's seed"
        );
        assert_ne!(after1, after2);
    }
    // Functions with their own seeded streams keep their seed option.
    for name in ["adelm", "gwl", "tune_alpha", "embed", "dg_plot", "dataset"] {
        let docs = telescope::script::docs();
        assert!(
            docs.get(name)
                .unwrap()
                .options
                .iter()
                .any(|o| o.name == "seed"),
            "{name}"
        );
    }
}

/// Runs `code` with `telescope run`, presses Ctrl-C (SIGINT) once its stdout says `GO` and a
/// moment has passed, and returns (stdout after GO, stderr).
fn run_and_press_ctrl_c(dir: &Path, code: &str) -> (String, String) {
    let file = dir.join("press.rhai");
    std::fs::write(&file, format!("print(\"GO\");\n{code}")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_telescope"))
        .arg("run")
        .arg(&file)
        .env("TELESCOPE_THREADS", "1")
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "GO", "{code}");
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: a plain kill(2) of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let t0 = Instant::now();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(60),
        "{code}: slow to stop"
    );
    assert!(status.success(), "{code}: {status}\n{err}");
    (rest, err)
}

#[test]
fn every_call_ctrl_c_cuts_short_says_so_once_and_marks_its_result() {
    let tmp = fresh_dir("ctrlc");
    let dir = tmp.path();
    let linear = "energy(|x| x.sum(1), 2)";
    // (function, a call that only Ctrl-C ends, what to print of its result)
    let calls = [
        ("adelm", "adelm(quadratic(2), #{iters: 1000000000, progress: false})".to_string(), "r.interrupted"),
        ("gwl", "gwl(sk(14, 1), #{emax: 0.0, iters: 1000000000000, progress: false})".to_string(), "r.interrupted"),
        ("ad", "ad(muller_brown(), [-0.558, 1.442], [0.623, 0.028], #{alpha: 0.0, M: 1000000000, max_steps: 1000000000})".to_string(), "r.interrupted"),
        ("barrier_ad", "barrier_ad(muller_brown(), [-0.558, 1.442], [0.623, 0.028], #{alpha: 0.000000000001, M: 1000000000, max_steps: 1000000000, max_rounds: 1})".to_string(), "r.interrupted"),
        ("sample", "sample(quadratic(2), zeros([4, 2]), #{steps: 1000000000})".to_string(), "r.interrupted"),
        ("minimize", format!("minimize({linear}, [0.0, 0.0], #{{max_iter: 1000000000}})"), "r.interrupted"),
        ("find_minima", format!("find_minima({linear}, #{{starts: 4, max_iter: 1000000000}})"), "r.len() == 0"),
        ("neb", "neb(muller_brown(), [-0.558, 1.442], [0.623, 0.028], #{tol: 0.000000000001, max_iter: 1000000000})".to_string(), "r.interrupted"),
        ("tune_temperature", "tune_temperature(quadratic(2), [0.0, 0.0], #{temps: [1.0, 2.0], steps: 1000000000})".to_string(), "r.len() < 2"),
    ];
    for (name, call, field) in &calls {
        let (out, err) = run_and_press_ctrl_c(dir, &format!("let r = {call};\nprint({field});"));
        let prefix = format!("{name}: interrupted by Ctrl-C; the result holds ");
        let said: Vec<&str> = err.lines().filter(|l| l.starts_with(&prefix)).collect();
        assert_eq!(said.len(), 1, "{name}: stderr was\n{err}");
        assert!(
            err.lines()
                .all(|l| !l.contains("interrupted") || l.starts_with(&prefix)),
            "{name}: another interruption sentence:\n{err}"
        );
        assert_eq!(out.trim(), "true", "{name}: {field} after Ctrl-C\n{err}");
    }
}

#[test]
fn a_function_reading_a_script_variable_says_why_it_cannot() {
    let dir = fresh_dir("scope");
    let mut s = session(dir.path());
    let _ = s
        .eval("scope.rhai", "let U = muller_brown();\nfn h(x) { U.at(x) }")
        .unwrap();
    let e = s.eval("scope.rhai", "h([0.0, 0.0])").unwrap_err();
    assert!(
        e.contains("Variable not found: U")
            && e.contains("`U` in `h`: functions do not see the variables"),
        "{e}"
    );
    // A variable nobody defined gets no such hint; nor does one outside a function.
    let _ = s.eval("scope.rhai", "fn g(x) { nowhere + x }").unwrap();
    let e = s.eval("scope.rhai", "g(1)").unwrap_err();
    assert!(!e.contains("functions do not see"), "{e}");
    // check says it too, at the use inside the function only.
    let diags = telescope::repl::check::check_source(
        "let U = muller_brown();\nfn h(x) { U.at(x) }\nlet y = z;\n",
        dir.path(),
    );
    let texts: Vec<String> = diags
        .iter()
        .map(|d| format!("{}:{} {}", d.line, d.col, d.message))
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("2:11 undefined variable `U`: functions do not see")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t == "3:9 undefined variable `z`"),
        "{texts:?}"
    );
}

#[test]
fn errors_and_docs_say_what_the_user_gave_and_gets() {
    let dir = fresh_dir("docs");
    let mut s = session(dir.path());
    // neb names the shapes as passed, not as batched inside.
    let e = s
        .eval("d.rhai", "neb(muller_brown(), [0.0, 1.0], [1.0, 2.0, 3.0])")
        .unwrap_err();
    assert!(e.contains("shapes [2] and [3]"), "{e}");
    // The heatmap's title is "" unless asked for, as its docs say.
    let svg_of = |s: &mut telescope::script::Session, code: &str| {
        let v = s.eval("d.rhai", code).unwrap();
        let fig = telescope::script::figure_of(&v).unwrap();
        fig.to_svg().unwrap()
    };
    let svg = svg_of(&mut s, "heatmap(muller_brown())");
    assert!(
        !svg.contains("muller") && !svg.contains("Müller"),
        "title drawn"
    );
    let docs = telescope::script::docs();
    let title = docs
        .get("heatmap")
        .unwrap()
        .options
        .iter()
        .find(|o| o.name == "title");
    assert_eq!(title.unwrap().default.to_string(), "\"\"");
    let svg = svg_of(&mut s, "heatmap(muller_brown(), #{title: \"MB\"})");
    assert!(
        svg.lines().any(|l| l.trim() == "MB"),
        "asked-for title missing"
    );
    // Only DG pictures mention their taller default.
    for (name, tall) in [("scatter", false), ("heatmap", false), ("dg_plot", true)] {
        let h = docs
            .get(name)
            .unwrap()
            .options
            .iter()
            .find(|o| o.name == "height");
        assert_eq!(
            h.unwrap().default.to_string().contains("900"),
            tall,
            "{name}"
        );
    }
}

/// The coordinates of an SVG polyline element's `points`, flat.
fn polyline_points(el: &str) -> Vec<f64> {
    el.split("points=\"")
        .nth(1)
        .and_then(|p| p.split('"').next())
        .unwrap_or("")
        .split([' ', ','])
        .filter_map(|t| t.parse().ok())
        .collect()
}

/// `attr="value"` of an SVG element's text.
fn attr(el: &str, name: &str) -> Option<f64> {
    let at = el.find(&format!(" {name}=\""))? + name.len() + 3;
    el[at..].split('"').next()?.parse().ok()
}

#[test]
fn tick_labels_keep_clear_of_their_marks_and_the_colour_bar_says_what_it_shows() {
    let dir = fresh_dir("ticks");
    let mut s = session(dir.path());
    for code in [
        "line_plot([0, 1, 2], [0.2, 0.6, 0.8])",
        "scatter([[0, 0], [1, 1], [0.5, 0.2]], [0, 1, 1])",
        "heatmap(muller_brown(), #{xlim: [-1.5, 1.2], ylim: [-0.5, 2.0], zmax: 50})",
        "histogram(randn([200]))",
    ] {
        let v = s.eval("t.rhai", code).unwrap();
        let svg = telescope::script::figure_of(&v).unwrap().to_svg().unwrap();
        // Tick marks: two-point polylines, horizontal (y axes) or vertical (x axes).
        let mut marks: Vec<[f64; 4]> = Vec::new();
        for el in svg.split('<').filter(|e| e.starts_with("polyline")) {
            let pts = polyline_points(el);
            if let [x0, y0, x1, y1] = pts[..] {
                if (x0 == x1) != (y0 == y1) && (x0 - x1).abs() + (y0 - y1).abs() < 20.0 {
                    marks.push([x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)]);
                }
            }
        }
        let mut checked = 0;
        for el in svg.split('<').filter(|e| e.starts_with("text")) {
            let (Some(x), Some(y)) = (attr(el, "x"), attr(el, "y")) else {
                continue;
            };
            if el.contains("text-anchor=\"end\"") {
                // A y-axis label: its right end is left of its mark by a clear gap.
                if let Some(m) = marks.iter().find(|m| m[1] == m[3] && m[1] == y && m[0] > x) {
                    assert!(
                        m[0] - x >= 6.0,
                        "{code}: label at x {x} ends {} px from its mark",
                        m[0] - x
                    );
                    checked += 1;
                }
            } else if el.contains("dy=\"0.76em\"") {
                // An x-axis label: its top is below its mark by a clear gap.
                if let Some(m) = marks.iter().find(|m| m[0] == m[2] && m[0] == x && m[3] < y) {
                    assert!(
                        y - m[3] >= 6.0,
                        "{code}: label at y {y} starts {} px below its mark",
                        y - m[3]
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked >= 6, "{code}: only {checked} labels beside marks");
        if code.starts_with("heatmap") {
            assert!(
                svg.lines().any(|l| l.trim() == "energy"),
                "colour bar label"
            );
        }
    }
}

#[test]
fn an_alpha_sweep_labels_even_log_ticks_and_its_chosen_alpha() {
    let dir = fresh_dir("sweep");
    let mut s = session(dir.path());
    // Log grids over shorter and longer spans than two decades.
    for (lo, hi) in [(0.5, 5.0), (0.3, 3.0), (0.01, 10.0), (2.0, 9.0)] {
        let code = format!(
            "let a = logspace_grid({lo}, {hi}, 11); alpha_sweep_plot(a, a.map(|x| 20 - x.to_int().min(19)), #{{chosen: a[4]}})"
        );
        let code = code.replace(
            "logspace_grid",
            "(|lo, hi, n| { let out = []; for i in 0..n { out.push(lo * (hi / lo) ** (i / (n - 1.0))); } out }).call",
        );
        let v = s.eval("sweep.rhai", &code).unwrap();
        let svg = telescope::script::figure_of(&v).unwrap().to_svg().unwrap();
        // The x tick labels: the text lines right after `dy="0.76em"` elements.
        let labels: Vec<f64> = svg
            .split("dy=\"0.76em\"")
            .skip(1)
            .filter_map(|rest| {
                rest.split('>')
                    .nth(1)?
                    .split('<')
                    .next()?
                    .trim()
                    .parse()
                    .ok()
            })
            .collect();
        assert!(labels.len() >= 2, "{lo}..{hi}: {labels:?}");
        for x in &labels {
            let mantissa = x / 10f64.powf(x.log10().floor());
            assert!(
                [1.0, 2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-9),
                "{lo}..{hi}: uneven log tick {x} in {labels:?}"
            );
        }
        assert!(
            svg.contains("chosen alpha"),
            "{lo}..{hi}: the chosen alpha has no label"
        );
    }
}

#[test]
fn a_scatter_names_its_axes_and_legend_and_keeps_points_off_the_frame() {
    let dir = fresh_dir("scatter");
    let mut s = session(dir.path());
    for seed in 0..5 {
        let code = format!(
            "seed({seed}); let p = randn([40, 2]) * 3.0; scatter(p, (p.slice(1, 0, 1).flatten() > 0.0).to_array().map(|b| b.to_int()))"
        );
        let v = s.eval("sc.rhai", &code).unwrap();
        let svg = telescope::script::figure_of(&v).unwrap().to_svg().unwrap();
        let lines: Vec<&str> = svg.lines().map(str::trim).collect();
        for text in ["x[0]", "x[1]", "label"] {
            assert!(lines.contains(&text), "{text} missing");
        }
        // The frame: the longest vertical and horizontal polylines (the axes).
        let (mut left, mut bottom) = (f64::NAN, f64::NAN);
        let (mut best_v, mut best_h) = (0.0, 0.0);
        for el in svg.split('<').filter(|e| e.starts_with("polyline")) {
            let pts = polyline_points(el);
            if let [x0, y0, x1, y1] = pts[..] {
                if x0 == x1 && (y1 - y0).abs() > best_v {
                    (best_v, left) = ((y1 - y0).abs(), x0);
                }
                if y0 == y1 && (x1 - x0).abs() > best_h {
                    (best_h, bottom) = ((x1 - x0).abs(), y0);
                }
            }
        }
        let mut circles = 0;
        for el in svg.split('<').filter(|e| e.starts_with("circle")) {
            let (cx, cy, r) = (
                attr(el, "cx").unwrap(),
                attr(el, "cy").unwrap(),
                attr(el, "r").unwrap(),
            );
            if r > 3.5 {
                continue; // a legend mark
            }
            circles += 1;
            assert!(
                cx - r - left >= 5.0 && bottom - (cy + r) >= 5.0,
                "a point touches the frame at ({cx}, {cy})"
            );
        }
        assert!(circles >= 20, "{circles} points");
    }
}

#[test]
fn a_path_under_the_others_is_drawn_on_top_dashed_so_every_legend_entry_shows() {
    let dir = fresh_dir("bands");
    let mut s = session(dir.path());
    // Three bands of Müller-Brown: A-C, C-B, and A-B (through C: the first two joined).
    let code = "let U = muller_brown();\n\
        let a = [-0.558, 1.442]; let c = [-0.050, 0.467]; let b = [0.623, 0.028];\n\
        let ac = neb(U, a, c, #{images: 10}).images; let cb = neb(U, c, b, #{images: 10}).images;\n\
        let ab = cat([ac, cb], 0);\n\
        heatmap(U, #{xlim: [-1.5, 1.2], ylim: [-0.5, 2.0], zmax: 50, paths: [ab, ac, cb], labels: [\"A-B\", \"A-C\", \"C-B\"]})";
    let v = s.eval("bands.rhai", code).unwrap();
    let fig = telescope::script::figure_of(&v).unwrap();
    let svg = fig.to_svg().unwrap();
    let stroke = |k: usize| {
        let (r, g, b) = telescope::plot::PALETTE[k];
        format!("stroke=\"#{r:02X}{g:02X}{b:02X}\"")
    };
    // The drawing before the legend box (whose marks repeat the colours).
    let plot_part = |svg: &str| -> Vec<String> {
        let end = svg
            .find("opacity=\"0.85\" fill=\"#FFFFFF\"")
            .unwrap_or(svg.len());
        svg[..end].split('<').map(str::to_string).collect()
    };
    let elements = plot_part(&svg);
    let last_of = |k: usize| elements.iter().rposition(|e| e.contains(&stroke(k)));
    // The A-B band's colour is drawn again after the other two bands, and named in the legend.
    let (ab, ac, cb) = (
        last_of(0).unwrap(),
        last_of(1).unwrap(),
        last_of(2).unwrap(),
    );
    assert!(ab > ac && ab > cb, "the A-B band stays under the others");
    for name in ["A-B", "A-C", "C-B"] {
        assert!(
            svg.lines().any(|l| l.trim() == name),
            "{name} not in the legend"
        );
    }
    // Bands that do not overlap are drawn once, solid.
    let v = s
        .eval(
            "bands.rhai",
            "heatmap(U, #{xlim: [-1.5, 1.2], ylim: [-0.5, 2.0], paths: [ac, cb], labels: [\"A-C\", \"C-B\"]})",
        )
        .unwrap();
    let svg = telescope::script::figure_of(&v).unwrap().to_svg().unwrap();
    let elements = plot_part(&svg);
    let first_cb = elements
        .iter()
        .position(|e| e.contains(&stroke(1)))
        .unwrap();
    let last_ac_path = elements
        .iter()
        .rposition(|e| e.contains(&stroke(0)) && e.starts_with("polyline"))
        .unwrap();
    assert!(last_ac_path < first_cb, "a visible band was drawn again");
}
