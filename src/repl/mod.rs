//! The interactive REPL and the script tooling around it (`doc`, `check`, `lsp`).
//!
//! Input is either a `:command`, a help request (`?name`, `help(name)`), or script code that
//! is evaluated in one persistent [`Session`]. Completion, hints, highlighting and multi-line
//! validation live in [`helper`]; the analysis they share with `check` and `lsp` in [`analysis`].

pub mod analysis;
pub mod check;
pub mod doc;
pub mod helper;
pub mod lsp;
pub mod module_doc;

pub use analysis::is_unfinished;

use crate::script::{new_session, Session};
use analysis::{Catalog, Env};
use helper::ReplHelper;
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{CompletionType, Config, Editor};
use std::collections::BTreeSet;
use std::path::Path;
use std::rc::Rc;
use std::time::Instant;

/// The commands, as `:help` lists them.
pub const COMMANDS: &[(&str, &str)] = &[
    (":time EXPR", "evaluate EXPR and print how long it took"),
    (":vars", "list the variables: name, type, value"),
    (
        ":save FILE.rhai",
        "write the inputs accepted so far as a script",
    ),
    (":load FILE.rhai", "run a script in this session"),
    (
        ":device",
        "show the device, dtype, whether CUDA is available, libtorch's settings and reproducible mode",
    ),
    (":seed N", "seed every random function"),
    (":help", "this list"),
    (":quit", "leave (Ctrl-D too)"),
    (
        "?NAME",
        "help of a function, method, type or area (also help(NAME))",
    ),
];

/// What the REPL keeps besides the session: inputs that ran without error (for `:save`).
pub struct Repl {
    /// The script session.
    pub session: Session,
    /// Accepted inputs, in order (what `:save` writes).
    pub accepted: Vec<String>,
    /// The accepted input whose value `ans` holds, when it is one expression that `:save` can
    /// bind to `ans` should a later input read it.
    ans_input: Option<usize>,
    /// Maps that Ctrl-C cut short, with the accepted input that bound them: `:save` writes
    /// each beside the script and loads it there instead of running the call again.
    interrupted_maps: Vec<InterruptedMap>,
    /// True when Ctrl-C stopped a computation during the last evaluation.
    last_interrupted: bool,
}

/// A map an input bound while Ctrl-C cut its computation short.
struct InterruptedMap {
    /// Index of the input in `accepted`.
    input: usize,
    /// The variable that holds it.
    name: String,
    /// The map as the input left it.
    map: crate::landscape::map::LandscapeMap,
}

/// What to do after an input.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    /// Read the next input.
    Continue,
    /// Leave the REPL.
    Quit,
}

impl Repl {
    /// A REPL over a fresh session rooted at the current directory.
    pub fn new() -> Self {
        Repl {
            session: new_session(Some(Path::new("."))),
            accepted: Vec::new(),
            ans_input: None,
            interrupted_maps: Vec::new(),
            last_interrupted: false,
        }
    }

