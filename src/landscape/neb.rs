//! Minimum energy paths: the nudged elastic band (NEB), the doubly nudged elastic band (DNEB,
//! Trygubenko & Wales 2004), the improved tangent and the climbing image (Henkelman & Jónsson
//! 2000), and a saddle refinement of the highest image.
//!
//! A band is `n` images `x_0 .. x_{n-1}` (a batch `[n, D]`); the endpoints `x_0 = a` and
//! `x_{n-1} = b` stay fixed. Every iteration evaluates the energy and gradient of the whole band
//! with one [`Energy::energy_and_grad`] call, builds the NEB force of each interior image and
//! hands band and force to a [`Stepper`]: FIRE (Bitzek et al. 2006) over the concatenated band,
//! or L-BFGS on the concatenated force with no line search (see [`Lbfgs`] for its safeguards).
//!
//! Forces on an interior image `i` (gradient `g`, energy `V_i`):
//!
//! - tangent `τ` (improved tangent): `τ+ = x_{i+1} - x_i`, `τ- = x_i - x_{i-1}`; `τ+` when
//!   `V_{i+1} > V_i > V_{i-1}`, `τ-` when `V_{i+1} < V_i < V_{i-1}`, otherwise (at an extremum of
//!   the band) the energy-weighted mix `τ+ ΔV_max + τ- ΔV_min` when `V_{i+1} > V_{i-1}` and
//!   `τ+ ΔV_min + τ- ΔV_max` otherwise, `ΔV_max/min` the larger/smaller of `|V_{i±1} - V_i|`;
//!   then normalised.
//! - NEB: `F = -g_⊥ + k (|τ+| - |τ-|) τ`, `g_⊥ = g - (g·τ)τ` (true force perpendicular to the
//!   band, spring force along it, Henkelman & Jónsson's equal-spacing form).
//! - DNEB adds the "doubly nudged" part of the spring gradient. With the spring gradient
//!   `g̃ = k (2 x_i - x_{i-1} - x_{i+1})` (of the band energy `k/2 Σ |x_{j+1} - x_j|²`) and
//!   `g̃_⊥ = g̃ - (g̃·τ)τ`, Trygubenko & Wales keep the part of `g̃_⊥` orthogonal to the true
//!   perpendicular gradient: `g̃* = g̃_⊥ - (g̃_⊥·ĝ_⊥) ĝ_⊥`, `ĝ_⊥ = g_⊥ / |g_⊥|`, and
//!   `F_DNEB = F_NEB - g̃*`. In two dimensions the space perpendicular to `τ` is a line, so
//!   `g̃* = 0` and DNEB equals NEB; in more dimensions `g̃*` straightens kinks in directions the
//!   energy hardly constrains (flat directions of learned energies, noisy starting paths such
//!   as Attraction-Diffusion trajectories), where plain NEB has almost no force.
//! - DNEB switch-off. In three or more dimensions DNEB has no fixed point on a curved path: on
//!   the minimum energy path `g_⊥ = 0`, so `g̃* = g̃_⊥`, the whole perpendicular spring force,
//!   which pulls a curved band off the path; next to it `g̃*` turns with the direction of the
//!   small `g_⊥`, a jump of size `|g̃_⊥|` (Sheppard, Terrell & Henkelman 2008 also report DNEB
//!   failing to converge).
//!   Measured on Müller-Brown embedded in 10-D with 16 images and `tol` 1e-3, FIRE ended 3,000
//!   iterations at largest forces of 0.03-0.7. So the DNEB term is a relaxation aid, switched off
//!   for the rest of the run once it stops helping, as OPTIM switches from DNEB to NEB near
//!   convergence: when the largest force has gone [`NebOptions::dneb_patience`] iterations
//!   (default 50) without a new low ([`NebResult::dneb_off_at`] says when). Plain NEB then
//!   converges from the straightened band. A switch at a small multiple of `tol` (OPTIM's rule)
//!   is not reliably reached: on the A–B and A–C bands the largest perpendicular force got no
//!   lower than 0.007-0.02, because where DNEB stalls is set by `k` and the band's curvature, not
//!   by `tol`. In two dimensions the switch changes nothing.
//! - climbing image (the highest interior image, once climbing is on): `F = -g + 2 (g·τ)τ`, no
//!   springs: the image climbs along the band and descends across it, to the saddle point.
//!
//! Convergence: the largest Euclidean norm of an interior image's force is below `tol`; when
//! climbing is asked for, the band has converged only once the climbing image is on as well.

use crate::energy::{check_dim, Energy};
use crate::minimize::stepper::{row_norms, Fire, Lbfgs, Stepper};
use crate::{error::invalid, interrupt, tensor, Result};
use tch::{Kind, Tensor};

/// Which band force to relax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NebMethod {
    /// Nudged elastic band with the improved tangent.
    Neb,
    /// Doubly nudged elastic band (Trygubenko & Wales 2004).
    Dneb,
}

