//! The one source of truth about script functions: names, signatures, docs, options and
//! examples. `telescope doc`, the REPL's help and completion, `telescope check` and the
//! language server all read it, so they cannot drift apart.

use std::collections::BTreeMap;

/// One option key of a function's options map.
#[derive(Clone, Debug, serde::Serialize)]
pub struct OptionDoc {
    /// Key in the options map, e.g. `alpha`.
    pub name: String,
    /// Default value, as shown to users.
    pub default: String,
    /// What it does.
    pub doc: String,
    /// When the value is itself an options map: the function whose options it takes.
    pub of: Option<String>,
    /// The values a string option accepts (empty: any value of its type).
    pub choices: Vec<String>,
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
                    "  {:w$}  (default {})  {}\n",
                    o.name,
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
    pub fn set_options(&mut self, name: &str, options: &[(&str, &str, &str)]) {
        if let Some(e) = self.entries.get_mut(name) {
            e.options = options
                .iter()
                .map(|(n, d, doc)| OptionDoc {
                    name: n.to_string(),
                    default: d.to_string(),
                    doc: doc.to_string(),
                    of: None,
                    choices: Vec::new(),
                })
                .collect();
        }
    }
    /// Sets the values accepted by every option for which `applies` holds.
    pub fn set_choices_where(
        &mut self,
        applies: impl Fn(&str, &OptionDoc) -> bool,
        values: &[&str],
    ) {
        for (name, e) in self.entries.iter_mut() {
            for o in e.options.iter_mut().filter(|o| applies(name, o)) {
                o.choices = values.iter().map(|v| v.to_string()).collect();
            }
        }
    }
    /// Says that option `key` of `name` is an options map of function `of`.
    pub fn set_nested(&mut self, name: &str, key: &str, of: &str) {
        if let Some(o) = self
            .entries
            .get_mut(name)
            .and_then(|e| e.options.iter_mut().find(|o| o.name == key))
        {
            o.of = Some(of.to_string());
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
