//! Typed results: what `ad`, `barrier_1d`, `barrier_ad`, `sample`, `minimize`, `find_minima`,
//! `tune_alpha`, `compare_paths` and training return. Each is a record of named fields (a Rhai
//! map underneath) with a script type of its own (`type_of(r)` is `AdTrial`, ...), a summary
//! of one to a few lines as its display, getters for its fields (`r.barrier`, documented, so
//! `?AdTrial`, `telescope doc` and completion list them), map-style access (`r["barrier"]`,
//! `keys`, `contains`) and `to_map()` for the raw record.
//!
//! One table, [`KINDS`], says every kind's name, fields and summary; `Record<K>` is the value
//! of kind `KINDS[K]`.

use super::{Api, TensorValue};
use rhai::{Array, Dynamic, EvalAltResult, ImmutableString, Map};

/// One kind of result: its script type name, what it is, its fields and its summary.
pub struct Kind {
    /// Script type name, e.g. `AdTrial`.
    pub name: &'static str,
    /// What the record is (the type's doc).
    pub doc: &'static str,
    /// Field names with their docs, in the order `to_map` and `keys` give them.
    pub fields: &'static [(&'static str, &'static str)],
    /// The display: one to five lines.
    summary: fn(&Map) -> String,
}

/// `ad`: one trial.
pub const AD_TRIAL: usize = 0;
/// `barrier_1d`.
pub const LINE_BARRIER: usize = 1;
/// `barrier_ad`.
pub const AD_BARRIER: usize = 2;
/// `sample`.
pub const SAMPLES: usize = 3;
/// `minimize`.
pub const MINIMUM: usize = 4;
/// A row of `find_minima`.
pub const FOUND_MINIMUM: usize = 5;
/// A row of `tune_alpha`.
pub const ALPHA_ROW: usize = 6;
/// `compare_paths`.
pub const PATH_COMPARISON: usize = 7;
/// One method's path inside a `compare_paths` result.
pub const PATH_BARRIER: usize = 8;
/// `train_deepframe` and `train_coop`.
pub const TRAINING: usize = 9;
/// `NebPath.saddle`.
pub const SADDLE: usize = 10;
/// A row of `tune_temperature`.
pub const TEMPERATURE_ROW: usize = 11;
/// A row of `phase_diagram`.
pub const PHASE_ROW: usize = 12;

