//! Running scripts: a session holds the engine, the variables and the functions defined so
//! far; errors come back as `file:line:col: message`; Ctrl-C stops a script cleanly; a panic
//! inside a native call becomes an error instead of ending the program.

use super::{build_engine, Docs};
use rhai::module_resolvers::{ModuleResolversCollection, StaticModuleResolver};
use rhai::{Dynamic, Engine, EvalAltResult, Module, Position, Scope, AST};
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

/// Script operations between two looks at the process's memory ([`crate::budget::check_process`]):
/// a look reads one small file, so at this period it costs nothing a script could measure.
const MEMORY_CHECK_EVERY: u64 = 1 << 16;

thread_local! {
    static CURRENT: RefCell<Option<(Rc<Engine>, AST)>> = const { RefCell::new(None) };
    /// How many script callbacks are running inside one another on this thread.
    static CALLBACK_DEPTH: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// True while script code runs inside a computation (a closure energy, a proposer).
pub fn in_callback() -> bool {
    CALLBACK_DEPTH.with(|d| d.get() > 0)
}

/// Calls a script function pointer from native code (script-defined energies, user proposals),
/// using the engine and functions of the session that is running on this thread. Callbacks
/// nested deeper than the `native_depth` limit are refused: Rhai's call-depth limit restarts
/// at each callback, so without this an energy that calls itself would overflow the stack.
pub fn call_fn_ptr(f: &rhai::FnPtr, args: Vec<Dynamic>) -> Result<Dynamic, String> {
    let current = CURRENT.with(|c| c.borrow().as_ref().map(|(e, a)| (e.clone(), a.clone())));
    let (engine, ast) = current.ok_or("no script session is running on this thread")?;
    let depth = CALLBACK_DEPTH.with(|d| d.get()) + 1;
    let limit = super::limits::native_depth();
    if depth > limit {
        return Err(format!(
            "script callbacks nested {depth} deep (limit native_depth = {limit}): does an energy or proposer call itself?"
        ));
    }
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            CALLBACK_DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
        }
    }
    CALLBACK_DEPTH.with(|d| d.set(depth));
    let _leave = Leave;
    f.call::<Dynamic>(&engine, &ast, args)
        .map_err(|e| root_cause(&e).0)
}

/// An interactive or script session.
pub struct Session {
    /// The engine (shared with native callbacks on this thread).
    pub engine: Rc<Engine>,
    /// Documentation of every function.
    pub docs: Rc<Docs>,
    /// Variables defined so far.
    pub scope: Scope<'static>,
    /// Functions defined so far.
    pub lib: AST,
}

/// The first line of a libtorch error carried by a panic (tch unwraps the error of an op with a
/// number argument when it frees the number), without the C++ backtrace.
fn libtorch_message(panic: &str) -> Option<String> {
    let start = panic.find("Torch(\"")? + "Torch(\"".len();
    let rest = &panic[start..];
    let cut = rest
        .find("\\nException raised")
        .or_else(|| rest.find("\\n"))
        .or_else(|| rest.find('\n'));
    Some(match cut {
        Some(end) => rest[..end].to_string(),
        None => rest.strip_suffix("\")").unwrap_or(rest).to_string(),
    })
}

/// What a caught panic says: `libtorch: <message>` for a libtorch error that tch raised as a
/// panic, otherwise `internal error (please report): <message>`.
pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let msg = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    match libtorch_message(&msg) {
        Some(torch) => format!("libtorch: {torch}"),
        None => format!("internal error (please report): {msg}"),
    }
}

/// Keeps the default panic report for real bugs, but not for libtorch errors that tch raises
/// as panics: those become ordinary script errors (see [`Session::eval`]).
fn install_quiet_torch_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or("");
            let from_tch = info.location().is_some_and(|l| l.file().contains("/tch-"));
            if !(from_tch && libtorch_message(payload).is_some()) {
                default(info);
            }
        }));
    });
}

