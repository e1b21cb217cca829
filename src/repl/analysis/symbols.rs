//! Names a script defines and where they are used: functions, variables, parameters and loop
//! variables, and the functions of imported modules (files beside the script or the embedded
//! stdlib). They serve go to definition, references, document symbols, and the completion,
//! hover and checks of `module::function`.

use super::lex::{lex, significant, Tok, Token};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// What a defined name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolKind {
    /// A function (`fn name(...)`).
    Function,
    /// A variable, constant or loop variable.
    Variable,
    /// A parameter of a function (defined inside its body only).
    Parameter,
}

/// A name defined in a script, with the byte range of the name where it is defined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    /// The name.
    pub name: String,
    /// Function or variable.
    pub kind: SymbolKind,
    /// Byte range of the name at its definition.
    pub at: Range<usize>,
    /// For a function: its parameter names.
    pub params: Vec<String>,
    /// For a function: its `///` doc comment, without the slashes.
    pub doc: String,
    /// For a `let` / `const` with a literal value: the literal's type (`string`, `array`, ...).
    pub literal_type: Option<String>,
    /// For a `let` / `const` whose value is a call `f(...)`: the function's name.
    pub called: Option<String>,
}

impl Symbol {
    /// The call `module::name(params)` of a module's function, as hover, completion and the
    /// module reference show it.
    pub fn qualified(&self, module: &str) -> String {
        format!("{module}::{}({})", self.name, self.params.join(", "))
    }
}

/// Every definition in `src`, in source order: `fn` definitions with their parameters,
/// `let` / `const` variables and `for` loop variables.
pub fn symbols(src: &str) -> Vec<Symbol> {
    let all = lex(src);
    let toks = significant(&all);
    let text = |t: &Token| &src[t.start..t.end];
    let mut out = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.kind != Tok::Keyword {
            continue;
        }
        let Some(next) = toks.get(i + 1).filter(|n| n.kind == Tok::Ident) else {
            continue;
        };
        match text(t) {
            "let" | "const" => {
                let mut v = variable(src, next);
                // The value after `=`: a literal gives the type, a call its function.
                let value = toks
                    .get(i + 3)
                    .filter(|_| toks.get(i + 2).is_some_and(|e| e.kind == Tok::Punct('=')));
                if let Some(value) = value {
                    v.literal_type = literal_type(value, text(value), toks.get(i + 4));
                    let call = value.kind == Tok::Ident
                        && toks.get(i + 4).is_some_and(|p| p.kind == Tok::Punct('('));
                    v.called = call.then(|| text(value).to_string());
                }
                out.push(v);
            }
            "for" => {
                out.push(variable(src, next));
                // `for (x, i) in ...`: the index variable too.
                if let (Some(c), Some(second)) = (toks.get(i + 2), toks.get(i + 3)) {
                    if c.kind == Tok::Punct(',') && second.kind == Tok::Ident {
                        out.push(variable(src, second));
                    }
                }
            }
            "fn" => {
                let mut params = Vec::new();
                let mut j = i + 3;
                while let Some(p) = toks.get(j) {
                    match p.kind {
                        Tok::Ident => {
                            params.push(text(p).to_string());
                            out.push(Symbol {
                                kind: SymbolKind::Parameter,
                                ..variable(src, p)
                            });
                        }
                        Tok::Punct(',') => {}
                        _ => break,
                    }
                    j += 1;
                }
                out.push(Symbol {
                    name: text(next).to_string(),
                    kind: SymbolKind::Function,
                    at: next.start..next.end,
                    params,
                    doc: doc_comment_before(src, &all, t.start),
                    literal_type: None,
                    called: None,
                });
            }
            _ => {}
        }
    }
    // `for` with a tuple pattern starts with `(`: `for (x, i) in`.
    for (i, t) in toks.iter().enumerate() {
        if t.kind == Tok::Keyword
            && text(t) == "for"
            && toks.get(i + 1).is_some_and(|p| p.kind == Tok::Punct('('))
        {
            let mut j = i + 2;
            while let Some(p) = toks.get(j) {
                match p.kind {
                    Tok::Ident => out.push(variable(src, p)),
                    Tok::Punct(',') => {}
                    _ => break,
                }
                j += 1;
            }
        }
    }
    out.sort_by_key(|s| s.at.start);
    out
}

