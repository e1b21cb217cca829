//! The one source of truth about script functions: names, signatures, docs, options and
//! examples. `telescope doc`, the REPL's help and completion, `telescope check` and the
//! language server all read it, so they cannot drift apart.

use std::collections::BTreeMap;

/// What values an option takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OptKind {
    /// A number (integers are accepted).
    Number,
    /// A non-negative integer.
    Count,
    /// `true` or `false`.
    Flag,
    /// A string.
    Text,
    /// A path string.
    Path,
    /// An array.
    Array,
    /// An options map.
    Map,
    /// A value the function interprets itself (a tensor, a closure, a number or an array...).
    Any,
}

impl OptKind {
    /// What the value must be, as an error message says it.
    pub fn expected(self) -> &'static str {
        match self {
            OptKind::Number => "a number",
            OptKind::Count => "a non-negative integer",
            OptKind::Flag => "true or false",
            OptKind::Text => "a string",
            OptKind::Path => "a path string",
            OptKind::Array => "an array",
            OptKind::Map => "an options map",
            OptKind::Any => "a value",
        }
    }
}

/// An option's value when the map leaves it out.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum OptDefault {
    /// A fixed number.
    Number(f64),
    /// A fixed count.
    Count(usize),
    /// A fixed flag.
    Flag(bool),
    /// A fixed string.
    Text(String),
    /// A fixed list of numbers.
    Numbers(Vec<f64>),
    /// No one fixed value (computed at run time, none, or required): what happens, in words.
    Described(String),
}

impl std::fmt::Display for OptDefault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // Debug keeps the `.0` of whole numbers, so a number option never reads as a count.
            OptDefault::Number(x) => write!(f, "{x:?}"),
            OptDefault::Count(n) => write!(f, "{n}"),
            OptDefault::Flag(b) => write!(f, "{b}"),
            OptDefault::Text(s) => write!(f, "{s:?}"),
            OptDefault::Numbers(v) => write!(f, "{v:?}"),
            OptDefault::Described(s) => f.write_str(s),
        }
    }
}

/// One option key of a function's options map: the one definition that parses the map
/// ([`crate::script::Opts`]), documents it (`telescope doc`, `?name`, hover), completes it and
/// checks it (`telescope check`, the LSP).
#[derive(Clone, Debug, serde::Serialize)]
pub struct OptionDoc {
    /// Key in the options map, e.g. `alpha`.
    pub name: String,
    /// What values it takes.
    pub kind: OptKind,
    /// Its value when left out.
    pub default: OptDefault,
    /// What it does.
    pub doc: String,
    /// When the value is itself an options map: the function whose options it takes.
    pub of: Option<String>,
    /// The values a string option accepts (empty: any value of its type).
    pub choices: Vec<String>,
    /// The closed range a number or count must lie in, when limited (for an array of
    /// numbers: each of its items).
    pub range: Option<(f64, f64)>,
    /// The most items an array option may hold, when limited.
    pub max_items: Option<usize>,
}

/// A range many options share, with the reason a value beyond it is refused.
#[derive(Clone, Copy, Debug)]
pub struct Bound {
    /// Lowest value accepted.
    pub lo: f64,
    /// Highest value accepted.
    pub hi: f64,
    /// Why, as the option's doc says it.
    pub why: &'static str,
}

/// The ranges shared across the option tables; [`OptionDoc::bounded`] applies one.
pub mod bounds {
    use super::Bound;
    /// Steps, sweeps, iterations and periods counted in them.
    pub const STEPS: Bound = Bound {
        lo: 0.0,
        hi: 1e9,
        why: "at most 1e9: longer takes days at any size",
    };
    /// States, chains or proposals held together in one batch.
    pub const BATCH: Bound = Bound {
        lo: 1.0,
        hi: 1e6,
        why: "1 to 1e6: each one holds a state in memory",
    };
    /// Distances and tolerances.
    pub const TOLERANCE: Bound = Bound {
        lo: 0.0,
        hi: 1e12,
        why: "0 to 1e12",
    };
    /// Step sizes, scales, rates and strengths: positive and finite.
    pub const SCALE: Bound = Bound {
        lo: 1e-12,
        hi: 1e12,
        why: "1e-12 to 1e12: beyond, float64 over- or underflows",
    };
    /// Weights and penalties that may be zero.
    pub const WEIGHT: Bound = Bound {
        lo: 0.0,
        hi: 1e12,
        why: "0 to 1e12: beyond, it swamps every energy in float64",
    };
    /// Energies, pixel values and other plain values: any finite number.
    pub const FINITE: Bound = Bound {
        lo: -1e300,
        hi: 1e300,
        why: "finite",
    };
    /// Seeds: any non-negative 64-bit integer.
    pub const SEED: Bound = Bound {
        lo: 0.0,
        hi: 9.2e18,
        why: "0 to 9.2e18",
    };
    /// Figure sizes in pixels.
    pub const PIXELS: Bound = Bound {
        lo: 16.0,
        hi: 10000.0,
        why: "16 to 10,000",
    };
}