    /// Handles one complete input, printing results to stdout and errors to stderr.
    pub fn handle(&mut self, input: &str) -> Flow {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Flow::Continue;
        }
        if let Some(cmd) = trimmed.strip_prefix(':') {
            return self.command(cmd.trim());
        }
        if let Some(name) = help_request(trimmed) {
            match self.help(&name) {
                Ok(s) => print!("{s}"),
                Err(s) => eprint!("{s}"),
            }
            return Flow::Continue;
        }
        let before: BTreeSet<String> = self.variable_names();
        // A trailing `;` runs the input without showing its value (it still becomes `ans`).
        let show = !analysis::ends_with_semicolon(input);
        let produced = self.eval_and_print(input, show);
        match produced {
            Some(value) => {
                self.record(input);
                if value {
                    self.ans_input =
                        analysis::is_one_expression(input).then_some(self.accepted.len() - 1);
                }
                if self.last_interrupted {
                    self.note_interrupted(input);
                }
            }
            None => {
                // What ran before the failure stays defined in the session: keep the definitions
                // that later inputs may use, so that the saved script still runs.
                let made: BTreeSet<String> =
                    self.variable_names().difference(&before).cloned().collect();
                let kept = analysis::definitions(input, &made);
                if !kept.is_empty() {
                    self.record(&format!(
                        "// definitions made by an input that failed or was interrupted\n{}",
                        kept.join("\n")
                    ));
                }
            }
        }
        Flow::Continue
    }

    /// Records an accepted input for `:save`; when it reads `ans`, the input that set `ans` is
    /// saved as `let ans = ...;` so the script computes the same value.
    fn record(&mut self, input: &str) {
        if analysis::mentions(input, "ans") {
            if let Some(i) = self.ans_input.take() {
                let code = self.accepted[i]
                    .trim_end()
                    .trim_end_matches(';')
                    .to_string();
                self.accepted[i] = format!("let ans = {code};");
            }
        }
        self.accepted.push(input.trim_end().to_string());
    }

    /// Remembers what Ctrl-C cut short in the last accepted input: the maps it bound (`:save`
    /// loads them instead of mapping again), or a comment that the line reruns in full.
    fn note_interrupted(&mut self, input: &str) {
        let index = self.accepted.len() - 1;
        for name in analysis::bound_names(input) {
            let value = self.session.scope.get_value::<rhai::Dynamic>(&name);
            if let Some(map) = value.as_ref().and_then(crate::script::map_of) {
                if map.interrupted {
                    self.interrupted_maps.push(InterruptedMap {
                        input: index,
                        name,
                        map,
                    });
                }
            }
        }
        if !self.interrupted_maps.iter().any(|m| m.input == index) {
            self.accepted[index] = format!(
                "// Ctrl-C cut this input short in the session; run here, it computes in full\n{}",
                self.accepted[index]
            );
        }
    }

    /// The script `:save` writes to `path`: the accepted inputs, with each map that Ctrl-C cut
    /// short written beside it (`NAME.VAR.json`) and loaded instead of mapped again, and each
    /// function that reads variables it cannot see kept as a comment, so that the script runs
    /// and `telescope check` finds nothing in it.
    pub fn saved_script(&self, path: &Path) -> Result<String, String> {
        let mut inputs = self.accepted.clone();
        for (i, input) in self.accepted.iter().enumerate() {
            let maps: Vec<&InterruptedMap> = self
                .interrupted_maps
                .iter()
                .filter(|m| m.input == i)
                .collect();
            if maps.is_empty() {
                continue;
            }
            let mut text = String::new();
            let mut loads = String::new();
            for m in &maps {
                let file = map_file_beside(path, &m.name);
                m.map
                    .save(Path::new(&file))
                    .map_err(|e| format!("{file}: {e}"))?;
                let go_on = if m.map.method == "gwl" {
                    "To go on, run the call with `checkpoint: PATH`: a later `resume: PATH` continues its chain.".to_string()
                } else {
                    format!("To go on mapping, give the call `resume: \"{file}\"`.")
                };
                text.push_str(&format!(
                    "// Ctrl-C stopped this input at iteration {} of its map `{}`; that map is in {file}.\n// {go_on}\n",
                    m.map.iterations, m.name
                ));
                loads.push_str(&format!("let {} = load_map(\"{file}\");\n", m.name));
            }
            if analysis::statements(input).len() == 1 {
                for line in input.lines() {
                    text.push_str(&format!("// {line}\n"));
                }
                text.push_str(loads.trim_end());
            } else {
                // Other statements of the input are needed: it runs again, in full.
                text.push_str(input);
            }
            inputs[i] = text;
        }
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        let dir = dir.unwrap_or(Path::new("."));
        // Functions that read the session's variables fail when called: keep them as comments.
        for _ in 0..inputs.len() {
            let script = script_of(&self.session.engine, &inputs);
            let diags = check::check_source(&script, dir);
            let broken = diags.iter().find_map(|d| {
                if !d.message.contains(analysis::FUNCTION_SCOPE) {
                    return None;
                }
                input_at_line(&inputs, d.line)
            });
            let Some(i) = broken else {
                return Ok(script);
            };
            let mut text = format!(
                "// This function reads variables a function cannot see ({}); it is kept as a comment:\n",
                analysis::FUNCTION_SCOPE
            );
            for line in inputs[i].lines() {
                text.push_str(&format!("// {line}\n"));
            }
            inputs[i] = text.trim_end().to_string();
        }
        Ok(script_of(&self.session.engine, &inputs))
    }

    /// A value's script type name and its display form.
    fn type_and_value(&self, value: &rhai::Dynamic) -> (String, String) {
        let engine = &self.session.engine;
        let ty = engine.map_type_name(value.type_name()).to_string();
        (ty, crate::script::display_value(engine, value))
    }

    /// Names of the session's variables.
    fn variable_names(&self) -> BTreeSet<String> {
        self.session
            .scope
            .iter()
            .map(|(n, _, _)| n.to_string())
            .collect()
    }

    /// Help for `name`: what a variable of the session holds (its type and value, and where to
    /// read about its methods), else the reference of a telescope function, method, type or
    /// area, else a function the session defines or one of Rhai's own, else one of a shipped
    /// module. `Err` says it was not found, with close names.
    pub fn help(&self, name: &str) -> Result<String, String> {
        let name = name.trim().trim_matches('"');
        if let Some(value) = self.session.scope.get_value::<rhai::Dynamic>(name) {
            let (ty, shown) = self.type_and_value(&value);
            let mut s = format!("{name}: {ty}\n{shown}\n");
            let is_record = crate::script::records::KINDS.iter().any(|k| k.name == ty);
            if is_record || ty == "MapStats" {
                // A result: its fields, with what each holds.
                if let Ok(fields) = crate::script::help::help_text(&self.session.docs, &ty) {
                    s.push_str(&fields);
                }
            } else if self.session.docs.methods_of(&ty).next().is_some() {
                s.push_str(&format!("?{ty} lists its methods\n"));
            }
            return Ok(s);
        }
        let not_found = match crate::script::help::help_text(&self.session.docs, name) {
            Ok(s) => return Ok(s),
            Err(s) => s,
        };
        let cat = Catalog::new(&self.session.engine, self.session.docs.clone());
        match analysis::describe(&cat, &self.env(), name, false) {
            Some(analysis::Description::Function(d)) => {
                Ok(format!("{} ({})\n{}", d.name, d.area, d.render()))
            }
            // A function of a shipped module (`?lm::basin_classes`), after the session's own.
            _ => module_doc::help(name).ok_or(not_found),
        }
    }

    /// Evaluates code and prints its value (when `show`) or error: `Some(true)` when it
    /// succeeded with a value (which `ans` now holds), `Some(false)` when it succeeded without
    /// one, `None` on failure.
    pub fn eval_and_print(&mut self, input: &str, show: bool) -> Option<bool> {
        crate::interrupt::clear();
        let result = {
            let _sigint = sigint::Guard::install();
            self.session.eval("<repl>", input)
        };
        crate::progress::stderr::end_line();
        self.last_interrupted = crate::interrupt::presses() > 0;
        if self.last_interrupted {
            // The terminal echoed `^C` without a newline.
            eprintln!();
        }
        crate::interrupt::clear();
        match result {
            Ok(v) => {
                // A plot shows itself, as IPython shows a figure.
                if !show {
                    // Shown nothing: the input ended with `;`.
                } else if let Some(fig) = crate::script::figure_of(&v) {
                    if let Err(e) = crate::plot::terminal::show(&fig, None) {
                        eprintln!("{e}");
                    }
                } else if !v.is_unit() {
                    println!("{}", crate::script::display_value(&self.session.engine, &v));
                }
                let has_value = !v.is_unit();
                if has_value {
                    self.session.scope.set_value("ans", v);
                }
                Some(has_value)
            }
            Err(e) => {
                eprintln!("{e}{}", self.suggestion(&e));
                None
            }
        }
    }

    /// " (did you mean `x`?)" for an unknown-function error, else "".
    fn suggestion(&self, error: &str) -> String {
        let Some(rest) = error.split("Function not found: ").nth(1) else {
            return String::new();
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let fns: Vec<String> = self
            .session
            .lib
            .iter_functions()
            .map(|f| f.name.to_string())
            .collect();
        let docs = self
            .session
            .docs
            .all()
            .filter(|d| !d.method)
            .map(|d| d.name.as_str());
        let close =
            crate::script::names::close_names(&name, docs.chain(fns.iter().map(String::as_str)), 3);
        if close.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = close.iter().map(|c| format!("`{c}`")).collect();
            format!(" (did you mean {}?)", list.join(", "))
        }
    }

    fn command(&mut self, cmd: &str) -> Flow {
        let (name, arg) = match cmd.split_once(char::is_whitespace) {
            Some((n, a)) => (n, a.trim()),
            None => (cmd, ""),
        };
        match name {
            "q" | "quit" | "exit" => return Flow::Quit,
            "h" | "help" => {
                println!("Commands:");
                for (c, d) in COMMANDS {
                    println!("  {c:18} {d}");
                }
                println!(
                    "Tab completes, Ctrl-R searches the history, Ctrl-C interrupts, Ctrl-D leaves."
                );
            }
            "time" | "t" => {
                if arg.is_empty() {
                    eprintln!(":time needs an expression");
                } else {
                    let t0 = Instant::now();
                    let ok = self.eval_and_print(arg, !analysis::ends_with_semicolon(arg));
                    println!("time: {}", format_duration(t0.elapsed().as_secs_f64()));
                    if ok.is_some() {
                        self.record(arg);
                    }
                }
            }
            "vars" | "v" => self.print_vars(),
            "save" => {
                if arg.is_empty() {
                    eprintln!(":save needs a file name");
                } else {
                    let written = self.saved_script(Path::new(arg)).and_then(|text| {
                        crate::tensor_io::write_atomic(Path::new(arg), text.as_bytes())
                            .map_err(|e| e.to_string())
                    });
                    match written {
                        Ok(()) => println!(
                            "saved {} input{} to {arg}",
                            self.accepted.len(),
                            if self.accepted.len() == 1 { "" } else { "s" }
                        ),
                        Err(e) => eprintln!("{e}"),
                    }
                }
            }
            "load" => {
                if arg.is_empty() {
                    eprintln!(":load needs a file name");
                } else {
                    match std::fs::read_to_string(arg) {
                        Ok(code) => {
                            crate::interrupt::clear();
                            if !self.session.scope.contains("ARGS") {
                                // Scripts read their command-line arguments; here there are none.
                                self.session.scope.push_constant("ARGS", rhai::Array::new());
                                self.session
                                    .scope
                                    .push_constant("SHARD", crate::script::host::shard_value());
                            }
                            let result = {
                                let _sigint = sigint::Guard::install();
                                self.session.eval(arg, &code)
                            };
                            match result {
                                Ok(v) => {
                                    self.record(&code);
                                    if !v.is_unit() {
                                        println!(
                                            "{}",
                                            crate::script::display_value(&self.session.engine, &v)
                                        );
                                    }
                                }
                                Err(e) => eprintln!("{e}"),
                            }
                        }
                        Err(e) => eprintln!("{arg}: {e}"),
                    }
                }
            }
            "device" | "d" => {
                let dev = crate::provenance::device_name(crate::tensor::device());
                let dtype = crate::provenance::dtype_name(crate::tensor::dtype());
                println!(
                    "device {dev}, dtype {dtype}, cuda available: {}",
                    crate::tensor::cuda_available()
                );
                println!(
                    "torch {}, {} thread(s), CPU capability {}, MKL_CBWR {}",
                    crate::tensor::torch_version(),
                    crate::tensor::threads(),
                    crate::tensor::cpu_capability(),
                    std::env::var("MKL_CBWR").unwrap_or_else(|_| "unset".into())
                );
                println!("{}", crate::tensor::reproducible::describe());
            }
            "seed" => match arg.parse::<i64>() {
                Ok(n) => {
                    crate::tensor::manual_seed(n as u64);
                    self.record(&format!("seed({n})"));
                    println!("seeded with {n}");
                }
                Err(_) => eprintln!(":seed needs an integer, e.g. :seed 42"),
            },
            other => {
                let names: Vec<&str> = COMMANDS
                    .iter()
                    .filter_map(|(c, _)| c.strip_prefix(':'))
                    .map(|c| c.split(' ').next().unwrap_or(c))
                    .collect();
                let close = crate::script::names::close_names(other, names.into_iter(), 2);
                let hint = close
                    .first()
                    .map(|c| format!(" (did you mean :{c}?)"))
                    .unwrap_or_default();
                eprintln!("unknown command :{other}{hint}; :help lists the commands");
            }
        }
        Flow::Continue
    }

    fn print_vars(&self) {
        let vars = self.vars();
        if vars.is_empty() {
            println!("(no variables)");
        }
        let w = vars.iter().map(|v| v.0.len()).max().unwrap_or(0);
        let tw = vars.iter().map(|v| v.1.len()).max().unwrap_or(0);
        for (n, t, v) in vars {
            println!("  {n:w$}  {t:tw$}  {v}");
        }
    }

    /// Variables of the session: name, type name and a one-line value (latest binding first
    /// wins when a name was shadowed).
    pub fn vars(&self) -> Vec<(String, String, String)> {
        let mut out: Vec<(String, String, String)> = Vec::new();
        let all: Vec<_> = self.session.scope.iter().collect();
        for (name, _, value) in all.into_iter().rev() {
            if out.iter().any(|(n, _, _)| n == name) {
                continue;
            }
            let (ty, shown) = self.type_and_value(&value);
            let mut line: String = shown.split_whitespace().collect::<Vec<_>>().join(" ");
            if line.chars().count() > 60 {
                line = line.chars().take(57).collect::<String>() + "...";
            }
            out.push((name.to_string(), ty, line));
        }
        out.sort();
        out
    }

    /// The completion environment: variables with their types and the user's functions.
    pub fn env(&self) -> Env {
        let vars = self
            .vars()
            .into_iter()
            .map(|(n, t, _)| (n, Some(t)))
            .collect();
        let script_fns = self
            .session
            .lib
            .iter_functions()
            .map(|f| {
                (
                    f.name.to_string(),
                    f.params.iter().map(|p| p.to_string()).collect(),
                )
            })
            .collect();
        Env {
            vars,
            script_fns,
            base_dir: std::path::PathBuf::from("."),
            calls: Vec::new(),
        }
    }
}

