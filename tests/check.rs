//! `telescope check FILE.rhai`: located diagnostics and exit status, from the real binary.

use std::path::PathBuf;
use std::process::Command;

struct Script(PathBuf);

impl Drop for Script {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn script(name: &str, code: &str) -> Script {
    let p = std::env::temp_dir().join(format!("telescope-check-{}-{name}", std::process::id()));
    std::fs::write(&p, code).unwrap();
    Script(p)
}

/// Runs `telescope check` and returns (exit code, stdout lines with the path replaced by `F`).
fn check(s: &Script) -> (i32, Vec<String>) {
    let out = Command::new(env!("CARGO_BIN_EXE_telescope"))
        .arg("check")
        .arg(&s.0)
        .output()
        .unwrap();
    let path = s.0.display().to_string();
    let text = String::from_utf8(out.stdout).unwrap();
    (
        out.status.code().unwrap(),
        text.lines().map(|l| l.replacen(&path, "F", 1)).collect(),
    )
}

#[test]
fn parse_error_is_located() {
    let s = script("parse.rhai", "let a = 1;\nlet b = (a + 2;\n");
    let (code, lines) = check(&s);
    assert_eq!(code, 1);
    assert_eq!(lines.len(), 1, "{lines:?}");
    // Rhai reports the token where the `)` was expected: the `;` at column 15.
    assert!(lines[0].starts_with("F:2:15: "), "{lines:?}");
    assert!(lines[0].contains("')'"), "{lines:?}");
}

#[test]
fn unknown_functions_and_wrong_arity_are_located() {
    let code = "\
fn twice(x) { x * 2 }
let a = twice(1);
  seed(1, 2);
let v = versoin();
let s = \"abc\";
let u = s.to_upper(3);
let t = twice(1, 2);
let ok = s.len() + twice(a);
let g = |x| x + 1;
let h = g(1) + g.call(1);
";
    let s = script("calls.rhai", code);
    let (status, lines) = check(&s);
    assert_eq!(status, 1);
    let seed_sig = telescope::script::docs().get("seed").unwrap().signatures[0].clone();
    assert_eq!(
        lines,
        vec![
            format!("F:3:3: `seed` takes 1 argument, but 2 were given: {seed_sig}"),
            "F:4:9: unknown function `versoin` (did you mean `version`?)".to_string(),
            "F:6:11: method `to_upper` takes 0 arguments after the receiver, but 1 was given: to_upper(character: char) -> char; to_upper(string: string) -> string".to_string(),
            "F:7:9: `twice` takes 1 argument, but 2 were given".to_string(),
            "F:10:9: `g` is a variable, not a function: call a function pointer as `g.call(...)`".to_string(),
        ]
    );
}

#[test]
fn clean_script_passes() {
    let code = "\
// Script functions, methods with `this`, closures, function pointers and built-ins.
fn bump(n) { this += n; }
let x = 1;
x.bump(2);
let f = |a| a + x;
let y = f.call(3) + call(Fn(\"bump_free\"), 1);
fn bump_free(a) { a }
let m = #{ a: 1 };
print(m.keys().len());
if type_of(y) == \"i64\" { seed(y); }
for i in 0..3 { debug(i); }
";
    let s = script("clean.rhai", code);
    let (status, lines) = check(&s);
    assert_eq!(lines, Vec::<String>::new());
    assert_eq!(status, 0);
}

#[test]
fn missing_file_is_an_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_telescope"))
        .args(["check", "/nonexistent/nothing.rhai"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/nothing.rhai"));
}

#[test]
fn undefined_variables_are_located() {
    let code = "\
let total = 0;
for i in 0..3 { total += i; }
print(totl);
fn f(x) { x + outside }
";
    let s = script("undefined.rhai", code);
    let (status, lines) = check(&s);
    assert_eq!(status, 1);
    // Each undefined name once, at its first use; inside a function the script's variables
    // are not visible either (Rhai functions do not capture).
    assert_eq!(
        lines,
        vec![
            "F:3:7: undefined variable `totl`".to_string(),
            "F:4:15: undefined variable `outside`".to_string()
        ]
    );
    let s = script(
        "undefined2.rhai",
        &format!("{code}print(totl + outside);\n"),
    );
    let (_, lines) = check(&s);
    assert_eq!(lines.len(), 2, "{lines:?}");
}

#[test]
fn every_shipped_script_checks_clean() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["scripts", "stdlib", "examples"] {
        let mut stack = vec![root.join(dir)];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rhai") {
                    files.push(p);
                }
            }
        }
    }
    assert!(files.len() >= 10, "{files:?}");
    for f in files {
        let out = Command::new(env!("CARGO_BIN_EXE_telescope"))
            .arg("check")
            .arg(&f)
            .current_dir(f.parent().unwrap())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}{}",
            f.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_syntax_error_does_not_hide_the_others() {
    let code = "\
let a = (1;
seed(1, 2);
let b = [1, 2;
versoin();
";
    let s = script("recover.rhai", code);
    let (status, lines) = check(&s);
    assert_eq!(status, 1);
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(lines[0].starts_with("F:1:"), "{lines:?}");
    assert!(
        lines[1].starts_with("F:2:1: `seed` takes 1 argument"),
        "{lines:?}"
    );
    assert!(lines[2].starts_with("F:3:"), "{lines:?}");
    assert!(
        lines[3].starts_with("F:4:1: unknown function `versoin`"),
        "{lines:?}"
    );
}

#[test]
fn names_a_broken_statement_defines_are_not_reported_undefined() {
    // Each broken statement defines something used later; the later uses are fine, and the
    // names nobody defines are still reported around the syntax errors.
    let code = "\
let m = adelm(muller_brown(), #{iters: 3);
print(m.n_groups + missing);
fn pair(a, b) { a + }
let p = pair(1, 2);
for (x, k) in [1, 2] { print(x + ) }
print(p + x + k + nowhere);
pair(1);
";
    let s = script("broken_defs.rhai", code);
    let (status, lines) = check(&s);
    assert_eq!(status, 1);
    let no_syntax: Vec<&String> = lines
        .iter()
        .filter(|l| !l.starts_with("F:1:") && !l.starts_with("F:3:") && !l.starts_with("F:5:"))
        .collect();
    assert_eq!(
        no_syntax,
        vec![
            "F:2:20: undefined variable `missing`",
            "F:6:19: undefined variable `nowhere`",
            "F:7:1: `pair` takes 2 arguments, but 1 was given",
        ],
        "{lines:?}"
    );
    assert_eq!(lines.len(), 6, "{lines:?}");
}

/// An unfinished construct at the end of a line is reported where the text breaks, after its
/// last character, not at the first token of the next line; an error after a finished
/// statement stays where Rhai places it.
#[test]
fn an_unfinished_line_is_reported_at_its_end() {
    for (name, code, at) in [
        (
            "dot.rhai",
            "let p = 1;\nlet q = p.\n\nlet r = 2;\n",
            "F:2:11:",
        ),
        (
            "comma.rhai",
            "let a = max(1,\n  // note\nlet z = 3;\n",
            "F:1:15:",
        ),
        ("plus.rhai", "let a = 1 +\n", "F:1:12:"),
        ("after.rhai", "let a = 1;\n) let b = 2;\n", "F:2:1:"),
    ] {
        let s = script(name, code);
        let (status, lines) = check(&s);
        assert_eq!(status, 1, "{name}: {lines:?}");
        assert!(
            lines.first().is_some_and(|l| l.starts_with(at)),
            "{name}: expected {at}, got {lines:?}"
        );
    }
}