/// A new session with every telescope function and the embedded `stdlib/` modules; imports
/// resolve from `script_dir` (only from there when a sandbox is active, see [`crate::sandbox`]).
pub fn new_session(script_dir: Option<&Path>) -> Session {
    crate::interrupt::install_handler();
    install_quiet_torch_panics();
    let (mut engine, docs) = build_engine();
    let mut resolvers = ModuleResolversCollection::new();
    let sandboxed = crate::sandbox::root().is_some();
    resolvers.push(super::modules::ScriptFiles::new(script_dir, sandboxed));
    let mut stdlib = StaticModuleResolver::new();
    for (name, source) in crate::script::stdlib::MODULES {
        let module = engine
            .compile(*source)
            .map_err(|e| e.to_string())
            .and_then(|ast| {
                Module::eval_ast_as_new(Scope::new(), &ast, &engine).map_err(|e| e.to_string())
            });
        match module {
            Ok(m) => stdlib.insert(*name, m),
            Err(e) => eprintln!("warning: stdlib module {name} failed to load: {e}"),
        }
    }
    resolvers.push(stdlib);
    engine.set_module_resolver(resolvers);
    engine.on_progress(|operations| {
        if crate::interrupt::script_must_stop(in_callback()) {
            return Some(Dynamic::from("interrupted by Ctrl-C"));
        }
        if operations % MEMORY_CHECK_EVERY == 0 {
            if let Err(e) = crate::budget::check_process() {
                return Some(Dynamic::from(e.to_string()));
            }
        }
        None
    });
    Session {
        engine: Rc::new(engine),
        docs: Rc::new(docs),
        scope: Scope::new(),
        lib: AST::empty(),
    }
}

impl Session {
    /// Compiles and runs `code`; functions it defines stay available. Errors are located in `name`.
    pub fn eval(&mut self, name: &str, code: &str) -> Result<Dynamic, String> {
        let ast = self
            .engine
            .compile_with_scope(&self.scope, code)
            .map_err(|e| located_message(name, &e.to_string(), e.position()))?;
        self.lib += ast;
        let lib = self.lib.clone_functions_only();
        CURRENT.with(|c| *c.borrow_mut() = Some((self.engine.clone(), lib)));
        let engine = self.engine.clone();
        let scope = &mut self.scope;
        let ast = &self.lib;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            engine.eval_ast_with_scope::<Dynamic>(scope, ast)
        }));
        self.lib.clear_statements();
        match result {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(format!(
                "{}{}",
                describe_error(name, &e),
                scope_hint(&e, &self.scope)
            )),
            Err(panic) => Err(format!("{name}: {}", panic_message(&panic))),
        }
    }

    /// Runs a script file with `args` available as the array `ARGS`.
    pub fn run_file(&mut self, path: &Path, args: &[String]) -> Result<Dynamic, String> {
        let code = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let argv: rhai::Array = args.iter().map(|a| Dynamic::from(a.clone())).collect();
        self.scope.push_constant("ARGS", argv);
        self.scope.push_constant("SHARD", shard_value());
        self.eval(&path.display().to_string(), &code)
    }
}

/// The script constant `SHARD`: `#{index, count}` of this process's shard (`#{index: 0,
/// count: 1}` for a run of its own).
pub fn shard_value() -> rhai::Map {
    let s = crate::shard::current().unwrap_or(crate::shard::Shard { index: 0, count: 1 });
    let mut m = rhai::Map::new();
    m.insert("index".into(), Dynamic::from_int(s.index as i64));
    m.insert("count".into(), Dynamic::from_int(s.count as i64));
    m
}

/// Rhai's rule on what a script function sees, as errors and `check` say it.
pub const FUNCTION_SCOPE: &str = "functions do not see the variables of the script or session that calls them; pass them as parameters, or use a closure, which captures them";

/// For a variable not found inside a script function while the session holds it: Rhai's rule,
/// said in the error (functions see only their parameters and constants, not the variables of
/// the script or session that calls them). Empty otherwise.
fn scope_hint(e: &EvalAltResult, scope: &Scope) -> String {
    let mut inner = e;
    let mut in_function = None;
    loop {
        match inner {
            EvalAltResult::ErrorInFunctionCall(f, _, next, _) => {
                in_function.get_or_insert(f.clone());
                inner = next;
            }
            EvalAltResult::ErrorInModule(_, next, _) => inner = next,
            _ => break,
        }
    }
    match (inner, in_function) {
        (EvalAltResult::ErrorVariableNotFound(var, _), Some(f)) if scope.contains(var) => {
            format!(" (`{var}` in `{f}`: {FUNCTION_SCOPE})")
        }
        _ => String::new(),
    }
}

