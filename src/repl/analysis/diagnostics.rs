//! Diagnostics over the Rhai AST: unknown functions, wrong argument counts, unknown option
//! keys.

use super::catalog::Catalog;
use super::lex::KEYWORD_FNS;
use crate::script::names::close_names;
use rhai::{ASTNode, Engine, Expr, Stmt};
use std::collections::{BTreeMap, BTreeSet};

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

/// Where a syntax error Rhai places at `line:col` really is. Rhai reports an unfinished
/// construct (`p.`, `f(x,`, `a +`) at the next token, which may be lines below; when that
/// token opens its line and the text before it does not end a statement (`;`, `}`), the
/// error belongs just after the last character before it.
pub fn where_the_text_breaks(code: &str, line: usize, col: usize) -> (usize, usize) {
    let lines: Vec<&str> = code.split('\n').collect();
    let Some(this) = lines.get(line.wrapping_sub(1)) else {
        // Past the end (an unfinished last line): after the last character of the text.
        return last_character(&lines, lines.len()).unwrap_or((line, col));
    };
    let opens_line = this
        .chars()
        .take(col.saturating_sub(1))
        .all(char::is_whitespace);
    if !opens_line {
        return (line, col);
    }
    match last_character(&lines, line - 1) {
        Some((l, c)) => {
            let ends_statement = lines[l - 1]
                .chars()
                .nth(c - 2)
                .is_some_and(|ch| ch == ';' || ch == '}');
            if ends_statement {
                (line, col)
            } else {
                (l, c)
            }
        }
        None => (line, col),
    }
}

/// The position just after the last non-blank character in the first `n` lines (1-based
/// line, column after it), skipping `//` comment lines.
fn last_character(lines: &[&str], n: usize) -> Option<(usize, usize)> {
    (0..n.min(lines.len())).rev().find_map(|i| {
        let text = lines[i].trim_end();
        let code = text.trim_start();
        if code.is_empty() || code.starts_with("//") {
            None
        } else {
            Some((i + 1, text.chars().count() + 1))
        }
    })
}