impl Default for Repl {
    fn default() -> Self {
        Self::new()
    }
}

/// The name asked about by `?name`, `help(name)`, `help("name")`, `help` or `help()`.
pub fn help_request(input: &str) -> Option<String> {
    let t = input.trim().trim_end_matches(';').trim();
    if let Some(n) = t.strip_prefix('?') {
        return Some(n.trim().to_string());
    }
    if t == "help" {
        return Some(String::new());
    }
    let inner = t.strip_prefix("help(")?.strip_suffix(')')?.trim();
    let inner = inner.trim_matches('"');
    if inner
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    {
        Some(inner.to_string())
    } else {
        None
    }
}

/// The accepted inputs as a script that runs them in sequence: each statement is terminated
/// with `;` unless it already is or the terminated form does not parse (a definition or block
/// that stands alone).
pub fn script_of(engine: &rhai::Engine, inputs: &[String]) -> String {
    let mut s = String::from("// saved from the telescope REPL\n");
    for i in inputs {
        let t = i.trim_end();
        s.push_str(t);
        let last_line = t.lines().last().unwrap_or("");
        let commented = last_line.trim_start().starts_with("//");
        if !analysis::is_terminated(t) && !commented && engine.compile(format!("{t};")).is_ok() {
            s.push(';');
        }
        s.push('\n');
    }
    s
}

