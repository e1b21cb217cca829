//! The options a function parses are the options its reference documents. Each function
//! declares its options once (`OptionDoc`: name, kind, default, range, choices, doc); its
//! parser reads the map through that table (`Opts`), which refuses a key the table lacks and,
//! at `finish`, reports a documented key the parser never read. Every documented function
//! that takes an options map is called here with an unknown key: the answer must be the
//! unknown-option error listing exactly the documented options, never an internal error
//! (a parser reading an undocumented key, or ignoring a documented one).

use std::collections::BTreeSet;

/// Values the probe calls use.
const PRELUDE: &str = r#"
let U = muller_brown();
let S = sk(8, 1);
let M = adelm(S, #{iters: 4, progress: false});
let P = neb(U, [-0.558, 1.442], [-0.050, 0.467], #{images: 6, max_iter: 20});
let D = dg([0.0, 1.0], [[(), 2.0], [2.0, ()]], [1, 1]);
let C = compare_maps(M, M);
let Nd = descriptor("fc(1)", #{shape: [1, 4, 4]});
let Ng = generator("convT(1,4,1)", #{latent: 2});
let X = tensor([[0.0, 1.0]]);
let Cv = curve_path(U, [-0.558, 1.442], [-0.050, 0.467], #{iters: 5});
"#;

/// One call per documented function with options; `OPTS` stands for the options map, `PROBE`
/// for the unknown key inside a map that also holds a required option.
const PROBES: &[(&str, &str)] = &[
    ("Dg.plot", "D.plot(OPTS)"),
    ("Map.barrier_matrix", "M.barrier_matrix(S, OPTS)"),
    ("Map.save", "M.save(\"probe.json\", OPTS)"),
    ("NebPath.saddle", "P.saddle(OPTS)"),
    ("CurvePath.saddle", "Cv.saddle(OPTS)"),
    (
        "curve_path",
        "curve_path(U, [-0.558, 1.442], [-0.050, 0.467], OPTS)",
    ),
    (
        "map_from_minima",
        "map_from_minima(U, [[-0.558, 1.442], [-0.050, 0.467]], OPTS)",
    ),
    (
        "torch_loss",
        "torch_loss(\"probe.pt\", #{inputs: [[1.0]], targets: [0.0]}, OPTS)",
    ),
    ("ad", "ad(U, [-0.558, 1.442], [-0.050, 0.467], OPTS)"),
    ("adelm", "adelm(U, OPTS)"),
    (
        "alpha_sweep_plot",
        "alpha_sweep_plot([1.0, 2.0], [3, 2], OPTS)",
    ),
    (
        "barrier_ad",
        "barrier_ad(U, [-0.558, 1.442], [-0.050, 0.467], OPTS)",
    ),
    ("compare_maps", "compare_maps(M, M, OPTS)"),
    ("merge_maps", "merge_maps([M], S, OPTS)"),
    (
        "compare_paths",
        "compare_paths(U, [-0.558, 1.442], [-0.050, 0.467], OPTS)",
    ),
    ("dataset", "dataset(\"digits\", OPTS)"),
    ("deepframe_energy", "deepframe_energy(Nd, OPTS)"),
    ("descriptor", "descriptor(\"fc(1)\", OPTS)"),
    ("dg", "dg([0.0, 1.0], [[(), 2.0], [2.0, ()]], [1, 1], OPTS)"),
    ("dg_compare_plot", "dg_compare_plot(M, M, C, OPTS)"),
    ("dg_plot", "dg_plot(M, OPTS)"),
    ("embed", "embed(U, 4, OPTS)"),
    (
        "energy",
        "energy(|x| x.sum(1), #{dim: 2, space: \"levels\", PROBE})",
    ),
    ("find_minima", "find_minima(U, OPTS)"),
    ("generator", "generator(\"fc(16)\", OPTS)"),
    ("gwl", "gwl(S, OPTS)"),
    ("heatmap", "heatmap(U, OPTS)"),
    ("histogram", "histogram([1.0, 2.0], OPTS)"),
    ("image_grid", "image_grid(rand([2, 16]), OPTS)"),
    ("latent_energy", "latent_energy(Nd, Ng, OPTS)"),
    ("line_plot", "line_plot([1.0, 2.0], [1.0, 2.0], OPTS)"),
    ("load_images", "load_images(\".\", OPTS)"),
    ("load_npy_images", "load_npy_images(\"probe.npy\", OPTS)"),
    ("minimize", "minimize(U, [0.0, 0.5], OPTS)"),
    ("neb", "neb(U, [-0.558, 1.442], [-0.050, 0.467], OPTS)"),
    (
        "neb_pairs",
        "neb_pairs(U, [[[-0.558, 1.442], [-0.050, 0.467]]], OPTS)",
    ),
    ("path_energy_plot", "path_energy_plot(U, [P.images], OPTS)"),
    (
        "phase_diagram",
        "phase_diagram(U, [-0.558, 1.442], [-0.050, 0.467], OPTS)",
    ),
    ("phase_plot", "phase_plot([0.1, 0.5], [], OPTS)"),
    ("sample", "sample(U, X, OPTS)"),
    ("scatter", "scatter([[0.0, 1.0]], [0], OPTS)"),
    (
        "torch_energy",
        "torch_energy(\"probe.pt\", #{dim: 2, space: \"levels\", PROBE})",
    ),
    ("torch_net", "torch_net(\"probe.pt\", OPTS)"),
    ("train_coop", "train_coop(Nd, Ng, rand([4, 16]), OPTS)"),
    (
        "train_deepframe",
        "train_deepframe(Nd, rand([4, 16]), OPTS)",
    ),
    ("tune_alpha", "tune_alpha(U, OPTS)"),
    ("tune_temperature", "tune_temperature(U, [0.0, 0.5], OPTS)"),
];

/// The option names in "...; known options: a, b, c" of an unknown-option error.
fn known_options(error: &str) -> Option<BTreeSet<String>> {
    let list = error.split("known options: ").nth(1)?;
    Some(
        list.trim()
            .split(", ")
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect(),
    )
}

#[test]
fn every_parser_knows_exactly_the_documented_options() {
    tch::set_num_threads(1);
    let tmp = tempfile::Builder::new()
        .prefix("telescope_option_schema_")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    let docs = telescope::script::docs();
    let mut problems = Vec::new();
    // One session for every probe: a probe stops at its options, before it runs or binds
    // anything, so the prelude's values stay as they were.
    let mut session = telescope::script::new_session(Some(dir));
    let _ = session.eval("<prelude>", PRELUDE).unwrap();
    for d in docs.all().filter(|d| !d.options.is_empty()) {
        let Some((_, call)) = PROBES.iter().find(|(n, _)| *n == d.name) else {
            problems.push(format!(
                "{}: no probe call in tests/option_schema.rs",
                d.name
            ));
            continue;
        };
        let code = call
            .replace("OPTS", "#{zz_probe: 1}")
            .replace("PROBE", "zz_probe: 1");
        let error = match session.eval("<probe>", &code) {
            Ok(_) => {
                problems.push(format!("{}: `{code}` accepted an unknown option", d.name));
                continue;
            }
            Err(e) => e,
        };
        if error.contains("internal error") {
            problems.push(format!("{}: `{code}`: {error}", d.name));
            continue;
        }
        let Some(parsed) = known_options(&error) else {
            problems.push(format!(
                "{}: `{code}` failed before its options: {error}",
                d.name
            ));
            continue;
        };
        let documented: BTreeSet<String> = d.options.iter().map(|o| o.name.clone()).collect();
        if parsed != documented {
            problems.push(format!(
                "{}: the error lists {parsed:?}, the reference {documented:?}",
                d.name
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every number and integer option declares the closed range a real user could want, and
/// its default lies in it: an absurd value is then refused where the option is declared
/// (at run time, by `telescope check` and by the LSP), before anything is allocated or run.
#[test]
fn every_number_and_count_option_has_a_range_holding_its_default() {
    use telescope::script::{OptDefault, OptKind};
    let mut problems = Vec::new();
    for d in telescope::script::docs().all() {
        for o in &d.options {
            let numeric = matches!(o.kind, OptKind::Number | OptKind::Count);
            let Some((lo, hi)) = o.range else {
                if numeric {
                    problems.push(format!("{}: option `{}` has no range", d.name, o.name));
                }
                continue;
            };
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                problems.push(format!("{}: `{}` has range [{lo}, {hi}]", d.name, o.name));
            }
            let defaults: Vec<f64> = match &o.default {
                OptDefault::Number(x) => vec![*x],
                OptDefault::Count(n) => vec![*n as f64],
                OptDefault::Numbers(v) => v.clone(),
                _ => vec![],
            };
            for x in defaults {
                if !(lo..=hi).contains(&x) {
                    problems.push(format!(
                        "{}: `{}` defaults to {x}, outside its range [{lo}, {hi}]",
                        d.name, o.name
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A value beyond an option's declared range is refused by the running function with the
/// option's name, the range and the call's line and column, before any work starts; an
/// array option longer than it may be, or with an item out of range, likewise.
#[test]
fn values_beyond_a_range_are_refused_at_the_call() {
    use telescope::script::OptKind;
    tch::set_num_threads(1);
    let tmp = tempfile::Builder::new()
        .prefix("telescope_option_ranges_")
        .tempdir()
        .unwrap();
    let docs = telescope::script::docs();
    let mut problems = Vec::new();
    let mut checked = 0;
    let mut session = telescope::script::new_session(Some(tmp.path()));
    let _ = session.eval("<prelude>", PRELUDE).unwrap();
    for d in docs.all() {
        let Some((_, call)) = PROBES.iter().find(|(n, _)| *n == d.name) else {
            continue;
        };
        for o in &d.options {
            let Some((lo, hi)) = o.range else { continue };
            // Options the call already sets, and seeds (any 64-bit value is one).
            if call.contains(&format!("{}:", o.name)) || hi > 4e18 {
                continue;
            }
            let beyond = if o.kind == OptKind::Count || lo <= 0.0 {
                format!("{}", hi * 2.0 + 1.0)
            } else {
                format!("{:e}", lo / 10.0)
            };
            let mut values = Vec::new();
            match o.kind {
                OptKind::Count => values.push(format!("{}", (hi * 2.0 + 1.0).min(9e18) as i64)),
                OptKind::Number => values.push(beyond.clone()),
                OptKind::Array => {
                    values.push(format!("[{beyond}]"));
                    if let Some(n) = o.max_items {
                        values.push(format!("{{ let a = []; a.pad({}, {lo:e}); a }}", n + 1));
                    }
                }
                _ => continue,
            }
            for value in values {
                checked += 1;
                let entry = format!("{}: {value}", o.name);
                let code = format!(
                    "\n  {}",
                    call.replace("OPTS", &format!("#{{{entry}}}"))
                        .replace("PROBE", &entry)
                );
                match session.eval("probe.rhai", &code) {
                    Ok(_) => problems.push(format!("{}: `{entry}` was accepted", d.name)),
                    Err(e) => {
                        let named = e.contains(&format!("`{}`", o.name))
                            && (e.contains("must lie in") || e.contains("holds at most"));
                        if !named || !e.contains("probe.rhai:2:") {
                            problems.push(format!("{}: `{entry}`: {e}", d.name));
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 150, "only {checked} values were tried");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every function that takes an options map also runs without one (unless an option is
/// required): the probe call with its map left out finds the function and its defaults.
#[test]
fn every_function_with_options_also_runs_without_them() {
    use telescope::script::OptDefault;
    tch::set_num_threads(1);
    let tmp = tempfile::Builder::new()
        .prefix("telescope_no_options_")
        .tempdir()
        .unwrap();
    let mut session = telescope::script::new_session(Some(tmp.path()));
    let _ = session.eval("<prelude>", PRELUDE).unwrap();
    let mut problems = Vec::new();
    for d in telescope::script::docs()
        .all()
        .filter(|d| !d.options.is_empty())
    {
        let required = d
            .options
            .iter()
            .any(|o| matches!(&o.default, OptDefault::Described(s) if s.contains("required")));
        let Some((_, call)) = PROBES.iter().find(|(n, _)| *n == d.name) else {
            continue;
        };
        if required || !call.contains("OPTS") {
            continue;
        }
        // Files a call writes go to the temporary folder, not the working one.
        let code = call
            .replace(", OPTS)", ")")
            .replace("(OPTS)", "()")
            .replace(
                "\"probe.json\"",
                &format!("{:?}", tmp.path().join("probe.json")),
            );
        if let Err(e) = session.eval("bare.rhai", &code) {
            if e.contains("Function not found") || e.contains(" takes ") {
                problems.push(format!("{}: `{code}`: {e}", d.name));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