/// `x` as a user reads it: plain for everyday sizes, `1e12` style for huge and tiny ones.
fn readable(x: f64) -> String {
    if x != 0.0 && !(1e-4..1e6).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

impl OptionDoc {
    fn new(name: &str, kind: OptKind, default: OptDefault, doc: &str) -> Self {
        OptionDoc {
            name: name.to_string(),
            kind,
            default,
            doc: doc.to_string(),
            of: None,
            choices: Vec::new(),
            range: None,
            max_items: None,
        }
    }
    /// A number option with a fixed default.
    pub fn number(name: &str, default: f64, doc: &str) -> Self {
        Self::new(name, OptKind::Number, OptDefault::Number(default), doc)
    }
    /// A non-negative integer option with a fixed default.
    pub fn count(name: &str, default: usize, doc: &str) -> Self {
        Self::new(name, OptKind::Count, OptDefault::Count(default), doc)
    }
    /// A `true`/`false` option with a fixed default.
    pub fn flag(name: &str, default: bool, doc: &str) -> Self {
        Self::new(name, OptKind::Flag, OptDefault::Flag(default), doc)
    }
    /// A string option with a fixed default.
    pub fn text(name: &str, default: &str, doc: &str) -> Self {
        Self::new(name, OptKind::Text, OptDefault::Text(default.into()), doc)
    }
    /// A list-of-numbers option with a fixed default.
    pub fn numbers(name: &str, default: &[f64], doc: &str) -> Self {
        Self::new(
            name,
            OptKind::Array,
            OptDefault::Numbers(default.to_vec()),
            doc,
        )
    }
    /// An option of `kind` with no one fixed default; `default` says what happens without it
    /// (e.g. "session seed", "none", "required").
    pub fn described(name: &str, kind: OptKind, default: &str, doc: &str) -> Self {
        Self::new(name, kind, OptDefault::Described(default.into()), doc)
    }
    /// The `seed` option of a seeded run: the session seed unless given.
    pub fn seed(doc: &str) -> Self {
        Self::described(
            "seed",
            OptKind::Count,
            "session seed (mixed with the shard index under --shard)",
            doc,
        )
        .bounded(bounds::SEED)
    }
    /// The `seed` option of a call that draws from the session's stream (`seed(n)` seeds it):
    /// with a seed the call's draws come from it alone, and the session's stream goes on as
    /// if the call had drawn once.
    pub fn call_seed() -> Self {
        Self::described(
            "seed",
            OptKind::Count,
            "session stream",
            "seed of this call's random draws: the same seed gives the same result wherever the call stands; without it the call draws from the session's stream (seed(n))",
        )
        .bounded(bounds::SEED)
    }
    /// A path option, none by default.
    pub fn path(name: &str, doc: &str) -> Self {
        Self::described(name, OptKind::Path, "none", doc)
    }
    /// Limits the string values to `values`.
    pub fn choices(mut self, values: &[&str]) -> Self {
        self.choices = values.iter().map(|v| v.to_string()).collect();
        self
    }
    /// Makes the value an options map of function `function`.
    pub fn of(mut self, function: &str) -> Self {
        self.kind = OptKind::Map;
        self.of = Some(function.to_string());
        self
    }
    /// Limits a number or count to `[lo, hi]`.
    pub fn within(mut self, lo: f64, hi: f64) -> Self {
        self.range = Some((lo, hi));
        self
    }
    /// Limits a number or count to the shared range `b`, and says why in the doc.
    pub fn bounded(mut self, b: Bound) -> Self {
        self.range = Some((b.lo, b.hi));
        self.doc = format!("{} ({})", self.doc, b.why);
        self
    }
    /// Limits an array option to at most `n` items, each (when numbers) within `b`.
    pub fn items(mut self, n: usize, b: Bound) -> Self {
        self.max_items = Some(n);
        self.range = Some((b.lo, b.hi));
        self.doc = format!("{} (at most {n} items, each {})", self.doc, b.why);
        self
    }
    /// Why `v` is not an acceptable value, or `None` when it is (kind, range and choices).
    pub fn reject(&self, v: &rhai::Dynamic) -> Option<String> {
        let number = v
            .as_float()
            .ok()
            .or_else(|| v.as_int().ok().map(|i| i as f64));
        let kind_ok = match self.kind {
            OptKind::Number => number.is_some(),
            OptKind::Count => v.as_int().is_ok_and(|i| i >= 0),
            OptKind::Flag => v.is_bool(),
            OptKind::Text | OptKind::Path => v.is_string(),
            OptKind::Array => v.is_array(),
            OptKind::Map => v.is_map(),
            OptKind::Any => true,
        };
        if !kind_ok {
            return Some(format!(
                "must be {}, got {}",
                self.kind.expected(),
                describe(v)
            ));
        }
        if let (Some((lo, hi)), Some(x)) = (self.range, number) {
            if !(lo..=hi).contains(&x) {
                let (lo, hi, x) = (readable(lo), readable(hi), readable(x));
                return Some(format!("must lie in [{lo}, {hi}], got {x}"));
            }
        }
        if let Some(items) = v.read_lock::<rhai::Array>() {
            if let Some(n) = self.max_items.filter(|&n| items.len() > n) {
                return Some(format!("holds at most {n} items, got {}", items.len()));
            }
            if let Some((lo, hi)) = self.range {
                let item = |d: &rhai::Dynamic| {
                    d.as_float()
                        .ok()
                        .or_else(|| d.as_int().ok().map(|i| i as f64))
                };
                if let Some((i, x)) = items
                    .iter()
                    .enumerate()
                    .find_map(|(i, d)| item(d).filter(|x| !(lo..=hi).contains(x)).map(|x| (i, x)))
                {
                    let (lo, hi, x) = (readable(lo), readable(hi), readable(x));
                    return Some(format!("item {i} must lie in [{lo}, {hi}], got {x}"));
                }
            }
        }
        if !self.choices.is_empty() {
            let s = v.clone().into_string().unwrap_or_default();
            if !self.choices.contains(&s) {
                let hint =
                    super::names::close_names(&s, self.choices.iter().map(String::as_str), 1)
                        .first()
                        .map(|c| format!(" (did you mean {c:?}?)"))
                        .unwrap_or_default();
                return Some(format!(
                    "must be one of {}, got {s:?}{hint}",
                    self.choices.join(", ")
                ));
            }
        }
        None
    }
    /// The value's type in a word or two, with its range (`number in [0, 1]`, `string`).
    pub fn type_label(&self) -> String {
        let kind = match self.kind {
            OptKind::Number => "number",
            OptKind::Count => "integer",
            OptKind::Flag => "bool",
            OptKind::Text => "string",
            OptKind::Path => "path",
            OptKind::Array => "array",
            OptKind::Map => "map",
            OptKind::Any => "value",
        };
        match self.range {
            Some((lo, hi)) => format!("{kind} in [{lo}, {hi}]"),
            None => kind.to_string(),
        }
    }
}

/// A value as an error message shows it: short values in full, others by type.
fn describe(v: &rhai::Dynamic) -> String {
    if v.is_string() || v.is_int() || v.is_float() || v.is_bool() || v.is_unit() {
        format!("{v:?}")
    } else {
        v.type_name().to_string()
    }
}

/// Documentation of one script function (all its overloads) or method.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct FnDoc {
    /// Name as called in scripts; methods are `Type.name`.
    pub name: String,
    /// Area (tensor, energy, sampler, landscape, plot, ...), for grouping in the reference.
    pub area: String,
    /// Every signature, e.g. `adelm(U: Energy, opts: map) -> Map`.
    pub signatures: Vec<String>,
    /// Argument counts accepted (for `check`), counting the receiver of a method.
    pub arities: Vec<usize>,
    /// The doc text: first line is the summary.
    pub doc: String,
    /// Keys of the options map, when the function takes one.
    pub options: Vec<OptionDoc>,
    /// A short example.
    pub example: String,
    /// True for methods (called as `x.name(...)`).
    pub method: bool,
}

