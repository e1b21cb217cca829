//! Script functions: minimum energy paths (`neb`) and the `NebPath` result type.

use super::convert::{err, opts, to_tensor, tv, IntoScript, RhaiResult};
use super::{bounds, Api, EnergyValue, OptKind, OptionDoc};
use crate::energy::EnergyRef;
use crate::landscape::neb::{
    neb, neb_many, NebInit, NebMethod, NebOptimizer, NebOptions, NebResult, SaddleOptions,
    SampledPath,
};
use crate::minimize::stepper::DEFAULT_LBFGS_MEMORY;
use rhai::{Array, Dynamic, Map, Variant};
use std::rc::Rc;

/// A relaxed band as scripts see it (script type `NebPath`): the result and its energy.
#[derive(Clone)]
pub struct NebPath {
    /// The core result.
    pub result: Rc<NebResult>,
    /// The energy the band was relaxed on (for `saddle()`).
    pub energy: EnergyRef,
}

impl NebPath {
    /// One-line summary.
    pub fn summary(&self) -> String {
        let r = &self.result;
        let status = if r.interrupted {
            "interrupted"
        } else if r.converged {
            "converged"
        } else {
            "not converged"
        };
        format!(
            "NebPath({}, {} images, barrier {:.6} at image {} (height {:.6} above a), {status} after {} iterations, max force {:.3e}{})",
            r.method.name(),
            r.energies.len(),
            r.max_energy,
            r.top,
            r.height,
            r.iterations,
            r.max_force,
            if r.climbing { ", climbing" } else { "" }
        )
    }
}

/// The options of a band ([`parse_options`]), defaults from [`NebOptions`].
fn neb_option_specs() -> Vec<OptionDoc> {
    let d = NebOptions::default();
    vec![
        OptionDoc::count("images", d.images, "number of images, both fixed endpoints included (3 to 100,000)").within(3.0, 1e5),
        OptionDoc::number("k", d.k, "spring constant").bounded(bounds::WEIGHT),
        OptionDoc::text("method", d.method.name(), "\"neb\" (nudged elastic band, improved tangent) or \"dneb\" (doubly nudged, Trygubenko & Wales 2004)")
            .choices(&["neb", "dneb"]),
        OptionDoc::flag("climb", d.climb, "switch the climbing image on (the highest image climbs to the saddle)"),
        OptionDoc::number("climb_after", d.climb_after, "share of max_iter after which climbing starts; it also starts once the band without it meets tol")
            .within(0.0, 1.0),
        OptionDoc::number("tol", d.tol, "converged when the largest force norm of an interior image is below tol").bounded(bounds::TOLERANCE),
        OptionDoc::count("max_iter", d.max_iter, "iteration limit; each iteration is one energy-and-gradient call for the whole band").bounded(bounds::STEPS),
        OptionDoc::described("init", OptKind::Any, "\"linear\"", "\"linear\" (straight segment) or a path [m, D] (e.g. an AD trajectory), resampled to the images at equal arc length"),
        OptionDoc::text("optimizer", "fire", "\"fire\" (FIRE over the whole band) or \"lbfgs\" (L-BFGS on the concatenated band force, no line search; memory dropped on a step against the force or when the largest force doubles); both cap each image's step")
            .choices(&["fire", "lbfgs"]),
        OptionDoc::count("memory", DEFAULT_LBFGS_MEMORY, "L-BFGS correction pairs kept (optimizer \"lbfgs\"; 1 to 1,000)").within(1.0, 1e3),
        OptionDoc::described("max_step", OptKind::Number, "half the mean spacing of the starting band", "largest move of one image per step").bounded(bounds::SCALE),
        OptionDoc::count("dneb_patience", d.dneb_patience, "method \"dneb\": the DNEB term is switched off (plain NEB from then on) once the largest force has gone this many iterations without a new low, as DNEB cannot converge on curved paths in 3+ dimensions; 0 keeps it on").bounded(bounds::STEPS),
    ]
}