fn variable(src: &str, t: &Token) -> Symbol {
    Symbol {
        name: src[t.start..t.end].to_string(),
        kind: SymbolKind::Variable,
        at: t.start..t.end,
        params: Vec::new(),
        doc: String::new(),
        literal_type: None,
        called: None,
    }
}

/// The `///` lines right above the token starting at `start`.
fn doc_comment_before(src: &str, all: &[Token], start: usize) -> String {
    let Some(i) = all.iter().position(|t| t.start == start) else {
        return String::new();
    };
    let mut lines = Vec::new();
    for t in all[..i].iter().rev() {
        match t.kind {
            Tok::Space if src[t.start..t.end].matches('\n').count() <= 1 => {}
            Tok::Comment { .. } if src[t.start..t.end].starts_with("///") => {
                lines.push(
                    src[t.start..t.end]
                        .trim_start_matches('/')
                        .trim()
                        .to_string(),
                );
            }
            _ => break,
        }
    }
    lines.reverse();
    lines.join("\n")
}

/// The identifier token at byte offset `pos` (inside it or just after it).
fn ident_at(toks: &[Token], pos: usize) -> Option<usize> {
    toks.iter()
        .position(|t| t.kind == Tok::Ident && t.start <= pos && pos <= t.end)
}

/// Where the name at `pos` is defined in `src`: for a call or a name defined as a function,
/// the `fn`; otherwise the last variable definition of that name before it. `None` for a
/// property, a method of a value or a name the script does not define.
pub fn definition_at(src: &str, pos: usize) -> Option<Symbol> {
    let toks = significant(&lex(src));
    let i = ident_at(&toks, pos)?;
    let name = &src[toks[i].start..toks[i].end];
    let after_dot = i > 0 && toks[i - 1].kind == Tok::Punct('.');
    let qualified = i > 0 && toks[i - 1].kind == Tok::Punct(':');
    if qualified {
        return None;
    }
    let called = toks.get(i + 1).is_some_and(|n| n.kind == Tok::Punct('('));
    let defs = symbols(src);
    let function = defs
        .iter()
        .find(|s| s.kind == SymbolKind::Function && s.name == name);
    if called || after_dot {
        // `x.f()` calls a script function `f` with `x` as `this`.
        return function.cloned();
    }
    defs.iter()
        .rfind(|s| s.kind != SymbolKind::Function && s.name == name && s.at.start <= toks[i].start)
        .or(function)
        .cloned()
}

/// Every use of the name defined at (or used at) `pos`: the byte ranges of the identifiers
/// with its name that are not properties or map keys, the definition included.
pub fn references_at(src: &str, pos: usize) -> Vec<Range<usize>> {
    let toks = significant(&lex(src));
    let Some(i) = ident_at(&toks, pos) else {
        return Vec::new();
    };
    let name = &src[toks[i].start..toks[i].end];
    let function = symbols(src)
        .iter()
        .any(|s| s.kind == SymbolKind::Function && s.name == name);
    toks.iter()
        .enumerate()
        .filter(|(j, t)| {
            if t.kind != Tok::Ident || &src[t.start..t.end] != name {
                return false;
            }
            let prev = j.checked_sub(1).map(|k| toks[k].kind);
            let next = toks.get(j + 1).map(|n| n.kind);
            let next2 = toks.get(j + 2).map(|n| n.kind);
            let map_key = next == Some(Tok::Punct(':')) && next2 != Some(Tok::Punct(':'));
            let qualified = prev == Some(Tok::Punct(':'));
            let property = prev == Some(Tok::Punct('.')) && next != Some(Tok::Punct('('));
            let method_call = prev == Some(Tok::Punct('.'));
            !map_key && !qualified && !property && (!method_call || function)
        })
        .map(|(_, t)| t.start..t.end)
        .collect()
}