/// Parses `code` and reports parse errors, calls to unknown functions and wrong argument
/// counts, sorted by position. `engine` should be built like the session's (same functions).
pub fn diagnose(
    engine: &Engine,
    cat: &Catalog,
    code: &str,
    base_dir: &std::path::Path,
) -> Vec<Diagnostic> {
    // A syntax error does not hide the rest: the statement that holds it is blanked out
    // (positions elsewhere stay the same) and the remainder is parsed again, up to a limit.
    let mut syntax = Vec::new();
    let mut text = code.to_string();
    let ast = loop {
        match engine.compile(&text) {
            Ok(a) => break a,
            Err(e) => {
                let p = e.position();
                let msg = e.to_string();
                let msg = match msg.rfind(" (line ") {
                    Some(i) if msg.ends_with(')') => msg[..i].to_string(),
                    _ => msg,
                };
                let (line, col) = (p.line().unwrap_or(1), p.position().unwrap_or(1));
                let (at_line, at_col) = where_the_text_breaks(&text, line, col);
                syntax.push(Diagnostic {
                    line: at_line,
                    col: at_col,
                    message: msg,
                });
                if syntax.len() >= MAX_SYNTAX_ERRORS || !blank_statement_at(&mut text, line, col) {
                    return syntax;
                }
            }
        }
    };
    // What the blanked statements meant to define still counts as defined.
    let blanked: String = code
        .chars()
        .zip(text.chars())
        .map(|(a, b)| if a == b { ' ' } else { a })
        .collect();
    let broken = super::symbols::symbols(&blanked);
    let broken_vars: Vec<String> = broken
        .iter()
        .filter(|s| s.kind == super::symbols::SymbolKind::Variable)
        .map(|s| s.name.clone())
        .collect();
    let code = text.as_str();
    // Functions the script defines: name -> parameter counts.
    let mut script_fns: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for f in broken
        .iter()
        .filter(|s| s.kind == super::symbols::SymbolKind::Function)
    {
        script_fns
            .entry(f.name.clone())
            .or_default()
            .insert(f.params.len());
    }
    let mut names: BTreeSet<String> = broken_vars.iter().cloned().collect();
    for f in ast.iter_functions() {
        script_fns
            .entry(f.name.to_string())
            .or_default()
            .insert(f.params.len());
        names.extend(f.params.iter().map(|p| p.to_string()));
    }
    // Variables anywhere in the script (calling one as `f(x)` gets its own message).
    // Variables defined once, by an options map literal: a map passed through a variable is
    // checked like one written in the call.
    let mut definitions: BTreeMap<String, usize> = BTreeMap::new();
    let mut map_vars: BTreeMap<String, Expr> = BTreeMap::new();
    ast.walk(&mut |path: &[ASTNode]| {
        if let Some(ASTNode::Stmt(Stmt::Var(x, ..))) = path.last() {
            names.insert(x.0.name.to_string());
            *definitions.entry(x.0.name.to_string()).or_default() += 1;
            if matches!(x.1, Expr::Map(..)) {
                map_vars.insert(x.0.name.to_string(), x.1.clone());
            }
        }
        // A variable assigned again may hold another map by the time of the call.
        if let Some(ASTNode::Stmt(Stmt::Assignment(x))) = path.last() {
            if let Expr::Variable(v, ..) = &x.1.lhs {
                *definitions.entry(v.1.to_string()).or_default() += 1;
            }
        }
        true
    });
    map_vars.retain(|n, _| definitions.get(n) == Some(&1));
    let mut out = Vec::new();
    let mut opt_diags = Vec::new();
    let mut report = |name: &str, nargs: usize, method: bool, pos: rhai::Position| {
        if name.contains('$')
            || !name.starts_with(|c: char| c.is_alphabetic() || c == '_')
            || KEYWORD_FNS.iter().any(|k| k.name == name)
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
                option_keys(cat, &x.name, false, &x.args, &map_vars, &mut opt_diags);
            }
            Some(ASTNode::Expr(Expr::FnCall(x, pos)))
            | Some(ASTNode::Stmt(Stmt::FnCall(x, pos)))
                if x.is_qualified() && x.namespace.path.len() == 1 =>
            {
                module_call(
                    code,
                    base_dir,
                    x.namespace.root(),
                    &x.name,
                    x.args.len(),
                    *pos,
                    &mut opt_diags,
                );
            }
            Some(ASTNode::Expr(Expr::MethodCall(x, pos))) if !x.is_qualified() => {
                report(&x.name, x.args.len(), true, *pos);
                option_keys(cat, &x.name, true, &x.args, &map_vars, &mut opt_diags);
            }
            _ => {}
        }
        true
    });
    out.extend(opt_diags);
    out.extend(undefined_variables(code, &broken_vars));
    out.extend(syntax);
    out.sort_by_key(|d| (d.line, d.col));
    out.dedup();
    out
}

/// Checks a call `alias::name(...)` with `nargs` arguments against the functions of the
/// module `alias` (when the script imports it and the module can be read).
fn module_call(
    code: &str,
    base_dir: &std::path::Path,
    alias: &str,
    name: &str,
    nargs: usize,
    pos: rhai::Position,
    out: &mut Vec<Diagnostic>,
) {
    let Some((_, _, fns)) = super::symbols::module_functions(code, alias, base_dir) else {
        return;
    };
    let arities: BTreeSet<usize> = fns
        .iter()
        .filter(|f| f.name == name)
        .map(|f| f.params.len())
        .collect();
    let message = if arities.is_empty() {
        let close = close_names(name, fns.iter().map(|f| f.name.as_str()), 3);
        let hint = if close.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = close.iter().map(|c| format!("`{alias}::{c}`")).collect();
            format!(" (did you mean {}?)", list.join(", "))
        };
        format!("module `{alias}` has no function `{name}`{hint}")
    } else if !arities.contains(&nargs) {
        let takes: Vec<String> = arities.iter().map(|a| a.to_string()).collect();
        format!(
            "`{alias}::{name}` takes {} argument{}, but {nargs} {} given",
            takes.join(" or "),
            plural(arities.iter().copied().max().unwrap_or(0)),
            if nargs == 1 { "was" } else { "were" }
        )
    } else {
        return;
    };
    out.push(Diagnostic {
        line: pos.line().unwrap_or(1),
        col: pos.position().unwrap_or(1),
        message,
    });
}

/// Syntax errors reported before the analysis gives up on a file.
const MAX_SYNTAX_ERRORS: usize = 10;

