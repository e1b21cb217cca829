//! Script functions: curves trained between two states (`curve_path`) and the `CurvePath`
//! result type, read like a NEB path (`energies`, `images`, `barrier`, `saddle()`).

use super::convert::{opts, to_tensor, tv, IntoScript, Opts, RhaiResult};
use super::neb::register_path_getters;
use super::{bounds, Api, EnergyValue, OptKind, OptionDoc};
use crate::energy::EnergyRef;
use crate::landscape::curve::{curve_path, CurveKind, CurveOptions, CurvePath};
use crate::landscape::neb::SampledPath;
use rhai::{Dynamic, Map};
use std::rc::Rc;

/// A trained curve as scripts see it (script type `CurvePath`).
#[derive(Clone)]
pub struct CurveValue {
    result: Rc<CurvePath>,
    energy: EnergyRef,
}

impl CurveValue {
    fn summary(&self) -> String {
        let r = &self.result;
        format!(
            "CurvePath({}, {} control points, {} points, barrier {:.6} at point {}, mean energy {:.6} (straight segment {:.6}), {} iterations{})",
            r.kind.name(),
            r.control.size()[0],
            r.energies.len(),
            r.max_energy,
            r.top,
            r.mean_after,
            r.mean_before,
            r.iterations,
            if r.interrupted { ", interrupted" } else { "" }
        )
    }
}

fn option_specs() -> Vec<OptionDoc> {
    let d = CurveOptions::default();
    vec![
        OptionDoc::text("kind", d.kind.name(), "\"bezier\" (a Bézier curve of degree bends + 1) or \"polychain\" (a polygonal chain through the bends)")
            .choices(&["bezier", "polychain"]),
        OptionDoc::count("bends", d.bends, "interior control points (Garipov et al. use 1)").within(1.0, 1000.0),
        OptionDoc::count("iters", d.iters, "descent iterations, each one batched energy-and-gradient call at `samples` values of t").bounded(bounds::STEPS),
        OptionDoc::number("lr", d.lr, "Adam's learning rate on the control points").bounded(bounds::SCALE),
        OptionDoc::count("samples", d.samples, "values of t per iteration (one in each of as many equal slices of [0, 1])").within(1.0, 1e5),
        OptionDoc::count("points", d.points, "points of the returned path, endpoints included").within(3.0, 1e5),
        OptionDoc::described("minibatch", OptKind::Count, "all rows", "torch_loss only: each iteration's gradient on a fresh random mini-batch of this many of the loss's data rows (stochastic descent, as Garipov et al. train curves); the returned path's energies use all rows").within(1.0, 1e9),
        OptionDoc::call_seed(),
    ]
}

/// The curve options of `curve_path` (all but `seed`) from `o`.
pub(super) fn curve_options(o: &mut Opts) -> RhaiResult<CurveOptions> {
    let kind = match o.string("kind")?.as_str() {
        "polychain" => CurveKind::Polychain,
        _ => CurveKind::Bezier,
    };
    Ok(CurveOptions {
        kind,
        bends: o.usize("bends")?,
        iters: o.usize("iters")?,
        lr: o.f64("lr")?,
        samples: o.usize("samples")?,
        points: o.usize("points")?,
        minibatch: o.usize_opt("minibatch")?,
    })
}

fn run(u: EnergyValue, a: Dynamic, b: Dynamic, map: Map) -> RhaiResult<CurveValue> {
    let mut o = opts(map, "curve_path");
    let options = curve_options(&mut o)?;
    let _seed = o.call_seed()?;
    o.finish()?;
    let (a, b) = (to_tensor(&a)?, to_tensor(&b)?);
    let r = curve_path(u.0.as_ref(), &a, &b, &options).script()?;
    if r.interrupted {
        super::convert::say_interrupted(
            "curve_path",
            &format!("the curve after {} iterations", r.iterations),
        );
    }
    Ok(CurveValue {
        result: Rc::new(r),
        energy: u.0.clone(),
    })
}