/// Every kind, indexed by the constants above.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "AdTrial",
        doc: "One Attraction-Diffusion trial (ad).",
        fields: &[
            ("success", "True when the chain came within delta of the target (and, with confirm, its descent reached the target's minimum)."),
            ("near_miss", "True when it came within delta but its descent reached another minimum (a failure)."),
            ("steps", "Steps the trial ran."),
            ("barrier", "Highest energy U along the path."),
            ("final_distance", "Distance to the target when the trial stopped."),
            ("best_distance", "Smallest distance to the target along the path."),
            ("energies", "U at every step."),
            ("distances", "Distance to the target at every step."),
            ("final_state", "Where the trial stopped."),
            ("states", "Recorded states [S, D] (thin > 0 only)."),
            ("interrupted", "True when Ctrl-C stopped the trial early."),
        ],
        summary: ad_trial_summary,
    },
    Kind {
        name: "LineBarrier",
        doc: "The barrier along the straight line between two states (barrier_1d).",
        fields: &[
            ("barrier", "Highest energy along the line."),
            ("at", "Where it is, as the share t in [0, 1] of the way from a to b."),
            ("energies", "Energies at the evenly spaced points."),
        ],
        summary: line_summary,
    },
    Kind {
        name: "AdBarrier",
        doc: "The AD barrier refinement between two minima (barrier_ad).",
        fields: &[
            ("barrier", "Lowest barrier of a successful trial (() when none succeeded)."),
            ("alpha", "Lowest alpha with a success."),
            ("path", "The best trial (an AdTrial), () when none succeeded."),
            ("rounds", "Per round: #{alpha, successes, trials}."),
            ("near_misses", "Trials that came within delta of the target whose descent reached another minimum."),
            ("interrupted", "True when Ctrl-C stopped the refinement early (the barrier is the lowest so far)."),
        ],
        summary: ad_barrier_summary,
    },
    Kind {
        name: "Samples",
        doc: "Batched MCMC chains after a run (sample).",
        fields: &[
            ("x", "Final states [B, D]."),
            ("energy", "U of the final states [B]."),
            ("acceptance", "Mean acceptance rate."),
            ("steps", "Steps run."),
            ("states", "Recorded states [S, B, D] (thin > 0)."),
            ("trace", "U of the recorded states [S, B] (thin > 0)."),
            ("interrupted", "True when Ctrl-C stopped the run early."),
        ],
        summary: samples_summary,
    },
    Kind {
        name: "Minimum",
        doc: "A local minimum search (minimize), of one state or a batch.",
        fields: &[
            ("x", "Where each descent ended: [D] for one state, [B, D] for a batch."),
            ("energy", "Its energy: a number, or [B] for a batch."),
            ("converged", "Whether the descent converged (an array for a batch)."),
            ("iterations", "Iterations taken."),
            ("interrupted", "True when Ctrl-C stopped the descent."),
        ],
        summary: minimum_summary,
    },
    Kind {
        name: "FoundMinimum",
        doc: "One distinct minimum found from random starts (find_minima).",
        fields: &[
            ("x", "The minimum [D]."),
            ("energy", "Its energy."),
            ("count", "How many starts descended to it."),
        ],
        summary: found_summary,
    },
    Kind {
        name: "AlphaRow",
        doc: "One alpha of a magnetization sweep (tune_alpha).",
        fields: &[
            ("alpha", "The magnetization strength."),
            ("groups", "Groups of the short mapping at this alpha."),
            ("ad_trials", "AD trials run."),
            ("ad_successes", "Of those, successful."),
        ],
        summary: alpha_row_summary,
    },
    Kind {
        name: "PathComparison",
        doc: "Barriers between two minima by the straight line, refined AD and DNEB (compare_paths).",
        fields: &[
            ("table", "The comparison as a printed table."),
            ("line", "The straight line (a PathBarrier: barrier, energies, path)."),
            ("ad", "The refined AD path (barrier, alpha, path, energies)."),
            ("neb", "DNEB from the straight line (barrier, images, energies, converged, iterations)."),
            ("neb_from_ad", "DNEB from the AD path, when AD succeeded."),
            ("interrupted", "True when Ctrl-C cut the comparison short (the barriers are upper bounds)."),
        ],
        summary: comparison_summary,
    },
    Kind {
        name: "PathBarrier",
        doc: "One method's path inside a compare_paths result.",
        fields: &[
            ("barrier", "Highest energy along the path (() when the method found none)."),
            ("energies", "Energies along the path."),
            ("path", "The path's states (line and AD)."),
            ("images", "The band's images (NEB)."),
            ("alpha", "AD: lowest successful alpha."),
            ("converged", "NEB: whether the band converged."),
            ("iterations", "NEB: iterations taken."),
        ],
        summary: path_barrier_summary,
    },
    Kind {
        name: "Training",
        doc: "A trained descriptor (and generator) with its history (train_deepframe, train_coop).",
        fields: &[
            ("descriptor", "The trained descriptor (a copy)."),
            ("generator", "The trained generator (train_coop)."),
            ("samples", "The last synthesized images."),
            ("history", "Per epoch: #{epoch, data_energy, sample_energy, gen_loss, seconds}."),
            ("interrupted", "True when Ctrl-C stopped training early."),
            ("steps", "Learning steps taken."),
        ],
        summary: training_summary,
    },
    Kind {
        name: "Saddle",
        doc: "A transition state refined from a band's highest image (NebPath.saddle).",
        fields: &[
            ("state", "The saddle point."),
            ("energy", "Its energy."),
            ("grad_norm", "The gradient norm there."),
            ("converged", "True when grad_norm fell below tol."),
            ("iterations", "Refinement iterations."),
            ("negative_modes", "Negative Hessian eigenvalues (1 at a first-order saddle; () without a Hessian)."),
            ("interrupted", "True when Ctrl-C stopped the refinement early."),
        ],
        summary: saddle_summary,
    },
    Kind {
        name: "TemperatureRow",
        doc: "One temperature of a tuning run (tune_temperature).",
        fields: &[
            ("T", "The temperature."),
            ("mean_change", "Mean of U(x_t) - U(x0) over the run."),
            ("max_change", "Largest U(x_t) - U(x0)."),
        ],
        summary: temperature_row_summary,
    },
    Kind {
        name: "PhaseRow",
        doc: "One temperature of a phase diagram (phase_diagram): the metastable alpha both ways.",
        fields: &[
            ("T", "The temperature."),
            ("alpha_ab", "Lowest alpha with a success from a to b (() when none)."),
            ("alpha_ba", "The same from b to a."),
            ("barrier_ab", "The barrier of that success from a to b."),
            ("barrier_ba", "The same from b to a."),
        ],
        summary: phase_row_summary,
    },
];