pub(crate) fn parse_options(map: Map) -> RhaiResult<NebOptions> {
    let mut o = opts(map, "neb");
    let images = o.usize("images")?;
    let k = o.f64("k")?;
    let method = match o.string("method")?.as_str() {
        "neb" => NebMethod::Neb,
        "dneb" => NebMethod::Dneb,
        other => {
            return Err(err(format!(
                "neb: method must be \"neb\" or \"dneb\", got \"{other}\""
            )))
        }
    };
    let climb = o.bool("climb")?;
    let climb_after = o.f64("climb_after")?;
    let tol = o.f64("tol")?;
    let max_iter = o.usize("max_iter")?;
    let init = match o.value("init")? {
        None => NebInit::Linear,
        Some(v) if v.is_string() => match v.into_string().unwrap_or_default().as_str() {
            "linear" => NebInit::Linear,
            other => {
                return Err(err(format!(
                    "neb: init must be \"linear\" or a path [m, D], got \"{other}\""
                )))
            }
        },
        Some(v) => NebInit::Path(to_tensor(&v)?),
    };
    let memory = o.usize("memory")?.max(1);
    let optimizer = match o.string("optimizer")?.as_str() {
        "fire" => NebOptimizer::Fire,
        "lbfgs" => NebOptimizer::Lbfgs { memory },
        other => {
            return Err(err(format!(
                "neb: optimizer must be \"fire\" or \"lbfgs\", got \"{other}\""
            )))
        }
    };
    let max_step = o.f64_opt("max_step")?;
    let dneb_patience = o.usize("dneb_patience")?;
    o.finish()?;
    Ok(NebOptions {
        images,
        k,
        method,
        climb,
        climb_after,
        tol,
        max_iter,
        init,
        optimizer,
        max_step,
        dneb_patience,
    })
}

fn run(u: EnergyValue, a: Dynamic, b: Dynamic, options: NebOptions) -> RhaiResult<NebPath> {
    let a = to_tensor(&a)?;
    let b = to_tensor(&b)?;
    let r = neb(u.0.as_ref(), &a, &b, &options).script()?;
    if r.interrupted {
        super::convert::say_interrupted(
            "neb",
            &format!("the band after {} iterations (not converged)", r.iterations),
        );
    }
    Ok(NebPath {
        result: Rc::new(r),
        energy: u.0,
    })
}

/// `neb_pairs`: one band per `[a, b]` pair of the array, relaxed together.
fn run_pairs(u: EnergyValue, pairs: Array, options: NebOptions) -> RhaiResult<Array> {
    let pairs = pairs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let two = p.clone().into_array().ok().filter(|two| two.len() == 2);
            let two = two.ok_or_else(|| {
                err(format!(
                    "neb_pairs: pair {i} must be an array [a, b] of two states"
                ))
            })?;
            Ok((to_tensor(&two[0])?, to_tensor(&two[1])?))
        })
        .collect::<RhaiResult<Vec<_>>>()?;
    let bands = neb_many(u.0.as_ref(), &pairs, &options).script()?;
    let cut = bands.iter().filter(|r| r.interrupted).count();
    if cut > 0 {
        super::convert::say_interrupted(
            "neb_pairs",
            &format!(
                "{} bands, {cut} of them cut short where they were",
                bands.len()
            ),
        );
    }
    Ok(bands
        .into_iter()
        .map(|r| {
            Dynamic::from(NebPath {
                result: Rc::new(r),
                energy: u.0.clone(),
            })
        })
        .collect())
}

fn saddle(p: &mut NebPath, map: Map) -> RhaiResult<Dynamic> {
    saddle_of(map, "NebPath.saddle", |so| {
        p.result.saddle(p.energy.as_ref(), so)
    })
}

/// A path's `saddle(opts)` method: reads the options documented under `name`, refines, and
/// returns the saddle record (shared by NebPath and CurvePath).
pub(super) fn saddle_of(
    map: Map,
    name: &str,
    refine: impl FnOnce(&SaddleOptions) -> crate::Result<crate::landscape::neb::Saddle>,
) -> RhaiResult<Dynamic> {
    let mut o = opts(map, name);
    let so = SaddleOptions {
        tol: o.f64("tol")?,
        max_iter: o.usize("max_iter")?,
        hessian_max_dim: o.usize("hessian_max_dim")?,
    };
    o.finish()?;
    let s = refine(&so).script()?;
    let cut = super::convert::cut_short();
    if cut {
        super::convert::say_interrupted(
            "saddle",
            &format!(
                "the state after {} iterations (not converged)",
                s.iterations
            ),
        );
    }
    let mut m = Map::new();
    m.insert("interrupted".into(), Dynamic::from_bool(cut));
    m.insert("state".into(), tv(s.state));
    m.insert("energy".into(), Dynamic::from_float(s.energy));
    m.insert("grad_norm".into(), Dynamic::from_float(s.grad_norm));
    m.insert("converged".into(), Dynamic::from_bool(s.converged));
    m.insert("iterations".into(), Dynamic::from_int(s.iterations as i64));
    m.insert(
        "negative_modes".into(),
        s.negative_modes
            .map(|n| Dynamic::from_int(n as i64))
            .unwrap_or(Dynamic::UNIT),
    );
    Ok(super::records::make::<{ super::records::SADDLE }>(m))
}

