//! Source analysis shared by the REPL, `telescope check` and the language server: a small
//! lexer, the catalog of callable functions (from the docs metadata and the engine's own
//! function metadata), diagnostics over the Rhai AST, completion and signature context.
//!
//! Nothing here knows a telescope function by name: everything comes from [`Docs`] and from
//! the engine, so functions added anywhere show up in completion, help and checks.

use crate::script::names::close_names;
use crate::script::{Docs, FnDoc};
use rhai::{ASTNode, Engine, Expr, Stmt};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Rhai keywords (highlighted, and offered by completion).
pub const KEYWORDS: &[&str] = &[
    "let", "const", "fn", "if", "else", "while", "loop", "for", "in", "do", "until", "break",
    "continue", "return", "throw", "try", "catch", "import", "export", "as", "private", "switch",
    "true", "false", "this", "global",
];

/// Functions the Rhai language provides as keywords (any number of arguments is accepted).
pub const KEYWORD_FNS: &[&str] = &[
    "print",
    "debug",
    "type_of",
    "eval",
    "Fn",
    "call",
    "curry",
    "is_shared",
    "is_def_fn",
    "is_def_var",
];

// ---------------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------------

/// Kind of a lexical token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    /// An identifier.
    Ident,
    /// A Rhai keyword.
    Keyword,
    /// A number literal.
    Number,
    /// A string or character literal; `closed` is false when it runs to the end of the input.
    Str {
        /// The closing quote was seen.
        closed: bool,
    },
    /// A line or block comment; `closed` is false for an unterminated block comment.
    Comment {
        /// The comment is complete.
        closed: bool,
    },
    /// A punctuation character (operators, brackets, `.`, `,`, ...).
    Punct(char),
    /// Spaces, tabs and newlines.
    Space,
}

/// A token and its byte range in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: Tok,
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset just past it.
    pub end: usize,
}

/// Splits `src` into tokens (never fails: unknown characters become punctuation).
pub fn lex(src: &str) -> Vec<Token> {
    let b: Vec<(usize, char)> = src.char_indices().collect();
    let n = b.len();
    let at = |i: usize| if i < n { b[i].0 } else { src.len() };
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        let (start, c) = b[i];
        let next = if i + 1 < n { Some(b[i + 1].1) } else { None };
        let kind;
        if c.is_whitespace() {
            while i < n && b[i].1.is_whitespace() {
                i += 1;
            }
            kind = Tok::Space;
        } else if c == '/' && next == Some('/') {
            while i < n && b[i].1 != '\n' {
                i += 1;
            }
            kind = Tok::Comment { closed: true };
        } else if c == '/' && next == Some('*') {
            i += 2;
            let mut depth = 1;
            while i < n && depth > 0 {
                if b[i].1 == '*' && i + 1 < n && b[i + 1].1 == '/' {
                    depth -= 1;
                    i += 2;
                } else if b[i].1 == '/' && i + 1 < n && b[i + 1].1 == '*' {
                    depth += 1;
                    i += 2;
                } else {
                    i += 1;
                }
            }
            kind = Tok::Comment { closed: depth == 0 };
        } else if c == '"' || c == '`' || c == '\'' {
            i += 1;
            let mut closed = false;
            while i < n {
                let d = b[i].1;
                if d == '\\' && c != '`' {
                    i += 2;
                    continue;
                }
                i += 1;
                if d == c {
                    closed = true;
                    break;
                }
            }
            i = i.min(n);
            kind = Tok::Str { closed };
        } else if c.is_ascii_digit() {
            while i < n {
                let d = b[i].1;
                let exp_sign = (d == '-' || d == '+')
                    && i > 0
                    && matches!(b[i - 1].1, 'e' | 'E')
                    && !src[start..at(i)].starts_with("0x");
                let dot = d == '.' && i + 1 < n && b[i + 1].1.is_ascii_digit();
                if d.is_ascii_alphanumeric() || d == '_' || dot || exp_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            kind = Tok::Number;
        } else if c.is_alphabetic() || c == '_' {
            while i < n && (b[i].1.is_alphanumeric() || b[i].1 == '_') {
                i += 1;
            }
            kind = if KEYWORDS.contains(&&src[start..at(i)]) {
                Tok::Keyword
            } else {
                Tok::Ident
            };
        } else {
            i += 1;
            kind = Tok::Punct(c);
        }
        out.push(Token {
            kind,
            start,
            end: at(i),
        });
    }
    out
}