/// `DIR/STEM.NAME.json` for the script `DIR/STEM.rhai`: where `:save` writes variable NAME's map.
fn map_file_beside(script: &Path, name: &str) -> String {
    let stem = script
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "session".into());
    script
        .with_file_name(format!("{stem}.{name}.json"))
        .display()
        .to_string()
}

/// The index of the input that line `line` (1-based) of `script_of(inputs)` comes from.
fn input_at_line(inputs: &[String], line: usize) -> Option<usize> {
    // script_of writes one header line, then each input on its own lines.
    let mut first = 2;
    for (i, input) in inputs.iter().enumerate() {
        let n = input.trim_end().lines().count().max(1);
        if (first..first + n).contains(&line) {
            return Some(i);
        }
        first += n;
    }
    None
}

/// Ctrl-C during evaluation. The line editor installs its own SIGINT handler for as long as
/// it exists (it reads Ctrl-C as a key while editing); while code runs, this guard puts a
/// handler in its place that raises [`crate::interrupt`]'s flag, which script loops (through
/// the engine's progress callback) and native loops poll, and restores the editor's on drop.
#[cfg(unix)]
pub mod sigint {
    extern "C" fn on_sigint(_: libc::c_int) {
        crate::interrupt::request();
    }

    /// Our SIGINT handler, installed until dropped.
    pub struct Guard(libc::sigaction);