impl NebMethod {
    /// `"neb"` or `"dneb"`.
    pub fn name(&self) -> &'static str {
        match self {
            NebMethod::Neb => "neb",
            NebMethod::Dneb => "dneb",
        }
    }
}

/// The optimizer that moves the band.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NebOptimizer {
    /// FIRE over the concatenated band (velocity mixing, adaptive time step, per-image step cap).
    Fire,
    /// L-BFGS on the concatenated band force (as Trygubenko & Wales use with DNEB): `memory`
    /// correction pairs, no line search (the NEB force has no objective); weakly curved pairs
    /// skipped, memory dropped when a step is not along the force or the largest force doubles,
    /// per-image step cap (see [`Lbfgs`]).
    Lbfgs {
        /// Number of correction pairs kept.
        memory: usize,
    },
}

/// The starting band.
pub enum NebInit {
    /// Images evenly spaced on the straight segment from `a` to `b`.
    Linear,
    /// A path `[m, D]` (e.g. an Attraction-Diffusion trajectory), resampled to the image count
    /// at equal arc length; `a` and `b` are put at its ends when it does not start/end there,
    /// and a path running from `b` to `a` is reversed.
    Path(Tensor),
}

impl Clone for NebInit {
    fn clone(&self) -> Self {
        match self {
            NebInit::Linear => NebInit::Linear,
            NebInit::Path(t) => NebInit::Path(t.shallow_clone()),
        }
    }
}

/// Options of [`neb`].
#[derive(Clone)]
pub struct NebOptions {
    /// Number of images including both fixed endpoints (at least 3).
    pub images: usize,
    /// Spring constant `k`.
    pub k: f64,
    /// NEB or DNEB.
    pub method: NebMethod,
    /// Switch the climbing image on (after `climb_after`).
    pub climb: bool,
    /// Share of `max_iter` after which climbing starts (climbing also starts as soon as the band
    /// without it meets `tol`).
    pub climb_after: f64,
    /// Convergence: largest norm of an interior image's force.
    pub tol: f64,
    /// Iteration limit (one energy-and-gradient call of the band per iteration).
    pub max_iter: usize,
    /// Starting band.
    pub init: NebInit,
    /// Optimizer.
    pub optimizer: NebOptimizer,
    /// Largest move of one image in one step; `None`: half the mean spacing of the starting band.
    pub max_step: Option<f64>,
    /// DNEB only: the DNEB term is switched off (plain NEB from then on) once the largest force
    /// has gone this many iterations without a new low; 0 keeps it on (see the module docs).
    pub dneb_patience: usize,
}

impl Default for NebOptions {
    fn default() -> Self {
        NebOptions {
            images: 16,
            k: 10.0,
            method: NebMethod::Neb,
            climb: true,
            climb_after: 0.3,
            tol: 1e-3,
            max_iter: 3000,
            init: NebInit::Linear,
            optimizer: NebOptimizer::Fire,
            max_step: None,
            dneb_patience: 50,
        }
    }
}

/// A relaxed band.
pub struct NebResult {
    /// Final images `[n, D]`, endpoints included.
    pub images: Tensor,
    /// Energy of each image.
    pub energies: Vec<f64>,
    /// Index of the highest image.
    pub top: usize,
    /// Highest energy along the band.
    pub max_energy: f64,
    /// `max_energy - energies[0]`: the height of the barrier above the start `a` (the barrier
    /// itself, like every barrier in telescope, is the highest energy, `max_energy`).
    pub height: f64,
    /// `max_energy - energies[n-1]`: the height of the barrier above the end `b`.
    pub height_back: f64,
    /// Whether the largest force fell below `tol` (with the climbing image on, when asked for).
    pub converged: bool,
    /// Whether Ctrl-C stopped the run (the band is the last one reached).
    pub interrupted: bool,
    /// Whether the climbing image was on at the end.
    pub climbing: bool,
    /// Iterations run.
    pub iterations: usize,
    /// Largest interior force norm at the last evaluation.
    pub max_force: f64,
    /// Method used.
    pub method: NebMethod,
    /// DNEB: the iteration at which the DNEB term was switched off (`None`: it stayed on, or the
    /// method is NEB).
    pub dneb_off_at: Option<usize>,
}

/// Options of [`SampledPath::saddle`].
#[derive(Clone, Debug)]
pub struct SaddleOptions {
    /// Converged when the gradient norm is below this.
    pub tol: f64,
    /// Iteration limit of each refinement stage.
    pub max_iter: usize,
    /// Up to this dimension the refinement uses eigenvector following with a finite-difference
    /// Hessian (2D gradient rows in one batch); above it, single-image climbing along the band
    /// tangent.
    pub hessian_max_dim: usize,
}

impl Default for SaddleOptions {
    fn default() -> Self {
        SaddleOptions {
            tol: 1e-6,
            max_iter: 200,
            hessian_max_dim: 100,
        }
    }
}