/// `file:line:col: message` for an error at `pos` (just `file: message` without a position).
pub fn located_message(file: &str, message: &str, pos: Position) -> String {
    let message = strip_position_suffix(message);
    match (pos.line(), pos.position()) {
        (Some(l), Some(c)) => format!("{file}:{l}:{c}: {message}"),
        (Some(l), None) => format!("{file}:{l}: {message}"),
        _ => format!("{file}: {message}"),
    }
}

fn strip_position_suffix(m: &str) -> String {
    match m.rfind(" (line ") {
        Some(i) if m.ends_with(')') => m[..i].to_string(),
        _ => m.to_string(),
    }
}

/// The message of the innermost error under calls of script functions, and the outermost
/// position known for it.
fn root_cause(e: &EvalAltResult) -> (String, Position) {
    let mut inner = e;
    let mut pos = e.position();
    // Unwrap errors raised inside called script functions and imported modules down to the
    // root cause.
    loop {
        let (next, p) = match inner {
            EvalAltResult::ErrorInFunctionCall(_, _, next, p) => (next, p),
            EvalAltResult::ErrorInModule(_, next, p) => (next, p),
            _ => break,
        };
        if pos.is_none() {
            pos = *p;
        }
        inner = next;
    }
    let p = if inner.position().is_none() {
        pos
    } else {
        inner.position()
    };
    let msg = match inner {
        EvalAltResult::ErrorRuntime(v, _) => v.to_string(),
        // The token is the reason the progress hook gave: Ctrl-C or the memory check.
        EvalAltResult::ErrorTerminated(token, _) => token
            .clone()
            .into_string()
            .unwrap_or_else(|_| "interrupted by Ctrl-C".to_string()),
        EvalAltResult::ErrorFunctionNotFound(sig, _) => {
            not_found_message(sig).unwrap_or_else(|| inner.to_string())
        }
        other => other.to_string(),
    };
    (msg, p)
}

/// For a documented function called with arguments of the wrong types (`seed("x")`), what it
/// was given and what it takes, from the docs: `seed takes seed(n: int), not (string)`.
fn not_found_message(sig: &str) -> Option<String> {
    let (name, args) = sig.split_once(" (")?;
    let args = args.strip_suffix(')')?;
    let bare = name.rsplit("::").next().unwrap_or(name);
    let docs = super::docs();
    let takes: Vec<String> = docs
        .all()
        .filter(|d| d.name == bare || (d.method && d.bare_name() == bare))
        .flat_map(|d| d.signatures.iter().cloned())
        .collect();
    if takes.is_empty() {
        return None;
    }
    let given: Vec<String> = split_types(args).iter().map(|t| script_type(t)).collect();
    Some(format!(
        "{bare} takes {}, not ({})",
        takes.join(" or "),
        given.join(", ")
    ))
}

/// The argument types of a Rhai signature, split at top-level commas.
fn split_types(args: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in args.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(args[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if !args[start..].trim().is_empty() {
        out.push(args[start..].trim());
    }
    out
}

/// A Rust type name as Rhai reports it, in the words of the docs.
fn script_type(t: &str) -> String {
    let t = t.trim();
    let last = t.rsplit("::").next().unwrap_or(t);
    match last {
        _ if t.contains("ImmutableString") || t.contains("&str") || last == "String" => "string",
        "i64" | "i32" | "INT" => "int",
        "f64" | "f32" | "FLOAT" => "float",
        "bool" => "bool",
        "char" => "char",
        "()" => "()",
        _ if last.starts_with("Vec<Dynamic>") || last.starts_with("Array") => "array",
        _ if last.contains("Map") => "map",
        "FnPtr" => "function",
        _ => last,
    }
    .to_string()
}

/// Describes a runtime error: the innermost message at the outermost known position.
fn describe_error(file: &str, e: &EvalAltResult) -> String {
    let (msg, p) = root_cause(e);
    located_message(file, &msg, p)
}
