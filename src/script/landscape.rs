//! Script functions: Attraction-Diffusion, ADELM maps, barriers and tuning.

use super::convert::{err, float_array, opts, to_tensor, tv, IntoScript, Opts, RhaiResult};
use super::sampler::sampler_spec;
use super::{bounds, records, Api, EnergyValue, OptKind, OptionDoc};
use crate::energy;
use crate::landscape::ad::{ad_trials, AdOptions, AdTrial, Delta};
use crate::landscape::adelm::{self, AdelmOptions, Proposer, RandomProposer};
use crate::landscape::barrier::{self, RefineOptions};
use crate::landscape::map::LandscapeMap;
use crate::landscape::tune;
use crate::sampler::SamplerSpec;
use crate::{error::invalid, tensor};
use rhai::{Array, Dynamic, FnPtr, Map};
use std::path::Path;
use tch::Tensor;

/// An ADELM map as seen by scripts.
#[derive(Clone)]
pub struct MapValue(pub LandscapeMap);

fn state_tensor(v: &[f64]) -> RhaiResult<Dynamic> {
    Ok(tv(tensor::from_vec(v, &[v.len() as i64]).script()?))
}

/// Reads the AD options (T, alpha, delta, M, max_steps, sampler, step, leapfrog, thin,
/// sync_every, confirm, path_points), whose defaults are those of the function's [`ad_option_specs`]; AD's
/// warnings go to stderr.
pub(super) fn ad_options(o: &mut Opts) -> RhaiResult<AdOptions> {
    let check = crate::landscape::ad::SuccessCheck {
        descend: o.bool("confirm")?,
        ..Default::default()
    };
    Ok(AdOptions {
        temperature: o.f64("T")?,
        alpha: o.f64("alpha")?,
        delta: delta_option(o)?,
        improvement_limit: o.usize("M")?,
        max_steps: o.usize("max_steps")?,
        sampler: sampler_spec(o)?,
        thin: o.usize("thin")?,
        sync_every: o.usize("sync_every")?,
        check,
        path_points: o.usize("path_points")?,
        progress: super::convert::stderr_progress(true),
    })
}

/// Reads `delta`: a number >= 0 or "auto".
fn delta_option(o: &mut Opts) -> RhaiResult<Delta> {
    let v = o.value_or_default("delta")?;
    if let Some(d) = super::convert::num(&v) {
        if d >= 0.0 && d.is_finite() {
            return Ok(Delta::Fixed(d));
        }
    }
    if v.clone().into_string().is_ok_and(|s| s == "auto") {
        return Ok(Delta::Auto);
    }
    Err(err(format!(
        "option `delta` must be a number >= 0 or \"auto\", got {v}"
    )))
}

/// The AD options [`ad_options`] reads, the sampler's among them, with `base` as defaults.
pub(super) fn ad_option_specs(base: &AdOptions) -> Vec<OptionDoc> {
    let delta_doc = "success distance to the target; auto: median distance of a magnetized chain held at the target (0 on spins)";
    let delta = match base.delta {
        Delta::Fixed(d) => OptionDoc::number("delta", d, delta_doc),
        Delta::Auto => OptionDoc::text("delta", "auto", delta_doc),
    };
    let mut specs = vec![
        OptionDoc::number("T", base.temperature, "temperature of the magnetized density (1e-12 to 1e12: beyond, U/T over- or underflows)").within(1e-12, 1e12),
        OptionDoc::number("alpha", base.alpha, "magnetization strength (0 to 1e12: beyond, the field swamps every energy in float64)").within(0.0, 1e12),
        OptionDoc {
            kind: OptKind::Any,
            ..delta
        },
        OptionDoc::count(
            "M",
            base.improvement_limit,
            "improvement limit: failure after M steps without getting closer",
        )
        .bounded(bounds::STEPS),
        OptionDoc::count("max_steps", base.max_steps, "hard cap on steps per trial").bounded(bounds::STEPS),
        OptionDoc::count("thin", base.thin, "record every thin-th state of the path").bounded(bounds::STEPS),
        OptionDoc::count(
            "sync_every",
            base.sync_every,
            "steps between the host's reads of the stop rule, which runs on the device in between (0: 1 on the CPU, 16 on a GPU)",
        )
        .bounded(bounds::STEPS),
        OptionDoc::count(
            "path_points",
            base.path_points,
            "on a continuous space, score each move at this many evenly spaced inner points and at the peak of the parabola through the highest and its neighbours, so the barrier is the polyline's through the visited states and a move cannot jump over a ridge; 0: the states only, as Algorithm 3 is printed",
        )
        .within(0.0, 64.0),
        OptionDoc::flag(
            "confirm",
            base.check.descend,
            "count a trial that ends within delta as a success only when a descent from its end reaches the target's minimum (false: Algorithm 3 as printed, which can report a barrier below the target's energy)",
        ),
    ];
    specs.extend(super::sampler::sampler_options(base.sampler.step));
    specs
}

/// The options of the AD barrier refinement ([`refine_options`]): AD's, from a high alpha.
fn refine_option_specs() -> Vec<OptionDoc> {
    let d = RefineOptions::default();
    let mut specs = ad_option_specs(&d.ad);
    if let Some(alpha) = specs.iter_mut().find(|o| o.name == "alpha") {
        alpha.doc = "starting (high) alpha; doubled while nothing succeeds".into();
    }
    specs.extend([
        OptionDoc::count(
            "trials",
            d.trials,
            "trials per direction and alpha (K; up to 100,000 chains in one batch)",
        )
        .within(1.0, 1e5),
        OptionDoc::number(
            "shrink",
            d.shrink,
            "alpha factor after a round with a success",
        )
        .within(0.0, 1.0),
        OptionDoc::count(
            "max_rounds",
            d.max_rounds,
            "round limit (up to 1e6: at the shrink factor, alpha has long left float64 by then)",
        )
        .within(1.0, 1e6),
        OptionDoc::number(
            "same_tol",
            d.ad.check.same_tol,
            "a success's descent and the target's reach the same minimum when they end this close",
        )
        .bounded(bounds::TOLERANCE),
        OptionDoc::flag("both_directions", d.both_directions, "run a->b and b->a"),
        OptionDoc::flag(
            "progress",
            true,
            "a progress line on stderr about once a second (round, pairs still refining)",
        ),
    ]);
    specs
}

