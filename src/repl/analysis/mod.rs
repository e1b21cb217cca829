//! Source analysis shared by the REPL, `telescope check` and the language server: a small
//! lexer, the catalog of callable functions (from the docs metadata and the engine's own
//! function metadata), diagnostics over the Rhai AST, completion and signature context.
//!
//! Nothing here knows a telescope function by name: everything comes from [`Docs`] and from
//! the engine, so functions added anywhere show up in completion, help and checks.

mod catalog;
mod complete;
mod diagnostics;
mod lex;
mod symbols;

pub use catalog::*;
pub use complete::*;
pub use diagnostics::*;
pub use lex::*;
pub use symbols::*;

use crate::script::FnDoc;

/// What `?name` in the REPL and hovering in an editor tell about a name, as data that each
/// front end renders (the REPL as text, the language server as markdown).
#[derive(Clone, Debug)]
pub enum Description {
    /// A telescope function or method, a Rhai built-in or a function defined in the script:
    /// its signatures and doc (options and example for telescope's own).
    Function(FnDoc),
    /// A variable in scope, with its type when known.
    Variable {
        /// The variable's name.
        name: String,
        /// Its type as `type_of` gives it, when known.
        type_name: Option<String>,
    },
}

/// Describes `name` (called as a method after a `.` when `method`): a variable of `env` first,
/// then a documented function, a function the script defines, a Rhai keyword function, a Rhai
/// library function. `None` for an unknown name.
pub fn describe(cat: &Catalog, env: &Env, name: &str, method: bool) -> Option<Description> {
    if !method {
        if let Some((n, t)) = env.vars.iter().find(|(n, _)| n == name) {
            return Some(Description::Variable {
                name: n.clone(),
                type_name: t.clone(),
            });
        }
    }
    if let Some(d) = cat.doc(name, method) {
        return Some(Description::Function(d.clone()));
    }
    let function = |signatures: Vec<String>, doc: String| {
        Some(Description::Function(FnDoc {
            name: name.to_string(),
            area: "rhai".into(),
            signatures,
            doc,
            method,
            ..FnDoc::default()
        }))
    };
    if let Some((n, p)) = env.script_fns.iter().find(|(n, _)| n == name) {
        return function(
            vec![format!("fn {n}({})", p.join(", "))],
            "Defined in this script.".into(),
        );
    }
    if let Some(k) = KEYWORD_FNS.iter().find(|k| k.name == name) {
        return function(vec![k.signature.to_string()], k.doc.to_string());
    }
    let signatures = cat.signatures(name, method);
    if signatures.is_empty() {
        return None;
    }
    let doc = cat
        .builtins
        .iter()
        .filter(|b| b.name == name && !b.summary.is_empty())
        .map(|b| b.summary.clone())
        .next()
        .unwrap_or_else(|| "A function of Rhai's standard library.".into());
    function(signatures, doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::{Docs, OptionDoc};
    use rhai::Engine;
    use std::collections::BTreeSet;
    use std::path::Path;
    use std::rc::Rc;

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
                arg_index: 2,
                module: None,
            }
        );
        let c = call_context("let m = lm::map_at(U, 1, ").unwrap();
        assert_eq!(
            (c.name.as_str(), c.module.as_deref(), c.arg_index),
            ("map_at", Some("lm"), 2)
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

    /// Docs of one function `mapper` with the signature `sig` and two options.
    fn mapper_docs(sig: &str) -> Docs {
        let mut docs = Docs::default();
        docs.add("test", "mapper", sig, 2, "Maps.", false);
        docs.set_options(
            "mapper",
            vec![
                OptionDoc::number("alpha", 1.0, "magnetization"),
                OptionDoc::number("temperature", 1.0, "T"),
            ],
        );
        docs
    }

    #[test]
    fn completes_option_keys_of_the_called_function() {
        let (engine, _) = Catalog::standard();
        let cat = Catalog::new(
            &engine,
            Rc::new(mapper_docs("mapper(U: Energy, opts: map) -> map")),
        );
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
        let tmp = tempfile::Builder::new()
            .prefix("telescope-complete-")
            .tempdir()
            .unwrap();
        let dir = tmp.path();
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::write(dir.join("mymod.rhai"), "fn f() { 1 }").unwrap();
        std::fs::write(dir.join("data/points.csv"), "1,2").unwrap();
        let env = Env {
            base_dir: dir.to_path_buf(),
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
        let raw: Vec<&str> = cat
            .builtins
            .iter()
            .filter(|b| b.signature.contains("EvalAltResult"))
            .map(|b| b.signature.as_str())
            .collect();
        assert!(raw.is_empty(), "{raw:?}");
    }

    #[test]
    fn unknown_option_keys_are_reported() {
        let mut engine = Engine::new();
        engine.set_optimization_level(rhai::OptimizationLevel::None);
        engine.register_fn("mapper", |_: i64, _: rhai::Map| 0_i64);
        let cat = Catalog::new(
            &engine,
            Rc::new(mapper_docs("mapper(n: int, opts: map) -> int")),
        );
        let d = diagnose(
            &engine,
            &cat,
            "let a = mapper(1, #{alpha: 2});\nmapper(2, #{ alfa: 1, temperature: 2 });",
            Path::new("."),
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

    /// The labels completion offers at the end of `src`, as in a file.
    fn completion_labels(cat: &Catalog, src: &str) -> Vec<String> {
        let env = Env::scan(src, Path::new("."));
        complete(cat, &env, src)
            .1
            .into_iter()
            .map(|i| i.label)
            .collect()
    }

    #[test]
    fn completion_after_a_result_offers_its_fields() {
        let (_, cat) = Catalog::standard();
        let labels = |src: &str| completion_labels(&cat, src);
        let r =
            labels("let U = muller_brown();\nlet r = barrier_ad(U, [0.0, 0.0], [1.0, 1.0]);\nr.");
        for field in ["barrier", "near_misses", "rounds", "to_map"] {
            assert!(r.iter().any(|l| l == field), "{field}: {r:?}");
        }
        let t = labels("let t = ad(muller_brown(), [0.0, 0.0], [1.0, 1.0]);\nt.");
        assert!(t.iter().any(|l| l == "best_distance"), "{t:?}");
        assert!(
            !t.iter().any(|l| l == "near_misses" || l == "rounds"),
            "{t:?}"
        );
    }

    #[test]
    fn method_completion_in_a_file_follows_literal_and_return_types() {
        let (_, cat) = Catalog::standard();
        let labels = |src: &str| completion_labels(&cat, src);
        // A string variable gets Rhai's string methods and no telescope methods.
        let s = labels("let name = \"abc\";\nname.");
        assert!(s.iter().any(|l| l == "to_upper"), "{s:?}");
        assert!(!s.iter().any(|l| l == "energies"), "{s:?}");
        // An array literal gets push; a string literal as receiver its methods.
        let a = labels("let xs = [1, 2];\nxs.");
        assert!(a.iter().any(|l| l == "push"), "{a:?}");
        assert!(labels("\"x\".").iter().any(|l| l == "to_upper"));
        // A variable set by a documented call gets the methods of its return type.
        let ret = cat.docs.get("neb").unwrap().signatures[0]
            .rsplit_once("->")
            .unwrap()
            .1
            .trim()
            .to_string();
        let n = labels("let p = neb(U, a, b);\np.");
        let expected: Vec<String> = cat
            .docs
            .all()
            .filter(|d| d.method && d.name.starts_with(&format!("{ret}.")))
            .map(|d| d.bare_name().to_string())
            .collect();
        assert!(!expected.is_empty());
        for e in &expected {
            assert!(n.contains(e), "{e} missing from {n:?}");
        }
        assert!(!n.iter().any(|l| l == "to_upper"), "{n:?}");
    }

    /// The labels completion offers at the end of `src` (no script variables).
    fn labels_at(cat: &Catalog, src: &str) -> Vec<String> {
        complete(cat, &Env::default(), src)
            .1
            .into_iter()
            .map(|i| i.label)
            .collect()
    }

    #[test]
    fn nested_option_maps_complete_and_check_their_own_keys() {
        let (engine, cat) = Catalog::standard();
        let labels = |src: &str| labels_at(&cat, src);
        let ad: Vec<String> = cat
            .docs
            .get("barrier_ad")
            .unwrap()
            .options
            .iter()
            .map(|o| o.name.clone())
            .collect();
        let got = labels("compare_paths(U, a, b, #{table: false, ad: #{");
        assert_eq!(
            got.iter().collect::<BTreeSet<_>>(),
            ad.iter().collect::<BTreeSet<_>>()
        );
        assert_eq!(
            labels("compare_paths(U, a, b, #{ad: #{al"),
            vec!["alpha".to_string()]
        );
        assert!(labels("compare_paths(U, a, b, #{neb: #{ima").contains(&"images".to_string()));
        // The outer map still completes its own keys.
        assert!(labels("compare_paths(U, a, b, #{ad: #{T: 1.0}, ").contains(&"neb".to_string()));
        let d = diagnose(
            &engine,
            &cat,
            "let r = compare_paths(U, [0.0], [1.0], #{ad: #{alfa: 1.0}, neb: #{images: 8}});",
            Path::new("."),
        );
        let messages: Vec<&str> = d.iter().map(|x| x.message.as_str()).collect();
        assert!(
            messages.contains(
                &"`compare_paths`'s option `ad` has no option `alfa` (did you mean `alpha`?)"
            ),
            "{messages:?}"
        );
        assert!(
            !messages.iter().any(|m| m.contains("images")),
            "{messages:?}"
        );
        // An options map held in a variable (defined once) is checked where it is written.
        let d = diagnose(
            &engine,
            &cat,
            "let o = #{alfa: 1.0};\nlet m = adelm(U, o);\nlet p = #{x: 1};\np = #{y: 2};\nadelm(U, p);",
            Path::new("."),
        );
        let found: Vec<(usize, &str)> = d
            .iter()
            .map(|x| (x.line, x.message.as_str()))
            .filter(|(_, m)| m.contains("has no option"))
            .collect();
        assert_eq!(found.len(), 1, "{d:?}");
        assert_eq!(found[0].0, 1);
        assert!(
            found[0].1.starts_with("`adelm` has no option `alfa`"),
            "{found:?}"
        );
    }

    #[test]
    fn option_values_from_a_fixed_set_complete_and_are_checked() {
        let (engine, cat) = Catalog::standard();
        let labels = |src: &str| labels_at(&cat, src);
        let all: Vec<String> = crate::sampler::SamplerKind::ALL
            .iter()
            .map(|k| k.name().to_string())
            .collect();
        assert_eq!(labels("adelm(U, #{sampler: \""), all);
        assert_eq!(
            labels("sample(U, x, #{steps: 10, sampler: \"ma"),
            vec!["mala".to_string()]
        );
        assert_eq!(
            labels("compare_paths(U, a, b, #{ad: #{sampler: \"gi"),
            vec!["gibbs".to_string()]
        );
        assert_eq!(
            labels("adelm(U, #{placement: \"s"),
            vec!["sequential".to_string()]
        );
        let d = diagnose(
            &engine,
            &cat,
            "let m = adelm(U, #{sampler: \"malla\", placement: \"batched\"});\nlet r = minimize(U, [0.0], #{method: \"lbfgs\"});",
            Path::new("."),
        );
        let messages: Vec<&str> = d
            .iter()
            .map(|x| x.message.as_str())
            .filter(|m| !m.starts_with("undefined"))
            .collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(
            messages[0].starts_with(
                "`adelm`: option `sampler` must be one of auto, mh, cmh, mala, langevin, hmc, gibbs, got \"malla\""
            ),
            "{messages:?}"
        );
        assert!(
            messages[0].ends_with("(did you mean \"mala\"?)"),
            "{messages:?}"
        );
        assert!(
            messages[1].starts_with(
                "`minimize`: option `method` must be one of auto, fire, gd, descent, got \"lbfgs\""
            ),
            "{messages:?}"
        );
    }

    #[test]
    fn literal_option_values_are_checked_against_their_kind_and_range() {
        let (engine, cat) = Catalog::standard();
        let src = "let U = muller_brown();\n\
                   let m = adelm(U, #{iters: \"10\", T: 0.5, progress: 1});\n\
                   let p = neb(U, [0.0, 0.0], [1.0, 1.0], #{climb_after: 2.0, images: 8, init: [[0.0, 0.0]]});\n\
                   let h = heatmap(U, #{n: 1, xlim: 3});";
        let d = diagnose(&engine, &cat, src, Path::new("."));
        let found: Vec<(usize, &str)> = d.iter().map(|x| (x.line, x.message.as_str())).collect();
        let expected = [
            (
                2,
                "`adelm`: option `iters` must be a non-negative integer, got \"10\"",
            ),
            (2, "`adelm`: option `progress` must be true or false, got 1"),
            (3, "`neb`: option `climb_after` must lie in [0, 1], got 2"),
            (4, "`heatmap`: option `n` must lie in [2, 1000], got 1"),
            (4, "`heatmap`: option `xlim` must be an array, got 3"),
        ];
        assert_eq!(found, expected, "{d:?}");
        // Every fixed default of every documented option is a value the option accepts (its
        // kind, range and choices): the table agrees with itself.
        use crate::script::docs::OptDefault;
        use rhai::Dynamic;
        let mut checked = 0;
        for f in cat.docs.all() {
            for o in &f.options {
                let v = match &o.default {
                    OptDefault::Number(x) => Dynamic::from_float(*x),
                    OptDefault::Count(n) => Dynamic::from_int(*n as i64),
                    OptDefault::Flag(b) => Dynamic::from_bool(*b),
                    OptDefault::Text(t) => Dynamic::from(t.clone()),
                    OptDefault::Numbers(v) => {
                        Dynamic::from_array(v.iter().map(|x| Dynamic::from_float(*x)).collect())
                    }
                    OptDefault::Described(_) => continue,
                };
                checked += 1;
                assert_eq!(o.reject(&v), None, "{}: option `{}`", f.name, o.name);
            }
        }
        assert!(checked > 200, "{checked}");
    }

    #[test]
    fn completion_inside_a_call_offers_names_not_operators() {
        let (_, cat) = Catalog::standard();
        let src = "let U = muller_brown();\nlet k = 3;\nminimize(U, ";
        let env = Env::scan(src, Path::new("."));
        let labels: Vec<String> = complete(&cat, &env, src)
            .1
            .into_iter()
            .map(|i| i.label)
            .collect();
        assert!(
            labels.contains(&"k".to_string()) && labels.contains(&"tensor".to_string()),
            "{labels:?}"
        );
        assert!(
            labels
                .iter()
                .all(|l| l.starts_with(|c: char| c.is_alphabetic() || c == '_')),
            "{labels:?}"
        );
    }
}
