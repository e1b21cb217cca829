//! The help text of script functions, rendered from the one docs metadata: the whole
//! reference (`telescope doc`) and one entry, type or area (`telescope doc NAME`, `?NAME` in
//! the REPL, `help("NAME")` in scripts).

use super::names::close_names;
use super::Docs;
use std::collections::BTreeMap;

/// The signature shown in lists: without its return type (the text after the parenthesis
/// that closes the parameter list).
fn short_signature(sig: &str) -> &str {
    let Some(open) = sig.find('(') else {
        return sig.split(" ->").next().unwrap_or(sig);
    };
    let mut depth = 0;
    for (i, c) in sig[open..].char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return &sig[..open + i + 1];
                }
            }
            _ => {}
        }
    }
    sig
}

/// The whole reference: one section per area, one line per function (signature and summary),
/// methods listed under their receiver type.
pub fn overview(docs: &Docs) -> String {
    let mut areas: BTreeMap<&str, Vec<&super::FnDoc>> = BTreeMap::new();
    for d in docs.all() {
        areas.entry(d.area.as_str()).or_default().push(d);
    }
    let mut s = String::from(
        "telescope script functions (`telescope doc NAME` or `?NAME` in the REPL for details)\n",
    );
    for (area, mut fns) in areas {
        s.push_str(&format!("\n{area}\n{}\n", "-".repeat(area.chars().count())));
        fns.sort_by_key(|d| (d.method, d.name.clone()));
        let width = fns
            .iter()
            .map(|d| {
                d.signatures
                    .first()
                    .map(|x| short_signature(x).chars().count())
                    .unwrap_or(d.name.len())
            })
            .max()
            .unwrap_or(0)
            .min(44);
        for d in fns {
            let sig = d
                .signatures
                .first()
                .map(|x| short_signature(x))
                .unwrap_or(&d.name);
            let sig = if d.method && !sig.contains('.') {
                format!("{}.{}", d.name.split('.').next().unwrap_or(""), sig)
            } else {
                sig.to_string()
            };
            if sig.chars().count() > width {
                s.push_str(&format!("  {sig}\n  {:width$}  {}\n", "", d.summary()));
            } else {
                s.push_str(&format!("  {sig:width$}  {}\n", d.summary()));
            }
        }
    }
    s
}

/// Help for `name`: a function or method in full, the methods of a type (`Tensor`), or the
/// functions of an area (`session`). `Err` carries a "not found" text with close names.
pub fn help_text(docs: &Docs, name: &str) -> Result<String, String> {
    let name = name.trim().trim_matches('"');
    if name.is_empty() {
        return Ok(overview(docs));
    }
    if let Some(d) = docs.get(name) {
        let mut s = String::new();
        if d.method || d.name.contains('.') {
            s.push_str(&format!("{} (method, {})\n", d.name, d.area));
        } else {
            s.push_str(&format!("{} ({})\n", d.name, d.area));
        }
        s.push_str(&d.render());
        // Other methods of the same name on other types.
        for other in docs
            .all()
            .filter(|o| o.method && o.bare_name() == d.bare_name() && o.name != d.name)
        {
            s.push_str(&format!("\nalso {}:\n{}", other.name, other.render()));
        }
        let area: Vec<&str> = docs
            .all()
            .filter(|x| x.area == name)
            .map(|x| x.name.as_str())
            .collect();
        if !area.is_empty() {
            s.push_str(&format!("\nThe {name} area has: {}\n", area.join(", ")));
        }
        return Ok(s);
    }
    let methods: Vec<_> = docs.methods_of(name).collect();
    if !methods.is_empty() {
        let mut s = format!("methods and properties of {name}:\n");
        for m in methods {
            let sig = m
                .signatures
                .first()
                .map(|x| short_signature(x))
                .unwrap_or(&m.name);
            s.push_str(&format!("  {sig:32}  {}\n", m.summary()));
        }
        return Ok(s);
    }
    let area: Vec<_> = docs.all().filter(|d| d.area == name).collect();
    if !area.is_empty() {
        let mut s = format!("{name} functions:\n");
        for d in area {
            let sig = d
                .signatures
                .first()
                .map(|x| short_signature(x))
                .unwrap_or(&d.name);
            s.push_str(&format!("  {sig:32}  {}\n", d.summary()));
        }
        return Ok(s);
    }
    let names: Vec<&str> = docs
        .all()
        .flat_map(|d| [d.name.as_str(), d.bare_name()])
        .collect();
    let close = close_names(name, names.into_iter(), 5);
    let mut s = format!("no function named `{name}`");
    if close.is_empty() {
        s.push_str("; `telescope doc` lists them all\n");
    } else {
        s.push_str(&format!(
            "; did you mean {}?\n",
            close
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Err(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Docs {
        let mut d = Docs::default();
        d.add(
            "session",
            "seed",
            "seed(n: int)",
            1,
            "Seeds things.\nMore text.",
            false,
        );
        d.add(
            "tensor",
            "Tensor.shape",
            "Tensor.shape",
            1,
            "The shape.",
            true,
        );
        d.set_example("seed", "seed(1);");
        d
    }

    #[test]
    fn help_renders_entries_types_areas_and_suggestions() {
        let d = sample();
        let s = help_text(&d, "seed").unwrap();
        assert!(s.starts_with("seed (session)\nseed(n: int)\n"), "{s}");
        assert!(
            s.contains("More text.") && s.contains("Example:\n  seed(1);"),
            "{s}"
        );
        assert!(help_text(&d, "Tensor").unwrap().contains("The shape."));
        assert!(help_text(&d, "session").unwrap().contains("seed(n: int)"));
        let e = help_text(&d, "sed").unwrap_err();
        assert!(e.contains("did you mean `seed`"), "{e}");
        assert_eq!(
            short_signature("energy(f: fn(Tensor) -> Tensor) -> Energy"),
            "energy(f: fn(Tensor) -> Tensor)"
        );
        assert_eq!(short_signature("Energy.dim"), "Energy.dim");
        let o = overview(&d);
        assert!(
            o.contains("\nsession\n-------\n  seed(n: int)  Seeds things.\n"),
            "{o}"
        );
    }
}