impl FnDoc {
    /// The first line of the doc.
    pub fn summary(&self) -> &str {
        self.doc.lines().next().unwrap_or("")
    }
    /// The bare function name (without a `Type.` prefix).
    pub fn bare_name(&self) -> &str {
        self.name.rsplit('.').next().unwrap_or(&self.name)
    }
    /// Full help text as shown by `?name` and `telescope doc name`.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for sig in &self.signatures {
            s.push_str(sig);
            s.push('\n');
        }
        s.push('\n');
        s.push_str(self.doc.trim());
        s.push('\n');
        if !self.options.is_empty() {
            s.push_str("\nOptions:\n");
            let w = self.options.iter().map(|o| o.name.len()).max().unwrap_or(0);
            for o in &self.options {
                s.push_str(&format!(
                    "  {:w$}  ({}, default {})  {}\n",
                    o.name,
                    o.type_label(),
                    o.default,
                    o.doc,
                    w = w
                ));
                if !o.choices.is_empty() {
                    s.push_str(&format!(
                        "  {:w$}  one of: {}\n",
                        "",
                        o.choices.join(", "),
                        w = w
                    ));
                }
                if let Some(of) = &o.of {
                    s.push_str(&format!(
                        "  {:w$}  keys: see `telescope doc {of}`\n",
                        "",
                        w = w
                    ));
                }
            }
        }
        if !self.example.is_empty() {
            s.push_str("\nExample:\n");
            for line in self.example.lines() {
                s.push_str("  ");
                s.push_str(line);
                s.push('\n');
            }
        }
        s
    }
}