/// The options of an ADELM run ([`adelm_options`]), AD's among them.
fn adelm_option_specs() -> Vec<OptionDoc> {
    let d = AdelmOptions::default();
    let mut specs = ad_option_specs(&d.ad);
    specs.extend([
        OptionDoc::count("iters", d.iters, "mapping iterations").bounded(bounds::STEPS),
        OptionDoc::count("burn_in", d.burn_in, "burn-in iterations, followed by consolidation").bounded(bounds::STEPS),
        OptionDoc::count("max_checks", d.max_checks, "candidate groups tried per minimum, nearest by 1-D barrier (up to 1e6)").within(0.0, 1e6),
        OptionDoc::seed("seed of the run"),
        OptionDoc::count("consolidate_every", d.consolidate_every, "consolidate representatives every n iterations (0: after burn-in and at the end)").bounded(bounds::STEPS),
        OptionDoc::flag("consolidate", d.consolidate, "false: never consolidate (Algorithm 3 as printed; the paper's SK run)"),
        OptionDoc::described("same_tol", OptKind::Number, "min(delta, 1e-3)", "minima closer than this are the same minimum (1e-3 with delta auto)").bounded(bounds::TOLERANCE),
        OptionDoc::count("batch", d.batch, "proposals minimized together, and placed together (see placement)").bounded(bounds::BATCH),
        OptionDoc::text("placement", d.placement.name(), "\"batched\": the new minima of a batch run AD against the known groups in one batch, the unjoined ones among themselves in one more (chains per AD step grow with batch); \"sequential\": one minimum at a time (Algorithm 3 as printed)")
            .choices(&adelm::Placement::ALL.map(|(n, _)| n)),
        OptionDoc::described("propose", OptKind::Any, "\"random\"", "\"random\" (uniform over the domain), \"normal\" (N(0, I), a generator's latent prior), a generator network (images g(z), z ~ N(0, I), rounded to the energy's pixel levels: section 5.3) or a function |n| -> Tensor [n, D] (or [D])"),
        OptionDoc::path("checkpoint", "path of a JSON checkpoint written every checkpoint_every iterations"),
        OptionDoc::count("checkpoint_every", d.checkpoint_every, "checkpoint period").bounded(bounds::STEPS),
        OptionDoc::path("resume", "continue the map in this checkpoint file when it exists"),
        OptionDoc::flag("progress", true, "print progress to stderr"),
        OptionDoc::flag("complete", d.complete, "join groups that AD never connected into one DG tree at the end (greedy or line bounds, then a short AD refinement); m.barrier_kinds says how each barrier was found"),
        OptionDoc::flag("keep_proposals", d.keep_proposals, "keep every proposal with the minimum it reached (m.proposals; Figure 19 colours them by basin)"),
        OptionDoc::count("min_iter", d.minimize.max_iter, "minimizer iteration limit").bounded(bounds::STEPS),
        OptionDoc::number("min_tol", d.minimize.tol, "minimizer gradient tolerance").bounded(bounds::TOLERANCE),
    ]);
    specs
}

fn trial_map(t: &AdTrial) -> RhaiResult<Map> {
    let mut m = Map::new();
    m.insert("success".into(), Dynamic::from_bool(t.success));
    m.insert("near_miss".into(), Dynamic::from_bool(t.near_miss));
    m.insert("steps".into(), Dynamic::from_int(t.steps as i64));
    m.insert("barrier".into(), Dynamic::from_float(t.barrier));
    m.insert(
        "final_distance".into(),
        Dynamic::from_float(t.final_distance),
    );
    m.insert("best_distance".into(), Dynamic::from_float(t.best_distance));
    m.insert("energies".into(), float_array(&t.energies));
    m.insert("distances".into(), float_array(&t.distances));
    m.insert("final_state".into(), state_tensor(&t.final_state)?);
    if !t.states.is_empty() {
        m.insert(
            "states".into(),
            tv(tensor::from_matrix(&t.states).script()?),
        );
    }
    Ok(m)
}

fn pair(a: &Dynamic, b: &Dynamic, e: &EnergyValue) -> RhaiResult<(Tensor, Tensor)> {
    let a = tensor::as_batch(&to_tensor(a)?)
        .script()?
        .f_to_kind(tensor::dtype())
        .script()?;
    let b = tensor::as_batch(&to_tensor(b)?)
        .script()?
        .f_to_kind(tensor::dtype())
        .script()?;
    energy::check_dim(e.0.as_ref(), &a).script()?;
    energy::check_dim(e.0.as_ref(), &b).script()?;
    Ok((a, b))
}

fn ad(u: EnergyValue, from: Dynamic, to: Dynamic, map: Map) -> RhaiResult<Dynamic> {
    let mut o = opts(map, "ad");
    let k = o.usize("trials")?.max(1);
    let ao = ad_options(&mut o)?;
    let _seed = o.call_seed()?;
    o.finish()?;
    let (a, b) = pair(&from, &to, &u)?;
    let starts = a.f_expand([k as i64, a.size()[1]], false).script()?;
    let targets = b.f_expand([k as i64, b.size()[1]], false).script()?;
    let trials = ad_trials(&u.0, &starts, &targets, &vec![ao.alpha; k], &ao).script()?;
    let cut = super::convert::cut_short();
    if cut {
        let ended = trials.iter().filter(|t| t.success).count();
        super::convert::say_interrupted(
            "ad",
            &format!("{k} trial(s) up to the step each reached ({ended} had succeeded)"),
        );
    }
    let record = |t: &AdTrial| -> RhaiResult<Dynamic> {
        let mut m = trial_map(t)?;
        m.insert("interrupted".into(), Dynamic::from_bool(cut));
        Ok(records::make::<{ records::AD_TRIAL }>(m))
    };
    if k == 1 {
        return record(&trials[0]);
    }
    let arr: RhaiResult<Array> = trials.iter().map(record).collect();
    Ok(Dynamic::from_array(arr?))
}

/// Proposals from a script function `|n| -> Tensor [n, D] or [D]`.
struct ScriptProposer(FnPtr);

impl Proposer for ScriptProposer {
    fn propose(&mut self, n: usize) -> crate::Result<Tensor> {
        let mut rows = Vec::new();
        // Ask for the whole batch; a function that returns a single state is called n times.
        let out = super::host::call_fn_ptr(&self.0, vec![Dynamic::from_int(n as i64)])
            .map_err(invalid)?;
        let t = to_tensor(&out).map_err(|e| invalid(format!("propose: {e}")))?;
        if t.dim() == 2 {
            return Ok(t.f_to_kind(tensor::dtype())?);
        }
        rows.push(t);
        for _ in 1..n {
            let out = super::host::call_fn_ptr(&self.0, vec![Dynamic::from_int(n as i64)])
                .map_err(invalid)?;
            rows.push(to_tensor(&out).map_err(|e| invalid(format!("propose: {e}")))?);
        }
        let refs: Vec<&Tensor> = rows.iter().collect();
        Ok(Tensor::f_stack(&refs, 0)?.f_to_kind(tensor::dtype())?)
    }
}