/// Registers `curve_path` and the `CurvePath` type.
pub fn register(api: &mut Api) {
    api.engine
        .register_type_with_name::<CurveValue>("CurvePath");
    api.engine
        .register_fn("to_string", |p: &mut CurveValue| p.summary());
    api.engine
        .register_fn("to_debug", |p: &mut CurveValue| p.summary());
    let doc = "A curve from a to b trained by stochastic descent over t, as Garipov et al. (2018) connect two networks: a Bézier curve or polygonal chain whose interior control points minimize the mean energy along it, E_t U(φ(t)), each iteration at `samples` stratified values of t in one batched call, moved by Adam. Starts on the straight segment. Returns a CurvePath sampled at `points` equally spaced t, read like a NEB path: `energies`, `images`, `barrier` (its highest energy), `top`, `control`, `mean_before` / `mean_after` (the straight segment's mean energy and the curve's), and `saddle()` to refine the highest point to the transition state. Works on every continuous energy (torch_loss included). Ctrl-C keeps the curve reached.";
    api.func(
        "curve_path",
        "curve_path(U: Energy, a: Tensor, b: Tensor) -> CurvePath",
        doc,
        |u: EnergyValue, a: Dynamic, b: Dynamic| run(u, a, b, Map::new()),
    );
    api.func(
        "curve_path",
        "curve_path(U: Energy, a: Tensor, b: Tensor, opts: map) -> CurvePath",
        doc,
        run,
    );
    api.options("curve_path", option_specs());
    api.example(
        "curve_path",
        "let U = muller_brown();\nlet c = curve_path(U, [-0.558, 1.442], [-0.050, 0.467], #{kind: \"polychain\", bends: 3});\nprint(c);                 // CurvePath(polychain, 5 control points, ...)\nprint(c.saddle().energy);  // -40.66 (the A-C saddle)",
    );
    register_path_getters(
        api,
        "CurvePath",
        "point",
        " The points are φ(t) at equally spaced t.",
        |p: &CurveValue| p.result.as_ref(),
    );
    api.getter(
        "CurvePath",
        "control",
        "The control points [bends + 2, D], endpoints first and last.",
        |p: &mut CurveValue| tv(p.result.control.shallow_clone()),
    );
    api.getter(
        "CurvePath",
        "mean_before",
        "Mean energy along the straight segment (the start of training).",
        |p: &mut CurveValue| p.result.mean_before,
    );
    api.getter(
        "CurvePath",
        "mean_after",
        "Mean energy along the trained curve.",
        |p: &mut CurveValue| p.result.mean_after,
    );
    api.getter(
        "CurvePath",
        "iterations",
        "Descent iterations run.",
        |p: &mut CurveValue| p.result.iterations as i64,
    );
    api.getter(
        "CurvePath",
        "interrupted",
        "True when Ctrl-C stopped the training.",
        |p: &mut CurveValue| p.result.interrupted,
    );
    let saddle_doc = "Refines the path's highest point to the transition state, as NebPath.saddle does; returns #{state, energy, grad_norm, converged, iterations, negative_modes}.";
    api.method(
        "CurvePath",
        "saddle",
        "CurvePath.saddle() -> map",
        saddle_doc,
        |p: &mut CurveValue| -> RhaiResult<Dynamic> {
            super::neb::saddle_of(Map::new(), "CurvePath.saddle", |so| {
                p.result.saddle(p.energy.as_ref(), so)
            })
        },
    );
    api.method(
        "CurvePath",
        "saddle",
        "CurvePath.saddle(opts: map) -> map",
        saddle_doc,
        |p: &mut CurveValue, m: Map| -> RhaiResult<Dynamic> {
            super::neb::saddle_of(m, "CurvePath.saddle", |so| {
                p.result.saddle(p.energy.as_ref(), so)
            })
        },
    );
    api.options("CurvePath.saddle", super::neb::saddle_option_specs());
}