/// A refined transition state.
pub struct Saddle {
    /// The state `[D]`.
    pub state: Tensor,
    /// Its energy.
    pub energy: f64,
    /// Norm of the gradient there.
    pub grad_norm: f64,
    /// Whether `grad_norm < tol`.
    pub converged: bool,
    /// Refinement iterations.
    pub iterations: usize,
    /// Number of negative Hessian eigenvalues at the state (1 for a first-order saddle), when the
    /// Hessian was computed.
    pub negative_modes: Option<usize>,
}

fn rowdot(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok(a.f_mul(b)?.f_sum_dim_intlist(1, true, a.kind())?)
}

/// Resamples a path `[m, D]` (m >= 1) to `n` points at equal arc length (linear interpolation).
pub fn resample_path(path: &Tensor, n: usize) -> Result<Tensor> {
    if n < 2 {
        return Err(invalid("resample_path needs at least 2 points"));
    }
    let rows = tensor::to_matrix(path)?;
    if rows.is_empty() {
        return Err(invalid("resample_path: the path is empty"));
    }
    let d = rows[0].len();
    let mut cum = vec![0.0];
    for w in rows.windows(2) {
        let s = tensor::distance(&w[0], &w[1]);
        cum.push(cum.last().copied().unwrap_or(0.0) + s);
    }
    let total = *cum.last().unwrap_or(&0.0);
    let mut out = Vec::with_capacity(n * d);
    let mut seg = 0;
    for j in 0..n {
        let s = total * j as f64 / (n - 1) as f64;
        while seg + 2 < rows.len() && cum[seg + 1] < s {
            seg += 1;
        }
        if rows.len() == 1 || total == 0.0 {
            out.extend_from_slice(&rows[0]);
            continue;
        }
        let (s0, s1) = (cum[seg], cum[seg + 1]);
        let t = if s1 > s0 {
            ((s - s0) / (s1 - s0)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        out.extend(
            rows[seg]
                .iter()
                .zip(&rows[seg + 1])
                .map(|(p, q)| p + t * (q - p)),
        );
    }
    Ok(tensor::from_vec(&out, &[n as i64, d as i64])?
        .f_to_kind(path.kind())?
        .f_to_device(path.device())?)
}

fn as_state(x: &Tensor, what: &str) -> Result<Tensor> {
    match x.dim() {
        1 => Ok(x.f_unsqueeze(0)?),
        2 if x.size()[0] == 1 => Ok(x.shallow_clone()),
        _ => Err(invalid(format!(
            "neb: {what} must be one state [D] (or [1, D]), got shape {:?}",
            x.size()
        ))),
    }
}

/// The starting band `[n, D]` from `a`, `b` (`[1, D]`) and the init choice.
fn initial_band(a: &Tensor, b: &Tensor, n: usize, init: &NebInit) -> Result<Tensor> {
    match init {
        NebInit::Linear => {
            let t =
                Tensor::f_linspace(0.0, 1.0, n as i64, (a.kind(), a.device()))?.f_unsqueeze(1)?;
            Ok(a.f_add(&b.f_sub(a)?.f_mul(&t)?)?)
        }
        NebInit::Path(p) => {
            if p.dim() != 2 || p.size()[0] < 1 || p.size()[1] != a.size()[1] {
                return Err(invalid(format!(
                    "neb: init path must be [m, {}], got {:?}",
                    a.size()[1],
                    p.size()
                )));
            }
            let p = p.f_to_kind(a.kind())?.f_to_device(a.device())?;
            let m = p.size()[0];
            let first = p.f_narrow(0, 0, 1)?;
            let last = p.f_narrow(0, m - 1, 1)?;
            let dist = |u: &Tensor, v: &Tensor| -> Result<f64> {
                tensor::scalar_f64(&u.f_sub(v)?.f_norm()?)
            };
            let p = if dist(&first, b)? + dist(&last, a)? < dist(&first, a)? + dist(&last, b)? {
                p.f_flip([0])?
            } else {
                p
            };
            let m = p.size()[0];
            let scale = dist(a, b)?.max(1e-300);
            let mut parts = Vec::new();
            if dist(&p.f_narrow(0, 0, 1)?, a)? > 1e-12 * scale {
                parts.push(a.shallow_clone());
            }
            parts.push(p.shallow_clone());
            if dist(&p.f_narrow(0, m - 1, 1)?, b)? > 1e-12 * scale {
                parts.push(b.shallow_clone());
            }
            let full = Tensor::f_cat(&parts, 0)?;
            let band = resample_path(&full, n)?;
            // Exact endpoints.
            Ok(Tensor::f_cat(
                &[
                    a.shallow_clone(),
                    band.f_narrow(0, 1, n as i64 - 2)?,
                    b.shallow_clone(),
                ],
                0,
            )?)
        }
    }
}

/// Improved tangents `[n-2, D]` (unit) of the interior images.
fn tangents(x: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
    let n = x.size()[0];
    let m = n - 2;
    let tp = x.f_narrow(0, 2, m)?.f_sub(&x.f_narrow(0, 1, m)?)?;
    let tm = x.f_narrow(0, 1, m)?.f_sub(&x.f_narrow(0, 0, m)?)?;
    let vi = v.f_narrow(0, 1, m)?.f_unsqueeze(1)?;
    let vp = v.f_narrow(0, 2, m)?.f_unsqueeze(1)?;
    let vm = v.f_narrow(0, 0, m)?.f_unsqueeze(1)?;
    let up = vp.f_gt_tensor(&vi)?.f_logical_and(&vi.f_gt_tensor(&vm)?)?;
    let down = vp.f_lt_tensor(&vi)?.f_logical_and(&vi.f_lt_tensor(&vm)?)?;
    let dp = vp.f_sub(&vi)?.f_abs()?;
    let dm = vm.f_sub(&vi)?.f_abs()?;
    let dmax = dp.f_maximum(&dm)?;
    let dmin = dp.f_minimum(&dm)?;
    let rising = tp.f_mul(&dmax)?.f_add(&tm.f_mul(&dmin)?)?;
    let falling = tp.f_mul(&dmin)?.f_add(&tm.f_mul(&dmax)?)?;
    let ext = rising.f_where_self(&vp.f_gt_tensor(&vm)?, &falling)?;
    let tau = tp.f_where_self(&up, &tm.f_where_self(&down, &ext)?)?;
    // Degenerate (all energies equal, or coincident images): fall back to the bisector.
    let norm = row_norms(&tau)?;
    let bis = tp.f_add(&tm)?;
    let tau = tau.f_where_self(&norm.f_gt(1e-300)?, &bis)?;
    let tau = tau.f_div(&row_norms(&tau)?.f_clamp_min(1e-300)?)?;
    Ok((tau, tp, tm))
}

/// Index of the highest interior image.
fn top_interior(v: &[f64]) -> usize {
    let mut best = 1;
    for i in 1..v.len() - 1 {
        if v[i] > v[best] {
            best = i;
        }
    }
    best
}

/// NEB/DNEB forces `[n, D]` (zero rows at the endpoints), the climbing index used, if any.
fn band_force(
    x: &Tensor,
    v: &Tensor,
    g: &Tensor,
    k: f64,
    method: NebMethod,
    climb: Option<usize>,
) -> Result<Tensor> {
    let n = x.size()[0];
    let m = n - 2;
    let (tau, tp, tm) = tangents(x, v)?;
    let gi = g.f_narrow(0, 1, m)?;
    let g_par = rowdot(&gi, &tau)?;
    let g_perp = gi.f_sub(&tau.f_mul(&g_par)?)?;
    let spring_par = row_norms(&tp)?.f_sub(&row_norms(&tm)?)?.f_mul_scalar(k)?;
    let mut f = g_perp.f_neg()?.f_add(&tau.f_mul(&spring_par)?)?;
    if method == NebMethod::Dneb {
        let gs = tm.f_sub(&tp)?.f_mul_scalar(k)?;
        let gs_perp = gs.f_sub(&tau.f_mul(&rowdot(&gs, &tau)?)?)?;
        let gn = row_norms(&g_perp)?;
        let ghat = g_perp.f_div(&gn.f_clamp_min(1e-300)?)?;
        let ghat = ghat.f_mul(&gn.f_gt(0.0)?.f_to_kind(ghat.kind())?)?;
        let star = gs_perp.f_sub(&ghat.f_mul(&rowdot(&gs_perp, &ghat)?)?)?;
        f = f.f_sub(&star)?;
    }
    if let Some(c) = climb {
        let j = c as i64 - 1;
        let gc = gi.f_narrow(0, j, 1)?;
        let tc = tau.f_narrow(0, j, 1)?;
        let fc = gc
            .f_neg()?
            .f_add(&tc.f_mul(&rowdot(&gc, &tc)?)?.f_mul_scalar(2.0)?)?;
        let mask = Tensor::f_zeros([m, 1], (f.kind(), f.device()))?;
        let mask = mask.f_index_fill(0, &Tensor::from_slice(&[j]).f_to_device(f.device())?, 1.0)?;
        f = f
            .f_mul(&mask.f_neg()?.f_add_scalar(1.0)?)?
            .f_add(&fc.f_mul(&mask)?)?;
    }
    let zero = Tensor::f_zeros([1, x.size()[1]], (f.kind(), f.device()))?;
    Ok(Tensor::f_cat(&[&zero, &f, &zero], 0)?)
}

/// The most images a band may have (endpoints included).
pub const MAX_IMAGES: usize = 10_000;

/// Relaxes a band between `a` and `b` (each a state `[D]` or `[1, D]`) on the NEB or DNEB force;
/// see the module docs. Stops early on Ctrl-C and returns the band it reached (`interrupted`).
pub fn neb(e: &dyn Energy, a: &Tensor, b: &Tensor, opts: &NebOptions) -> Result<NebResult> {
    let mut bands = neb_many(e, &[(a.shallow_clone(), b.shallow_clone())], opts)?;
    Ok(bands.remove(0))
}

/// Relaxes one band per pair of endpoints `(a, b)` at once, as batched NEB does: every
/// iteration evaluates the energy and gradient of all running bands in one
/// [`Energy::energy_and_grad`] call, while each band keeps its own optimizer, climbing image,
/// DNEB switch and convergence, and leaves the batch when it has converged or used its
/// `max_iter` iterations. Each band ends exactly as [`neb`] alone would end it (for energies
/// whose value at a state does not depend on the rest of the batch). Stops early on Ctrl-C.
pub fn neb_many(
    e: &dyn Energy,
    pairs: &[(Tensor, Tensor)],
    opts: &NebOptions,
) -> Result<Vec<NebResult>> {
    let n = opts.images;
    if !(3..=MAX_IMAGES).contains(&n) {
        return Err(invalid(format!(
            "neb needs between 3 and {MAX_IMAGES} images (endpoints included), got {n}"
        )));
    }
    let dim = pairs
        .iter()
        .map(|(a, b)| a.numel().max(b.numel()))
        .max()
        .unwrap_or(0);
    // The bands, their forces, tangents and the optimizers' state: about ten copies.
    crate::budget::check(
        &format!("{} band(s) of {n} images of dimension {dim}", pairs.len()),
        (pairs.len() * n * dim) as f64,
        80.0,
    )?;
    check_options(e, opts)?;
    let which = |i: usize, err: crate::Error| match pairs.len() {
        1 => err,
        _ => invalid(format!("band {i}: {err}")),
    };
    let mut bands = pairs
        .iter()
        .enumerate()
        .map(|(i, (a, b))| Band::new(e, a, b, opts).map_err(|err| which(i, err)))
        .collect::<Result<Vec<_>>>()?;
    let mut running: Vec<usize> = (0..bands.len()).collect();
    loop {
        running.retain(|&i| !bands[i].finished && bands[i].iterations < opts.max_iter);
        if running.is_empty() {
            break;
        }
        if interrupt::requested() {
            for &i in &running {
                bands[i].interrupted = true;
            }
            break;
        }
        let parts: Vec<&Tensor> = running.iter().map(|&i| &bands[i].x).collect();
        let x = Tensor::f_cat(&parts, 0)?;
        let (v, g) = e.energy_and_grad(&x)?;
        let (v, g) = (v.f_detach()?, g.f_detach()?);
        let vs = tensor::to_vec_f64(&v)?;
        let forces = running
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let rows = (k * n) as i64;
                let (vk, gk) = (
                    v.f_narrow(0, rows, n as i64)?,
                    g.f_narrow(0, rows, n as i64)?,
                );
                bands[i]
                    .force(&vk, &vs[k * n..(k + 1) * n], &gk, opts)
                    .map_err(|err| which(i, err))
            })
            .collect::<Result<Vec<_>>>()?;
        // The largest image force of every band, read in one transfer.
        let maxima = forces
            .iter()
            .map(|f| Ok(row_norms(f)?.f_max()?))
            .collect::<Result<Vec<_>>>()?;
        let maxima = tensor::to_vec_f64(&Tensor::f_stack(&maxima, 0)?)?;
        for ((&i, f), max_force) in running.iter().zip(&forces).zip(maxima) {
            bands[i]
                .advance(f, max_force, opts)
                .map_err(|err| which(i, err))?;
        }
    }
    bands.into_iter().map(|band| band.result(e, opts)).collect()
}