fn adelm_options(o: &mut Opts) -> RhaiResult<AdelmOptions> {
    let d = AdelmOptions::default();
    let ad = ad_options(o)?;
    let same_default = match ad.delta {
        Delta::Fixed(d) => d.min(1e-3),
        Delta::Auto => 1e-3,
    };
    Ok(AdelmOptions {
        iters: o.usize("iters")?,
        burn_in: o.usize("burn_in")?,
        max_checks: o.usize("max_checks")?,
        seed: o.seed()?,
        consolidate_every: o.usize("consolidate_every")?,
        consolidate: o.bool("consolidate")?,
        same_tol: o.f64_opt("same_tol")?.unwrap_or(same_default),
        batch: o.usize("batch")?,
        placement: adelm::Placement::parse(&o.string("placement")?)
            .ok_or_else(|| err("adelm: unknown placement"))?,
        checkpoint: o.path("checkpoint")?.map(Into::into),
        checkpoint_every: o.usize("checkpoint_every")?,
        progress: super::convert::stderr_progress(o.bool("progress")?),
        keep_proposals: o.bool("keep_proposals")?,
        complete: o.bool("complete")?,
        minimize: crate::minimize::MinimizeOptions {
            max_iter: o.usize("min_iter")?,
            tol: o.f64("min_tol")?,
            ..d.minimize
        },
        ad,
    })
}

/// Tells on stderr that Ctrl-C cut a scan short, and how much of it the result holds.
fn say_if_interrupted(what: &str, done: usize, asked: usize, items: &str) {
    if super::convert::cut_short() {
        super::convert::say_interrupted(what, &format!("{done} of {asked} {items}"));
    }
}

/// Tells on stderr that Ctrl-C cut a mapping short, with what the map holds and how to go on.
fn say_if_map_interrupted(what: &str, m: &LandscapeMap) {
    if m.interrupted {
        super::convert::say_interrupted(
            what,
            &format!(
                "{} iterations, {} groups and {} minima; m.save(path) keeps it and {what}(U, #{{resume: path, ...}}) goes on",
                m.iterations,
                m.groups.len(),
                m.minima.len()
            ),
        );
    }
}

/// The proposer an `adelm` or `tune_alpha` call asked for: "random" (default), "normal", a
/// generator network (images g(z), quantized to the energy's levels) or a script function.
fn proposer_of(
    propose: Option<Dynamic>,
    u: &EnergyValue,
    fname: &str,
) -> RhaiResult<Box<dyn Proposer>> {
    let Some(v) = propose else {
        return Ok(Box::new(RandomProposer(u.0.clone())));
    };
    if v.is_string() {
        return match v.into_string().unwrap_or_default().as_str() {
            "random" => Ok(Box::new(RandomProposer(u.0.clone()))),
            "normal" => Ok(Box::new(adelm::NormalProposer(u.0.dim().unwrap_or(0)))),
            other => Err(err(format!("{fname}: propose must be \"random\", \"normal\", a generator network or a function, not \"{other}\""))),
        };
    }
    if let Some(net) = v.clone().try_cast::<super::models::NetValue>() {
        return Ok(Box::new(
            crate::models::GeneratorProposer::new(net.0, &u.0.space(), u.0.dim()).script()?,
        ));
    }
    match v.try_cast::<FnPtr>() {
        Some(f) => Ok(Box::new(ScriptProposer(f))),
        None => Err(err(format!("{fname}: option `propose` must be \"random\", \"normal\", a generator network or a function |n| -> Tensor"))),
    }
}

fn run_adelm(u: EnergyValue, map: Map) -> RhaiResult<MapValue> {
    let mut o = opts(map, "adelm");
    let propose = o.value("propose")?;
    let resume = o.path("resume")?;
    let ao = adelm_options(&mut o)?;
    o.finish()?;
    let mut proposer = proposer_of(propose, &u, "adelm")?;
    let result = match resume {
        Some(path) if Path::new(&path).exists() => {
            let m = LandscapeMap::load(Path::new(&path)).script()?;
            adelm::resume(&u.0, proposer.as_mut(), m, &ao)
        }
        Some(path) => {
            eprintln!("adelm: resume: {path} does not exist yet; starting a new map");
            adelm::adelm(&u.0, proposer.as_mut(), &ao)
        }
        None => adelm::adelm(&u.0, proposer.as_mut(), &ao),
    };
    let m = result.script()?;
    say_if_map_interrupted("adelm", &m);
    Ok(MapValue(m))
}

fn refine_options(o: &mut Opts) -> RhaiResult<RefineOptions> {
    let mut ad = ad_options(o)?;
    ad.check.same_tol = o.f64("same_tol")?;
    Ok(RefineOptions {
        ad,
        trials: o.usize("trials")?,
        shrink: o.f64("shrink")?,
        max_rounds: o.usize("max_rounds")?,
        both_directions: o.bool("both_directions")?,
        progress: super::convert::stderr_progress(o.bool("progress")?),
    })
}

fn barrier_ad(u: EnergyValue, a: Dynamic, b: Dynamic, map: Map) -> RhaiResult<Dynamic> {
    let mut o = opts(map, "barrier_ad");
    let ro = refine_options(&mut o)?;
    let _seed = o.call_seed()?;
    o.finish()?;
    let (a, b) = pair(&a, &b, &u)?;
    let r = barrier::refine_barriers(&u.0, &a, &b, &ro)
        .script()?
        .remove(0);
    let cut = super::convert::cut_short();
    if cut {
        super::convert::say_interrupted(
            "barrier_ad",
            &format!("the lowest barrier of the {} round(s) run", r.rounds.len()),
        );
    }
    let mut m = Map::new();
    m.insert("interrupted".into(), Dynamic::from_bool(cut));
    m.insert(
        "barrier".into(),
        r.barrier.map(Dynamic::from_float).unwrap_or(Dynamic::UNIT),
    );
    m.insert(
        "alpha".into(),
        r.alpha.map(Dynamic::from_float).unwrap_or(Dynamic::UNIT),
    );
    m.insert(
        "path".into(),
        match &r.best {
            Some(t) => records::make::<{ records::AD_TRIAL }>(trial_map(t)?),
            None => Dynamic::UNIT,
        },
    );
    let rounds: Array = r
        .rounds
        .iter()
        .map(|(a, s, n)| {
            let mut x = Map::new();
            x.insert("alpha".into(), Dynamic::from_float(*a));
            x.insert("successes".into(), Dynamic::from_int(*s as i64));
            x.insert("trials".into(), Dynamic::from_int(*n as i64));
            Dynamic::from_map(x)
        })
        .collect();
    m.insert("rounds".into(), Dynamic::from_array(rounds));
    m.insert(
        "near_misses".into(),
        Dynamic::from_int(r.near_misses as i64),
    );
    Ok(records::make::<{ records::AD_BARRIER }>(m))
}

