//! Script functions: energies (built-ins, script-defined, magnetized), evaluation, gradients,
//! minimum search.

use super::convert::{err, ev, num, opts, to_f64s, to_tensor, tv, IntoScript, RhaiResult};
use super::{bounds, Api, EnergyValue, OptKind, OptionDoc, TensorValue};
use crate::energy::{self, Energy, EnergyRef, Space};
use crate::minimize::{self, MinimizeMethod, MinimizeOptions};
use crate::{error::invalid, tensor};
use rhai::{Array, Dynamic, FnPtr, Map};
use std::rc::Rc;
use tch::Tensor;

/// An energy written in Rhai: a closure from a batch `[B, D]` to energies `[B]`.
struct ScriptEnergy {
    f: FnPtr,
    dim: usize,
    space: Space,
}

impl Energy for ScriptEnergy {
    fn name(&self) -> String {
        format!("energy({})", self.f.fn_name())
    }
    fn dim(&self) -> Option<usize> {
        Some(self.dim)
    }
    fn space(&self) -> Space {
        self.space.clone()
    }
    fn energy(&self, x: &Tensor) -> crate::Result<Tensor> {
        let out =
            super::host::call_fn_ptr(&self.f, vec![Dynamic::from(TensorValue(x.shallow_clone()))])
                .map_err(invalid)?;
        let t = to_tensor(&out).map_err(|e| invalid(format!("energy closure: {e}")))?;
        let b = x.size()[0];
        if !t.is_floating_point() {
            return Err(invalid(format!(
                "energy closure returned a {:?} tensor; energies must be floating point (e.g. (x*x).sum(1), not a comparison or an integer)",
                t.kind()
            )));
        }
        // A single number is one energy only for a batch of one state: for more it would be
        // the same value for every chain (usually a sum over the whole batch).
        let t = if t.dim() == 0 && b == 1 {
            t.f_reshape([1])?
        } else {
            t
        };
        if t.size() != [b] {
            return Err(invalid(format!(
                "energy closure returned shape {:?} for a batch of {b} states; it must return one energy per row (e.g. (x*x).sum(1))",
                t.size()
            )));
        }
        // Asked for a gradient (x tracks it), but the energies lost the link to x: every
        // gradient would be zero and minimizers would stop at once, "converged".
        if x.requires_grad() && !t.requires_grad() {
            return Err(invalid(
                "energy closure: the energies do not depend on x through tensor operations (detached, or rebuilt with tensor() / to_array()), so its gradient would be zero everywhere; compute them from x with tensor operations",
            ));
        }
        Ok(t)
    }
}

/// A closure energy keeps a box of `dim` bounds and works on batches of `dim` values: a
/// dimension past the memory budget is refused when the energy is made.
fn check_closure_dim(dim: usize) -> RhaiResult<()> {
    crate::budget::check(&format!("an energy of dimension {dim}"), dim as f64, 16.0).script()
}

fn energy_of(v: &EnergyValue) -> &dyn Energy {
    v.0.as_ref()
}

/// Evaluates `U` at a state (returns a float) or a batch (returns a Tensor `[B]`).
fn eval(u: &mut EnergyValue, x: Dynamic) -> RhaiResult<Dynamic> {
    let x = to_tensor(&x)?;
    let single = x.dim() <= 1;
    let xb = tensor::as_batch(&x).script()?;
    energy::check_dim(energy_of(u), &xb).script()?;
    let e = {
        let _g = tch::no_grad_guard();
        energy_of(u)
            .energy(&xb.f_to_kind(tensor::dtype()).script()?)
            .script()?
    };
    if single {
        Ok(Dynamic::from_float(tensor::scalar_f64(&e).script()?))
    } else {
        Ok(tv(e))
    }
}

fn grad(u: &mut EnergyValue, x: Dynamic) -> RhaiResult<TensorValue> {
    let x = to_tensor(&x)?;
    let single = x.dim() <= 1;
    let xb = tensor::as_batch(&x)
        .script()?
        .f_to_kind(tensor::dtype())
        .script()?;
    energy::check_dim(energy_of(u), &xb).script()?;
    let g = energy_of(u).grad(&xb).script()?;
    Ok(TensorValue(if single {
        g.f_squeeze_dim(0).script()?
    } else {
        g
    }))
}

