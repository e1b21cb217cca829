//! Typed results: every function that returns a record returns a value of its documented
//! type whose display is a summary of at most five short lines, whose fields are all
//! documented, readable as getters, by index and through `to_map()`, and whose numbers in the
//! summary are the record's own.

use telescope::script::records::{num, KINDS};

/// Values the calls use.
const PRELUDE: &str = r#"
let U = muller_brown();
let a = [-0.558, 1.442];
let b = [-0.050, 0.467];
let S = sk(8, 1);
"#;

/// One call per record-returning function (and form), with the type it must return.
const CALLS: &[(&str, &str)] = &[
    ("ad(U, a, b)", "AdTrial"),
    ("ad(U, a, b, #{T: 5.0, alpha: 20.0, thin: 2})", "AdTrial"),
    ("ad(U, a, b, #{trials: 3})[1]", "AdTrial"),
    ("barrier_1d(U, a, b)", "LineBarrier"),
    ("barrier_1d(U, a, b, 17)", "LineBarrier"),
    ("barrier_ad(U, a, b)", "AdBarrier"),
    ("barrier_ad(U, a, b, #{T: 5.0, alpha: 20.0, trials: 4})", "AdBarrier"),
    ("barrier_ad(U, a, b, #{T: 5.0, alpha: 20.0}).path", "AdTrial"),
    ("sample(U, zeros([16, 2]), #{steps: 50})", "Samples"),
    ("sample(U, zeros([4, 2]), #{steps: 20, thin: 5})", "Samples"),
    ("minimize(U, [0.0, 0.5])", "Minimum"),
    ("minimize(U, rand([5, 2]))", "Minimum"),
    ("minimize(S, ones([8]))", "Minimum"),
    ("find_minima(U, #{starts: 20})[0]", "FoundMinimum"),
    ("tune_alpha(S, #{n: 2, iters: 4, progress: false})[0]", "AlphaRow"),
    (
        "compare_paths(U, a, b, #{table: false, ad: #{trials: 2, max_rounds: 3}, neb: #{images: 6, max_iter: 30}})",
        "PathComparison",
    ),
    (
        "compare_paths(U, a, b, #{table: false, ad: #{trials: 2, max_rounds: 3}, neb: #{images: 6, max_iter: 30}}).neb",
        "PathBarrier",
    ),
    ("neb(U, a, b, #{images: 8, climb: true}).saddle()", "Saddle"),
    ("tune_temperature(U, a, #{temps: [0.1, 1.0], steps: 20, chains: 4})[1]", "TemperatureRow"),
    (
        "phase_diagram(U, a, b, #{temps: [5.0], trials: 2, max_rounds: 3, progress: false})[0]",
        "PhaseRow",
    ),
    (
        "train_deepframe(descriptor(\"fc(1)\", #{shape: [1, 4, 4]}), rand([8, 16]), #{epochs: 2, batch: 4, steps: 2})",
        "Training",
    ),
];

#[test]
fn every_result_is_typed_summarised_and_documented() {
    tch::set_num_threads(1);
    let docs = telescope::script::docs();
    let mut problems = Vec::new();
    for (call, ty) in CALLS {
        let mut s = telescope::script::new_session(None);
        let _ = s.eval("<prelude>", PRELUDE).unwrap();
        let code = format!(
            "let r = {call};\nlet same = [];\nfor k in r.keys() {{ same.push(`${{r[k]}}` == `${{r.to_map()[k]}}`); }}\n[type_of(r), `${{r}}`, r.keys(), same]"
        );
        let v: rhai::Array = match s.eval("records.rhai", &code) {
            Ok(v) => v.cast(),
            Err(e) => {
                problems.push(format!("{call}: {e}"));
                continue;
            }
        };
        let got = v[0].clone().into_string().unwrap();
        if got != *ty {
            problems.push(format!("{call}: type {got}, expected {ty}"));
            continue;
        }
        let shown = v[1].clone().into_string().unwrap();
        let lines: Vec<&str> = shown.lines().collect();
        if lines.len() > 5 || lines.iter().any(|l| l.chars().count() > 160) {
            problems.push(format!(
                "{call}: the display is not a short summary:\n{shown}"
            ));
        }
        if !shown.starts_with(&format!("{ty}: ")) {
            problems.push(format!(
                "{call}: the display does not name its type: {shown}"
            ));
        }
        let kind = KINDS.iter().find(|k| k.name == *ty).unwrap();
        let keys: Vec<String> = v[2]
            .clone()
            .into_array()
            .unwrap()
            .into_iter()
            .map(|k| k.into_string().unwrap())
            .collect();
        for k in &keys {
            if !kind.fields.iter().any(|(f, _)| f == k) {
                problems.push(format!("{call}: field `{k}` is not documented for {ty}"));
            }
            if docs.get(&format!("{ty}.{k}")).is_none() {
                problems.push(format!("{call}: no reference entry {ty}.{k}"));
            }
        }
        let same = v[3].clone().into_array().unwrap();
        if same.iter().any(|b| !b.as_bool().unwrap_or(false)) {
            problems.push(format!(
                "{call}: r[k] and r.to_map()[k] differ for {keys:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The numbers a summary shows are the record's own fields, and old map-style scripts keep
/// working: `r.barrier`, `r["steps"]`, `"barrier" in r`-style `contains`, assignment.
#[test]
fn summaries_show_the_fields_and_map_style_access_still_works() {
    tch::set_num_threads(1);
    let mut s = telescope::script::new_session(None);
    let _ = s.eval("<prelude>", PRELUDE).unwrap();
    for seed in 1..=4 {
        let code = format!(
            "seed({seed});\nlet r = ad(U, a, b, #{{T: 5.0, alpha: 20.0}});\n\
             let l = barrier_1d(U, a, b);\n\
             r.steps = r[\"steps\"];\n\
             [`${{r}}`, r.steps, r.barrier, r.best_distance, `${{l}}`, l.barrier, l.at, r.contains(\"barrier\"), r.contains(\"nosuch\")]"
        );
        let v: rhai::Array = s.eval("access.rhai", &code).unwrap().cast();
        let shown = v[0].clone().into_string().unwrap();
        let (steps, barrier, best) = (
            v[1].as_int().unwrap(),
            v[2].as_float().unwrap(),
            v[3].as_float().unwrap(),
        );
        assert!(shown.contains(&format!("after {steps} steps")), "{shown}");
        assert!(
            shown.contains(&format!("barrier {}", num(barrier))),
            "{shown}"
        );
        assert!(
            shown.contains(&format!("best distance {}", num(best))),
            "{shown}"
        );
        let line = v[4].clone().into_string().unwrap();
        let (lb, at) = (v[5].as_float().unwrap(), v[6].as_float().unwrap());
        assert!(
            line.contains(&format!("{} at t = {}", num(lb), num(at))),
            "{line}"
        );
        assert!(v[7].as_bool().unwrap() && !v[8].as_bool().unwrap());
    }
    let e = s
        .eval("bad.rhai", "let r = barrier_1d(U, a, b);\nr.nosuch")
        .unwrap_err();
    assert!(
        e.contains("bad.rhai:2:")
            && e.contains("LineBarrier has no field `nosuch`")
            && e.contains("at"),
        "{e}"
    );
}