fn groups_of(m: &LandscapeMap) -> RhaiResult<Array> {
    m.groups
        .iter()
        .map(|g| {
            let mut x = Map::new();
            x.insert("id".into(), Dynamic::from_int(g.id as i64));
            x.insert("state".into(), state_tensor(&g.state)?);
            x.insert("energy".into(), Dynamic::from_float(g.energy));
            x.insert("members".into(), Dynamic::from_int(g.members as i64));
            Ok(Dynamic::from_map(x))
        })
        .collect()
}

fn barriers_of(m: &LandscapeMap) -> Array {
    m.barriers
        .iter()
        .map(|r| {
            Dynamic::from_array(
                r.iter()
                    .map(|v| v.map(Dynamic::from_float).unwrap_or(Dynamic::UNIT))
                    .collect(),
            )
        })
        .collect()
}

fn describe_map(m: &LandscapeMap) -> String {
    let mut s = format!(
        "Map: {} groups, {} distinct minima, {} iterations{}\n",
        m.groups.len(),
        m.minima.len(),
        m.iterations,
        if m.interrupted { " (interrupted)" } else { "" }
    );
    let mut order: Vec<&crate::landscape::map::Group> = m.groups.iter().collect();
    order.sort_by(|a, b| a.energy.total_cmp(&b.energy));
    for g in order.iter().take(20) {
        s.push_str(&format!(
            "  group {:3}  energy {:12.6}  members {:5}\n",
            g.id, g.energy, g.members
        ));
    }
    if m.groups.len() > 20 {
        s.push_str(&format!("  ... {} more\n", m.groups.len() - 20));
    }
    s
}

/// A list of numbers: the option's value, or its documented default.
fn numbers_of(o: &mut Opts, key: &str) -> RhaiResult<Vec<f64>> {
    super::convert::to_f64s(&o.value_or_default(key)?)
}

/// `m.barrier_matrix(U, opts)`: refines the map's barriers in place and returns them.
fn barrier_matrix(m: &mut MapValue, u: EnergyValue, map: Map) -> RhaiResult<Array> {
    let mut o = opts(map, "Map.barrier_matrix");
    let ro = refine_options(&mut o)?;
    let nearest = o.usize("nearest")?;
    let _seed = o.call_seed()?;
    o.finish()?;
    barrier::refine_map_barriers(&u.0, &mut m.0, &ro, nearest).script()?;
    if super::convert::cut_short() {
        super::convert::say_interrupted(
            "barrier_matrix",
            "the barriers refined so far (the map keeps them; the others are as they were)",
        );
    }
    Ok(barriers_of(&m.0))
}