/// A result of kind `KINDS[K]`.
#[derive(Clone)]
pub struct Record<const K: usize> {
    fields: Map,
}

/// A record of kind `K` holding `fields`, as a script value.
pub fn make<const K: usize>(fields: Map) -> Dynamic {
    Dynamic::from(Record::<K> { fields })
}

/// The fields of `v` when it is a record of any kind (or a plain map).
pub fn fields_of(v: &Dynamic) -> Option<Map> {
    macro_rules! try_kind {
        ($($k:expr),*) => {
            $(if let Some(r) = v.read_lock::<Record<$k>>() {
                return Some(r.fields.clone());
            })*
        };
    }
    try_kind!(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
    v.read_lock::<Map>().map(|m| m.clone())
}

/// Registers every kind.
pub fn register(api: &mut Api) {
    register_kind::<AD_TRIAL>(api);
    register_kind::<LINE_BARRIER>(api);
    register_kind::<AD_BARRIER>(api);
    register_kind::<SAMPLES>(api);
    register_kind::<MINIMUM>(api);
    register_kind::<FOUND_MINIMUM>(api);
    register_kind::<ALPHA_ROW>(api);
    register_kind::<PATH_COMPARISON>(api);
    register_kind::<PATH_BARRIER>(api);
    register_kind::<TRAINING>(api);
    register_kind::<SADDLE>(api);
    register_kind::<TEMPERATURE_ROW>(api);
    register_kind::<PHASE_ROW>(api);
}

fn register_kind<const K: usize>(api: &mut Api) {
    let kind = &KINDS[K];
    api.engine.register_type_with_name::<Record<K>>(kind.name);
    api.engine.register_fn("to_string", |r: &mut Record<K>| {
        (KINDS[K].summary)(&r.fields)
    });
    api.engine.register_fn("to_debug", |r: &mut Record<K>| {
        (KINDS[K].summary)(&r.fields)
    });
    api.engine.register_indexer_get(
        |r: &mut Record<K>, name: ImmutableString| -> Result<Dynamic, Box<EvalAltResult>> {
            r.fields.get(name.as_str()).cloned().ok_or_else(|| {
                let names: Vec<&str> = KINDS[K].fields.iter().map(|(n, _)| *n).collect();
                format!(
                    "{} has no field `{name}`; its fields: {}",
                    KINDS[K].name,
                    names.join(", ")
                )
                .into()
            })
        },
    );
    api.engine
        .register_indexer_set(|r: &mut Record<K>, name: ImmutableString, v: Dynamic| {
            r.fields.insert(name.as_str().into(), v);
        });
    for (field, doc) in kind.fields {
        api.getter(kind.name, field, doc, move |r: &mut Record<K>| {
            r.fields.get(*field).cloned().unwrap_or(Dynamic::UNIT)
        });
    }
    api.method(
        kind.name,
        "to_map",
        &format!("{}.to_map() -> map", kind.name),
        "The raw record: every field, as a map.",
        |r: &mut Record<K>| r.fields.clone(),
    );
    api.method(
        kind.name,
        "keys",
        &format!("{}.keys() -> array", kind.name),
        "The names of the fields this record holds.",
        |r: &mut Record<K>| -> Array {
            r.fields
                .keys()
                .map(|k| Dynamic::from(ImmutableString::from(k.as_str())))
                .collect()
        },
    );
    api.method(
        kind.name,
        "contains",
        &format!("{}.contains(name: string) -> bool", kind.name),
        "True when the record holds the field `name`.",
        |r: &mut Record<K>, name: ImmutableString| r.fields.contains_key(name.as_str()),
    );
}

// ---------------------------------------------------------------------------------------
// Summaries
// ---------------------------------------------------------------------------------------

/// A number in five significant digits (scientific from 1e6 on and below 1e-4), as `fmt(x, 5)`.
pub fn num(x: f64) -> String {
    super::format::significant(x, 5)
}

fn get_f64(m: &Map, k: &str) -> Option<f64> {
    let v = m.get(k)?;
    v.as_float()
        .ok()
        .or_else(|| v.as_int().ok().map(|i| i as f64))
}

fn get_int(m: &Map, k: &str) -> Option<i64> {
    m.get(k)?.as_int().ok()
}

fn get_bool(m: &Map, k: &str) -> Option<bool> {
    m.get(k)?.as_bool().ok()
}

fn numbers(m: &Map, k: &str) -> Vec<f64> {
    m.get(k)
        .and_then(|v| v.read_lock::<Array>().map(|a| a.clone()))
        .unwrap_or_default()
        .iter()
        .filter_map(|d| {
            d.as_float()
                .ok()
                .or_else(|| d.as_int().ok().map(|i| i as f64))
        })
        .collect()
}

fn opt_num(m: &Map, k: &str) -> String {
    get_f64(m, k).map_or_else(|| "none".into(), num)
}

/// The values of a tensor field as f64, with its shape.
fn tensor_values(m: &Map, k: &str) -> Option<(Vec<i64>, Vec<f64>)> {
    let t = m.get(k)?.read_lock::<TensorValue>()?.0.shallow_clone();
    let shape = t.size();
    let values = crate::tensor::to_vec_f64(&t.f_flatten(0, -1).ok()?).ok()?;
    Some((shape, values))
}

fn range_of(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

fn interrupted(m: &Map) -> &'static str {
    if get_bool(m, "interrupted") == Some(true) {
        " (interrupted)"
    } else {
        ""
    }
}

fn ad_trial_summary(m: &Map) -> String {
    let outcome = match (get_bool(m, "success"), get_bool(m, "near_miss")) {
        (Some(true), _) => "succeeded",
        (_, Some(true)) => "near-miss",
        _ => "failed",
    };
    let start = numbers(m, "energies").first().copied();
    format!(
        "AdTrial: {outcome} after {} steps{}; barrier {}{}, best distance {}, final {}",
        get_int(m, "steps").unwrap_or(0),
        interrupted(m),
        opt_num(m, "barrier"),
        start.map_or_else(String::new, |s| format!(" (start {})", num(s))),
        opt_num(m, "best_distance"),
        opt_num(m, "final_distance")
    )
}

fn line_summary(m: &Map) -> String {
    let e = numbers(m, "energies");
    let ends = match (e.first(), e.last()) {
        (Some(a), Some(b)) => format!("; ends {} and {}", num(*a), num(*b)),
        _ => String::new(),
    };
    format!(
        "LineBarrier: {} at t = {} over {} points{ends}",
        opt_num(m, "barrier"),
        opt_num(m, "at"),
        e.len()
    )
}

fn ad_barrier_summary(m: &Map) -> String {
    let rounds = m
        .get("rounds")
        .and_then(|v| v.read_lock::<Array>().map(|a| a.len()))
        .unwrap_or(0);
    let near = get_int(m, "near_misses").unwrap_or(0);
    let cut = interrupted(m);
    match get_f64(m, "barrier") {
        Some(b) => format!(
            "AdBarrier: {} (lowest successful alpha {}) after {rounds} rounds{cut}, {near} near-misses",
            num(b),
            opt_num(m, "alpha")
        ),
        None => format!(
            "AdBarrier: no trial succeeded in {rounds} rounds{cut} ({near} near-misses); try a higher alpha or T"
        ),
    }
}

fn samples_summary(m: &Map) -> String {
    let shape = tensor_values(m, "x").map(|(s, _)| s).unwrap_or_default();
    let chains = match shape.as_slice() {
        [b, d] => format!("{b} chains of dimension {d}"),
        [d] => format!("1 chain of dimension {d}"),
        s => format!("chains {s:?}"),
    };
    let mut s = format!(
        "Samples: {chains} after {} steps, acceptance {}{}",
        get_int(m, "steps").unwrap_or(0),
        opt_num(m, "acceptance"),
        interrupted(m)
    );
    if let Some((_, e)) = tensor_values(m, "energy").filter(|(_, e)| !e.is_empty()) {
        let (lo, hi) = range_of(&e);
        let mean = e.iter().sum::<f64>() / e.len() as f64;
        s.push_str(&format!(
            "\n  energy mean {}, min {}, max {}",
            num(mean),
            num(lo),
            num(hi)
        ));
    }
    if let Some((shape, _)) = tensor_values(m, "states") {
        s.push_str(&format!("\n  states {shape:?}, trace of their energies"));
    }
    s
}

fn minimum_summary(m: &Map) -> String {
    let iterations = get_int(m, "iterations").unwrap_or(0);
    if let Some(e) = get_f64(m, "energy") {
        let state = match get_bool(m, "converged") {
            Some(true) => "converged",
            _ => "not converged",
        };
        return format!(
            "Minimum: energy {}, {state} after {iterations} iterations{}",
            num(e),
            interrupted(m)
        );
    }
    let energies = tensor_values(m, "energy")
        .map(|(_, e)| e)
        .unwrap_or_default();
    let converged = m
        .get("converged")
        .and_then(|v| v.read_lock::<Array>().map(|a| a.clone()))
        .unwrap_or_default();
    let done = converged.iter().filter(|c| c.as_bool() == Ok(true)).count();
    let (lo, hi) = range_of(&energies);
    format!(
        "Minimum: {} descents, energies {} to {}, {done} of {} converged after {iterations} iterations{}",
        energies.len(),
        num(lo),
        num(hi),
        converged.len(),
        interrupted(m)
    )
}

fn found_summary(m: &Map) -> String {
    let at = tensor_values(m, "x")
        .map(|(_, v)| {
            let shown: Vec<String> = v.iter().take(4).map(|x| num(*x)).collect();
            let more = if v.len() > 4 { ", ..." } else { "" };
            format!(" at [{}{more}]", shown.join(", "))
        })
        .unwrap_or_default();
    format!(
        "FoundMinimum: energy {}{at}, reached from {} starts",
        opt_num(m, "energy"),
        get_int(m, "count").unwrap_or(0)
    )
}

fn alpha_row_summary(m: &Map) -> String {
    format!(
        "AlphaRow: alpha {}: {} groups, {} of {} AD trials succeeded",
        opt_num(m, "alpha"),
        get_int(m, "groups").unwrap_or(0),
        get_int(m, "ad_successes").unwrap_or(0),
        get_int(m, "ad_trials").unwrap_or(0)
    )
}

fn comparison_summary(m: &Map) -> String {
    let barrier = |k: &str| {
        m.get(k)
            .and_then(fields_of)
            .map_or_else(|| "none".into(), |f| opt_num(&f, "barrier"))
    };
    let mut s = format!(
        "PathComparison: barrier by line {}, AD {}, DNEB {}",
        barrier("line"),
        barrier("ad"),
        barrier("neb")
    );
    if m.contains_key("neb_from_ad") {
        s.push_str(&format!(", DNEB from AD {}", barrier("neb_from_ad")));
    }
    s.push_str(interrupted(m));
    s.push_str("\n  r.table prints the table; r.line, r.ad, r.neb hold the paths");
    s
}

fn path_barrier_summary(m: &Map) -> String {
    let points = numbers(m, "energies").len();
    let mut s = format!(
        "PathBarrier: {} over {points} points",
        opt_num(m, "barrier")
    );
    if let Some(a) = get_f64(m, "alpha") {
        s.push_str(&format!(", alpha {}", num(a)));
    }
    if let Some(c) = get_bool(m, "converged") {
        let state = if c { "converged" } else { "not converged" };
        s.push_str(&format!(
            ", {state} after {} iterations",
            get_int(m, "iterations").unwrap_or(0)
        ));
    }
    s
}

fn training_summary(m: &Map) -> String {
    let history = m
        .get("history")
        .and_then(|v| v.read_lock::<Array>().map(|a| a.clone()))
        .unwrap_or_default();
    let what = if m.contains_key("generator") {
        "descriptor and generator"
    } else {
        "descriptor"
    };
    let mut s = format!(
        "Training: {what}, {} epochs, {} learning steps{}",
        history.len(),
        get_int(m, "steps").unwrap_or(0),
        interrupted(m)
    );
    if let Some(last) = history
        .last()
        .and_then(|h| h.read_lock::<Map>().map(|m| m.clone()))
    {
        s.push_str(&format!(
            "\n  last epoch: data energy {}, sample energy {}",
            opt_num(&last, "data_energy"),
            opt_num(&last, "sample_energy")
        ));
        if last.contains_key("gen_loss") {
            s.push_str(&format!(", generator loss {}", opt_num(&last, "gen_loss")));
        }
    }
    s
}

fn saddle_summary(m: &Map) -> String {
    let state = match get_bool(m, "converged") {
        Some(true) => "converged",
        _ => "not converged",
    };
    let modes = get_int(m, "negative_modes").map_or_else(String::new, |n| {
        format!(", {n} negative mode{}", if n == 1 { "" } else { "s" })
    });
    format!(
        "Saddle: energy {}, gradient norm {}, {state} after {} iterations{}{modes}",
        opt_num(m, "energy"),
        opt_num(m, "grad_norm"),
        get_int(m, "iterations").unwrap_or(0),
        interrupted(m)
    )
}

fn temperature_row_summary(m: &Map) -> String {
    format!(
        "TemperatureRow: T {}: U rose by {} on average, {} at most",
        opt_num(m, "T"),
        opt_num(m, "mean_change"),
        opt_num(m, "max_change")
    )
}

fn phase_row_summary(m: &Map) -> String {
    format!(
        "PhaseRow: T {}: alpha a->b {} (barrier {}), b->a {} (barrier {})",
        opt_num(m, "T"),
        opt_num(m, "alpha_ab"),
        opt_num(m, "barrier_ab"),
        opt_num(m, "alpha_ba"),
        opt_num(m, "barrier_ba")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_in_five_significant_digits() {
        assert_eq!(num(-146.69951), "-146.7");
        assert_eq!(num(0.03125), "0.03125");
        assert_eq!(num(2.0), "2");
        assert_eq!(num(12345678.0), "1.2346e7");
        assert_eq!(num(0.0), "0");
    }

    #[test]
    fn every_kind_has_its_index_and_fields() {
        let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        assert_eq!(names[AD_TRIAL], "AdTrial");
        assert_eq!(names[TRAINING], "Training");
        assert!(KINDS.iter().all(|k| !k.fields.is_empty()));
    }
}
