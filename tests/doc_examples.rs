//! Every example in the reference (`telescope doc`, `?name`, hover) and every `rhai` code
//! block of the README and `docs/` runs, so the docs cannot drift from the code. One test in
//! its own binary: it runs the examples inside a temporary working directory, where the files
//! they write land.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// TorchScript modules with the names and shapes the `torch_energy`, `torch_net` and
/// `torch_loss` examples use, exported by PyTorch from the project's `.venv`.
const EXPORT_MODULES: &str = r#"
import torch, torch.nn as nn
class Energy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(2, 16), nn.Linear(16, 1)
    def forward(self, x):
        return self.b(torch.tanh(self.a(x))).squeeze(-1) + (x * x).sum(-1)
class Descriptor(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(3, 4, 4, stride=4), nn.Linear(4 * 8 * 8, 1)
    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1)).squeeze(-1)
class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(30, 3 * 32 * 32)
    def forward(self, z):
        return torch.tanh(self.fc(z)).view(-1, 3, 32, 32)
torch.manual_seed(0)
torch.jit.script(Energy()).save("energy.pt")
torch.jit.script(Descriptor()).save("descriptor.pt")
torch.jit.script(Generator()).save("generator.pt")
for name in ["a.pt", "b.pt"]:
    torch.jit.script(nn.Sequential(nn.Linear(256, 32), nn.Tanh(), nn.Linear(32, 10))).save(name)
"#;

/// The files the examples read, made here: the TorchScript modules, and an ADELM and a GWL
/// map of one spin glass (the `compare_maps` examples).
fn make_example_inputs(dir: &Path) {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    // TorchScript reads the classes' source, so the exporter must be a file.
    std::fs::write(dir.join("export_modules.py"), EXPORT_MODULES).unwrap();
    let out = Command::new(&python)
        .arg("export_modules.py")
        .current_dir(dir)
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .expect("run .venv/bin/python (make setup creates it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut session = telescope::script::new_session(Some(dir));
    let _ = session
        .eval(
            "<example inputs>",
            "let U = sk(12, 1);\n\
             adelm(U, #{iters: 30, progress: false}).save(\"adelm.json\");\n\
             gwl(U, #{emax: 0.0, iters: 20000, K: 10, progress: false}).save(\"gwl.json\");",
        )
        .unwrap();
}

/// `code` with each line `print(E); // VALUE...` whose comment starts with a value (a number,
/// `[`, `"`, `tensor(`, `true`, `false`) rewritten to keep what it prints in `__claim_K`, and
/// those lines with their claimed values.
fn with_claims(code: &str) -> (String, Vec<(String, String)>) {
    let mut out = String::new();
    let mut claims = Vec::new();
    for line in code.lines() {
        let claim = line.trim_start().strip_prefix("print(").and_then(|rest| {
            let (code, comment) = rest.rsplit_once("//")?;
            let call = code.trim_end().strip_suffix(");")?;
            let comment = comment.trim();
            let value_like = comment
                .starts_with(|c: char| c.is_ascii_digit() || "-[\"".contains(c))
                || ["tensor(", "true", "false"]
                    .iter()
                    .any(|p| comment.starts_with(p));
            value_like.then(|| (call.to_string(), comment.to_string()))
        });
        match claim {
            Some((expr, comment)) => {
                let k = claims.len();
                out.push_str(&format!(
                    "let __claim_{k} = `${{{expr}}}`; print(__claim_{k});\n"
                ));
                claims.push((line.trim().to_string(), comment));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    (out, claims)
}

/// True when `printed` is what `claim` says: the claim starts with it (followed by the end,
/// `:`, `;` or a space), or both are numbers that agree to the claim's digits, or the claim
/// ends in `...` and `printed` starts with what comes before.
fn claim_holds(printed: &str, claim: &str) -> bool {
    if let Some(rest) = claim.strip_prefix(printed) {
        return rest.is_empty() || rest.starts_with([':', ';', ' ']);
    }
    let first = claim.split([':', ';', ' ']).next().unwrap_or("");
    if let (Ok(p), Ok(c)) = (printed.parse::<f64>(), first.parse::<f64>()) {
        let decimals = first.split_once('.').map_or(0, |(_, d)| d.len());
        return (p - c).abs() <= 0.5 * 10f64.powi(-(decimals as i32)) + 1e-12;
    }
    match claim.split_once("...") {
        Some((head, _)) => printed.starts_with(head.trim_end_matches([',', ' '])),
        None => false,
    }
}

#[test]
fn every_documented_example_runs() {
    tch::set_num_threads(1);
    let tmp = tempfile::Builder::new()
        .prefix("telescope_doc_examples_")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    std::env::set_current_dir(dir).unwrap();
    make_example_inputs(dir);
    let docs = telescope::script::docs();
    let mut failures = Vec::new();
    let mut ran = 0;
    for d in docs.all().filter(|d| !d.example.is_empty()) {
        telescope::tensor::manual_seed(0);
        let mut session = telescope::script::new_session(Some(dir));
        let t0 = Instant::now();
        if let Err(e) = session.eval(&format!("<example of {}>", d.name), &d.example) {
            failures.push(format!("{}:\n{}\n  -> {e}", d.name, d.example));
        }
        ran += 1;
        eprintln!("{:6.2}s  {}", t0.elapsed().as_secs_f64(), d.name);
    }
    // The code blocks of the README and of each docs/ page, in order, each page in one
    // session (a block may use what an earlier block of its page made).
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md")];
    let mut docs_pages: Vec<_> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs_pages.sort();
    pages.extend(docs_pages);
    let mut blocks = 0;
    let mut claims_checked = 0;
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        let name = page.strip_prefix(root).unwrap().display().to_string();
        telescope::tensor::manual_seed(0);
        let mut session = telescope::script::new_session(Some(dir));
        for (i, block) in text.split("```rhai\n").skip(1).enumerate() {
            let code = block.split("\n```").next().unwrap_or("");
            let (code, claims) = with_claims(code);
            let t0 = Instant::now();
            if let Err(e) = session.eval(&format!("{name} block {}", i + 1), &code) {
                failures.push(format!("{name}, code block {}:\n{code}\n  -> {e}", i + 1));
            }
            claims_checked += claims.len();
            for (k, (line, claim)) in claims.iter().enumerate() {
                let printed = session
                    .scope
                    .get_value::<String>(&format!("__claim_{k}"))
                    .unwrap_or_default();
                if !claim_holds(&printed, claim) {
                    failures.push(format!(
                        "{name}, code block {}: `{line}` prints {printed:?}, but its comment says {claim:?}",
                        i + 1
                    ));
                }
            }
            blocks += 1;
            eprintln!(
                "{:6.2}s  {name} block {}",
                t0.elapsed().as_secs_f64(),
                i + 1
            );
        }
    }
    assert!(ran >= 20, "only {ran} documented examples");
    // Printed values claimed in comments (`print(x); // 3.0`) are checked, not just run.
    assert!(
        claims_checked >= 6,
        "only {claims_checked} printed values checked"
    );
    assert!(
        blocks >= 7,
        "only {blocks} code blocks in the README and docs/"
    );
    assert!(
        failures.is_empty(),
        "{} of {ran} documented examples fail:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
