//! Script functions: joining maps made apart into one (`merge_maps`) and reading many maps
//! (`load_maps`).

use super::convert::{err, opts, IntoScript, Opts, RhaiResult};
use super::landscape::{ad_option_specs, ad_options, MapValue};
use super::{bounds, Api, EnergyValue, OptKind, OptionDoc};
use crate::landscape::ad::Delta;
use crate::landscape::adelm::AdelmOptions;
use crate::landscape::map::LandscapeMap;
use crate::landscape::merge::merge_maps;
use rhai::{Array, Dynamic, Map};
use std::path::Path;

/// The options of `merge_maps`: AD's and those of grouping; the defaults are the options the
/// first map was made with.
fn merge_option_specs() -> Vec<OptionDoc> {
    let d = AdelmOptions::default();
    let mut specs = ad_option_specs(&d.ad);
    specs.extend([
        OptionDoc::described("max_checks", OptKind::Count, "half the first map's", "groups of other maps each group is tested against by AD, nearest by 1-D barrier (a pair is tested when either end ranks the other; up to 1e6)").within(1.0, 1e6),
        OptionDoc::seed("seed of the merge's AD tests"),
        OptionDoc::described("same_tol", OptKind::Number, "the first map's", "minima closer than this are the same minimum").bounded(bounds::TOLERANCE),
        OptionDoc::flag("complete", d.complete, "join what AD never connected into one DG tree at the end, as adelm does"),
        OptionDoc::flag("progress", true, "print progress to stderr"),
        OptionDoc::count("min_iter", d.minimize.max_iter, "minimizer iteration limit (AD's success check)").bounded(bounds::STEPS),
        OptionDoc::number("min_tol", d.minimize.tol, "minimizer gradient tolerance").bounded(bounds::TOLERANCE),
    ]);
    specs
}

/// The options a map was made with (its `params`), as the script options of
/// [`merge_option_specs`] would give them; defaults where the map does not say.
fn options_of(m: &LandscapeMap) -> Map {
    let made: AdelmOptions = serde_json::from_value(m.params.clone()).unwrap_or_default();
    let a = &made.ad;
    let mut o = Map::new();
    let mut put = |k: &str, v: Dynamic| {
        o.insert(k.into(), v);
    };
    put("T", Dynamic::from_float(a.temperature));
    put("alpha", Dynamic::from_float(a.alpha));
    put(
        "delta",
        match a.delta {
            Delta::Fixed(d) => Dynamic::from_float(d),
            Delta::Auto => Dynamic::from("auto".to_string()),
        },
    );
    put("M", Dynamic::from_int(a.improvement_limit as i64));
    put("max_steps", Dynamic::from_int(a.max_steps as i64));
    put("sampler", Dynamic::from(a.sampler.kind.name().to_string()));
    put("step", Dynamic::from_float(a.sampler.step));
    put("leapfrog", Dynamic::from_int(a.sampler.leapfrog as i64));
    put("path_points", Dynamic::from_int(a.path_points as i64));
    put("confirm", Dynamic::from_bool(a.check.descend));
    // A pair enters the merge's tests from either end, so half the checks reach as many.
    put(
        "max_checks",
        Dynamic::from_int(made.max_checks.div_ceil(2) as i64),
    );
    put("same_tol", Dynamic::from_float(made.same_tol));
    put("min_iter", Dynamic::from_int(made.minimize.max_iter as i64));
    put("min_tol", Dynamic::from_float(made.minimize.tol));
    o
}

/// Reads the options of [`merge_option_specs`].
fn merge_options(o: &mut Opts) -> RhaiResult<AdelmOptions> {
    let d = AdelmOptions::default();
    let ad = ad_options(o)?;
    Ok(AdelmOptions {
        max_checks: o.usize("max_checks")?,
        seed: o.seed()?,
        same_tol: o.f64("same_tol")?,
        complete: o.bool("complete")?,
        progress: super::convert::stderr_progress(o.bool("progress")?),
        minimize: crate::minimize::MinimizeOptions {
            max_iter: o.usize("min_iter")?,
            tol: o.f64("min_tol")?,
            ..d.minimize
        },
        ad,
        ..d
    })
}