/// Replaces the top-level statement holding 1-based `line`:`col` (characters) of `text` with
/// spaces, keeping newlines so that every other position stays the same. False when there is
/// nothing there to blank (the error is in no statement, or the statement is already blank).
fn blank_statement_at(text: &mut String, line: usize, col: usize) -> bool {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let offset = text[line_start.min(text.len())..]
        .char_indices()
        .nth(col.saturating_sub(1))
        .map(|(i, _)| line_start + i)
        .unwrap_or(text.len());
    let ranges = super::lex::statement_ranges(text);
    let Some(range) = ranges
        .iter()
        .find(|r| r.contains(&offset) || (r.end == offset && offset == text.len()))
        .or(ranges.last())
        .cloned()
    else {
        return false;
    };
    // An unclosed bracket runs the statement to the end of the file: blank it only through
    // the line of the error, so that the lines after it are still analysed.
    let range = if range.end == text.len() && !balanced(&text[range.clone()]) {
        let line_end = text[offset.min(text.len())..]
            .find('\n')
            .map(|i| offset + i)
            .unwrap_or(text.len());
        range.start..line_end.max(range.start)
    } else {
        range
    };
    if text[range.clone()].trim().is_empty() {
        return false;
    }
    let blank: String = text[range.clone()]
        .chars()
        .map(|c| if c == '\n' { '\n' } else { ' ' })
        .collect();
    text.replace_range(range, &blank);
    true
}

/// True when every bracket opened in `code` is closed (strings and comments aside).
fn balanced(code: &str) -> bool {
    let mut depth = 0i32;
    for t in super::lex::lex(code) {
        match t.kind {
            super::lex::Tok::Punct('(' | '[' | '{') => depth += 1,
            super::lex::Tok::Punct(')' | ']' | '}') => depth -= 1,
            _ => {}
        }
    }
    depth == 0
}

/// Why a script function cannot read a variable the script defines (Rhai's rule).
pub use crate::script::FUNCTION_SCOPE;

/// True when line `line`, column `col` (1-based, in characters) of `code` lies inside a
/// top-level `fn` definition.
pub fn inside_function(code: &str, line: usize, col: usize) -> bool {
    let Some(line_start) = code
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .try_fold(0usize, |acc, n| Some(acc + n))
    else {
        return false;
    };
    let offset = code[line_start..]
        .char_indices()
        .nth(col.saturating_sub(1))
        .map(|(i, _)| line_start + i)
        .unwrap_or(code.len());
    super::lex::statement_ranges(code).into_iter().any(|r| {
        let stmt = code[r.clone()].trim_start();
        (stmt.starts_with("fn ") || stmt.starts_with("private fn ")) && r.contains(&offset)
    })
}

/// Undefined names reported in one file, at most.
const MAX_UNDEFINED: usize = 20;

/// The variables (and modules) that `code` reads without defining them, each name once at
/// its first use, found by parses with Rhai's strict variables: Rhai stops at the first, so
/// each one found is declared and the code parsed again. Scripts get `ARGS` and `SHARD` from
/// the command line; `declared` are defined too (by statements a syntax error blanked out).
fn undefined_variables(code: &str, declared: &[String]) -> Vec<Diagnostic> {
    let mut strict = Engine::new_raw();
    strict.set_strict_variables(true);
    strict.set_max_expr_depths(256, 256);
    let mut scope = rhai::Scope::new();
    scope.push_constant("ARGS", rhai::Array::new());
    scope.push_constant("SHARD", crate::script::host::shard_value());
    for name in declared {
        scope.push_constant(name.as_str(), ());
    }
    let mut out = Vec::new();
    while out.len() < MAX_UNDEFINED {
        let Err(e) = strict.compile_with_scope(&scope, code) else {
            break;
        };
        let message = match e.err_type() {
            rhai::ParseErrorType::VariableUndefined(name) => {
                if scope.contains(name) {
                    // Declaring it did not help (a use inside a function, which sees no
                    // script variables): reported once already, stop here.
                    break;
                }
                scope.push_constant(name.as_str(), ());
                let p = e.position();
                let (line, col) = (p.line().unwrap_or(1), p.position().unwrap_or(1));
                if inside_function(code, line, col)
                    && super::lex::bound_names(code).iter().any(|n| n == name)
                {
                    format!("undefined variable `{name}`: {}", FUNCTION_SCOPE)
                } else {
                    format!("undefined variable `{name}`")
                }
            }
            // A module cannot be declared in a scope: the first undefined one ends the search.
            rhai::ParseErrorType::ModuleUndefined(name) => {
                let p = e.position();
                out.push(Diagnostic {
                    line: p.line().unwrap_or(1),
                    col: p.position().unwrap_or(1),
                    message: format!("undefined module `{name}` (import it first)"),
                });
                break;
            }
            _ => break,
        };
        let p = e.position();
        out.push(Diagnostic {
            line: p.line().unwrap_or(1),
            col: p.position().unwrap_or(1),
            message,
        });
    }
    out
}

