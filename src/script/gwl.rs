//! Script functions: the Generalized Wang-Landau map (section 2.6) and a map's method and
//! parameters.

use super::convert::{opts, IntoScript, Opts, RhaiResult};
use super::landscape::MapValue;
use super::{bounds, Api, EnergyValue, OptKind, OptionDoc};
use crate::landscape::gwl::{self, GwlOptions};
use rhai::{Dynamic, Map};
use std::path::Path;

/// Reads the GWL options of [`gwl_option_specs`].
fn gwl_options(o: &mut Opts) -> RhaiResult<GwlOptions> {
    // Missing: NaN, refused by the core after unknown keys (a misspelt emax) are reported.
    let emax = o.f64_opt("emax")?.unwrap_or(f64::NAN);
    Ok(GwlOptions {
        k: o.usize("K")?,
        emin: o.f64_opt("emin")?,
        emax,
        bins: o.usize("bins")?,
        gamma: o.f64("gamma")?,
        temperature: o.f64_opt("T")?,
        iters: o.usize("iters")?,
        block: o.usize("block")?,
        seed: o.seed()?,
        ridge: o.bool("ridge")?,
        greedy: o.bool("greedy")?,
        checkpoint: o.path("checkpoint")?.map(Into::into),
        checkpoint_every: o.usize("checkpoint_every")?,
        progress: super::convert::stderr_progress(o.bool("progress")?),
    })
}

/// The options of `gwl`, defaults from [`GwlOptions`].
fn gwl_option_specs() -> Vec<OptionDoc> {
    let d = GwlOptions::default();
    vec![
        OptionDoc::described("emax", OptKind::Number, "required", "energy cutoff: the chain never goes above it (the paper: -0.35 per spin)").bounded(bounds::FINITE),
        OptionDoc::described("emin", OptKind::Number, "lowest of 64 descents", "lower end of the binned energy range (lower energies fall in the first bin)").bounded(bounds::FINITE),
        OptionDoc::count("K", d.k, "how many of the lowest minima the map keeps").bounded(bounds::BATCH),
        OptionDoc::count("bins", d.bins, "energy bins per basin (1 to 1e6)").within(1.0, 1e6),
        OptionDoc::number("gamma", d.gamma, "visit penalty of eq. 2.15").bounded(bounds::WEIGHT),
        OptionDoc::described("T", OptKind::Number, "none (uniform)", "temperature of the target exp(-U/T) below the cutoff").bounded(bounds::SCALE),
        OptionDoc::count("iters", d.iters, "chain steps (single-flip proposals)").within(0.0, 1e12),
        OptionDoc::count("block", d.block, "steps per block: the unit of checkpoints and Ctrl-C").within(1.0, 1e12),
        OptionDoc::seed("seed of the run"),
        OptionDoc::flag("ridge", d.ridge, "lower the crossings joining the kept minima by ridge descent"),
        OptionDoc::flag("greedy", d.greedy, "also join every pair of kept minima by a greedy path (section 5.1)"),
        OptionDoc::path("checkpoint", "write the map here at the end and the chain state to <checkpoint>.state every checkpoint_every steps"),
        OptionDoc::count("checkpoint_every", d.checkpoint_every, "checkpoint period in steps").within(0.0, 1e12),
        OptionDoc::path("resume", "continue the chain saved by a run with checkpoint: <this path> when its .state file exists"),
        OptionDoc::flag("progress", true, "print progress to stderr"),
    ]
}

fn run_gwl(u: EnergyValue, map: Map) -> RhaiResult<MapValue> {
    let mut o = opts(map, "gwl");
    let resume = o.path("resume")?;
    let go = gwl_options(&mut o)?;
    o.finish()?;
    let checkpoint = go.checkpoint.clone();
    let map = match resume {
        Some(path) if gwl::state_path(Path::new(&path)).exists() => {
            gwl::gwl_resume(u.0.as_ref(), Path::new(&path), &go)
        }
        Some(path) => {
            eprintln!(
                "gwl: resume: {} does not exist yet; starting a new chain",
                gwl::state_path(Path::new(&path)).display()
            );
            gwl::gwl(u.0.as_ref(), &go)
        }
        None => gwl::gwl(u.0.as_ref(), &go),
    };
    let map = map.script()?;
    if map.interrupted {
        let go_on = match &checkpoint {
            Some(p) => format!(
                "gwl(U, #{{resume: \"{}\", ...}}) goes on from the chain saved there",
                p.display()
            ),
            None => "a run with #{checkpoint: path} can be resumed".to_string(),
        };
        super::convert::say_interrupted(
            "gwl",
            &format!(
                "the walk's first {} steps ({} basins); {go_on}",
                map.iterations,
                map.groups.len()
            ),
        );
    }
    Ok(MapValue(map))
}

/// A JSON value as a script value (objects as maps, arrays as arrays).
pub fn json_to_dynamic(v: &serde_json::Value) -> Dynamic {
    use serde_json::Value as J;
    match v {
        J::Null => Dynamic::UNIT,
        J::Bool(b) => Dynamic::from_bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Dynamic::from(s.clone()),
        J::Array(a) => Dynamic::from_array(a.iter().map(json_to_dynamic).collect()),
        J::Object(o) => Dynamic::from_map(
            o.iter()
                .map(|(k, v)| (k.as_str().into(), json_to_dynamic(v)))
                .collect(),
        ),
    }
}

/// Registers `gwl` and the map's `method` and `params`.
pub fn register(api: &mut Api) {
    api.func(
        "gwl",
        "gwl(U: Energy, opts: map) -> Map",
        "Maps a spin energy with Generalized Wang-Landau (section 2.6, eq. 2.15; Zhou 2011): one chain of single flips below emax, penalized by gamma for each earlier visit to its (basin, energy bin) cell; keeps the K lowest minima; barriers from the crossings between basins along the chain (ridge-descended) and greedy paths, the lower kept, joined by minimax. Progress, Ctrl-C (keeps what it found), checkpoint and resume as for adelm.",
        run_gwl,
    );
    api.options("gwl", gwl_option_specs());
    api.example(
        "gwl",
        "let U = sk(40, 1);\nlet g = gwl(U, #{K: 100, emax: -0.35, iters: 200000});\nprint(g.params.lowest_set_stable_since);\ndg_plot(g).save(\"gwl_dg.png\");",
    );
    api.getter(
        "Map",
        "method",
        "The method that made the map: \"adelm\" or \"gwl\".",
        |m: &mut MapValue| m.0.method.clone(),
    );
    api.getter(
        "Map",
        "params",
        "The method's parameters as a map (GWL adds its counts: steps, basins_found, lowest_set_stable_since, acceptance, ...).",
        |m: &mut MapValue| json_to_dynamic(&m.0.params),
    );
}