/// Refuses options no band can run with.
fn check_options(e: &dyn Energy, opts: &NebOptions) -> Result<()> {
    if !opts.k.is_finite() || opts.k < 0.0 {
        return Err(invalid(
            "neb: spring constant k must be a finite number >= 0",
        ));
    }
    if opts.tol.is_nan() || opts.tol <= 0.0 {
        return Err(invalid("neb: tol must be positive"));
    }
    if !(0.0..=1.0).contains(&opts.climb_after) {
        return Err(invalid("neb: climb_after must be within [0, 1]"));
    }
    if let Some(s) = opts.max_step {
        if s.is_nan() || s <= 0.0 {
            return Err(invalid("neb: max_step must be positive"));
        }
    }
    if e.space().is_discrete() {
        return Err(invalid(format!(
            "neb needs a continuous energy with gradients; {} is discrete",
            e.name()
        )));
    }
    Ok(())
}

/// One band being relaxed: its images, optimizer and switches.
struct Band {
    x: Tensor,
    stepper: Box<dyn Stepper>,
    climb_start: usize,
    climbing: bool,
    /// The DNEB term stays on until the largest force has gone `dneb_patience` iterations
    /// without a new low (see the module docs).
    dneb: bool,
    dneb_off_at: Option<usize>,
    best_force: f64,
    best_at: usize,
    converged: bool,
    interrupted: bool,
    /// Converged, or waiting for no more iterations.
    finished: bool,
    iterations: usize,
    max_force: f64,
}