/// True when the input ends inside brackets, a string or a block comment, or after an
/// operator, so an interactive reader should ask for another line.
pub fn is_unfinished(code: &str) -> bool {
    let toks = lex(code);
    let mut depth = 0i32;
    for t in &toks {
        match t.kind {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            _ => {}
        }
    }
    if depth > 0 {
        return true;
    }
    match toks
        .iter()
        .rev()
        .find(|t| !matches!(t.kind, Tok::Space | Tok::Comment { closed: true }))
    {
        Some(t) => match t.kind {
            Tok::Str { closed } | Tok::Comment { closed } => !closed,
            Tok::Punct(c) => depth == 0 && "+-*/%=<>&|^,.".contains(c),
            _ => false,
        },
        None => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Catalog of callable things
// ---------------------------------------------------------------------------------------------

/// A function or method the engine provides outside the telescope docs (Rhai's standard
/// library), as read from the engine's metadata.
#[derive(Clone, Debug)]
pub struct BuiltinFn {
    /// Name as called (getters without their `get$` prefix).
    pub name: String,
    /// Number of parameters, counting the receiver.
    pub arity: usize,
    /// Normalised type of the first parameter (`string`, `array`, `map`, `i64`, ...), if any.
    pub receiver: Option<String>,
    /// Signature as Rhai prints it.
    pub signature: String,
    /// First line of its doc comment.
    pub summary: String,
    /// A property getter (`x.len` rather than `x.len()`).
    pub getter: bool,
}

/// Everything that can be called, with arities: the docs plus the engine's metadata.
pub struct Catalog {
    /// The telescope docs.
    pub docs: Rc<Docs>,
    /// Every function name known to the engine with the parameter counts it accepts.
    pub arities: BTreeMap<String, BTreeSet<usize>>,
    /// Rhai standard-library functions (used for method completion on strings, arrays, maps).
    pub builtins: Vec<BuiltinFn>,
}

/// Normalises a Rust/Rhai parameter type to the name `type_of` gives its values.
pub fn normalize_type(t: &str) -> String {
    let t = t
        .trim()
        .trim_start_matches('&')
        .trim_start_matches("mut ")
        .trim();
    let short = t.rsplit("::").next().unwrap_or(t);
    match short {
        "ImmutableString" | "str" | "String" | "string" => "string".into(),
        "Array" | "array" => "array".into(),
        "Map" | "map" => "map".into(),
        "Blob" | "blob" => "blob".into(),
        "INT" | "i64" | "int" => "i64".into(),
        "FLOAT" | "f64" | "float" => "f64".into(),
        "FnPtr" | "Fn" => "Fn".into(),
        s if s.starts_with("Range") => "range".into(),
        s => s.to_string(),
    }
}

/// `name(param: type, ...) -> type` of an engine function, in script type names.
fn builtin_signature(name: &str, f: &serde_json::Value) -> String {
    let pretty = |t: &str| {
        let t = t.trim();
        let t = match t.strip_prefix("Result<") {
            Some(inner) => inner.rsplit_once(',').map(|(a, _)| a).unwrap_or(inner),
            None => t,
        };
        normalize_type(t)
    };
    let params: Vec<String> = f["params"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let ty = p["type"].as_str().map(pretty).unwrap_or_else(|| "?".into());
            match p["name"].as_str() {
                Some(n) => format!("{n}: {ty}"),
                None => ty,
            }
        })
        .collect();
    let mut s = format!("{name}({})", params.join(", "));
    if let Some(r) = f["returnType"]
        .as_str()
        .filter(|r| !r.is_empty() && *r != "()")
    {
        s.push_str(&format!(" -> {}", pretty(r)));
    }
    s
}

impl Catalog {
    /// Reads the engine's function metadata (standard packages included) and the docs.
    pub fn new(engine: &Engine, docs: Rc<Docs>) -> Self {
        let mut arities: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
        let mut builtins = Vec::new();
        let json: serde_json::Value = engine
            .gen_fn_metadata_to_json(true)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        let documented: BTreeSet<&str> = docs.all().map(|d| d.bare_name()).collect();
        for f in json["functions"].as_array().into_iter().flatten() {
            let (Some(name), Some(np)) = (f["name"].as_str(), f["numParams"].as_u64()) else {
                continue;
            };
            arities
                .entry(name.to_string())
                .or_default()
                .insert(np as usize);
            if f["isAnonymous"].as_bool() == Some(true) || documented.contains(name) {
                continue;
            }
            let getter = name.starts_with("get$");
            let bare = name.strip_prefix("get$").unwrap_or(name);
            if bare.contains('$') || !bare.starts_with(|c: char| c.is_alphabetic() || c == '_') {
                continue;
            }
            let receiver = f["params"]
                .get(0)
                .and_then(|p| p["type"].as_str())
                .map(normalize_type);
            let summary = f["docComments"]
                .get(0)
                .and_then(|d| d.as_str())
                .and_then(|d| d.lines().next())
                .unwrap_or("")
                .trim_start_matches('/')
                .trim()
                .to_string();
            builtins.push(BuiltinFn {
                name: bare.to_string(),
                arity: np as usize,
                receiver,
                signature: builtin_signature(bare, f),
                summary,
                getter,
            });
        }
        for d in docs.all() {
            let e = arities.entry(d.bare_name().to_string()).or_default();
            e.extend(d.arities.iter().copied());
        }
        builtins.sort_by(|a, b| (&a.name, &a.signature).cmp(&(&b.name, &b.signature)));
        Catalog {
            docs,
            arities,
            builtins,
        }
    }

    /// The catalog of a fresh telescope engine.
    pub fn standard() -> (Engine, Catalog) {
        let (mut engine, docs) = crate::script::build_engine();
        engine.set_optimization_level(rhai::OptimizationLevel::None);
        let cat = Catalog::new(&engine, Rc::new(docs));
        (engine, cat)
    }

    /// Signatures to show for a call of `name` (docs first, then Rhai's own).
    pub fn signatures(&self, name: &str, method: bool) -> Vec<String> {
        if let Some(d) = self.doc(name, method) {
            return d.signatures.clone();
        }
        let mut v: Vec<String> = self
            .builtins
            .iter()
            .filter(|b| b.name == name && !b.getter)
            .map(|b| b.signature.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The doc entry for a call of `name` (a method entry is preferred after a `.`).
    pub fn doc(&self, name: &str, method: bool) -> Option<&FnDoc> {
        if method {
            if let Some(d) = self.docs.all().find(|d| d.method && d.bare_name() == name) {
                return Some(d);
            }
        }
        self.docs.get(name)
    }

    /// Every known function name (for suggestions).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.arities
            .keys()
            .map(String::as_str)
            .filter(|n| !n.contains('$') && n.starts_with(|c: char| c.is_alphabetic() || c == '_'))
    }
}

// ---------------------------------------------------------------------------------------------
// Diagnostics
// ---------------------------------------------------------------------------------------------

/// A problem found in a script, at a 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub col: usize,
    /// What is wrong.
    pub message: String,
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn list_counts(set: &BTreeSet<usize>) -> String {
    let v: Vec<String> = set.iter().map(|n| n.to_string()).collect();
    match v.len() {
        0 => "no".into(),
        1 => v[0].clone(),
        _ => format!("{} or {}", v[..v.len() - 1].join(", "), v[v.len() - 1]),
    }
}

/// Parses `code` and reports parse errors, calls to unknown functions and wrong argument
/// counts, sorted by position. `engine` should be built like the session's (same functions).
pub fn diagnose(engine: &Engine, cat: &Catalog, code: &str) -> Vec<Diagnostic> {
    let ast = match engine.compile(code) {
        Ok(a) => a,
        Err(e) => {
            let p = e.position();
            let msg = e.to_string();
            let msg = match msg.rfind(" (line ") {
                Some(i) if msg.ends_with(')') => msg[..i].to_string(),
                _ => msg,
            };
            return vec![Diagnostic {
                line: p.line().unwrap_or(1),
                col: p.position().unwrap_or(1),
                message: msg,
            }];
        }
    };
    // Functions the script defines: name -> parameter counts.
    let mut script_fns: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    for f in ast.iter_functions() {
        script_fns
            .entry(f.name.to_string())
            .or_default()
            .insert(f.params.len());
        names.extend(f.params.iter().map(|p| p.to_string()));
    }
    // Variables anywhere in the script (calling one as `f(x)` gets its own message).
    ast.walk(&mut |path: &[ASTNode]| {
        if let Some(ASTNode::Stmt(Stmt::Var(x, ..))) = path.last() {
            names.insert(x.0.name.to_string());
        }
        true
    });
    let mut out = Vec::new();
    let mut opt_diags = Vec::new();
    let mut report = |name: &str, nargs: usize, method: bool, pos: rhai::Position| {
        if name.contains('$')
            || !name.starts_with(|c: char| c.is_alphabetic() || c == '_')
            || KEYWORD_FNS.contains(&name)
        {
            return;
        }
        let native = cat.arities.get(name);
        let script = script_fns.get(name);
        if native.is_none() && script.is_none() {
            if names.contains(name) && !method {
                // Rhai does not call a function pointer through `f(x)`.
                out.push(Diagnostic {
                    line: pos.line().unwrap_or(1),
                    col: pos.position().unwrap_or(1),
                    message: format!("`{name}` is a variable, not a function: call a function pointer as `{name}.call(...)`"),
                });
                return;
            }
            let mut msg = format!("unknown function `{name}`");
            let sugg = close_names(
                name,
                cat.names().chain(script_fns.keys().map(String::as_str)),
                3,
            );
            if !sugg.is_empty() {
                msg.push_str(&format!(
                    " (did you mean {}?)",
                    sugg.iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            out.push(Diagnostic {
                line: pos.line().unwrap_or(1),
                col: pos.position().unwrap_or(1),
                message: msg,
            });
            return;
        }
        let full = nargs + usize::from(method);
        let ok_native = native.is_some_and(|a| a.contains(&full));
        // A script function called as a method may use `this` (receiver not counted) or not.
        let ok_script = script.is_some_and(|a| a.contains(&full) || (method && a.contains(&nargs)));
        if ok_native || ok_script {
            return;
        }
        let mut accepted: BTreeSet<usize> = native.cloned().unwrap_or_default();
        accepted.extend(script.into_iter().flatten().copied());
        let msg = if method {
            let after: BTreeSet<usize> = accepted
                .iter()
                .filter(|&&n| n >= 1)
                .map(|n| n - 1)
                .collect();
            format!(
                "method `{name}` takes {} argument{} after the receiver, but {nargs} {} given",
                list_counts(&after),
                plural(after.iter().copied().max().unwrap_or(0)),
                if nargs == 1 { "was" } else { "were" }
            )
        } else {
            format!(
                "`{name}` takes {} argument{}, but {nargs} {} given",
                list_counts(&accepted),
                plural(accepted.iter().copied().max().unwrap_or(0)),
                if nargs == 1 { "was" } else { "were" }
            )
        };
        let sig = cat.signatures(name, method);
        let msg = match sig.len() {
            0 => msg,
            1..=3 => format!("{msg}: {}", sig.join("; ")),
            n => format!("{msg}: {} (and {} more)", sig[..3].join("; "), n - 3),
        };
        out.push(Diagnostic {
            line: pos.line().unwrap_or(1),
            col: pos.position().unwrap_or(1),
            message: msg,
        });
    };
    ast.walk(&mut |path: &[ASTNode]| {
        match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(x, pos)))
            | Some(ASTNode::Stmt(Stmt::FnCall(x, pos)))
                if !x.is_qualified() && x.op_token.is_none() =>
            {
                report(&x.name, x.args.len(), false, *pos);
                option_keys(cat, &x.name, false, &x.args, &mut opt_diags);
            }
            Some(ASTNode::Expr(Expr::MethodCall(x, pos))) if !x.is_qualified() => {
                report(&x.name, x.args.len(), true, *pos);
                option_keys(cat, &x.name, true, &x.args, &mut opt_diags);
            }
            _ => {}
        }
        true
    });
    out.extend(opt_diags);
    out.sort_by_key(|d| (d.line, d.col));
    out.dedup();
    out
}

/// Keys of literal option maps `#{...}` passed to a function with documented options, that
/// the function does not know (it would reject them when run).
fn option_keys(cat: &Catalog, name: &str, method: bool, args: &[Expr], out: &mut Vec<Diagnostic>) {
    let Some(doc) = cat.doc(name, method).filter(|d| !d.options.is_empty()) else {
        return;
    };
    for arg in args {
        let Expr::Map(m, _) = arg else { continue };
        for (key, _) in m.0.iter() {
            if doc.options.iter().any(|o| o.name == key.name.as_str()) {
                continue;
            }
            let mut msg = format!("`{name}` has no option `{}`", key.name);
            let close = close_names(&key.name, doc.options.iter().map(|o| o.name.as_str()), 3);
            if !close.is_empty() {
                let list: Vec<String> = close.iter().map(|c| format!("`{c}`")).collect();
                msg.push_str(&format!(" (did you mean {}?)", list.join(", ")));
            }
            out.push(Diagnostic {
                line: key.pos.line().unwrap_or(1),
                col: key.pos.position().unwrap_or(1),
                message: msg,
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Completion and call context
// ---------------------------------------------------------------------------------------------

/// What a completion item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    /// A function.
    Function,
    /// A method or property after a `.`.
    Method,
    /// A variable in scope.
    Variable,
    /// A language keyword.
    Keyword,
    /// A key of a function's options map.
    OptionKey,
    /// A module name after `import`.
    Module,
    /// A file or directory name inside a string.
    File,
}

/// One completion candidate.
#[derive(Clone, Debug)]
pub struct Item {
    /// The name shown and matched.
    pub label: String,
    /// Text that replaces the word being completed.
    pub insert: String,
    /// Signature, type or default shown beside the label.
    pub detail: String,
    /// Kind of item.
    pub kind: ItemKind,
}

/// What the completer knows about the surroundings: variables (with their types when known),
/// functions defined by the user, and the directory for file and module names.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// Variables: name and type name (as `type_of` gives it, custom types by their script name).
    pub vars: Vec<(String, Option<String>)>,
    /// User-defined functions: name and parameter names.
    pub script_fns: Vec<(String, Vec<String>)>,
    /// Directory that relative paths and `.rhai` modules are looked up in.
    pub base_dir: PathBuf,
}

impl Env {
    /// Scans source text for `let`/`const` variables, `for` loop variables and `fn` definitions
    /// (works on unfinished code, for the language server).
    pub fn scan(src: &str, base_dir: &Path) -> Env {
        let toks: Vec<Token> = lex(src)
            .into_iter()
            .filter(|t| !matches!(t.kind, Tok::Space | Tok::Comment { .. }))
            .collect();
        let text = |t: &Token| &src[t.start..t.end];
        let mut env = Env {
            base_dir: base_dir.to_path_buf(),
            ..Default::default()
        };
        for (i, t) in toks.iter().enumerate() {
            if t.kind != Tok::Keyword {
                continue;
            }
            let Some(next) = toks.get(i + 1).filter(|n| n.kind == Tok::Ident) else {
                continue;
            };
            match text(t) {
                "let" | "const" | "for" if !env.vars.iter().any(|(n, _)| n == text(next)) => {
                    env.vars.push((text(next).to_string(), None));
                }
                "fn" => {
                    let mut params = Vec::new();
                    let mut j = i + 3;
                    while let Some(p) = toks.get(j) {
                        match p.kind {
                            Tok::Ident => params.push(text(p).to_string()),
                            Tok::Punct(',') => {}
                            _ => break,
                        }
                        j += 1;
                    }
                    env.script_fns.push((text(next).to_string(), params));
                }
                _ => {}
            }
        }
        env
    }
}

/// The call that encloses the cursor: function name, whether it is a method call, the index
/// of the argument being typed, and the byte offset of the name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallContext {
    /// Name of the function or method.
    pub name: String,
    /// Called as `x.name(...)`.
    pub method: bool,
    /// 0-based index of the argument under the cursor.
    pub arg_index: usize,
}

fn significant(toks: &[Token]) -> Vec<Token> {
    toks.iter()
        .filter(|t| !matches!(t.kind, Tok::Space | Tok::Comment { .. }))
        .copied()
        .collect()
}

/// The innermost unclosed call around the end of `text`.
pub fn call_context(text: &str) -> Option<CallContext> {
    let toks = significant(&lex(text));
    // Stack of open brackets: (char, index into toks, commas seen at that level).
    let mut stack: Vec<(char, usize, usize)> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        match t.kind {
            Tok::Punct(c @ ('(' | '[' | '{')) => stack.push((c, i, 0)),
            Tok::Punct(')' | ']' | '}') => {
                stack.pop();
            }
            Tok::Punct(',') => {
                if let Some(top) = stack.last_mut() {
                    top.2 += 1;
                }
            }
            _ => {}
        }
    }
    for &(c, i, commas) in stack.iter().rev() {
        if c != '(' {
            continue;
        }
        let name_tok = i.checked_sub(1).map(|j| toks[j])?;
        if name_tok.kind != Tok::Ident {
            return None;
        }
        let method = i >= 2 && toks[i - 2].kind == Tok::Punct('.');
        return Some(CallContext {
            name: text[name_tok.start..name_tok.end].to_string(),
            method,
            arg_index: commas,
        });
    }
    None
}

/// Completion of the text before the cursor: the byte offset where the replaced word starts,
/// and the candidates whose label starts with that word.
pub fn complete(cat: &Catalog, env: &Env, text: &str) -> (usize, Vec<Item>) {
    let all = lex(text);
    let last = all.last().copied();
    // Inside a string: module names after `import`, else file paths.
    if let Some(t) =
        last.filter(|t| matches!(t.kind, Tok::Str { closed: false }) && t.end == text.len())
    {
        let content = &text[t.start + 1..];
        let sig = significant(&all[..all.len() - 1]);
        if sig
            .last()
            .is_some_and(|p| &text[p.start..p.end] == "import")
        {
            let start = t.start + 1;
            return (start, module_items(env, content, true));
        }
        return complete_path(env, text, content);
    }
    let (word, start) = match last {
        Some(t) if matches!(t.kind, Tok::Ident | Tok::Keyword) && t.end == text.len() => {
            (&text[t.start..], t.start)
        }
        _ => ("", text.len()),
    };
    let before = significant(&lex(&text[..start]));
    let prev = before.last().copied();
    let prev_text = prev.map(|p| &text[p.start..p.end]).unwrap_or("");
    let mut items = Vec::new();
    if prev_text == "." {
        let recv = before
            .len()
            .checked_sub(2)
            .map(|j| before[j])
            .filter(|t| t.kind == Tok::Ident)
            .map(|t| &text[t.start..t.end]);
        let ty = recv
            .and_then(|r| env.vars.iter().find(|(n, _)| n == r))
            .and_then(|(_, t)| t.clone());
        items = method_items(cat, ty.as_deref());
    } else if prev_text == "import" {
        items = module_items(env, word, false);
    } else if let Some(f) = options_context(text, &before) {
        if let Some(d) = cat.docs.get(&f) {
            for o in &d.options {
                items.push(Item {
                    label: o.name.clone(),
                    insert: format!("{}: ", o.name),
                    detail: format!("default {} — {}", o.default, o.doc),
                    kind: ItemKind::OptionKey,
                });
            }
        }
    } else {
        for (n, t) in &env.vars {
            items.push(Item {
                label: n.clone(),
                insert: n.clone(),
                detail: t.clone().unwrap_or_default(),
                kind: ItemKind::Variable,
            });
        }
        for (n, params) in &env.script_fns {
            items.push(Item {
                label: n.clone(),
                insert: format!("{n}("),
                detail: format!("fn {n}({})", params.join(", ")),
                kind: ItemKind::Function,
            });
        }
        for d in cat.docs.all().filter(|d| !d.method) {
            let detail = d
                .signatures
                .first()
                .cloned()
                .unwrap_or_else(|| d.name.clone());
            items.push(Item {
                label: d.name.clone(),
                insert: format!("{}(", d.name),
                detail,
                kind: ItemKind::Function,
            });
        }
        for k in KEYWORDS {
            items.push(Item {
                label: k.to_string(),
                insert: k.to_string(),
                detail: "keyword".into(),
                kind: ItemKind::Keyword,
            });
        }
        for k in KEYWORD_FNS {
            items.push(Item {
                label: k.to_string(),
                insert: format!("{k}("),
                detail: "built-in".into(),
                kind: ItemKind::Function,
            });
        }
    }
    items.retain(|i| i.label.starts_with(word));
    let mut seen = BTreeSet::new();
    items.retain(|i| seen.insert(i.label.clone()));
    (start, items)
}

/// The function whose options map the cursor is in, when it is at a key position
/// (`f(x, #{` or `f(x, #{a: 1, `).
fn options_context(text: &str, before: &[Token]) -> Option<String> {
    let prev = before.last()?;
    if !matches!(prev.kind, Tok::Punct('{' | ',')) {
        return None;
    }
    let mut stack: Vec<usize> = Vec::new();
    for (i, t) in before.iter().enumerate() {
        match t.kind {
            Tok::Punct('(' | '[' | '{') => stack.push(i),
            Tok::Punct(')' | ']' | '}') => {
                stack.pop();
            }
            _ => {}
        }
    }
    let &brace = stack.last()?;
    if before[brace].kind != Tok::Punct('{')
        || brace == 0
        || before[brace - 1].kind != Tok::Punct('#')
    {
        return None;
    }
    let &paren = stack.get(stack.len().checked_sub(2)?)?;
    if before[paren].kind != Tok::Punct('(') || paren == 0 || before[paren - 1].kind != Tok::Ident {
        return None;
    }
    let f = before[paren - 1];
    Some(text[f.start..f.end].to_string())
}

/// Methods and properties of values of type `ty` (all documented methods when unknown).
pub fn method_items(cat: &Catalog, ty: Option<&str>) -> Vec<Item> {
    let mut items = Vec::new();
    for d in cat.docs.all().filter(|d| d.method) {
        let on = d.name.rsplit_once('.').map(|(t, _)| t).unwrap_or("");
        if ty.is_some_and(|t| t != on) {
            continue;
        }
        let getter = d.signatures.iter().all(|s| !s.contains('('));
        let insert = if getter {
            d.bare_name().to_string()
        } else {
            format!("{}(", d.bare_name())
        };
        let detail = d.signatures.first().cloned().unwrap_or_default();
        items.push(Item {
            label: d.bare_name().to_string(),
            insert,
            detail,
            kind: ItemKind::Method,
        });
    }
    if let Some(t) = ty {
        let t = normalize_type(t);
        for b in cat
            .builtins
            .iter()
            .filter(|b| b.arity >= 1 && b.receiver.as_deref() == Some(t.as_str()))
        {
            let insert = if b.getter {
                b.name.clone()
            } else {
                format!("{}(", b.name)
            };
            items.push(Item {
                label: b.name.clone(),
                insert,
                detail: b.signature.clone(),
                kind: ItemKind::Method,
            });
        }
    }
    items.sort_by(|a, b| a.label.cmp(&b.label));
    items
}

fn module_items(env: &Env, prefix: &str, in_string: bool) -> Vec<Item> {
    let mut names: Vec<String> = crate::script::stdlib::MODULES
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    if let Ok(rd) = std::fs::read_dir(if env.base_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &env.base_dir
    }) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "rhai") {
                if let Some(s) = p.file_stem().and_then(|s| s.to_str()) {
                    names.push(s.to_string());
                }
            }
        }
    }
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .map(|n| {
            let insert = if in_string {
                format!("{n}\"")
            } else {
                format!("\"{n}\"")
            };
            Item {
                label: n,
                insert,
                detail: "module".into(),
                kind: ItemKind::Module,
            }
        })
        .collect()
}

