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