/// Registers the landscape functions.
pub fn register(api: &mut Api) {
    api.engine.register_type_with_name::<MapValue>("Map");
    api.engine
        .register_fn("to_string", |m: &mut MapValue| describe_map(&m.0));
    api.engine
        .register_fn("to_debug", |m: &mut MapValue| describe_map(&m.0));

    api.func("ad", "ad(U: Energy, from, to, opts: map) -> AdTrial", "One Attraction-Diffusion trial (or `trials` of them, batched) from a state toward a target on U/T + alpha*||x - target||. Returns #{success, steps, barrier (max U on the path), final_distance, best_distance, energies, distances, final_state, states (when thin > 0)}; an array of those when trials > 1.", ad);
    api.func(
        "ad",
        "ad(U: Energy, from, to) -> AdTrial",
        "",
        |u: EnergyValue, a: Dynamic, b: Dynamic| ad(u, a, b, Map::new()),
    );
    let mut ad_specs = ad_option_specs(&AdOptions::default());
    ad_specs.push(
        OptionDoc::count(
            "trials",
            1,
            "independent trials run as one batch (up to 1,000,000 chains)",
        )
        .within(1.0, 1e6),
    );
    ad_specs.push(OptionDoc::call_seed());
    api.options("ad", ad_specs);
    api.example("ad", "let U = muller_brown();\nlet r = ad(U, [-0.558, 1.442], [-0.050, 0.467], #{T: 5.0, alpha: 20.0, delta: 0.05, step: 0.01});\nprint(r.success); print(r.barrier);");

    api.func("adelm", "adelm(U: Energy, opts: map) -> Map", "Maps the landscape with ADELM (Algorithm 3): proposals, minimum search, grouping by AD in both directions against the nearest representatives, consolidation. Shows progress; Ctrl-C stops and keeps the map; `checkpoint` writes it periodically and `resume` continues one.", run_adelm);
    api.options("adelm", adelm_option_specs());
    api.example("adelm", "let m = adelm(sk(100, 1), #{T: 0.1 / 100, alpha: 1.35, delta: 0, M: 100, iters: 200});\nprint(m);\nm.save(\"sk_map.json\");");

    api.func(
        "load_map",
        "load_map(path: string) -> Map",
        "Reads a map saved with m.save(path).",
        |p: &str| -> RhaiResult<MapValue> {
            Ok(MapValue(LandscapeMap::load(Path::new(p)).script()?))
        },
    );
    api.method(
        "Map",
        "save",
        "m.save(path: string, opts?: map)",
        "Writes the map as JSON (schema in docs/map-files.md), atomically. A map of more than a million state values keeps its states in binary .npy files beside the JSON (NAME.minima.npy, NAME.proposals.npy), to which later saves of a growing map only append; load_map reads them back exactly.",
        |m: &mut MapValue, p: &str| -> RhaiResult<()> { m.0.save(Path::new(p)).script() },
    );
    api.engine.register_fn(
        "save",
        |m: &mut MapValue, p: &str, map: rhai::Map| -> RhaiResult<()> {
            let mut o = opts(map, "Map.save");
            let states = o.string("states")?;
            o.finish()?;
            let storage = crate::landscape::map_states::StateStorage::parse(&states).script()?;
            m.0.save_with(Path::new(p), storage).script()
        },
    );
    api.options(
        "Map.save",
        vec![OptionDoc::text(
            "states",
            "auto",
            "\"json\" (states in the JSON), \"binary\" (.npy files beside it) or \"auto\" (binary beyond a million state values)",
        )
        .choices(&["json", "binary", "auto"])],
    );
    api.getter(
        "Map",
        "groups",
        "Array of #{id, state, energy, members}.",
        |m: &mut MapValue| groups_of(&m.0).unwrap_or_default(),
    );
    api.getter(
        "Map",
        "n_groups",
        "Number of groups.",
        |m: &mut MapValue| m.0.groups.len() as i64,
    );
    api.getter(
        "Map",
        "energies",
        "Group energies by id.",
        |m: &mut MapValue| float_array(&m.0.group_energies()),
    );
    api.getter(
        "Map",
        "members",
        "Member counts by id.",
        |m: &mut MapValue| {
            Dynamic::from_array(
                m.0.member_counts()
                    .iter()
                    .map(|c| Dynamic::from_int(*c as i64))
                    .collect(),
            )
        },
    );
    api.getter(
        "Map",
        "barriers",
        "Group-by-group barrier matrix (() where unknown).",
        |m: &mut MapValue| barriers_of(&m.0),
    );
    api.getter(
        "Map",
        "iterations",
        "Iterations completed.",
        |m: &mut MapValue| m.0.iterations as i64,
    );
    api.getter(
        "Map",
        "provenance",
        "Where the map came from: #{telescope, commit, torch, device, dtype, threads, cpu_capability, mkl_cbwr, reproducible, seed, shard} of the run that made it (shard: #{index, count} under --shard, else ()) (() for maps saved before telescope recorded it). A run with the same fields, on the same binary, gives the same map; with reproducible: true on any x86-64 CPU.",
        |m: &mut MapValue| {
            m.0.provenance
                .as_ref()
                .and_then(|p| serde_json::to_value(p).ok())
                .map_or(Dynamic::UNIT, |v| crate::script::gwl::json_to_dynamic(&v))
        },
    );
    api.getter(
        "Map",
        "interrupted",
        "True when Ctrl-C stopped the run that made this map: it holds what was found until then (resume it from a checkpoint, or m.connect(U) to join its groups).",
        |m: &mut MapValue| m.0.interrupted,
    );
    api.getter(
        "Map",
        "minima",
        "Array of #{state, energy, group, count}.",
        |m: &mut MapValue| {
            m.0.minima
                .iter()
                .map(|r| {
                    let mut x = Map::new();
                    x.insert(
                        "state".into(),
                        state_tensor(&r.state).unwrap_or(Dynamic::UNIT),
                    );
                    x.insert("energy".into(), Dynamic::from_float(r.energy));
                    x.insert("group".into(), Dynamic::from_int(r.group as i64));
                    x.insert("count".into(), Dynamic::from_int(r.count as i64));
                    Dynamic::from_map(x)
                })
                .collect::<Array>()
        },
    );
    api.getter(
        "Map",
        "proposals",
        "Array of #{state, minimum, group}: each proposal of a run with keep_proposals, the index of the minimum (in m.minima) its search reached and that minimum's group.",
        |m: &mut MapValue| {
            m.0.proposals
                .iter()
                .map(|p| {
                    let mut x = Map::new();
                    x.insert(
                        "state".into(),
                        state_tensor(&p.state).unwrap_or(Dynamic::UNIT),
                    );
                    x.insert("minimum".into(), Dynamic::from_int(p.minimum as i64));
                    let group = m.0.minima.get(p.minimum).map_or(-1, |r| r.group as i64);
                    x.insert("group".into(), Dynamic::from_int(group));
                    Dynamic::from_map(x)
                })
                .collect::<Array>()
        },
    );
    api.getter(
        "Map",
        "barrier_kinds",
        "How each barrier was found, same shape as m.barriers: \"ad\" (an AD trial between the two representatives), \"via\" (AD paths joined through another minimum), \"refined\" (AD refinement), \"greedy\" or \"line\" (fallback paths), () where unknown. Every kind is the maximum of U along a real path, an upper bound of the true barrier.",
        |m: &mut MapValue| -> Array {
            m.0.barrier_kinds
                .iter()
                .map(|r| {
                    Dynamic::from_array(
                        r.iter()
                            .map(|k| k.map_or(Dynamic::UNIT, |k| Dynamic::from(k.name().to_string())))
                            .collect(),
                    )
                })
                .collect()
        },
    );
    api.getter(
        "Map",
        "merges",
        "Array of #{iteration, kept, merged, barrier}: every merge made by consolidation, the two representatives (indices into m.minima) whose AD trial connected them and its barrier.",
        |m: &mut MapValue| -> Array {
            m.0.merges
                .iter()
                .map(|r| {
                    let mut x = Map::new();
                    x.insert("iteration".into(), Dynamic::from_int(r.iteration as i64));
                    x.insert("kept".into(), Dynamic::from_int(r.kept as i64));
                    x.insert("merged".into(), Dynamic::from_int(r.merged as i64));
                    x.insert("barrier".into(), Dynamic::from_float(r.barrier));
                    Dynamic::from_map(x)
                })
                .collect()
        },
    );
    api.method("Map", "connect", "m.connect(U: Energy) -> Map", "Joins the groups that no barrier connects (an interrupted map, complete: false, an old file), as adelm does at the end: greedy (spins) or straight-line bounds between the lowest representatives of the parts, then a short AD refinement of the spanning-tree edges. Returns the map.", |m: &mut MapValue, u: EnergyValue| -> RhaiResult<MapValue> {
        let ad = crate::landscape::adelm::ad_options_of(&m.0);
        crate::landscape::complete::connect_groups(&u.0, &mut m.0, &ad, &super::convert::stderr_progress(true)).script()?;
        Ok(m.clone())
    });
    api.method("Map", "barrier_matrix", "m.barrier_matrix(U: Energy, opts: map) -> array", "Refines the barriers between group representatives with the AD refinement (all pairs batched; with nearest: k only each group's k nearest by the 1-D barrier and the pairs that already hold one, enough for the DG's single linkage on large maps) and stores them in the map; returns the matrix.", barrier_matrix);
    api.method(
        "Map",
        "barrier_matrix",
        "m.barrier_matrix(U: Energy) -> array",
        "",
        |m: &mut MapValue, u: EnergyValue| barrier_matrix(m, u, Map::new()),
    );

    api.func("barrier_1d", "barrier_1d(U: Energy, a, b) -> LineBarrier", "Max energy on the straight line from a to b (100 points). Returns #{barrier, at (0..1), energies}.", |u: EnergyValue, a: Dynamic, b: Dynamic| barrier_1d(u, a, b, 100));
    api.func(
        "barrier_1d",
        "barrier_1d(U: Energy, a, b, points: int) -> LineBarrier",
        "",
        |u: EnergyValue, a: Dynamic, b: Dynamic, n: i64| barrier_1d(u, a, b, n.max(0) as usize),
    );
    api.func("barrier_greedy", "barrier_greedy(U: Energy, a, b) -> map", "Greedy discrete path between two ±1 states (section 5.1): flip the differing spin with the smallest energy increase; both directions, lower maximum kept. Returns #{barrier, forward, backward, energies}.", |u: EnergyValue, a: Dynamic, b: Dynamic| -> RhaiResult<Map> {
        let g = barrier::barrier_greedy(u.0.as_ref(), &to_tensor(&a)?, &to_tensor(&b)?).script()?;
        let mut m = Map::new();
        m.insert("barrier".into(), Dynamic::from_float(g.barrier));
        m.insert("forward".into(), Dynamic::from_float(g.forward));
        m.insert("backward".into(), Dynamic::from_float(g.backward));
        m.insert("energies".into(), float_array(&g.energies));
        Ok(m)
    });
    api.func("barrier_ad", "barrier_ad(U: Energy, a, b, opts: map) -> AdBarrier", "AD barrier refinement (sections 3.4, 4.3): from a high alpha run K trials per direction, lower alpha by 3% while any succeeds, keep the lowest barrier. A trial succeeds only when a descent from where it stopped reaches the target minimum (confirm: false: any trial within delta); one that came within delta of the target but whose descent reached another minimum is a near-miss, a failure. The barrier is never below the higher of a and b. Returns #{barrier (() when no trial succeeded), alpha (lowest successful), path (best trial), rounds, near_misses}.", barrier_ad);
    api.func(
        "barrier_ad",
        "barrier_ad(U: Energy, a, b) -> AdBarrier",
        "",
        |u: EnergyValue, a: Dynamic, b: Dynamic| barrier_ad(u, a, b, Map::new()),
    );
    api.options("barrier_ad", {
        let mut specs = refine_option_specs();
        specs.push(OptionDoc::call_seed());
        specs
    });
    api.options("Map.barrier_matrix", {
        let mut specs = refine_option_specs();
        specs.push(OptionDoc::call_seed());
        specs.push(OptionDoc::count("nearest", 0, "refine only each group's k nearest groups by the 10-point 1-D barrier, and the pairs that already hold a barrier (0: every pair; up to 1e6)").within(0.0, 1e6));
        specs
    });

    api.func("tune_temperature", "tune_temperature(U: Energy, x0, opts: map) -> array", "Temperature tuning (Figure 13 top): unmagnetized chains started at the minimum x0 for each T; returns #{T, mean_change, max_change} of U(x_t) - U(x0) over the run. Pick T where the change is small relative to the barriers.", |u: EnergyValue, x0: Dynamic, map: Map| -> RhaiResult<Array> {
        let mut o = opts(map, "tune_temperature");
        let temps = numbers_of(&mut o, "temps")?;
        let steps = o.usize("steps")?;
        let chains = o.usize("chains")?;
        let spec = sampler_spec(&mut o)?;
        let _seed = o.call_seed()?;
        o.finish()?;
        let rows = tune::tune_temperature(&u.0, &to_tensor(&x0)?, &temps, steps, chains.max(1), &spec).script()?;
        say_if_interrupted("tune_temperature", rows.len(), temps.len(), "temperatures");
        Ok(rows.iter().map(|r| {
            let mut m = Map::new();
            m.insert("T".into(), Dynamic::from_float(r.temperature));
            m.insert("mean_change".into(), Dynamic::from_float(r.mean_change));
            m.insert("max_change".into(), Dynamic::from_float(r.max_change));
            records::make::<{ records::TEMPERATURE_ROW }>(m)
        }).collect())
    });
    let mut tune_specs = vec![
        OptionDoc::numbers("temps", &[0.01, 0.03, 0.1, 0.3, 1.0], "temperatures")
            .items(10_000, bounds::SCALE),
        OptionDoc::count("steps", 1000, "steps per chain").bounded(bounds::STEPS),
        OptionDoc::count("chains", 16, "chains per temperature").bounded(bounds::BATCH),
    ];
    tune_specs.extend(super::sampler::sampler_options(SamplerSpec::default().step));
    tune_specs.push(OptionDoc::call_seed());
    api.options("tune_temperature", tune_specs);
    api.func("tune_alpha", "tune_alpha(U: Energy, opts: map) -> array", "Magnetization tuning (Figure 13 bottom): a short ADELM mapping for each alpha on a log grid; returns #{alpha, groups, ad_trials, ad_successes} and warns about alphas where no AD trial succeeded. The useful range is where the count falls between 'one group per minimum' and 'one group'.", |u: EnergyValue, map: Map| -> RhaiResult<Array> {
        let mut o = opts(map, "tune_alpha");
        let (lo, hi, n) = (o.f64("lo")?, o.f64("hi")?, o.usize("n")?);
        let alphas = match o.value("alphas")? {
            Some(v) => super::convert::to_f64s(&v)?,
            None => tune::log_grid(lo, hi, n).script()?,
        };
        let propose = o.value("propose")?;
        let ao = adelm_options(&mut o)?;
        o.finish()?;
        let mut proposer = proposer_of(propose, &u, "tune_alpha")?;
        let rows = tune::tune_alpha(&u.0, &alphas, &ao, proposer.as_mut()).script()?;
        say_if_interrupted("tune_alpha", rows.len(), alphas.len(), "alphas");
        if let Some(w) = tune::no_success_warning(&rows, &ao.ad.delta) {
            eprintln!("{w}");
        }
        Ok(rows.iter().map(|r| {
            let mut m = Map::new();
            m.insert("alpha".into(), Dynamic::from_float(r.alpha));
            m.insert("groups".into(), Dynamic::from_int(r.groups as i64));
            m.insert("ad_trials".into(), Dynamic::from_int(r.ad_trials as i64));
            m.insert("ad_successes".into(), Dynamic::from_int(r.ad_successes as i64));
            records::make::<{ records::ALPHA_ROW }>(m)
        }).collect())
    });
    let mut tune_alpha_specs: Vec<OptionDoc> = vec![
        OptionDoc::number("lo", 0.01, "smallest alpha of the log grid").bounded(bounds::SCALE),
        OptionDoc::number("hi", 10.0, "largest alpha of the log grid").bounded(bounds::SCALE),
        OptionDoc::count(
            "n",
            9,
            "alphas on the log grid (1 to 10,000: each is a short mapping)",
        )
        .within(1.0, 1e4),
        OptionDoc::described(
            "alphas",
            OptKind::Array,
            "the log grid",
            "the alphas to try, instead of the grid",
        )
        .items(10_000, bounds::WEIGHT),
    ];
    tune_alpha_specs.extend(
        adelm_option_specs()
            .into_iter()
            .filter(|o| o.name != "resume"),
    );
    api.options("tune_alpha", tune_alpha_specs);
    api.bare1::<EnergyValue>("adelm", "adelm(U: Energy) -> Map");
    api.bare1::<EnergyValue>("tune_alpha", "tune_alpha(U: Energy) -> array");
    api.bare2::<EnergyValue, Dynamic>(
        "tune_temperature",
        "tune_temperature(U: Energy, x0) -> array",
    );
    api.bare3::<EnergyValue, Dynamic, Dynamic>(
        "phase_diagram",
        "phase_diagram(U: Energy, a, b) -> array",
    );
    api.func("phase_diagram", "phase_diagram(U: Energy, a, b, opts: map) -> array", "Metastable alpha threshold between two minima for each T, both directions (Figures 9-10): #{T, alpha_ab, alpha_ba, barrier_ab, barrier_ba} (() where no trial succeeded).", |u: EnergyValue, a: Dynamic, b: Dynamic, map: Map| -> RhaiResult<Array> {
        let mut o = opts(map, "phase_diagram");
        let temps = numbers_of(&mut o, "temps")?;
        let mut ro = refine_options(&mut o)?;
        let _seed = o.call_seed()?;
        o.finish()?;
        ro.both_directions = false;
        let (a, b) = pair(&a, &b, &u)?;
        let rows = tune::phase_diagram(&u.0, &a, &b, &temps, &ro).script()?;
        if super::convert::cut_short() {
            super::convert::say_interrupted("phase_diagram", &format!("{} of {} temperatures, the last cut short", rows.len(), temps.len()));
        }
        let opt = |v: Option<f64>| v.map(Dynamic::from_float).unwrap_or(Dynamic::UNIT);
        Ok(rows.iter().map(|r| {
            let mut m = Map::new();
            m.insert("T".into(), Dynamic::from_float(r.temperature));
            m.insert("alpha_ab".into(), opt(r.alpha_ab));
            m.insert("alpha_ba".into(), opt(r.alpha_ba));
            m.insert("barrier_ab".into(), opt(r.barrier_ab));
            m.insert("barrier_ba".into(), opt(r.barrier_ba));
            records::make::<{ records::PHASE_ROW }>(m)
        }).collect())
    });
    let mut phase_specs =
        vec![
            OptionDoc::numbers("temps", &[0.05, 0.1, 0.2, 0.5, 1.0], "temperatures")
                .items(10_000, bounds::SCALE),
        ];
    phase_specs.extend(refine_option_specs());
    phase_specs.push(OptionDoc::call_seed());
    api.options("phase_diagram", phase_specs);
}