fn complete_path(env: &Env, text: &str, content: &str) -> (usize, Vec<Item>) {
    let (dir_part, file_part) = match content.rfind('/') {
        Some(i) => (&content[..=i], &content[i + 1..]),
        None => ("", content),
    };
    let start = text.len() - file_part.len();
    let dir = if dir_part.starts_with('/') {
        PathBuf::from(dir_part)
    } else if let Some(rest) = dir_part.strip_prefix("~/") {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(rest)
    } else {
        let base = if env.base_dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            env.base_dir.clone()
        };
        base.join(dir_part)
    };
    let mut items = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let Some(name) = e.file_name().to_str().map(String::from) else {
                continue;
            };
            if !name.starts_with(file_part)
                || (name.starts_with('.') && !file_part.starts_with('.'))
            {
                continue;
            }
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            let insert = if is_dir {
                format!("{name}/")
            } else {
                name.clone()
            };
            items.push(Item {
                label: insert.clone(),
                insert,
                detail: if is_dir {
                    "directory".into()
                } else {
                    "file".into()
                },
                kind: ItemKind::File,
            });
        }
    }
    items.sort_by(|a, b| a.label.cmp(&b.label));
    (start, items)
}

/// The identifier that contains byte offset `pos` (or ends at it): its range and whether it
/// follows a `.` (a method or property).
pub fn word_at(text: &str, pos: usize) -> Option<(usize, usize, bool)> {
    let toks = lex(text);
    let i = toks.iter().position(|t| {
        matches!(t.kind, Tok::Ident | Tok::Keyword)
            && t.start <= pos
            && pos <= t.end
            && (pos < t.end || t.end == pos)
    })?;
    let t = toks[i];
    let method = toks[..i]
        .iter()
        .rev()
        .find(|p| !matches!(p.kind, Tok::Space))
        .is_some_and(|p| p.kind == Tok::Punct('.'));
    Some((t.start, t.end, method))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfinished_inputs() {
        assert!(is_unfinished("let x = [1,"));
        assert!(is_unfinished("fn f() {"));
        assert!(is_unfinished("let s = \"abc"));
        assert!(is_unfinished("let x = 1 +"));
        assert!(is_unfinished("/* open"));
        assert!(!is_unfinished("let x = [1, 2]"));
        assert!(!is_unfinished("let s = \"(\"; // ("));
        assert!(!is_unfinished("x)"));
    }

    #[test]
    fn call_context_finds_innermost_call_and_argument() {
        let c = call_context("foo(1, bar(2, [3, 4], ").unwrap();
        assert_eq!(
            c,
            CallContext {
                name: "bar".into(),
                method: false,
                arg_index: 2
            }
        );
        let c = call_context("x.baz(").unwrap();
        assert!(c.method);
        assert_eq!(call_context("foo(1)"), None);
    }

    #[test]
    fn completes_from_docs_and_env() {
        let (_, cat) = Catalog::standard();
        let env = Env {
            vars: vec![("seedling".into(), Some("i64".into()))],
            ..Default::default()
        };
        let (start, items) = complete(&cat, &env, "let a = see");
        assert_eq!(start, 8);
        let labels: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
        assert!(
            labels.contains(&"seed") && labels.contains(&"seedling"),
            "{labels:?}"
        );
        let seed = items.iter().find(|i| i.label == "seed").unwrap();
        assert_eq!(seed.detail, cat.docs.get("seed").unwrap().signatures[0]);
        // String methods come from the engine's metadata.
        let env = Env {
            vars: vec![("s".into(), Some("string".into()))],
            ..Default::default()
        };
        let (_, items) = complete(&cat, &env, "s.to_up");
        assert!(items.iter().any(|i| i.label == "to_upper"), "{items:?}");
    }

    #[test]
    fn completes_option_keys_of_the_called_function() {
        let (engine, _) = Catalog::standard();
        let mut docs = Docs::default();
        docs.add(
            "test",
            "mapper",
            "mapper(U: Energy, opts: map) -> map",
            2,
            "Maps.",
            false,
        );
        docs.set_options(
            "mapper",
            &[
                ("alpha", "1.0", "magnetization"),
                ("temperature", "1.0", "T"),
            ],
        );
        let cat = Catalog::new(&engine, Rc::new(docs));
        let (start, items) = complete(&cat, &Env::default(), "mapper(U, #{al");
        assert_eq!(start, 12);
        assert_eq!(
            items.iter().map(|i| i.label.as_str()).collect::<Vec<_>>(),
            ["alpha"]
        );
        let (_, items) = complete(&cat, &Env::default(), "mapper(U, #{alpha: 2, ");
        assert_eq!(items.len(), 2);
        // A value position is not a key position.
        let (_, items) = complete(&cat, &Env::default(), "mapper(U, #{alpha: ");
        assert!(items.iter().all(|i| i.kind != ItemKind::OptionKey));
    }

    #[test]
    fn completes_modules_after_import_and_paths_in_strings() {
        let (_, cat) = Catalog::standard();
        let dir = std::env::temp_dir().join(format!("telescope-complete-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::write(dir.join("mymod.rhai"), "fn f() { 1 }").unwrap();
        std::fs::write(dir.join("data/points.csv"), "1,2").unwrap();
        let env = Env {
            base_dir: dir.clone(),
            ..Default::default()
        };
        let module = crate::script::stdlib::MODULES[0].0;
        let text = format!("import \"{}", &module[..1]);
        let (start, items) = complete(&cat, &env, &text);
        assert_eq!(start, 8);
        assert!(
            items
                .iter()
                .any(|i| i.label == module && i.insert == format!("{module}\"")),
            "{items:?}"
        );
        let (_, items) = complete(&cat, &env, "import \"my");
        assert_eq!(
            items.iter().map(|i| i.label.as_str()).collect::<Vec<_>>(),
            ["mymod"]
        );
        let (start, items) = complete(&cat, &env, "let p = load(\"da");
        assert_eq!((start, items[0].insert.as_str()), (14, "data/"));
        let (start, items) = complete(&cat, &env, "let p = load(\"data/po");
        assert_eq!((start, items[0].insert.as_str()), (19, "points.csv"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn builtin_signatures_use_script_type_names() {
        let (_, cat) = Catalog::standard();
        let b = cat
            .builtins
            .iter()
            .find(|b| b.name == "to_upper" && b.receiver.as_deref() == Some("string"))
            .unwrap();
        assert_eq!(b.signature, "to_upper(string: string) -> string");
        assert!(cat
            .builtins
            .iter()
            .all(|b| !b.signature.contains("EvalAltResult")));
    }

    #[test]
    fn unknown_option_keys_are_reported() {
        let mut engine = Engine::new();
        engine.set_optimization_level(rhai::OptimizationLevel::None);
        engine.register_fn("mapper", |_: i64, _: rhai::Map| 0_i64);
        let mut docs = Docs::default();
        docs.add(
            "test",
            "mapper",
            "mapper(n: int, opts: map) -> int",
            2,
            "Maps.",
            false,
        );
        docs.set_options(
            "mapper",
            &[
                ("alpha", "1.0", "magnetization"),
                ("temperature", "1.0", "T"),
            ],
        );
        let cat = Catalog::new(&engine, Rc::new(docs));
        let d = diagnose(
            &engine,
            &cat,
            "let a = mapper(1, #{alpha: 2});\nmapper(2, #{ alfa: 1, temperature: 2 });",
        );
        assert_eq!(
            d,
            vec![Diagnostic {
                line: 2,
                col: 14,
                message: "`mapper` has no option `alfa` (did you mean `alpha`?)".into()
            }]
        );
    }

    #[test]
    fn env_scan_finds_definitions() {
        let env = Env::scan(
            "let a = 1;\nfn g(x, y) { x }\nfor i in 0..3 {}",
            Path::new("."),
        );
        assert_eq!(
            env.vars.iter().map(|v| v.0.as_str()).collect::<Vec<_>>(),
            ["a", "i"]
        );
        assert_eq!(
            env.script_fns,
            vec![("g".to_string(), vec!["x".to_string(), "y".to_string()])]
        );
    }
}