/// The modules a script imports: alias and module path (`import "path" as alias;`).
pub fn imports(src: &str) -> Vec<(String, String)> {
    let toks = significant(&lex(src));
    let text = |t: &Token| &src[t.start..t.end];
    toks.windows(4)
        .filter(|w| {
            text(&w[0]) == "import"
                && matches!(w[1].kind, Tok::Str { closed: true })
                && text(&w[2]) == "as"
                && w[3].kind == Tok::Ident
        })
        .map(|w| {
            let path = text(&w[1]);
            (text(&w[3]).to_string(), path[1..path.len() - 1].to_string())
        })
        .collect()
}

/// An imported module's source: the file `base_dir/path.rhai` when it exists (as the script
/// runner resolves it), else the embedded stdlib module of that name. The path is `None` for
/// an embedded module.
pub fn module_source(path: &str, base_dir: &Path) -> Option<(Option<PathBuf>, String)> {
    let file = base_dir.join(format!("{path}.rhai"));
    if let Ok(text) = std::fs::read_to_string(&file) {
        return Some((Some(file), text));
    }
    crate::script::stdlib::MODULES
        .iter()
        .find(|(n, _)| *n == path)
        .map(|(_, s)| (None, s.to_string()))
}

/// The functions module `alias` (imported by `src`) exports, with where they are defined.
/// `None` when `alias` is not imported or its module cannot be read.
pub fn module_functions(
    src: &str,
    alias: &str,
    base_dir: &Path,
) -> Option<(Option<PathBuf>, String, Vec<Symbol>)> {
    let (_, path) = imports(src).into_iter().find(|(a, _)| a == alias)?;
    let (file, text) = module_source(&path, base_dir)?;
    let fns = module_exports(&text);
    Some((file, text, fns))
}

/// The functions a module's source `text` exports (every `fn` but the `private` ones).
pub fn module_exports(text: &str) -> Vec<Symbol> {
    symbols(text)
        .into_iter()
        .filter(|s| s.kind == SymbolKind::Function)
        .filter(|s| !is_private(text, s))
        .collect()
}

/// True for a `private fn`, which a module does not export.
fn is_private(text: &str, s: &Symbol) -> bool {
    text[..s.at.start]
        .trim_end()
        .trim_end_matches("fn")
        .trim_end()
        .ends_with("private")
}

/// The `alias::name` at byte offset `pos` of `src`, when the cursor is on the name of a
/// qualified call: `(alias, name)`.
pub fn qualified_at(src: &str, pos: usize) -> Option<(String, String)> {
    let toks = significant(&lex(src));
    let i = ident_at(&toks, pos)?;
    if i < 3
        || toks[i - 1].kind != Tok::Punct(':')
        || toks[i - 2].kind != Tok::Punct(':')
        || toks[i - 3].kind != Tok::Ident
    {
        return None;
    }
    let t = |k: usize| src[toks[k].start..toks[k].end].to_string();
    Some((t(i - 3), t(i)))
}

/// The type a literal token gives a value (`"..."` a string, `1` an i64, `1.5` an f64, `[` an
/// array, `#{` a map, `true` a bool); `next` is the token after it, to tell `#{` from `#`.
pub(super) fn literal_type(t: &Token, text: &str, next: Option<&Token>) -> Option<String> {
    let ty = match t.kind {
        Tok::Str { .. } if text.starts_with('"') || text.starts_with('`') => "string",
        Tok::Number if text.contains(['.', 'e', 'E']) && !text.starts_with("0x") => "f64",
        Tok::Number => "i64",
        Tok::Punct('[') => "array",
        Tok::Punct('#') if next.is_none_or(|n| n.kind == Tok::Punct('{')) => "map",
        Tok::Keyword if text == "true" || text == "false" => "bool",
        _ => return None,
    };
    Some(ty.to_string())
}