fn barrier_1d(u: EnergyValue, a: Dynamic, b: Dynamic, points: usize) -> RhaiResult<Dynamic> {
    let (a, b) = pair(&a, &b, &u)?;
    let l = barrier::barrier_1d(u.0.as_ref(), &a, &b, points).script()?;
    let mut m = Map::new();
    m.insert("barrier".into(), Dynamic::from_float(l.barrier));
    m.insert("at".into(), Dynamic::from_float(l.at));
    m.insert("energies".into(), float_array(&l.energies));
    Ok(records::make::<{ records::LINE_BARRIER }>(m))
}

fn neb_summary(r: &crate::landscape::neb::NebResult) -> RhaiResult<Dynamic> {
    let mut m = Map::new();
    m.insert("barrier".into(), Dynamic::from_float(r.max_energy));
    m.insert("images".into(), tv(r.images.shallow_clone()));
    m.insert("energies".into(), float_array(&r.energies));
    m.insert("converged".into(), Dynamic::from_bool(r.converged));
    m.insert("iterations".into(), Dynamic::from_int(r.iterations as i64));
    Ok(records::make::<{ records::PATH_BARRIER }>(m))
}

/// `compare_paths(U, a, b, opts)`: 1-D, refined AD and (D)NEB barriers for one pair.
fn compare_paths(u: EnergyValue, a: Dynamic, b: Dynamic, map: Map) -> RhaiResult<Dynamic> {
    let mut o = opts(map, "compare_paths");
    let ad_map = o.map("ad")?.unwrap_or_default();
    let neb_map = o.map("neb")?.unwrap_or_default();
    let print_table = o.bool("table")?;
    let seed = o.usize_opt("seed")?;
    o.finish()?;
    let mut ro = opts(ad_map, "barrier_ad").labelled("compare_paths ad");
    let refine = refine_options(&mut ro)?;
    // A seed in the nested AD options counts as the call's (the top level's wins).
    let nested_seed = ro.usize_opt("seed")?;
    ro.finish()?;
    let _seed = tensor::call_seed(seed.or(nested_seed).map(|s| s as u64));
    let mut band_map = neb_map;
    if !band_map.contains_key("method") {
        band_map.insert("method".into(), Dynamic::from("dneb"));
    }
    let band = super::neb::parse_options(band_map)?;
    let (a, b) = pair(&a, &b, &u)?;
    let c = crate::landscape::compare::compare_paths(&u.0, &a, &b, &refine, &band).script()?;
    let cut = super::convert::cut_short();
    if cut {
        super::convert::say_interrupted(
            "compare_paths",
            "each path as far as it got (the barriers are upper bounds)",
        );
    }
    let table = c.table();
    if print_table {
        println!("{table}");
    }
    let mut m = Map::new();
    m.insert("interrupted".into(), Dynamic::from_bool(cut));
    m.insert("table".into(), Dynamic::from(table));
    let mut line = Map::new();
    line.insert("barrier".into(), Dynamic::from_float(c.line.barrier));
    line.insert("energies".into(), float_array(&c.line.energies));
    line.insert("path".into(), tv(c.line_path.shallow_clone()));
    m.insert(
        "line".into(),
        records::make::<{ records::PATH_BARRIER }>(line),
    );
    let mut adm = Map::new();
    adm.insert(
        "barrier".into(),
        c.ad.barrier
            .map(Dynamic::from_float)
            .unwrap_or(Dynamic::UNIT),
    );
    adm.insert(
        "alpha".into(),
        c.ad.alpha.map(Dynamic::from_float).unwrap_or(Dynamic::UNIT),
    );
    if let Some(best) = &c.ad.best {
        adm.insert(
            "path".into(),
            tv(tensor::from_matrix(&best.states).script()?),
        );
        adm.insert("energies".into(), float_array(&best.energies));
    }
    m.insert("ad".into(), records::make::<{ records::PATH_BARRIER }>(adm));
    m.insert("neb".into(), neb_summary(&c.neb_linear)?);
    if let Some(r) = &c.neb_from_ad {
        m.insert("neb_from_ad".into(), neb_summary(r)?);
    }
    Ok(records::make::<{ records::PATH_COMPARISON }>(m))
}

