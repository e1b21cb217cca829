//! `m.stats`: a map's work counters as a typed value with a one-line summary.

use super::landscape::MapValue;
use super::Api;
use crate::landscape::map::MapStats;
use rhai::{Dynamic, Map};

/// The counters of [`MapStats`] as script fields: name, doc, value.
fn fields(s: &MapStats) -> [(&'static str, &'static str, Dynamic); 9] {
    let int = |n: usize| Dynamic::from_int(n as i64);
    [
        ("ad_trials", "AD trials run while grouping.", int(s.ad_trials)),
        ("ad_successes", "Of those, the successful ones.", int(s.ad_successes)),
        ("ad_near_misses", "Of those, near-misses: within delta, but a descent from their end reached another minimum (failures).", int(s.ad_near_misses)),
        ("proposals", "Proposals placed, one per iteration (0 in maps saved before telescope counted them).", int(s.proposals)),
        ("repeats", "Minima assigned without AD because they had been found before.", int(s.repeats)),
        ("min_iterations", "Minimizer iterations over all proposal batches.", int(s.min_iterations)),
        ("merges", "Groups merged by consolidation.", int(s.merges)),
        ("refined_pairs", "Pairs of groups whose barriers barrier_matrix refined.", int(s.refined_pairs)),
        ("seconds", "Seconds the run took.", Dynamic::from_float(s.seconds)),
    ]
}

/// Registers `Map.stats` and the `MapStats` type.
pub fn register(api: &mut Api) {
    api.engine.register_type_with_name::<MapStats>("MapStats");
    api.engine
        .register_fn("to_string", |s: &mut MapStats| s.to_string());
    api.engine
        .register_fn("to_debug", |s: &mut MapStats| s.to_string());
    api.getter(
        "Map",
        "stats",
        "The run's work counters (MapStats): AD trials, successes and near-misses, proposals, repeats, minimizer iterations, merges, refined pairs, seconds; they print as one line.",
        |m: &mut MapValue| m.0.stats.clone(),
    );
    for (i, (name, doc, _)) in fields(&MapStats::default()).into_iter().enumerate() {
        api.getter("MapStats", name, doc, move |s: &mut MapStats| {
            fields(s)[i].2.clone()
        });
    }
    api.method(
        "MapStats",
        "to_map",
        "MapStats.to_map() -> map",
        "The counters as a plain map, e.g. to save or compare.",
        |s: &mut MapStats| -> Map {
            fields(s)
                .into_iter()
                .map(|(k, _, v)| (k.into(), v))
                .collect()
        },
    );
}