    impl Guard {
        /// Installs the handler; `None` if the system refused.
        pub fn install() -> Option<Guard> {
            // SAFETY: plain sigaction calls with zero-initialised structs; the handler only
            // stores to an atomic, which is async-signal-safe.
            unsafe {
                let mut new: libc::sigaction = std::mem::zeroed();
                new.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as usize;
                libc::sigemptyset(&mut new.sa_mask);
                new.sa_flags = libc::SA_RESTART;
                let mut old: libc::sigaction = std::mem::zeroed();
                (libc::sigaction(libc::SIGINT, &new, &mut old) == 0).then_some(Guard(old))
            }
        }
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            // SAFETY: restores the action saved by `install`.
            unsafe {
                libc::sigaction(libc::SIGINT, &self.0, std::ptr::null_mut());
            }
        }
    }
}

/// Ctrl-C during evaluation (no-op where there are no Unix signals; ctrlc handles it).
#[cfg(not(unix))]
pub mod sigint {
    /// Does nothing.
    pub struct Guard;
    impl Guard {
        /// Does nothing.
        pub fn install() -> Option<Guard> {
            None
        }
    }
}

fn format_duration(secs: f64) -> String {
    if secs < 1e-3 {
        format!("{:.1} µs", secs * 1e6)
    } else if secs < 1.0 {
        format!("{:.2} ms", secs * 1e3)
    } else {
        format!("{secs:.3} s")
    }
}