/// The maps of a script array (each a Map).
fn maps_of(maps: &Array) -> RhaiResult<Vec<LandscapeMap>> {
    maps.iter()
        .enumerate()
        .map(|(k, v)| {
            v.clone().try_cast::<MapValue>().map(|m| m.0).ok_or_else(|| {
                err(format!(
                    "merge_maps: element {k} of the array is a {}, not a Map (load_map, load_maps or adelm give maps)",
                    v.type_name()
                ))
            })
        })
        .collect()
}

fn run_merge(maps: Array, u: EnergyValue, user: Map) -> RhaiResult<MapValue> {
    let maps = maps_of(&maps)?;
    let Some(first) = maps.first() else {
        return Err(err("merge_maps needs at least one map"));
    };
    // The first map's own settings, then the caller's.
    let mut given = options_of(first);
    given.extend(user);
    let mut o = opts(given, "merge_maps");
    let mo = merge_options(&mut o)?;
    o.finish()?;
    let m = merge_maps(&u.0, &maps, &mo).script()?;
    if m.interrupted {
        super::convert::say_interrupted(
            "merge_maps",
            &format!(
                "{} groups not yet tested against each other; merge_maps([m], U) goes on",
                m.groups.len()
            ),
        );
    }
    Ok(MapValue(m))
}

/// The maps in the files matching `pattern` (a glob: `*`, `?`, `[ab]`, `**`), in path order.
fn load_maps(pattern: &str) -> RhaiResult<Array> {
    let paths =
        glob::glob(pattern).map_err(|e| err(format!("load_maps: bad pattern `{pattern}`: {e}")))?;
    let mut found = Vec::new();
    for p in paths {
        let p = p.map_err(|e| err(format!("load_maps: {e}")))?;
        found.push(p);
    }
    found.sort();
    if found.is_empty() {
        return Err(err(format!("load_maps: no file matches `{pattern}`")));
    }
    found
        .iter()
        .map(|p| {
            Ok(Dynamic::from(MapValue(
                LandscapeMap::load(Path::new(p)).script()?,
            )))
        })
        .collect()
}

/// Registers `merge_maps` and `load_maps`.
pub fn register(api: &mut Api) {
    api.func(
        "merge_maps",
        "merge_maps(maps: array, U: Energy, opts?: map) -> Map",
        "Joins ADELM maps (or GWL maps) of U made apart (the shards of a cluster run) into one map: groups whose representatives are one minimum merge; every group is tested by AD, both directions, against its max_checks nearest groups of the other maps, and the successes are consolidated by ADELM's rules; each map's own barriers are kept, and the result is completed into one tree. The options default to those the first map was made with. The order of the maps does not change the result; Ctrl-C returns the maps joined but not yet tested, which merge_maps([m], U) resumes. GWL maps join as the union of their basins, each barrier the lowest any map found.",
        run_merge,
    );
    api.options("merge_maps", merge_option_specs());
    api.example("merge_maps", "let U = sk(18, 3);\nlet shards = [];\nfor i in 0..4 { shards.push(adelm(U, #{T: 0.05, alpha: 0.3, delta: 0, M: 50, iters: 10, seed: i})); }\nlet m = merge_maps(shards, U);\nprint(m);");
    api.bare2::<Array, EnergyValue>("merge_maps", "merge_maps(maps: array, U: Energy) -> Map");
    api.func(
        "load_maps",
        "load_maps(pattern: string) -> array",
        "Reads every map whose file matches the glob pattern (`runs/42/maps/*.json`), in path order; an error when none matches.",
        load_maps,
    );
}