/// Registers `compare_paths`.
pub fn register_compare(api: &mut Api) {
    api.func("compare_paths", "compare_paths(U: Energy, a, b, opts: map) -> PathComparison", "Barriers between two minima by three methods in one call (Figure 25): the straight line, the refined AD path (barrier_ad), and DNEB started from the straight line and from the AD path. Prints a table; returns #{table, line, ad, neb, neb_from_ad}, each with barrier, path or images, and energies, ready for heatmap() and path_energy_plot().", compare_paths);
    api.func(
        "compare_paths",
        "compare_paths(U: Energy, a, b) -> PathComparison",
        "",
        |u: EnergyValue, a: Dynamic, b: Dynamic| compare_paths(u, a, b, Map::new()),
    );
    api.options(
        "compare_paths",
        vec![
            OptionDoc::described(
                "ad",
                OptKind::Map,
                "#{}",
                "options of barrier_ad (T, alpha, delta, M, step, trials, shrink, ...)",
            )
            .of("barrier_ad"),
            OptionDoc::described(
                "neb",
                OptKind::Map,
                "#{method: \"dneb\"}",
                "options of neb (images, k, method, climb, tol, max_iter, ...)",
            )
            .of("neb"),
            OptionDoc::flag("table", true, "print the table"),
            OptionDoc::call_seed(),
        ],
    );
}

