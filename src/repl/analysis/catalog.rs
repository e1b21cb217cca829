//! The catalog of callable functions: the telescope docs plus the engine's own metadata.

use crate::script::{Docs, FnDoc};
use rhai::Engine;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

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
        "Blob" | "blob" | "Vec<u8>" => "blob".into(),
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
        // `Result<T, E>`, also spelled with its path (`core::result::Result<T, E>`), is T.
        let t = match t
            .find("Result<")
            .filter(|&i| t[..i].is_empty() || t[..i].ends_with("::"))
        {
            Some(i) => {
                let inner = &t[i + "Result<".len()..];
                let mut depth = 0;
                let end = inner
                    .char_indices()
                    .find(|&(_, c)| {
                        depth += match c {
                            '<' => 1,
                            '>' => -1,
                            _ => 0,
                        };
                        c == ',' && depth == 0
                    })
                    .map_or(inner.len(), |(j, _)| j);
                &inner[..end]
            }
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