/// Runs the REPL until Ctrl-D or `:quit`; returns the exit status.
pub fn run() -> u8 {
    let mut repl = Repl::new();
    let catalog = Rc::new(Catalog::new(
        &repl.session.engine,
        repl.session.docs.clone(),
    ));
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .max_history_size(10_000)
        .map(|b| b.build());
    let mut editor: Editor<ReplHelper, FileHistory> = match config.and_then(Editor::with_config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("telescope: cannot open the line editor: {e}");
            return 1;
        }
    };
    editor.set_helper(Some(ReplHelper::new(catalog)));
    let history = history_path();
    let _ = editor.load_history(&history);
    println!(
        "telescope {} — Tab completes, ?name for help, :help for commands, Ctrl-D to leave",
        crate::version()
    );
    // Bytes that are not UTF-8 (a bad paste, a binary file piped in) drop the line, not the
    // session; a stream that never yields anything else still ends.
    let mut bad_input = 0;
    loop {
        if let Some(h) = editor.helper_mut() {
            h.env = repl.env();
        }
        match editor.readline("telescope> ") {
            Err(ReadlineError::Io(e))
                if e.kind() == std::io::ErrorKind::InvalidData && bad_input < 1000 =>
            {
                bad_input += 1;
                eprintln!("telescope: the input was not valid UTF-8 and was dropped");
            }
            Ok(input) => {
                bad_input = 0;
                if !input.trim().is_empty() {
                    let _ = editor.add_history_entry(input.trim_end());
                    let _ = editor.append_history(&history);
                }
                if repl.handle(&input) == Flow::Quit {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => {}
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("telescope: {e}");
                return 1;
            }
        }
    }
    0
}