impl Band {
    /// The starting band between `a` and `b`, with its optimizer.
    fn new(e: &dyn Energy, a: &Tensor, b: &Tensor, opts: &NebOptions) -> Result<Band> {
        let n = opts.images;
        // The shapes as the caller gave them, for the error.
        let (given_a, given_b) = (a.size(), b.size());
        let a = as_state(a, "a")?;
        let b = as_state(b, "b")?
            .f_to_kind(a.kind())?
            .f_to_device(a.device())?;
        if a.size() != b.size() {
            return Err(invalid(format!(
                "neb: endpoints have different shapes {given_a:?} and {given_b:?}"
            )));
        }
        check_dim(e, &a)?;
        if !a.is_floating_point() {
            return Err(invalid("neb: endpoints must be floating point"));
        }
        if tensor::scalar_f64(&a.f_sub(&b)?.f_norm()?)? == 0.0 {
            return Err(invalid("neb: a and b are the same state"));
        }
        let x = initial_band(&a, &b, n, &opts.init)?.f_detach()?;
        let spacing = tensor::to_vec_f64(&row_norms(
            &x.f_narrow(0, 1, n as i64 - 1)?
                .f_sub(&x.f_narrow(0, 0, n as i64 - 1)?)?,
        )?)?;
        let mean_spacing = spacing.iter().sum::<f64>() / spacing.len() as f64;
        let max_step = opts.max_step.unwrap_or(0.5 * mean_spacing).max(1e-300);
        let stepper: Box<dyn Stepper> = match opts.optimizer {
            NebOptimizer::Fire => Box::new(Fire::new(max_step)),
            NebOptimizer::Lbfgs { memory } => Box::new(Lbfgs::new(memory, max_step)),
        };
        Ok(Band {
            x,
            stepper,
            climb_start: (opts.climb_after * opts.max_iter as f64).ceil() as usize,
            climbing: false,
            dneb: opts.method == NebMethod::Dneb,
            dneb_off_at: None,
            best_force: f64::INFINITY,
            best_at: 0,
            converged: false,
            interrupted: false,
            finished: false,
            iterations: 0,
            max_force: f64::INFINITY,
        })
    }