/// `map_from_minima(U, states, opts)`: a map of given minima, every pair's barrier from one
/// path method.
fn map_from_minima(u: EnergyValue, states: Array, map: Map) -> RhaiResult<MapValue> {
    use crate::landscape::from_minima::{self, PairMethod};
    let mut o = opts(map, "map_from_minima");
    let name = o.string("method")?;
    let points = o.usize("points")?;
    let nested =
        |o: &mut Opts, key: &str| -> RhaiResult<Map> { Ok(o.map(key)?.unwrap_or_default()) };
    let (neb_map, curve_map, ad_map) = (
        nested(&mut o, "neb")?,
        nested(&mut o, "curve")?,
        nested(&mut o, "ad")?,
    );
    let seed = o.usize_opt("seed")?;
    o.finish()?;
    let given = |m: &Map, key: &str| -> RhaiResult<()> {
        match m.is_empty() || name == key {
            true => Ok(()),
            false => Err(err(format!(
                "map_from_minima: option `{key}` applies to method \"{key}\", not \"{name}\""
            ))),
        }
    };
    given(&neb_map, "neb")?;
    given(&curve_map, "curve")?;
    given(&ad_map, "ad")?;
    let method = match name.as_str() {
        "line" => PairMethod::Line(points),
        "neb" => PairMethod::Neb(super::neb::parse_options(neb_map)?),
        "curve" => {
            let mut c = opts(curve_map, "curve_path").labelled("map_from_minima curve");
            let options = super::curve::curve_options(&mut c)?;
            let _ = c.usize_opt("seed")?;
            c.finish()?;
            PairMethod::Curve(options)
        }
        _ => {
            let mut r = opts(ad_map, "barrier_ad").labelled("map_from_minima ad");
            let options = refine_options(&mut r)?;
            let _ = r.usize_opt("seed")?;
            r.finish()?;
            PairMethod::Ad(options)
        }
    };
    let states = states
        .iter()
        .map(to_tensor)
        .collect::<RhaiResult<Vec<_>>>()?;
    let recorded = seed.map(|s| s as u64).unwrap_or_else(tensor::session_seed);
    let _seed = tensor::call_seed(seed.map(|s| s as u64));
    let m = from_minima::map_from_minima(&u.0, &states, &method, recorded).script()?;
    if m.interrupted {
        super::convert::say_interrupted(
            "map_from_minima",
            "the barriers found so far; the other pairs keep their line barrier",
        );
    }
    Ok(MapValue(m))
}

/// Registers `map_from_minima`.
pub fn register_from_minima(api: &mut Api) {
    api.func(
        "map_from_minima",
        "map_from_minima(U: Energy, states: array, opts: map) -> Map",
        "A map of minima you already have (trained networks, a paper's minima): every state is a group and every pair's barrier comes from one path method: \"line\" (the straight segment at `points`), \"neb\" (bands of all pairs relaxed in one batch; options in `neb`), \"curve\" (a trained curve per pair; options in `curve`) or \"ad\" (the batched AD refinement of all pairs; options in `ad`, as barrier_ad takes them). A pair AD never connects keeps its line barrier. The map saves, loads, draws as a DG and compares like any other.",
        map_from_minima,
    );
    api.func(
        "map_from_minima",
        "map_from_minima(U: Energy, states: array) -> Map",
        "",
        |u: EnergyValue, states: Array| map_from_minima(u, states, Map::new()),
    );
    api.options(
        "map_from_minima",
        vec![
            OptionDoc::text("method", "neb", "\"line\", \"neb\", \"curve\" or \"ad\"")
                .choices(&["line", "neb", "curve", "ad"]),
            OptionDoc::count(
                "points",
                101,
                "points on the straight segment (method \"line\")",
            )
            .within(2.0, 1e6),
            OptionDoc::described(
                "neb",
                OptKind::Map,
                "neb's defaults",
                "options of the bands, as neb takes them",
            ),
            OptionDoc::described(
                "curve",
                OptKind::Map,
                "curve_path's defaults",
                "options of the curves, as curve_path takes them",
            ),
            OptionDoc::described(
                "ad",
                OptKind::Map,
                "barrier_ad's defaults",
                "options of the AD refinement, as barrier_ad takes them",
            ),
            OptionDoc::call_seed(),
        ],
    );
    api.example(
        "map_from_minima",
        "let U = muller_brown();\nlet m = map_from_minima(U, [[-0.558, 1.442], [0.623, 0.028], [-0.050, 0.467]], #{method: \"neb\", neb: #{images: 16}});\nprint(m.n_groups);   // 3\nlet tree = dg(m);",
    );
}