/// Registers `neb` and the `NebPath` type.
pub fn register(api: &mut Api) {
    api.engine.register_type_with_name::<NebPath>("NebPath");
    api.engine
        .register_fn("to_string", |p: &mut NebPath| p.summary());
    api.engine
        .register_fn("to_debug", |p: &mut NebPath| p.summary());

    let doc = "Minimum energy path between two states by the nudged elastic band. \
        Relaxes a band of images (a batch [n, D], endpoints a and b fixed) on the NEB force with \
        Henkelman & Jónsson's improved tangent, or on the doubly nudged DNEB force (Trygubenko & \
        Wales 2004) that also keeps the part of the perpendicular spring force orthogonal to the \
        true gradient (it straightens kinks in weakly constrained directions; in 2-D it equals \
        NEB). With `climb`, the highest image climbs to the saddle point. Every iteration takes \
        the energy and gradient of all images in one call; FIRE (or L-BFGS) moves the band. Returns a \
        NebPath: `energies`, `images`, `barrier` (the highest energy on the band, as \
        everywhere in telescope), `height` (barrier - U(a)), `height_back` (barrier - U(b)), \
        `top`, `converged`, `iterations`, and `saddle()` to refine \
        the top image to the transition state. Ctrl-C stops the run and keeps the band reached.";
    api.func(
        "neb",
        "neb(U: Energy, a: Tensor, b: Tensor) -> NebPath",
        doc,
        |u: EnergyValue, a: Dynamic, b: Dynamic| run(u, a, b, NebOptions::default()),
    );
    api.func(
        "neb",
        "neb(U: Energy, a: Tensor, b: Tensor, opts: map) -> NebPath",
        doc,
        |u: EnergyValue, a: Dynamic, b: Dynamic, m: Map| -> RhaiResult<NebPath> {
            let options = parse_options(m)?;
            run(u, a, b, options)
        },
    );
    api.options("neb", neb_option_specs());
    let pairs_doc = "Relaxes one NEB band per pair [a, b] of the array at once: every iteration \
        takes the energy and gradient of all running bands in one call (what fills a GPU), \
        while each band keeps its own optimizer, climbing image and convergence, and leaves the \
        batch when done. Each band ends as `neb(U, a, b, opts)` alone would end it. Takes the \
        options of `neb`; returns an array of NebPath, one per pair.";
    api.func(
        "neb_pairs",
        "neb_pairs(U: Energy, pairs: array) -> array",
        pairs_doc,
        |u: EnergyValue, pairs: Array| run_pairs(u, pairs, NebOptions::default()),
    );
    api.func(
        "neb_pairs",
        "neb_pairs(U: Energy, pairs: array, opts: map) -> array",
        pairs_doc,
        |u: EnergyValue, pairs: Array, m: Map| -> RhaiResult<Array> {
            run_pairs(u, pairs, parse_options(m)?)
        },
    );
    api.options("neb_pairs", neb_option_specs());
    api.example(
        "neb_pairs",
        "let U = muller_brown();\n\
         let m = adelm(U, #{T: 5.0, alpha: 10.0, step: 0.02, iters: 24, progress: false});\n\
         let reps = m.groups.map(|g| g.state);\n\
         let pairs = [];\n\
         for i in 0..reps.len() { for j in i + 1..reps.len() { pairs.push([reps[i], reps[j]]); } }\n\
         for p in neb_pairs(U, pairs, #{images: 12}) { print(p.max_energy); }",
    );
    api.example(
        "neb",
        "let U = muller_brown();\n\
         let p = neb(U, [-0.558, 1.442], [-0.050, 0.467], #{images: 12, climb: true});\n\
         print(p);                  // NebPath(neb, 12 images, barrier ...)\n\
         let s = p.saddle();        // #{state, energy, grad_norm, ...}\n\
         print(s.energy);           // -40.66 (the A-C saddle)",
    );

    register_path_getters(
        api,
        "NebPath",
        "image",
        " Builds before issue 39 gave the height above U(a) here: that is now `height`.",
        |p: &NebPath| p.result.as_ref(),
    );
    api.getter(
        "NebPath",
        "height",
        "Height of the barrier above the start: barrier - U(a).",
        |p: &mut NebPath| p.result.height,
    );
    api.getter(
        "NebPath",
        "height_back",
        "Height of the barrier above the end: barrier - U(b).",
        |p: &mut NebPath| p.result.height_back,
    );
    api.getter(
        "NebPath",
        "barrier_back",
        "Deprecated (removed in the next release): barrier - U(b), the old name of `height_back`.",
        |p: &mut NebPath| p.result.height_back,
    );
    api.getter(
        "NebPath",
        "converged",
        "True when the largest image force fell below tol (with climbing on, when asked for).",
        |p: &mut NebPath| p.result.converged,
    );
    api.getter(
        "NebPath",
        "interrupted",
        "True when Ctrl-C stopped the run.",
        |p: &mut NebPath| p.result.interrupted,
    );
    api.getter(
        "NebPath",
        "iterations",
        "Iterations run.",
        |p: &mut NebPath| p.result.iterations as i64,
    );
    api.getter(
        "NebPath",
        "max_force",
        "Largest force norm of an interior image at the end.",
        |p: &mut NebPath| p.result.max_force,
    );
    api.getter(
        "NebPath",
        "method",
        "\"neb\" or \"dneb\".",
        |p: &mut NebPath| p.result.method.name().to_string(),
    );
    api.getter(
        "NebPath",
        "climbing",
        "True when the climbing image was on at the end.",
        |p: &mut NebPath| p.result.climbing,
    );
    api.getter(
        "NebPath",
        "dneb_off_at",
        "Method \"dneb\": the iteration at which the DNEB term was switched off, or () when it stayed on.",
        |p: &mut NebPath| -> Dynamic {
            p.result
                .dneb_off_at
                .map(|i| Dynamic::from_int(i as i64))
                .unwrap_or(Dynamic::UNIT)
        },
    );

    let sdoc = "Refines the highest image to the transition state: eigenvector following (uphill along the lowest \
        Hessian mode, downhill along the others) with a finite-difference Hessian of the gradient for D up to \
        `hessian_max_dim`, otherwise single-image climbing along the band tangent. Returns \
        #{state: Tensor, energy: float, grad_norm: float, converged: bool, iterations: int, negative_modes: int or ()}; \
        `negative_modes` is 1 at a first-order saddle. Best after a climbing-image run.";
    api.method(
        "NebPath",
        "saddle",
        "path.saddle() -> Saddle",
        sdoc,
        |p: &mut NebPath| saddle(p, Map::new()),
    );
    api.method(
        "NebPath",
        "saddle",
        "path.saddle(opts: map) -> Saddle",
        sdoc,
        |p: &mut NebPath, m: Map| saddle(p, m),
    );
    api.options("NebPath.saddle", saddle_option_specs());
    api.example(
        "NebPath.saddle",
        "let U = muller_brown();\nlet s = neb(U, [-0.558, 1.442], [-0.050, 0.467]).saddle();   // minima A and C\nprint(`saddle at ${s.state}, energy ${s.energy}`);",
    );
}