/// All documented functions, keyed by name (methods as `Type.name`).
#[derive(Clone, Debug, Default)]
pub struct Docs {
    entries: BTreeMap<String, FnDoc>,
}

impl Docs {
    /// Adds a signature (and doc, when first seen) for `name`.
    pub fn add(
        &mut self,
        area: &str,
        name: &str,
        signature: &str,
        arity: usize,
        doc: &str,
        method: bool,
    ) {
        let e = self
            .entries
            .entry(name.to_string())
            .or_insert_with(|| FnDoc {
                name: name.to_string(),
                area: area.to_string(),
                method,
                ..Default::default()
            });
        if !signature.is_empty() && !e.signatures.iter().any(|s| s == signature) {
            e.signatures.push(signature.to_string());
        }
        if !e.arities.contains(&arity) {
            e.arities.push(arity);
        }
        if e.doc.is_empty() && !doc.is_empty() {
            e.doc = doc.trim().to_string();
        }
    }
    /// Sets the options of `name`.
    pub fn set_options(&mut self, name: &str, options: Vec<OptionDoc>) {
        if let Some(e) = self.entries.get_mut(name) {
            e.options = options;
        }
    }
    /// Sets the example of `name`.
    pub fn set_example(&mut self, name: &str, example: &str) {
        if let Some(e) = self.entries.get_mut(name) {
            e.example = example.trim().to_string();
        }
    }
    /// The entry of a function, or of a method when `name` is `Type.name` or a bare method name.
    pub fn get(&self, name: &str) -> Option<&FnDoc> {
        self.entries.get(name).or_else(|| {
            self.entries
                .values()
                .find(|e| e.method && e.bare_name() == name)
        })
    }
    /// Every entry, sorted by name.
    pub fn all(&self) -> impl Iterator<Item = &FnDoc> {
        self.entries.values()
    }
    /// Every method entry whose receiver type is `type_name` (e.g. `Tensor`).
    pub fn methods_of<'a>(&'a self, type_name: &'a str) -> impl Iterator<Item = &'a FnDoc> + 'a {
        let prefix = format!("{type_name}.");
        self.entries
            .values()
            .filter(move |e| e.name.starts_with(&prefix))
    }
}
