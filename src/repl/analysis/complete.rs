//! Completion items, the completion environment and the call around the cursor.

use super::catalog::{normalize_type, Catalog};
use super::lex::{lex, significant, Tok, Token, KEYWORDS, KEYWORD_FNS};
use super::symbols::{literal_type, symbols, SymbolKind};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

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
    /// Variables initialised by a call (`let p = neb(...)`): name and the function called, whose
    /// documented return type is the variable's type when `vars` does not know it.
    pub calls: Vec<(String, String)>,
}

impl Env {
    /// Scans source text for `let`/`const` variables, `for` loop variables and `fn` definitions
    /// (works on unfinished code, for the language server).
    pub fn scan(src: &str, base_dir: &Path) -> Env {
        let mut env = Env {
            base_dir: base_dir.to_path_buf(),
            ..Default::default()
        };
        for s in symbols(src) {
            match s.kind {
                SymbolKind::Function => env.script_fns.push((s.name, s.params)),
                SymbolKind::Variable if !env.vars.iter().any(|(n, _)| *n == s.name) => {
                    if let Some(f) = s.called {
                        env.calls.push((s.name.clone(), f));
                    }
                    env.vars.push((s.name, s.literal_type));
                }
                SymbolKind::Variable | SymbolKind::Parameter => {}
            }
        }
        env
    }
}

impl Env {
    /// The type of variable `name`: known from the session or a literal initialiser, else the
    /// documented return type of the function that initialised it.
    pub fn type_of(&self, cat: &Catalog, name: &str) -> Option<String> {
        if let Some(t) = self
            .vars
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, t)| t.clone())
        {
            return Some(t);
        }
        let (_, f) = self.calls.iter().find(|(n, _)| n == name)?;
        cat.doc(f, false)?
            .signatures
            .iter()
            .find_map(|s| s.rsplit_once("->").map(|(_, r)| r.trim().to_string()))
            .filter(|t| !t.is_empty() && !t.contains(['|', '?', ' ']))
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
    /// The module alias of a qualified call `alias::name(...)`.
    pub module: Option<String>,
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
        let module = (i >= 4
            && toks[i - 2].kind == Tok::Punct(':')
            && toks[i - 3].kind == Tok::Punct(':')
            && toks[i - 4].kind == Tok::Ident)
            .then(|| text[toks[i - 4].start..toks[i - 4].end].to_string());
        return Some(CallContext {
            name: text[name_tok.start..name_tok.end].to_string(),
            method,
            arg_index: commas,
            module,
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
        // The value of an option with a fixed set of values: those values.
        if let Some(choices) = option_choices(cat, text, &sig) {
            let items = choices
                .into_iter()
                .filter(|c| c.starts_with(content))
                .map(|c| Item {
                    insert: format!("{c}\""),
                    detail: "option value".into(),
                    label: c,
                    kind: ItemKind::OptionKey,
                })
                .collect();
            return (t.start + 1, items);
        }
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
    let qualifier = (before.len() >= 3
        && before[before.len() - 1].kind == Tok::Punct(':')
        && before[before.len() - 2].kind == Tok::Punct(':')
        && before[before.len() - 3].kind == Tok::Ident)
        .then(|| &text[before[before.len() - 3].start..before[before.len() - 3].end]);
    if let Some(alias) = qualifier {
        // `alias::`: the functions the imported module exports.
        if let Some((_, _, fns)) = super::symbols::module_functions(text, alias, &env.base_dir) {
            for f in fns {
                items.push(Item {
                    label: f.name.clone(),
                    insert: format!("{}(", f.name),
                    detail: f.qualified(alias),
                    kind: ItemKind::Function,
                });
            }
        }
        items.retain(|i| i.label.starts_with(word));
        return (start, items);
    }
    if prev_text == "." {
        let recv = before
            .len()
            .checked_sub(2)
            .map(|j| before[j])
            .filter(|t| t.kind == Tok::Ident)
            .map(|t| &text[t.start..t.end]);
        let literal = before
            .len()
            .checked_sub(2)
            .map(|j| before[j])
            .and_then(|t| literal_type(&t, &text[t.start..t.end], None));
        let ty = literal.or_else(|| recv.and_then(|r| env.type_of(cat, r)));
        items = method_items(cat, ty.as_deref());
    } else if prev_text == "import" {
        items = module_items(env, word, false);
    } else if let Some((f, keys)) = options_context(text, &before) {
        if let Some(d) = nested_doc(cat, &f, &keys) {
            for o in &d.options {
                items.push(Item {
                    label: o.name.clone(),
                    insert: format!("{}: ", o.name),
                    detail: format!("{}, default {} — {}", o.type_label(), o.default, o.doc),
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
        // Operators are documented as functions (`+` on tensors) but are not typed as calls.
        let callable = |name: &str| name.starts_with(|c: char| c.is_alphabetic() || c == '_');
        for d in cat.docs.all().filter(|d| !d.method && callable(&d.name)) {
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
                label: k.name.to_string(),
                insert: format!("{}(", k.name),
                detail: k.signature.into(),
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
fn options_context(text: &str, before: &[Token]) -> Option<(String, Vec<String>)> {
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
    // From the innermost `#{` outwards: each `key: #{` inside another map adds a key, until
    // the `#{` that is an argument of a call.
    let mut keys = Vec::new();
    let mut level = stack.len();
    loop {
        level = level.checked_sub(1)?;
        let brace = stack[level];
        if before[brace].kind != Tok::Punct('{')
            || brace == 0
            || before[brace - 1].kind != Tok::Punct('#')
        {
            return None;
        }
        let hash = brace - 1;
        let is_value_of_key = hash >= 2
            && before[hash - 1].kind == Tok::Punct(':')
            && before[hash - 2].kind == Tok::Ident;
        if is_value_of_key {
            keys.push(text[before[hash - 2].start..before[hash - 2].end].to_string());
            continue;
        }
        let &paren = stack.get(level.checked_sub(1)?)?;
        if before[paren].kind != Tok::Punct('(')
            || paren == 0
            || before[paren - 1].kind != Tok::Ident
        {
            return None;
        }
        let f = before[paren - 1];
        keys.reverse();
        return Some((text[f.start..f.end].to_string(), keys));
    }
}

/// The values option `key` accepts when the tokens `before` end with `key:` inside an options
/// map whose option has a fixed set of values.
fn option_choices(cat: &Catalog, text: &str, before: &[Token]) -> Option<Vec<String>> {
    let n = before.len();
    if n < 3 || before[n - 1].kind != Tok::Punct(':') || before[n - 2].kind != Tok::Ident {
        return None;
    }
    let key = &text[before[n - 2].start..before[n - 2].end];
    let (f, keys) = options_context(text, &before[..n - 2])?;
    let doc = nested_doc(cat, &f, &keys)?;
    let o = doc.options.iter().find(|o| o.name == key)?;
    (!o.choices.is_empty()).then(|| o.choices.clone())
}

/// The doc whose options a map at `keys` inside `f`'s options map takes: `f`'s own for no
/// keys, else by following each key's `of` (see [`crate::script::docs::OptionDoc::of`]).
pub fn nested_doc<'a>(
    cat: &'a Catalog,
    f: &str,
    keys: &[String],
) -> Option<&'a crate::script::FnDoc> {
    let mut d = cat.docs.get(f)?;
    for k in keys {
        let of = d.options.iter().find(|o| &o.name == k)?.of.as_deref()?;
        d = cat.docs.get(of)?;
    }
    Some(d)
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