/// Default box of a continuous user energy, per coordinate.
const CONTINUOUS_BOX: (f64, f64) = (-3.0, 3.0);
/// Default range of a levels user energy.
const LEVELS_RANGE: (f64, f64) = (0.0, 1.0);

/// The options of an energy the user defines: its dimension and its state space
/// ([`parse_space`]).
pub(super) fn energy_options() -> Vec<OptionDoc> {
    let (clo, chi) = CONTINUOUS_BOX;
    let (llo, lhi) = LEVELS_RANGE;
    vec![
        OptionDoc::described("dim", OptKind::Count, "required", "state dimension D").within(1.0, 1e9),
        OptionDoc::text("space", "continuous", "\"continuous\", \"spins\" or \"levels\"")
            .choices(&["continuous", "spins", "levels"]),
        OptionDoc::described("lo", OptKind::Any, &format!("{clo} (continuous) / {llo} (levels)"), "lower bound of the box for random starts (number or per-coordinate array); lowest level"),
        OptionDoc::described("hi", OptKind::Any, &format!("{chi} (continuous) / {lhi} (levels)"), "upper bound of the box; highest level"),
        OptionDoc::count("levels", 8, "number of levels K (space \"levels\"); 2 to 65,536: every level of a site is scored in one batch").within(2.0, 65536.0),
    ]
}

/// The state space named by the options `space`, `lo`, `hi` and `levels` (shared by every
/// energy that the user defines).
pub(super) fn parse_space(o: &mut super::Opts, dim: usize) -> RhaiResult<Space> {
    let kind = o.string("space")?;
    let given = |k: &str| o.has(k);
    if given("levels") && kind != "levels" {
        return Err(err(format!(
            "option `levels` applies to space \"levels\", not \"{kind}\""
        )));
    }
    if kind == "spins" && (given("lo") || given("hi")) {
        return Err(err("options `lo` and `hi` do not apply to space \"spins\""));
    }
    let levels = o.usize("levels")?;
    let lo = o.value("lo")?;
    let hi = o.value("hi")?;
    Ok(match kind.as_str() {
        "continuous" => Space::Continuous {
            lo: match lo {
                Some(v) => box_bound(&v, dim)?,
                None => vec![CONTINUOUS_BOX.0; dim],
            },
            hi: match hi {
                Some(v) => box_bound(&v, dim)?,
                None => vec![CONTINUOUS_BOX.1; dim],
            },
        },
        "spins" => Space::Spins,
        _ => Space::Levels {
            k: levels,
            lo: level_bound(lo, "lo", LEVELS_RANGE.0)?,
            hi: level_bound(hi, "hi", LEVELS_RANGE.1)?,
        },
    })
}

/// One end of a levels range: a number, or `default`.
fn level_bound(v: Option<Dynamic>, key: &str, default: f64) -> RhaiResult<f64> {
    match v {
        None => Ok(default),
        Some(v) => num(&v).ok_or_else(|| {
            err(format!(
                "option `{key}` of space \"levels\" must be a number, got {}",
                v.type_name()
            ))
        }),
    }
}

fn box_bound(v: &Dynamic, dim: usize) -> RhaiResult<Vec<f64>> {
    if let Some(x) = num(v) {
        return Ok(vec![x; dim]);
    }
    let b = to_f64s(v)?;
    if b.len() != dim {
        return Err(err(format!(
            "box bound has {} values, energy has dimension {dim}",
            b.len()
        )));
    }
    Ok(b)
}

/// The options [`min_options`] reads, with the caller's gradient tolerance.
fn min_option_specs(tol: f64) -> Vec<OptionDoc> {
    let d = MinimizeOptions::default();
    vec![
        OptionDoc::text(
            "method",
            d.method.name(),
            "\"fire\", \"gd\" (continuous), \"descent\" (discrete) or \"auto\"",
        )
        .choices(&MinimizeMethod::ALL.map(MinimizeMethod::name)),
        OptionDoc::number(
            "tol",
            tol,
            "stop when every gradient component is below tol (on a kink: when the shortest vector in the hull of the gradients sampled around the chain is)",
        )
        .bounded(bounds::TOLERANCE),
        OptionDoc::count("max_iter", d.max_iter, "iteration limit (a gradient-sampling step counts as one)").bounded(bounds::STEPS),
        OptionDoc::number(
            "step",
            d.step,
            "initial step (FIRE dt, gradient-descent step)",
        )
        .bounded(bounds::SCALE),
        OptionDoc::flag(
            "progress",
            true,
            "a progress line on stderr about once a second while FIRE or gradient sampling runs",
        ),
    ]
}

