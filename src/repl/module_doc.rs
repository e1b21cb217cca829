//! The reference of the Rhai modules shipped inside the binary (`stdlib/*.rhai`, imported
//! with `import "latent_map" as lm;`), read from their `///` doc comments: the list that ends
//! `telescope doc`, and `telescope doc latent_map` / `?lm::basin_classes` for one module or
//! function.

use super::analysis::module_exports;
use crate::script::stdlib::MODULES;

/// Longest summary line in the overview, in characters.
const SUMMARY_CHARS: usize = 150;

/// The first sentence of a doc comment (up to the first ". " or the end of its first
/// paragraph), on one line, cut at a word to at most [`SUMMARY_CHARS`] with " ...".
fn summary(doc: &str) -> String {
    let para = doc.split("\n\n").next().unwrap_or("");
    let flat = para.split_whitespace().collect::<Vec<_>>().join(" ");
    let sentence = match flat.find(". ") {
        Some(i) => &flat[..=i],
        None => &flat,
    };
    if sentence.chars().count() <= SUMMARY_CHARS {
        return sentence.to_string();
    }
    let mut cut = String::new();
    for word in sentence.split(' ') {
        if cut.chars().count() + word.chars().count() + 1 > SUMMARY_CHARS - 4 {
            break;
        }
        if !cut.is_empty() {
            cut.push(' ');
        }
        cut.push_str(word);
    }
    cut + " ..."
}

/// Every exported function of every module, one line each, under a heading that says how to
/// import them.
pub fn overview() -> String {
    let mut s = String::from(
        "\nmodules (`import \"NAME\" as m;` then `m::f(...)`; `telescope doc NAME` for one)\n-------\n",
    );
    for (module, source) in MODULES {
        s.push_str(&format!("  {module}\n"));
        for f in module_exports(source) {
            s.push_str(&format!(
                "    {}\n      {}\n",
                f.qualified(module),
                summary(&f.doc)
            ));
        }
    }
    s
}

/// Help for `name`: a module (`latent_map`: its functions in full), or one of its functions
/// under any prefix (`basin_classes`, `lm::basin_classes`, `latent_map::basin_classes`: every
/// overload in full). `None` when no module has it.
pub fn help(name: &str) -> Option<String> {
    let name = name.trim().trim_matches('"');
    if let Some((module, source)) = MODULES.iter().find(|(m, _)| *m == name) {
        let mut s = format!(
            "module {module} (import \"{module}\" as m; then m::f(...))\n{}\n",
            header(source)
        );
        for f in module_exports(source) {
            s.push_str(&format!("\n{}\n{}\n", f.qualified(module), f.doc.trim()));
        }
        return Some(s);
    }
    let bare = name.rsplit("::").next().unwrap_or(name);
    let mut s = String::new();
    for (module, source) in MODULES {
        for f in module_exports(source)
            .into_iter()
            .filter(|f| f.name == bare)
        {
            s.push_str(&format!(
                "{} (module {module})\n{}\n\n",
                f.qualified(module),
                f.doc.trim()
            ));
        }
    }
    (!s.is_empty()).then(|| s.trim_end().to_string() + "\n")
}

/// The module's opening `//` comment, without the slashes.
fn header(source: &str) -> String {
    source
        .lines()
        .take_while(|l| l.starts_with("//") && !l.starts_with("///"))
        .map(|l| l.trim_start_matches('/').trim_start())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every exported function of every module is listed, documented, and found by its bare
    /// and qualified names; private helpers are not.
    #[test]
    fn every_module_function_has_its_help() {
        let all = overview();
        for (module, source) in MODULES {
            assert!(help(module).is_some(), "{module}");
            let exports = module_exports(source);
            assert!(!exports.is_empty(), "{module}");
            for f in exports {
                assert!(
                    !f.doc.trim().is_empty(),
                    "{module}::{} has no doc comment",
                    f.name
                );
                assert!(all.contains(&f.qualified(module)), "{}", f.name);
                for name in [f.name.clone(), format!("m::{}", f.name)] {
                    let text = help(&name).unwrap();
                    assert!(text.contains(f.doc.trim()), "{name}");
                }
            }
        }
        assert!(
            help("class_table").is_none(),
            "a private helper is not exported"
        );
        assert!(help("no_such_function").is_none());
    }
}