    /// The band force at the current images, given their energies `v` (`vs` on the host) and
    /// gradients `g`; switches the climbing image on when its time has come.
    fn force(&mut self, v: &Tensor, vs: &[f64], g: &Tensor, opts: &NebOptions) -> Result<Tensor> {
        if vs.iter().any(|u| !u.is_finite()) {
            return Err(invalid(format!(
                "neb: the energy is not finite along the band (iteration {})",
                self.iterations
            )));
        }
        if opts.climb && !self.climbing && self.iterations >= self.climb_start {
            self.climbing = true;
            self.stepper.reset();
        }
        let climb_idx = self.climbing.then(|| top_interior(vs));
        let method = if self.dneb {
            NebMethod::Dneb
        } else {
            NebMethod::Neb
        };
        band_force(&self.x, v, g, opts.k, method, climb_idx)
    }

    /// One iteration from the force `f` (largest image force `max_force`): converged, or the
    /// climbing image switched on (the force is evaluated again), or one optimizer step.
    fn advance(&mut self, f: &Tensor, max_force: f64, opts: &NebOptions) -> Result<()> {
        self.max_force = max_force;
        if !max_force.is_finite() {
            return Err(invalid(format!(
                "neb: the force is not finite (iteration {})",
                self.iterations
            )));
        }
        if max_force < opts.tol {
            if opts.climb && !self.climbing {
                self.climbing = true;
                self.stepper.reset();
                return Ok(());
            }
            self.converged = true;
            self.finished = true;
            return Ok(());
        }
        if max_force < self.best_force {
            self.best_force = max_force;
            self.best_at = self.iterations;
        } else if self.dneb
            && opts.dneb_patience > 0
            && self.iterations - self.best_at >= opts.dneb_patience
        {
            self.dneb = false;
            self.dneb_off_at = Some(self.iterations);
        }
        self.iterations += 1;
        self.x = self.stepper.step(&self.x, f)?;
        Ok(())
    }

    /// The relaxed band as a result.
    fn result(self, e: &dyn Energy, opts: &NebOptions) -> Result<NebResult> {
        let n = opts.images;
        let energies = crate::energy::energies_f64(e, &self.x)?;
        let (top, max_energy) =
            energies
                .iter()
                .enumerate()
                .fold(
                    (0, f64::NEG_INFINITY),
                    |acc, (i, &u)| if u > acc.1 { (i, u) } else { acc },
                );
        Ok(NebResult {
            images: self.x,
            height: max_energy - energies[0],
            height_back: max_energy - energies[n - 1],
            energies,
            top,
            max_energy,
            converged: self.converged,
            interrupted: self.interrupted,
            climbing: self.climbing,
            iterations: self.iterations,
            max_force: self.max_force,
            method: opts.method,
            dneb_off_at: self.dneb_off_at,
        })
    }
}