fn min_options(o: &mut super::Opts) -> RhaiResult<MinimizeOptions> {
    Ok(MinimizeOptions {
        method: MinimizeMethod::parse(&o.string("method")?).script()?,
        tol: o.f64("tol")?,
        max_iter: o.usize("max_iter")?,
        step: o.f64("step")?,
        progress: super::convert::stderr_progress(o.bool("progress")?),
    })
}

fn minimize_script(u: EnergyValue, x0: Dynamic, map: Map) -> RhaiResult<Dynamic> {
    let mut o = opts(map, "minimize");
    let mo = min_options(&mut o)?;
    o.finish()?;
    let x = to_tensor(&x0)?;
    let single = x.dim() <= 1;
    let m = minimize::minimize(energy_of(&u), &x, &mo).script()?;
    if m.interrupted {
        super::convert::say_interrupted(
            "minimize",
            &format!(
                "each chain where it stopped after {} iterations (converged false)",
                m.iterations
            ),
        );
    }
    let mut out = Map::new();
    if single {
        out.insert("x".into(), tv(m.x.f_squeeze_dim(0).script()?));
        out.insert(
            "energy".into(),
            Dynamic::from_float(tensor::scalar_f64(&m.energy).script()?),
        );
        out.insert("converged".into(), Dynamic::from_bool(m.converged[0]));
    } else {
        out.insert("x".into(), tv(m.x));
        out.insert("energy".into(), tv(m.energy));
        out.insert(
            "converged".into(),
            Dynamic::from_array(m.converged.iter().map(|c| Dynamic::from_bool(*c)).collect()),
        );
    }
    out.insert("iterations".into(), Dynamic::from_int(m.iterations as i64));
    out.insert("interrupted".into(), Dynamic::from_bool(m.interrupted));
    Ok(super::records::make::<{ super::records::MINIMUM }>(out))
}

fn find_minima(u: EnergyValue, map: Map) -> RhaiResult<Array> {
    let mut o = opts(map, "find_minima");
    let n = o.usize("starts")?;
    let tol = o.f64("dedup")?;
    let mo = min_options(&mut o)?;
    let _seed = o.call_seed()?;
    o.finish()?;
    let x0 = energy::random_states(energy_of(&u), n.max(1)).script()?;
    let mut m = minimize::minimize(energy_of(&u), &x0, &mo).script()?;
    if m.interrupted {
        // Chains stopped half-way are not minima: only the finished descents count.
        let done: Vec<i64> = (0..m.converged.len() as i64)
            .filter(|&i| m.converged[i as usize])
            .collect();
        super::convert::say_interrupted(
            "find_minima",
            &format!(
                "the minima of the {} of {} descents that had finished",
                done.len(),
                m.converged.len()
            ),
        );
        let keep = Tensor::from_slice(&done)
            .f_to_device(m.x.device())
            .script()?;
        m.x = m.x.f_index_select(0, &keep).script()?;
        m.energy = m.energy.f_index_select(0, &keep).script()?;
    }
    let (states, energies, counts) = minimize::unique_minima(&m.x, &m.energy, tol).script()?;
    let mut out = Array::new();
    for ((s, e), c) in states.iter().zip(&energies).zip(&counts) {
        let mut r = Map::new();
        r.insert(
            "x".into(),
            tv(tensor::from_vec(s, &[s.len() as i64]).script()?),
        );
        r.insert("energy".into(), Dynamic::from_float(*e));
        r.insert("count".into(), Dynamic::from_int(*c as i64));
        out.push(super::records::make::<{ super::records::FOUND_MINIMUM }>(r));
    }
    Ok(out)
}

fn rc(e: impl Energy + 'static) -> Dynamic {
    ev(Rc::new(e) as EnergyRef)
}