/// Keys of literal option maps `#{...}` passed to a function with documented options, that
/// the function does not know (it would reject them when run).
fn option_keys(
    cat: &Catalog,
    name: &str,
    method: bool,
    args: &[Expr],
    map_vars: &BTreeMap<String, Expr>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(doc) = cat.doc(name, method).filter(|d| !d.options.is_empty()) else {
        return;
    };
    for (k, arg) in args.iter().enumerate() {
        if !is_options_argument(doc, args.len(), k) {
            continue;
        }
        let literal = match arg {
            Expr::Variable(v, ..) => map_vars.get(v.1.as_str()),
            other => Some(other),
        };
        if let Some(Expr::Map(m, _)) = literal {
            map_keys(cat, &format!("`{name}`"), doc, m, out);
        }
    }
}

/// True when argument `k` of a call with `nargs` arguments is the options map in one of the
/// documented signatures of that length (a map argument may also be data, as in
/// `train_coop(d, g, #{images, labels})`).
fn is_options_argument(doc: &crate::script::FnDoc, nargs: usize, k: usize) -> bool {
    doc.signatures.iter().any(|sig| {
        let Some(inner) = sig
            .find('(')
            .and_then(|a| sig.rfind(')').map(|b| &sig[a + 1..b]))
        else {
            return false;
        };
        let params: Vec<&str> = split_top_level(inner);
        params.len() == nargs && params[k].trim_start().starts_with("opts")
    })
}

/// `text` split at the commas outside brackets.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !text[start..].trim().is_empty() {
        out.push(&text[start..]);
    }
    out
}

/// The value of a literal (number, string, flag, array or map; an array or map stands for its
/// kind only), for checking an option's kind and range before the script runs.
fn literal_value(e: &Expr) -> Option<(rhai::Dynamic, rhai::Position)> {
    use rhai::Dynamic;
    Some(match e {
        Expr::IntegerConstant(i, pos) => (Dynamic::from_int(*i), *pos),
        Expr::FloatConstant(f, pos) => (Dynamic::from_float(**f), *pos),
        Expr::BoolConstant(b, pos) => (Dynamic::from_bool(*b), *pos),
        Expr::StringConstant(s, pos) => (Dynamic::from(s.clone()), *pos),
        Expr::Array(_, pos) => (Dynamic::from_array(Vec::new()), *pos),
        Expr::Map(_, pos) => (Dynamic::from_map(Default::default()), *pos),
        Expr::DynamicConstant(v, pos) if !v.is_unit() => ((**v).clone(), *pos),
        _ => return None,
    })
}

/// The keys of one literal options map of `doc` (called `what` in messages), and of the maps
/// nested in it for options that take another function's options.
fn map_keys(
    cat: &Catalog,
    what: &str,
    doc: &crate::script::FnDoc,
    m: &(
        rhai::StaticVec<(rhai::Ident, Expr)>,
        BTreeMap<rhai::Identifier, rhai::Dynamic>,
    ),
    out: &mut Vec<Diagnostic>,
) {
    {
        for (key, value) in m.0.iter() {
            if let Some(o) = doc.options.iter().find(|o| o.name == key.name.as_str()) {
                // The run-time check of the options table, on a literal value: kind, range
                // and fixed values, with the same message.
                if let Some((v, pos)) = literal_value(value) {
                    if let Some(why) = o.reject(&v) {
                        out.push(Diagnostic {
                            line: pos.line().unwrap_or(1),
                            col: pos.position().unwrap_or(1),
                            message: format!("{what}: option `{}` {why}", key.name),
                        });
                    }
                }
                let inner = o.of.as_deref().and_then(|of| cat.docs.get(of));
                if let (Some(inner), Expr::Map(nested, _)) = (inner, value) {
                    let nested_what = format!("{what}'s option `{}`", key.name);
                    map_keys(cat, &nested_what, inner, nested, out);
                }
                continue;
            }
            let mut msg = format!("{what} has no option `{}`", key.name);
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