/// A path sampled at discrete points with their energies: a NEB band, a trained curve. What
/// `path_energy_plot`, the DG and the saddle search read from any of them.
pub trait SampledPath {
    /// The points `[n, D]`, endpoints included.
    fn images(&self) -> &Tensor;
    /// Energy of each point.
    fn energies(&self) -> &[f64];
    /// Index of the highest point.
    fn top(&self) -> usize;
    /// Highest energy along the path: the path's barrier.
    fn max_energy(&self) -> f64 {
        self.energies()[self.top()]
    }
    /// Refines the highest point to a transition state (a stationary point with one negative
    /// Hessian eigenvalue). For `D <= hessian_max_dim`: eigenvector following (uphill along the
    /// lowest Hessian mode, downhill along the others) with a central-difference Hessian of the
    /// analytic gradient and a trust radius, accepting steps that lower the gradient norm; for
    /// larger `D`, or when that fails, single-image climbing along the path's tangent with FIRE.
    /// Works best on a band relaxed with the climbing image.
    fn saddle(&self, e: &dyn Energy, opts: &SaddleOptions) -> Result<Saddle> {
        refine_top(e, self.images(), self.energies(), self.top(), opts)
    }
}

/// Implements [`SampledPath`] for a result struct with the fields `images`, `energies`,
/// `top` and `max_energy`.
macro_rules! sampled_path_fields {
    ($t:ty) => {
        impl $crate::landscape::neb::SampledPath for $t {
            fn images(&self) -> &tch::Tensor {
                &self.images
            }
            fn energies(&self) -> &[f64] {
                &self.energies
            }
            fn top(&self) -> usize {
                self.top
            }
            fn max_energy(&self) -> f64 {
                self.max_energy
            }
        }
    };
}
pub(crate) use sampled_path_fields;

sampled_path_fields!(NebResult);

/// [`SampledPath::saddle`] for any discrete path: refines image `top` of `images` `[n, D]`
/// (with `energies`) to a transition state; the band's tangent guides the climbing fallback.
pub fn refine_top(
    e: &dyn Energy,
    images: &Tensor,
    energies: &[f64],
    top: usize,
    opts: &SaddleOptions,
) -> Result<Saddle> {
    let n = energies.len();
    if top == 0 || top + 1 == n {
        return Err(invalid(
            "saddle: the highest image is an endpoint, so the band crosses no barrier",
        ));
    }
    let x0 = images.f_narrow(0, top as i64, 1)?;
    let prev = images.f_narrow(0, top as i64 - 1, 1)?;
    let next = images.f_narrow(0, top as i64 + 1, 1)?;
    let spacing = tensor::scalar_f64(&x0.f_sub(&prev)?.f_norm()?)?
        .min(tensor::scalar_f64(&next.f_sub(&x0)?.f_norm()?)?);
    let d = x0.size()[1] as usize;
    let mut best: Option<Saddle> = None;
    if d <= opts.hessian_max_dim {
        let s = eigenvector_following(e, &x0, 0.5 * spacing.max(1e-12), opts)?;
        if s.converged {
            return Ok(s);
        }
        best = Some(s);
    }
    let v = tensor::from_vec(energies, &[n as i64])?
        .f_to_kind(images.kind())?
        .f_to_device(images.device())?;
    let (tau, _, _) = tangents(images, &v)?;
    let tau = tau.f_narrow(0, top as i64 - 1, 1)?;
    let s = climb_single(e, &x0, &tau, 0.5 * spacing.max(1e-12), opts)?;
    Ok(match best {
        Some(b) if b.grad_norm <= s.grad_norm => b,
        _ => s,
    })
}

fn grad_norm_of(g: &Tensor) -> Result<f64> {
    tensor::scalar_f64(&g.f_norm()?)
}