fn target_tensor(v: &Dynamic) -> RhaiResult<Tensor> {
    to_tensor(v)?.f_to_kind(tensor::dtype()).script()
}

fn embed_script(u: EnergyValue, dim: i64, map: Map) -> RhaiResult<Dynamic> {
    let mut o = opts(map, "embed");
    let seed = o.seed()?;
    let stiffness = o.f64("stiffness")?;
    o.finish()?;
    if dim < 1 {
        return Err(err("embed: dim must be >= 1"));
    }
    Ok(rc(
        energy::embed(u.0, dim as usize, seed, stiffness).script()?
    ))
}

fn embedded_of<'a>(u: &'a EnergyValue, what: &str) -> RhaiResult<&'a energy::Embedded> {
    u.0.as_embedded().ok_or_else(|| {
        err(format!(
            "{what}: {} is not an embedded energy (make one with embed(U, dim))",
            u.0.name()
        ))
    })
}

/// Registers the energy functions.
pub fn register(api: &mut Api) {
    api.engine.register_fn("to_string", |e: &mut EnergyValue| {
        format!("Energy {}", e.0.name())
    });
    api.engine.register_fn("to_debug", |e: &mut EnergyValue| {
        format!("Energy {}", e.0.name())
    });
    api.func(
        "quadratic",
        "quadratic(d: int) -> Energy",
        "The bowl U(x) = ||x||^2 / 2 in d dimensions (a standard Gaussian at T = 1).",
        |d: i64| -> RhaiResult<Dynamic> { Ok(rc(energy::quadratic(d.max(0) as usize).script()?)) },
    );
    api.func("double_well", "double_well() -> Energy", "A noisy 1-D landscape with two wide basins (paper Figure 7): basins near [3, 11] and [13.5, 18.5], barrier near 12, ripples of height 0.3. Domain [0, 20].", || rc(energy::double_well()));
    api.func("muller_brown", "muller_brown() -> Energy", "The Müller-Brown potential: three minima (A -146.70, B -108.17, C -80.77) and two saddles.", || rc(energy::muller_brown()));
    api.func("gmm", "gmm(means: array, weights: array, sigma: float) -> Energy", "Gaussian mixture U(x) = -log sum_k w_k exp(-||x - mu_k||^2 / (2 sigma^2)); means is [K][D].", |means: Dynamic, weights: Dynamic, sigma: Dynamic| -> RhaiResult<Dynamic> {
        let m = tensor::to_matrix(&to_tensor(&means)?).script()?;
        let w = to_f64s(&weights)?;
        let s = num(&sigma).ok_or_else(|| err("sigma must be a number"))?;
        Ok(rc(energy::gmm(&m, &w, s).script()?))
    });
    api.func("sk", "sk(n: int, seed: int) -> Energy", "SK spin glass (paper eq. 5.1): U(s) = -(1/(T N)) sum_{i<k} J_ik s_i s_k with J_ik ~ N(0, 1/N) drawn from seed; T = 1.", |n: i64, seed: i64| -> RhaiResult<Dynamic> {
        Ok(rc(energy::sk(n.max(0) as usize, seed as u64, 1.0).script()?))
    });
    api.func(
        "sk",
        "sk(n: int, seed: int, T: float) -> Energy",
        "",
        |n: i64, seed: i64, t: f64| -> RhaiResult<Dynamic> {
            Ok(rc(energy::sk(n.max(0) as usize, seed as u64, t).script()?))
        },
    );
    api.func("sk_load", "sk_load(path: string) -> Energy", "SK spin glass with couplings from a .npy file (square float matrix) or JSON {\"n\": N, \"J\": [[...]]} (full symmetric matrix).", |path: &str| -> RhaiResult<Dynamic> {
        Ok(rc(energy::sk_load(std::path::Path::new(path), 1.0).script()?))
    });
    api.func("ising", "ising(rows: int, cols: int) -> Energy", "Ising model on a rows x cols torus: U = -(1/T) sum_<ij> s_i s_j - H sum_i s_i, with T = 1, H = 0.", |r: i64, c: i64| -> RhaiResult<Dynamic> {
        Ok(rc(energy::ising(r.max(0) as usize, c.max(0) as usize, 1.0, 0.0).script()?))
    });
    api.func(
        "ising",
        "ising(rows: int, cols: int, T: float, H: float) -> Energy",
        "",
        |r: i64, c: i64, t: f64, h: f64| -> RhaiResult<Dynamic> {
            Ok(rc(energy::ising(
                r.max(0) as usize,
                c.max(0) as usize,
                t,
                h,
            )
            .script()?))
        },
    );
    api.func("energy", "energy(f: fn(Tensor) -> Tensor, dim: int) -> Energy", "An energy written in Rhai. f maps a batch x [B, D] to energies [B] using tensor operations; gradients come from autograd.", |f: FnPtr, dim: i64| -> RhaiResult<Dynamic> {
        if dim < 1 {
            return Err(err("energy dimension must be >= 1"));
        }
        let d = dim as usize;
        check_closure_dim(d)?;
        Ok(ev(Rc::new(ScriptEnergy { f, dim: d, space: Space::Continuous { lo: vec![-3.0; d], hi: vec![3.0; d] } })))
    });
    api.func(
        "energy",
        "energy(f: fn(Tensor) -> Tensor, opts: map) -> Energy",
        "",
        |f: FnPtr, map: Map| -> RhaiResult<Dynamic> {
            let mut o = opts(map, "energy");
            let d = o.usize_opt("dim")?.unwrap_or(0);
            if d < 1 {
                return Err(err("energy: option `dim` (>= 1) is required"));
            }
            check_closure_dim(d)?;
            let space = parse_space(&mut o, d)?;
            o.finish()?;
            Ok(ev(Rc::new(ScriptEnergy { f, dim: d, space })))
        },
    );
    api.options("energy", energy_options());
    api.example(
        "energy",
        "let U = energy(|x| ((x*x - 1.0)**2).sum(1), 2);\nprint(U.at([1.0, -1.0]));   // 0.0",
    );
    api.func(
        "magnetize",
        "magnetize(U: Energy, T: float, alpha: float, target) -> Energy",
        "The Attraction-Diffusion density U(x)/T + alpha * ||x - target||_2 (paper eq. 3.1).",
        |u: EnergyValue, t: Dynamic, a: Dynamic, target: Dynamic| -> RhaiResult<Dynamic> {
            let t = num(&t).ok_or_else(|| err("T must be a number"))?;
            let a = num(&a).ok_or_else(|| err("alpha must be a number"))?;
            Ok(ev(Rc::new(
                energy::Magnetized::new(u.0, t, a, Some(target_tensor(&target)?)).script()?,
            )))
        },
    );
    api.func(
        "embed",
        "embed(U: Energy, dim: int) -> Energy",
        "U placed in a random subspace of dim dimensions: with Q a seeded random orthogonal matrix and y = Q^T x, the energy is U(y_1..y_k) + stiffness * (y_{k+1}^2 + .. + y_dim^2), k = U.dim. Minima and saddles of U map to Q[:, :k] x_inner (U.embed_state) with the same energies. A test bed for paths and saddles in more dimensions (e.g. Müller-Brown in 10-D).",
        |u: EnergyValue, dim: i64| embed_script(u, dim, Map::new()),
    );
    api.func(
        "embed",
        "embed(U: Energy, dim: int, opts: map) -> Energy",
        "",
        embed_script,
    );
    api.options(
        "embed",
        vec![
            OptionDoc::seed(
                "seed of the random rotation Q (its own stream: other random draws are untouched)",
            ),
            OptionDoc::number(
                "stiffness",
                50.0,
                "s in s * |y_rest|^2, the quadratic across the embedded plane",
            )
            .bounded(bounds::WEIGHT),
        ],
    );
    api.example(
        "embed",
        "let U = embed(muller_brown(), 10, #{seed: 3});\n\
         let a = U.embed_state([-0.558224, 1.441726]);   // minimum A in 10-D\n\
         print(U.at(a));                                 // -146.6995",
    );
    api.method(
        "Energy",
        "embed_state",
        "U.embed_state(x) -> Tensor",
        "For an energy made by embed: maps inner states [k] or [B, k] into the embedding, Q[:, :k] x (same energy).",
        |u: &mut EnergyValue, x: Dynamic| -> RhaiResult<TensorValue> {
            let e = embedded_of(u, "embed_state")?;
            Ok(TensorValue(e.embed_state(&target_tensor(&x)?).script()?))
        },
    );
    api.method(
        "Energy",
        "inner_state",
        "U.inner_state(x) -> Tensor",
        "For an energy made by embed: the inner coordinates (first k entries of Q^T x) of states [D] or [B, D].",
        |u: &mut EnergyValue, x: Dynamic| -> RhaiResult<TensorValue> {
            let e = embedded_of(u, "inner_state")?;
            Ok(TensorValue(e.inner_state(&target_tensor(&x)?).script()?))
        },
    );
    api.method(
        "Energy",
        "at",
        "U.at(x) -> float | Tensor",
        "Energy at a state [D] (a float) or a batch [B, D] (a Tensor [B]).",
        eval,
    );
    api.method(
        "Energy",
        "grad",
        "U.grad(x) -> Tensor",
        "Gradient at a state or batch (autograd unless the energy provides its own).",
        grad,
    );
    api.getter(
        "Energy",
        "name",
        "The energy's name.",
        |u: &mut EnergyValue| u.0.name(),
    );
    api.getter(
        "Energy",
        "dim",
        "State dimension (0 when not fixed).",
        |u: &mut EnergyValue| u.0.dim().unwrap_or(0) as i64,
    );
    api.getter(
        "Energy",
        "space",
        "\"continuous\", \"spins\" or \"levels\".",
        |u: &mut EnergyValue| match u.0.space() {
            Space::Continuous { .. } => "continuous".to_string(),
            Space::Spins => "spins".to_string(),
            Space::Levels { .. } => "levels".to_string(),
        },
    );
    api.method(
        "Energy",
        "random",
        "U.random(n: int) -> Tensor",
        "n random states [n, D] drawn uniformly over the energy's domain (box, spins or levels).",
        |u: &mut EnergyValue, n: i64| -> RhaiResult<TensorValue> {
            if n < 1 {
                return Err(err(format!("U.random: n must be at least 1, got {n}")));
            }
            let dim = u.0.dim().unwrap_or(1);
            crate::budget::check(&format!("{n} random states"), n as f64 * dim as f64, 8.0)
                .script()?;
            Ok(TensorValue(
                energy::random_states(u.0.as_ref(), n as usize).script()?,
            ))
        },
    );
    api.func("minimize", "minimize(U: Energy, x0) -> Minimum", "Local minimum search from a state [D] or batch [B, D]: FIRE for continuous energies, zero-temperature single-site descent for discrete ones. Chains that stall on a kink (ReLU networks, L1 terms: the gradient jumps, FIRE stops wherever it meets one) go on by gradient sampling until they are stationary in Clarke's sense and a probe finds no way down from them (ridges are stationary too). Returns #{x, energy, converged, iterations, interrupted} (Ctrl-C stops the descent where it is: converged false, interrupted true).", |u: EnergyValue, x0: Dynamic| minimize_script(u, x0, Map::new()));
    api.func(
        "minimize",
        "minimize(U: Energy, x0, opts: map) -> Minimum",
        "",
        minimize_script,
    );
    api.options("minimize", min_option_specs(MinimizeOptions::default().tol));
    api.example("minimize", "let m = minimize(muller_brown(), [0.0, 0.5]);\nprint(m.x);  // near minimum C (-0.050, 0.467)");
    api.func("find_minima", "find_minima(U: Energy, opts: map) -> array", "Minimizes from many random starts over the energy's domain and returns the distinct minima, lowest first, as maps #{x, energy, count}.", find_minima);
    api.bare1::<EnergyValue>("find_minima", "find_minima(U: Energy) -> array");
    let mut find_specs = vec![
        OptionDoc::count("starts", 200, "number of random starts (one batch)")
            .bounded(bounds::BATCH),
        OptionDoc::number("dedup", 1e-3, "minima closer than this are the same")
            .bounded(bounds::TOLERANCE),
    ];
    find_specs.extend(min_option_specs(1e-8));
    find_specs.push(OptionDoc::call_seed());
    api.options("find_minima", find_specs);
}