/// The options of a path's `saddle()` ([`SaddleOptions`]).
pub(super) fn saddle_option_specs() -> Vec<OptionDoc> {
    let d = SaddleOptions::default();
    {
        vec![
            OptionDoc::number(
                "tol",
                d.tol,
                "converged when the gradient norm is below tol",
            )
            .bounded(bounds::TOLERANCE),
            OptionDoc::count(
                "max_iter",
                d.max_iter,
                "iteration limit of each refinement stage",
            )
            .bounded(bounds::STEPS),
            OptionDoc::count(
                "hessian_max_dim",
                d.hessian_max_dim,
                "largest dimension for which the Hessian is built (2D gradient rows in one batch; up to 10,000)",
            )
            .within(0.0, 1e4),
        ]
    }
}

/// Registers the getters every sampled path shows scripts on `type_name`: `energies`,
/// `images`, `barrier`, `max_energy` and `top`. `point` names its points ("image", "point");
/// `barrier_note` is added to `barrier`'s doc.
pub(super) fn register_path_getters<T: Variant + Clone>(
    api: &mut Api,
    type_name: &str,
    point: &str,
    barrier_note: &str,
    path: fn(&T) -> &dyn SampledPath,
) {
    api.getter(
        type_name,
        "energies",
        &format!("Energy of each {point} along the path (array of floats)."),
        move |p: &mut T| -> Dynamic { super::convert::float_array(path(p).energies()) },
    );
    api.getter(
        type_name,
        "images",
        &format!("The path's {point}s as a Tensor [n, D], endpoints included."),
        move |p: &mut T| tv(path(p).images().shallow_clone()),
    );
    api.getter(
        type_name,
        "barrier",
        &format!("Highest energy along the path (= max_energy), the barrier's meaning everywhere in telescope.{barrier_note}"),
        move |p: &mut T| path(p).max_energy(),
    );
    api.getter(
        type_name,
        "max_energy",
        "Highest energy along the path (the same as `barrier`).",
        move |p: &mut T| path(p).max_energy(),
    );
    api.getter(
        type_name,
        "top",
        &format!("Index of the highest {point}."),
        move |p: &mut T| path(p).top() as i64,
    );
}