/// Where the REPL keeps its history (`TELESCOPE_HISTORY`, else `~/.telescope_history`).
pub fn history_path() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("TELESCOPE_HISTORY") {
        return p.into();
    }
    std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_default()
        .join(".telescope_history")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_requests_are_recognised() {
        assert_eq!(help_request("?seed").as_deref(), Some("seed"));
        assert_eq!(help_request("help(seed)").as_deref(), Some("seed"));
        assert_eq!(
            help_request("help(\"Tensor.shape\");").as_deref(),
            Some("Tensor.shape")
        );
        assert_eq!(help_request("help").as_deref(), Some(""));
        assert_eq!(help_request("help(x + 1)"), None);
        assert_eq!(help_request("helpful(1)"), None);
    }

    #[test]
    fn method_completion_follows_the_value_type() {
        let mut r = Repl::new();
        let docs = r.session.docs.clone();
        // Any documented type with methods and a constructor taking no arguments would do;
        // take the tensor type if its constructor exists, else skip to the string check.
        if docs.get("tensor").is_some() && docs.methods_of("Tensor").next().is_some() {
            assert_eq!(r.handle("let x = tensor([1.0, 2.0]);"), Flow::Continue);
            let env = r.env();
            assert!(
                env.vars
                    .contains(&("x".to_string(), Some("Tensor".to_string()))),
                "{:?}",
                env.vars
            );
            let cat = Catalog::new(&r.session.engine, docs.clone());
            let (_, items) = analysis::complete(&cat, &env, "x.");
            let mut got: Vec<String> = items.iter().map(|i| i.label.clone()).collect();
            let mut want: Vec<String> = docs
                .methods_of("Tensor")
                .map(|d| d.bare_name().to_string())
                .collect();
            got.sort();
            got.dedup();
            want.sort();
            want.dedup();
            assert_eq!(got, want);
        }
        r.handle("let s = \"abc\";");
        let cat = Catalog::new(&r.session.engine, docs);
        let (start, items) = analysis::complete(&cat, &r.env(), "s.to_low");
        assert_eq!(start, 2);
        assert!(items.iter().any(|i| i.insert == "to_lower("), "{items:?}");
    }

    #[test]
    fn saved_script_reruns_to_the_same_state() {
        let mut r = Repl::new();
        for input in [
            "let a = 2",
            "fn sq(x) { x * x }",
            "let b = sq(a) + 1",
            "b = b * 10",
            "if b > 0 { b += 1 }",
        ] {
            assert_eq!(r.handle(input), Flow::Continue);
        }
        r.handle("let broken = nope()"); // fails: not recorded
        assert_eq!(
            r.suggestion("<repl>:1:1: Function not found: sqq (i64)"),
            " (did you mean `sq`?)"
        );
        assert_eq!(r.suggestion("<repl>:1:1: Division by zero"), "");
        assert_eq!(r.accepted.len(), 5);
        let script = script_of(&r.session.engine, &r.accepted);
        // A definition stands alone: no `;` after its block; a block statement gets one.
        assert!(script.contains("fn sq(x) { x * x }\n"), "{script}");
        assert!(script.contains("if b > 0 { b += 1 };\n"), "{script}");
        let mut s = new_session(None);
        let v = s.eval("<saved>", &(script + "b")).unwrap();
        assert_eq!(v.as_int().unwrap(), 51);
        let vars = r.vars();
        assert!(
            vars.contains(&("b".to_string(), "i64".to_string(), "51".to_string())),
            "{vars:?}"
        );
        let env = r.env();
        assert!(env
            .script_fns
            .iter()
            .any(|(n, p)| n == "sq" && p == &["x".to_string()]));
    }

    #[test]
    fn ans_holds_the_last_value_and_the_saved_script_computes_it_again() {
        let mut r = Repl::new();
        for input in ["let a = 20", "a + 1", "ans * 2", "#{k: ans}", "let m = ans"] {
            assert_eq!(r.handle(input), Flow::Continue);
        }
        assert_eq!(
            r.session.scope.get_value::<rhai::Map>("m").unwrap()["k"]
                .as_int()
                .unwrap(),
            42
        );
        let script = script_of(&r.session.engine, &r.accepted);
        assert!(script.contains("let ans = a + 1;"), "{script}");
        let mut s = new_session(None);
        let v = s.eval("<saved>", &(script + "m.k")).unwrap();
        assert_eq!(
            v.as_int().unwrap(),
            42,
            "{}",
            script_of(&r.session.engine, &r.accepted)
        );
    }

    #[test]
    fn definitions_of_a_failed_input_are_saved_and_the_script_runs() {
        let mut r = Repl::new();
        r.handle("fn twice(x) { 2 * x } let n = 5; let unused = 1; throw \"stop\"");
        r.handle("let total = twice(n)");
        r.handle("if total > 3 { total += 1 }");
        let script = script_of(&r.session.engine, &r.accepted);
        assert!(
            script.contains("let n = 5;") && script.contains("fn twice"),
            "{script}"
        );
        assert!(!script.contains("throw"), "{script}");
        let mut s = new_session(None);
        let v = s.eval("<saved>", &(script.clone() + "total")).unwrap();
        assert_eq!(v.as_int().unwrap(), 11, "{script}");
    }

    #[test]
    fn loaded_scripts_see_an_empty_args() {
        let dir = tempfile::Builder::new()
            .prefix("telescope_load_")
            .tempdir()
            .unwrap();
        let path = dir.path().join("args.rhai");
        std::fs::write(&path, "let count = ARGS.len();\nlet label = if ARGS.len() > 0 { ARGS[0] } else { \"none\" };\n").unwrap();
        let mut r = Repl::new();
        r.handle(&format!(":load {}", path.display()));
        assert_eq!(r.session.scope.get_value::<i64>("count"), Some(0));
        assert_eq!(
            r.session.scope.get_value::<String>("label").as_deref(),
            Some("none")
        );
    }

    #[test]
    fn help_tells_about_variables_and_rhai_builtins() {
        let mut r = Repl::new();
        r.handle("let x = [1, 2, 3]");
        let h = r.help("x").unwrap();
        assert!(h.starts_with("x: array"), "{h}");
        let h = r.help("print").unwrap();
        assert!(h.contains("print(value)") && h.contains("stdout"), "{h}");
        let h = r.help("to_upper").unwrap();
        assert!(h.contains("to_upper("), "{h}");
        r.handle("fn area(w, h) { w * h }");
        let h = r.help("area").unwrap();
        assert!(h.contains("fn area(w, h)"), "{h}");
        assert!(r.help("no_such_thing_at_all").is_err());
        // Options list their fixed values and where a nested map's keys are documented.
        let h = r.help("adelm").unwrap();
        assert!(
            h.contains("one of: auto, mh, cmh, mala, langevin, hmc, gibbs"),
            "{h}"
        );
        assert!(r
            .help("compare_paths")
            .unwrap()
            .contains("keys: see `telescope doc barrier_ad`"));
        // Shipped modules by qualified or bare name; the session's own function comes first.
        let h = r.help("lm::wall_radius").unwrap();
        assert!(h.contains("latent_map::wall_radius(gen)"), "{h}");
        assert!(r.help("stats::mean").unwrap().contains("Mean of an array"));
        assert!(r.help("logspace").unwrap().contains("stats::logspace"));
        r.handle("fn logspace(n) { n }");
        let h = r.help("logspace").unwrap();
        assert!(
            h.contains("fn logspace(n)") && !h.contains("stats::"),
            "{h}"
        );
    }

    #[test]
    fn arrays_of_maps_print_one_map_per_line() {
        let mut r = Repl::new();
        let v = r
            .session
            .eval("<t>", "[#{a: 1}, #{a: 2}, #{a: 3}]")
            .unwrap();
        let shown = crate::script::display_value(&r.session.engine, &v);
        assert_eq!(shown.lines().count(), 5, "{shown}");
        assert!(
            shown.lines().nth(2).unwrap().contains("\"a\": 2"),
            "{shown}"
        );
        // Other arrays stay on one line.
        let v = r.session.eval("<t>", "[1, 2, 3]").unwrap();
        assert_eq!(
            crate::script::display_value(&r.session.engine, &v),
            "[1, 2, 3]"
        );
    }
}