/// Eigenvector following from `x0` (`[1, D]`), gradient-norm merit, trust radius.
fn eigenvector_following(
    e: &dyn Energy,
    x0: &Tensor,
    radius0: f64,
    opts: &SaddleOptions,
) -> Result<Saddle> {
    let d = x0.size()[1];
    let kind = x0.kind();
    let h = if kind == Kind::Float { 3e-3 } else { 5e-6 };
    let mut x = x0.shallow_clone();
    let mut radius = radius0;
    // Best point so far: state, energy, gradient, Hessian.
    let mut best: Option<(Tensor, f64, Tensor, Vec<f64>)> = None;
    let mut iterations = 0;
    let mut rejections = 0;
    loop {
        let scale = tensor::scalar_f64(&x.f_abs()?.f_max()?)?.max(1.0) * h;
        let eye = Tensor::f_eye(d, (kind, x.device()))?.f_mul_scalar(scale)?;
        let batch = Tensor::f_cat(&[x.shallow_clone(), x.f_add(&eye)?, x.f_sub(&eye)?], 0)?;
        let (u, g) = e.energy_and_grad(&batch)?;
        let u0 = tensor::scalar_f64(&u.f_narrow(0, 0, 1)?)?;
        let g0 = g.f_narrow(0, 0, 1)?.f_detach()?;
        let gn = grad_norm_of(&g0)?;
        let hcols = g
            .f_narrow(0, 1, d)?
            .f_sub(&g.f_narrow(0, 1 + d, d)?)?
            .f_div_scalar(2.0 * scale)?;
        let hm = tensor::to_vec_f64(&hcols)?;
        let improved = match &best {
            None => true,
            Some((_, _, bg, _)) => gn < grad_norm_of(bg)?,
        };
        if improved && gn.is_finite() {
            best = Some((x.shallow_clone(), u0, g0, hm));
            radius = (radius * 1.5).min(10.0 * radius0);
            rejections = 0;
        } else {
            radius *= 0.25;
            rejections += 1;
        }
        let (bx, bu, bg, bh) = best
            .as_ref()
            .ok_or_else(|| invalid("saddle: no finite gradient at the starting image"))?;
        let bgn = grad_norm_of(bg)?;
        let du = d as usize;
        // Symmetrised Hessian, eigen-decomposed in f64 on the CPU.
        let mut sym = vec![0.0; du * du];
        for i in 0..du {
            for j in 0..du {
                sym[i * du + j] = 0.5 * (bh[i * du + j] + bh[j * du + i]);
            }
        }
        let ht = Tensor::from_slice(&sym).f_reshape([d, d])?;
        let (evals, evecs) = ht.f_linalg_eigh("L")?;
        let lam = tensor::to_vec_f64(&evals)?;
        let negative = Some(lam.iter().filter(|&&l| l < 0.0).count());
        if bgn < opts.tol || iterations >= opts.max_iter || rejections > 30 {
            let converged = bgn < opts.tol;
            return Ok(Saddle {
                state: bx.f_squeeze_dim(0)?,
                energy: *bu,
                grad_norm: bgn,
                converged,
                iterations,
                negative_modes: negative,
            });
        }
        iterations += 1;
        let gv = tensor::to_vec_f64(bg)?;
        let vecs = tensor::to_vec_f64(&evecs)?; // column j is eigenvector j (row-major [d, d])
        let lmax = lam.iter().fold(0.0f64, |m, l| m.max(l.abs())).max(1e-300);
        let mut step = vec![0.0; du];
        for j in 0..du {
            let gj: f64 = (0..du).map(|i| vecs[i * du + j] * gv[i]).sum();
            let l = lam[j].abs().max(1e-8 * lmax);
            let c = if j == 0 { gj / l } else { -gj / l };
            for i in 0..du {
                step[i] += c * vecs[i * du + j];
            }
        }
        let sn = step.iter().map(|s| s * s).sum::<f64>().sqrt();
        if sn > radius {
            step.iter_mut().for_each(|s| *s *= radius / sn);
        }
        let st = tensor::from_vec(&step, &[1, d])?
            .f_to_kind(kind)?
            .f_to_device(bx.device())?;
        x = bx.f_add(&st)?;
    }
}

/// Single-image climbing with a fixed tangent: FIRE on `F = -g + 2 (g·τ)τ`.
fn climb_single(
    e: &dyn Energy,
    x0: &Tensor,
    tau: &Tensor,
    max_step: f64,
    opts: &SaddleOptions,
) -> Result<Saddle> {
    let mut x = x0.shallow_clone();
    let mut fire = Fire::new(max_step);
    let mut best: Option<(Tensor, f64, f64)> = None;
    let mut iterations = 0;
    let iters = opts.max_iter.max(1) * 20;
    loop {
        let (u, g) = e.energy_and_grad(&x)?;
        let gn = grad_norm_of(&g)?;
        let u0 = tensor::scalar_f64(&u)?;
        if gn.is_finite() && best.as_ref().is_none_or(|b| gn < b.2) {
            best = Some((x.shallow_clone(), u0, gn));
        }
        if gn < opts.tol || iterations >= iters || interrupt::requested() {
            break;
        }
        iterations += 1;
        let f = g
            .f_neg()?
            .f_add(&tau.f_mul(&rowdot(&g, tau)?)?.f_mul_scalar(2.0)?)?;
        x = fire.step(&x, &f)?;
    }
    let (bx, bu, bgn) =
        best.ok_or_else(|| invalid("saddle: no finite gradient at the starting image"))?;
    Ok(Saddle {
        state: bx.f_squeeze_dim(0)?,
        energy: bu,
        grad_norm: bgn,
        converged: bgn < opts.tol,
        iterations,
        negative_modes: None,
    })
}
