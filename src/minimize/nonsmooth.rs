//! Gradient sampling (Burke, Lewis & Overton, SIAM J. Optim. 15, 2005) for the chains that
//! FIRE or gradient descent leave stalled on a kink.
//!
//! ReLU networks and L1 terms have kinks: surfaces where the gradient jumps. A minimum often
//! lies on one (or where several meet), so the gradient never vanishes there, and a chain that
//! straddles a kink sees its force flip at every step: FIRE halves its time step until it stops
//! moving, wherever it is on the kink, and descent shrinks its step the same way. Gradient
//! sampling looks at the gradients in a ball of radius `eps` around the chain instead: the
//! shortest vector `d` in their convex hull is the steepest descent direction of the energy
//! smoothed over the ball, and it slides along a kink rather than across it. When `d` is
//! (nearly) zero the chain is `eps`-stationary and the ball shrinks; a chain that keeps stepping
//! at one radius without becoming stationary zigzags across a kink just outside its ball, and
//! the ball grows back. A chain whose ball has
//! shrunk below `1e-7` of the space's box twice in a row, the second time without lowering its
//! energy beyond round-off, is stationary in Clarke's sense. That is not yet a minimum: on a
//! ridge (a concave kink, like `-|x|` at 0) the gradients on its two sides cancel too. So before
//! a chain counts as converged, a probe looks for a way down from it (see [`descent_probes`]);
//! a chain that finds one moves along it and starts the radii again.

use super::min_norm::min_norm_weights;
use super::{Minima, MinimizeOptions};
use crate::energy::{Energy, Space};
use crate::{tensor, Result};
use rand::{rngs::StdRng, Rng, SeedableRng};
use rand_distr::StandardNormal;
use tch::Tensor;

/// The first sampling radius, as a share of the box's root-mean-square width.
const FIRST_RADIUS: f64 = 1e-2;
/// The radius at which an `eps`-stationary chain counts as converged, same units.
const LAST_RADIUS: f64 = 1e-7;
/// The radius shrinks by this factor each time the chain is stationary at it.
const RADIUS_SHRINK: f64 = 0.1;
/// Gradients sampled around a chain: `2 D` (the theory asks for at least `D + 1`; twice as many
/// make a ball that misses one side of a kink rare), but at most this many.
const MAX_SAMPLES: usize = 64;
/// Armijo's sufficient-decrease factor.
const ARMIJO: f64 = 1e-4;
/// Halvings of the step before the line search gives up.
const MAX_HALVINGS: usize = 40;
/// Relative energy change that counts as round-off when a chain confirms its minimum (float32
/// energies resolve about 1e-7 of their size).
const ROUND_OFF: f64 = 1e-6;
/// Steps in a row that go nowhere (see [`Chain::missed`]) before the radius shrinks.
const MISSES: usize = 4;
/// Steps at one radius after which it grows back by one rung (see [`Chain::stayed`]).
const STEPS_AT_ONE_RADIUS: usize = 50;
/// How far from a chain (share of the box's width) the descent probe reads the gradient: far
/// enough to be on one side of every kink through the chain, near enough to see only those.
const PROBE_RADIUS: f64 = 1e-6;
/// A probe direction along which the energy falls more steeply than this share of the largest
/// probed gradient (and than `tol`) leads down from the chain; shallower slopes are round-off.
const PROBE_SLOPE: f64 = 1e-4;
/// Turns of the probe directions towards steeper descent (see [`descent_probes`]).
const PROBE_ITERS: usize = 15;
/// The first turn's size (radians, about) and its shrink per turn.
const PROBE_TURN: f64 = 0.5;
const PROBE_TURN_DECAY: f64 = 0.85;

/// Per chain: where it is and what is known there.
struct Chain {
    /// Row in the batch.
    row: usize,
    radius: f64,
    /// The step length (along `-d`) that the next line search tries first.
    step: f64,
    /// Balls drawn so far (part of the sampling seed, so a chain that did not move draws anew).
    draws: u64,
    /// Consecutive steps that went nowhere at this radius (no step, or a move much shorter
    /// than the ball).
    misses: usize,
    /// Steps taken at this radius.
    steps_here: usize,
    /// The energy when the chain last started from the first radius.
    ladder_start: f64,
    /// The radius has gone from the first to below the last once already: this descent of the
    /// radius confirms (or refutes) that the chain is at a minimum.
    confirming: bool,
}

impl Chain {
    /// Counts a step that went nowhere; after [`MISSES`] in a row the radius shrinks. A single
    /// one proves little: the ball's few samples may all have fallen on one side of a kink.
    fn missed(&mut self) {
        self.misses += 1;
        if self.misses >= MISSES {
            self.shrink();
        }
    }

    /// A fresh random stream for this chain at `row` (its coordinates), seeded by them and by
    /// the count of draws, so a chain's path depends neither on the other chains of its batch
    /// nor on the session's random stream, and a chain that did not move draws anew.
    fn next_rng(&mut self, row: &[f64]) -> StdRng {
        self.draws += 1;
        let seed = row
            .iter()
            .fold(self.draws, |s, v| tensor::next_seed_for(s, v.to_bits()));
        StdRng::seed_from_u64(seed)
    }

    /// Starts the radii again from the first at energy `energy`; `confirming` says whether
    /// this descent of the radius confirms a minimum found by the last one.
    fn restart_ladder(&mut self, energy: f64, confirming: bool) {
        self.confirming = confirming;
        self.ladder_start = energy;
        self.radius = FIRST_RADIUS;
        self.misses = 0;
        self.steps_here = 0;
    }

    fn shrink(&mut self) {
        self.radius *= RADIUS_SHRINK;
        self.misses = 0;
        self.steps_here = 0;
    }

    /// Counts a step taken at this radius. A chain that keeps stepping at one radius for
    /// [`STEPS_AT_ONE_RADIUS`] steps without becoming stationary there zigzags across a kink just
    /// outside its ball, which is too small to see it: the radius grows back by one rung.
    fn stayed(&mut self) {
        self.steps_here += 1;
        if self.steps_here >= STEPS_AT_ONE_RADIUS {
            self.radius = (self.radius / RADIUS_SHRINK).min(FIRST_RADIUS);
            self.steps_here = 0;
        }
    }
}

/// Continues the chains of `found` that are neither converged nor lost (non-finite energy) by
/// gradient sampling, within the iterations `found` left of `opts.max_iter` (one iteration
/// evaluates the gradient at up to 65 points per chain, plus the line search). Chains that reach
/// a Clarke-stationary point (zero in the hull of the gradients within `1e-7` of the box's width,
/// to `opts.tol`) from which [`descent_probes`] finds no way down are marked converged.
pub fn continue_stalled(e: &dyn Energy, found: Minima, opts: &MinimizeOptions) -> Result<Minima> {
    let energies = tensor::to_vec_f64(&found.energy)?;
    let mut chains: Vec<Chain> = (0..found.converged.len())
        .filter(|&i| !found.converged[i] && energies[i].is_finite())
        .map(|row| Chain {
            row,
            radius: FIRST_RADIUS,
            step: opts.step,
            draws: 0,
            misses: 0,
            steps_here: 0,
            ladder_start: energies[row],
            confirming: false,
        })
        .collect();
    let budget = opts.max_iter.saturating_sub(found.iterations);
    if found.interrupted || chains.is_empty() || budget == 0 {
        return Ok(found);
    }
    let width = box_width(&e.space());
    let d = found.x.size()[1];
    let samples = (2 * d as usize).min(MAX_SAMPLES);
    let mut x = found.x.shallow_clone();
    let mut u = found.energy.shallow_clone();
    let mut converged = found.converged.clone();
    let mut interrupted = false;
    let mut iterations = found.iterations;
    let mut last_report = std::time::Instant::now();
    for it in 0..budget {
        if chains.is_empty() {
            break;
        }
        if crate::interrupt::requested() {
            interrupted = true;
            break;
        }
        if opts.progress.is_on() && last_report.elapsed().as_secs_f64() > 1.0 {
            last_report = std::time::Instant::now();
            opts.progress.line(&format!(
                "minimize: gradient sampling on {} chains stalled on kinks, step {it}/{budget}",
                chains.len()
            ));
        }
        iterations += 1;
        let rows = index_tensor(chains.iter().map(|c| c.row), x.device())?;
        let xa = x.f_index_select(0, &rows)?;
        let direction = shortest_hull_vectors(e, &xa, &mut chains, samples, width)?;
        // Per chain, the largest component of d and |d|^2, in one read.
        let sizes = tensor::to_vec_f64(&Tensor::f_stack(
            &[
                direction.f_abs()?.f_amax(&[1i64][..], false)?,
                direction
                    .f_square()?
                    .f_sum_dim_intlist(1, false, direction.kind())?,
            ],
            1,
        )?)?;
        let lengths: Vec<f64> = sizes.iter().step_by(2).copied().collect();
        let norms2: Vec<f64> = sizes.iter().skip(1).step_by(2).copied().collect();
        // A chain whose own gradient is not finite is lost (it stays unconverged).
        if lengths.iter().any(|l| !l.is_finite()) {
            chains = chains
                .into_iter()
                .zip(&lengths)
                .filter(|(_, l)| l.is_finite())
                .map(|(c, _)| c)
                .collect();
            continue;
        }
        // Stationary at this radius: shrink it.
        let mut moving = Vec::new();
        for (c, chain) in chains.iter_mut().enumerate() {
            if lengths[c] <= opts.tol {
                chain.shrink();
            } else {
                moving.push(c);
            }
        }
        let ua = u.f_index_select(0, &rows)?;
        let at = Standing {
            x: &xa,
            u: &ua,
            direction: &direction,
            norms2: &norms2,
            width,
        };
        let steps = line_search(e, &at, &mut chains, &moving)?;
        let (mut moved_rows, mut moved_x, mut moved_u) = (Vec::new(), Vec::new(), Vec::new());
        for (c, accepted) in steps {
            match accepted {
                Some(a) => {
                    // A move much shorter than the ball says the ball no longer resolves where
                    // the chain is going: it is stationary at this radius.
                    let moved = a.step * norms2[c].sqrt();
                    let ball = chains[c].radius * width;
                    if moved < RADIUS_SHRINK * ball {
                        chains[c].missed();
                    } else {
                        chains[c].misses = 0;
                    }
                    chains[c].stayed();
                    moved_rows.push(chains[c].row);
                    moved_x.push(a.x);
                    moved_u.push(a.u);
                }
                None => chains[c].missed(),
            }
        }
        (x, u) = write_rows(x, u, moved_rows, &moved_x, &moved_u)?;
        // A chain whose radius fell below the last one has been stationary at every scale.
        // That is a minimum when it was already so before this descent of the radius and the
        // descent lowered the energy by no more than round-off; otherwise it starts again from
        // the first radius (a kinked landscape can open a way down at a large scale that a
        // ball shrunk early did not see).
        if chains.iter().all(|c| c.radius >= LAST_RADIUS) {
            continue;
        }
        let energies = tensor::to_vec_f64(&u)?;
        let mut settled = Vec::new();
        for (c, chain) in chains.iter_mut().enumerate() {
            if chain.radius >= LAST_RADIUS {
                continue;
            }
            let now = energies[chain.row];
            let lowered = chain.ladder_start - now;
            if chain.confirming && lowered <= ROUND_OFF * now.abs().max(1.0) {
                settled.push(c);
                continue;
            }
            chain.restart_ladder(now, true);
        }
        if settled.is_empty() {
            continue;
        }
        // Stationary at every scale, twice: a minimum unless a probe finds a way down.
        let rows = index_tensor(settled.iter().map(|&c| chains[c].row), x.device())?;
        let (xs, us) = (x.f_index_select(0, &rows)?, u.f_index_select(0, &rows)?);
        let ways = descent_probes(e, &xs, &us, &mut chains, &settled, samples, width, opts.tol)?;
        let (mut moved_rows, mut moved_x, mut moved_u) = (Vec::new(), Vec::new(), Vec::new());
        let mut done = vec![false; chains.len()];
        for (&c, way) in settled.iter().zip(ways) {
            let chain = &mut chains[c];
            match way {
                Some(a) => {
                    chain.restart_ladder(tensor::to_vec_f64(&a.u)?[0], false);
                    moved_rows.push(chain.row);
                    moved_x.push(a.x);
                    moved_u.push(a.u);
                }
                None => {
                    converged[chain.row] = true;
                    done[c] = true;
                }
            }
        }
        (x, u) = write_rows(x, u, moved_rows, &moved_x, &moved_u)?;
        let mut c = 0;
        chains.retain(|_| {
            c += 1;
            !done[c - 1]
        });
    }
    Ok(Minima {
        x,
        energy: u,
        iterations,
        converged,
        interrupted,
    })
}

/// Root-mean-square width of a continuous space's box (1 for unbounded or other spaces).
fn box_width(space: &Space) -> f64 {
    match space {
        Space::Continuous { lo, hi } if !lo.is_empty() => {
            let ms = lo.iter().zip(hi).map(|(a, b)| (b - a).powi(2)).sum::<f64>() / lo.len() as f64;
            let w = ms.sqrt();
            if w.is_finite() && w > 0.0 {
                w
            } else {
                1.0
            }
        }
        _ => 1.0,
    }
}

/// `x` and `u` with the chains of `rows` moved to `states` (each `[D]`) and `energies` (each
/// 0-d); unchanged when `rows` is empty.
fn write_rows(
    x: Tensor,
    u: Tensor,
    rows: Vec<usize>,
    states: &[Tensor],
    energies: &[Tensor],
) -> Result<(Tensor, Tensor)> {
    if rows.is_empty() {
        return Ok((x, u));
    }
    let at = index_tensor(rows, x.device())?;
    let x = x.f_index_copy(0, &at, &Tensor::f_stack(states, 0)?)?;
    let u = u.f_index_copy(0, &at, &Tensor::f_stack(energies, 0)?.f_to_kind(u.kind())?)?;
    Ok((x, u))
}

/// A random direction of unit length in `d` dimensions, uniform on the sphere.
fn unit_direction(rng: &mut StdRng, d: usize) -> Vec<f64> {
    let dir: Vec<f64> = (0..d).map(|_| rng.sample(StandardNormal)).collect();
    let norm = dir.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-300);
    dir.into_iter().map(|v| v / norm).collect()
}

/// Row indices as an index tensor on `device`.
fn index_tensor(rows: impl IntoIterator<Item = usize>, device: tch::Device) -> Result<Tensor> {
    let rows: Vec<i64> = rows.into_iter().map(|r| r as i64).collect();
    Ok(Tensor::from_slice(&rows).f_to_device(device)?)
}

/// Per chain, the shortest vector in the convex hull of the gradient at the chain and at
/// `samples` points drawn uniformly from the ball of its radius (times `width`) around it.
/// The points are drawn from a seed made of the chain's own coordinates and its count of draws,
/// so a chain's path does not depend on the other chains of the batch nor on the session's
/// random stream.
fn shortest_hull_vectors(
    e: &dyn Energy,
    xa: &Tensor,
    chains: &mut [Chain],
    samples: usize,
    width: f64,
) -> Result<Tensor> {
    let (a, d) = (xa.size()[0], xa.size()[1]);
    let rows = tensor::to_matrix(xa)?;
    let mut offsets = Vec::with_capacity(chains.len() * samples * d as usize);
    for (chain, row) in chains.iter_mut().zip(&rows) {
        let mut rng = chain.next_rng(row);
        for _ in 0..samples {
            let dir = unit_direction(&mut rng, d as usize);
            let r = chain.radius * width * rng.random::<f64>().powf(1.0 / d as f64);
            offsets.extend(dir.iter().map(|v| v * r));
        }
    }
    let k = samples as i64 + 1;
    let offsets = Tensor::from_slice(&offsets)
        .f_reshape([a, samples as i64, d])?
        .f_to_kind(xa.kind())?
        .f_to_device(xa.device())?;
    let centred = xa.f_unsqueeze(1)?;
    let points = Tensor::f_cat(&[centred.shallow_clone(), centred.f_add(&offsets)?], 1)?; // [A, k, D]: the chain first.
    let (_, g) = e.energy_and_grad(&points.f_reshape([a * k, d])?)?;
    let g = g.f_reshape([a, k, d])?.f_to_kind(tch::Kind::Double)?;
    // A sample whose gradient is not finite (outside the energy's domain) stands in for the
    // chain's own gradient, which leaves the hull as the finite samples make it.
    let finite = g.f_isfinite()?.f_all_dims(Some(&[2i64][..]), true)?;
    let g = g.f_where_self(&finite, &g.f_narrow(1, 0, 1)?)?;
    let gram = tensor::to_vec_f64(&g.f_bmm(&g.f_transpose(1, 2)?)?)?;
    let kk = (k * k) as usize;
    let weights: Vec<f64> = gram
        .chunks(kk)
        .flat_map(|m| min_norm_weights(m, k as usize))
        .collect();
    let w = Tensor::from_slice(&weights)
        .f_reshape([a, 1, k])?
        .f_to_device(xa.device())?;
    Ok(w.f_bmm(&g)?.f_squeeze_dim(1)?.f_to_kind(xa.kind())?)
}

/// Looks for a way down from each chain of `settled` (indices into `chains`, states `xs`,
/// energies `us`), which gradient sampling found stationary. For `samples / 2` (at least 2)
/// random unit directions `v` and their opposites, the gradient at `x + h v` (`h` =
/// [`PROBE_RADIUS`] times `width`, on one side of every kink through `x`) gives the slope
/// `g . v` of the energy leaving `x` along `v`. At a minimum no slope is negative; on a ridge
/// the slopes into its sides are. Each direction then turns down its slope for
/// [`PROBE_ITERS`] rounds, since a way down between valley kinks is a narrow cone that random
/// directions rarely hit. Where the steepest slope seen falls below
/// `-max(tol, PROBE_SLOPE |g|)`, a backtracking search along it (from the first sampling radius
/// down to `h`) returns the first point that lowers the energy by an Armijo share of that slope
/// and beyond round-off; `None` where there is no way down or none was found.
#[allow(clippy::too_many_arguments)]
fn descent_probes(
    e: &dyn Energy,
    xs: &Tensor,
    us: &Tensor,
    chains: &mut [Chain],
    settled: &[usize],
    samples: usize,
    width: f64,
    tol: f64,
) -> Result<Vec<Option<Accepted>>> {
    let (a, d) = (xs.size()[0], xs.size()[1]);
    let rows = tensor::to_matrix(xs)?;
    // Half as many directions as the ball's samples, each with its opposite.
    let pairs = (samples / 2).max(2);
    let mut dirs = Vec::with_capacity(a as usize * 2 * pairs * d as usize);
    for (&c, row) in settled.iter().zip(&rows) {
        let chain = &mut chains[c];
        let mut rng = chain.next_rng(row);
        let half: Vec<f64> = (0..pairs)
            .flat_map(|_| unit_direction(&mut rng, d as usize))
            .collect();
        dirs.extend(half.iter().copied());
        dirs.extend(half.iter().map(|v| -v));
    }
    let k = 2 * pairs as i64;
    let dbl = tch::Kind::Double;
    let mut v = Tensor::from_slice(&dirs)
        .f_reshape([a, k, d])?
        .f_to_device(xs.device())?;
    let centres = xs.f_unsqueeze(1)?.f_to_kind(dbl)?;
    // Per chain, the steepest slope seen, its direction, and the largest gradient seen.
    let mut steepest = vec![f64::INFINITY; a as usize];
    let mut best: Vec<Option<Tensor>> = (0..a).map(|_| None).collect();
    let mut largest = vec![0.0f64; a as usize];
    let mut turn = PROBE_TURN;
    for _ in 0..PROBE_ITERS {
        let points = centres.f_add(&v.f_mul_scalar(PROBE_RADIUS * width)?)?;
        let points = points.f_reshape([a * k, d])?.f_to_kind(xs.kind())?;
        let (_, g) = e.energy_and_grad(&points)?;
        let g = g.f_reshape([a, k, d])?.f_to_kind(dbl)?;
        // Non-finite gradients (probes outside the energy's domain) show no way.
        let finite = g.f_isfinite()?.f_all_dims(Some(&[2i64][..]), true)?;
        let g = g.f_where_scalarother(&finite, 0.0)?;
        let slopes = g.f_mul(&v)?.f_sum_dim_intlist(2, true, dbl)?; // [A, k, 1]
        let sizes = g.f_square()?.f_sum_dim_intlist(2, true, dbl)?.f_sqrt()?;
        // Slopes and gradient sizes in one read: [A, 2k].
        let both = tensor::to_matrix(&Tensor::f_cat(&[&slopes, &sizes], 1)?.f_squeeze_dim(2)?)?;
        for (i, row) in both.iter().enumerate() {
            let (sl, sz) = row.split_at(k as usize);
            largest[i] = sz.iter().copied().fold(largest[i], f64::max);
            let (j, s) = sl
                .iter()
                .copied()
                .enumerate()
                .fold(
                    (0, f64::INFINITY),
                    |b, (j, s)| if s < b.1 { (j, s) } else { b },
                );
            if s < steepest[i] {
                steepest[i] = s;
                best[i] = Some(v.get(i as i64).get(j as i64));
            }
        }
        // Turn each direction down its slope's gradient on the sphere: the slope along v is
        // g(x + h v) . v, and g is its gradient in v (the piece's), so v - g (less its part
        // along v) leans towards the directions that leave x downhill.
        let tangent = g.f_sub(&v.f_mul(&slopes)?)?;
        let step = tangent
            .f_div(&sizes.f_clamp_min(1e-300)?)?
            .f_mul_scalar(turn)?;
        let moved = v.f_sub(&step)?;
        v = moved.f_div(
            &moved
                .f_norm_scalaropt_dim(2, [2i64], true)?
                .f_clamp_min(1e-300)?,
        )?;
        turn *= PROBE_TURN_DECAY;
    }
    let u0 = tensor::to_vec_f64(us)?;
    let mut out = Vec::with_capacity(settled.len());
    for i in 0..a as usize {
        let threshold = tol.max(PROBE_SLOPE * largest[i]);
        let dir = match &best[i] {
            Some(dir) if steepest[i] < -threshold => dir.f_to_kind(xs.kind())?,
            _ => {
                out.push(None);
                continue;
            }
        };
        let steepest = steepest[i];
        let x = xs.get(i as i64);
        // Steps shorter than the probe's distance would leave the slope unmeasured, and a
        // fall within round-off is no way down.
        let mut step = FIRST_RADIUS * width;
        let mut found = None;
        while step >= PROBE_RADIUS * width {
            let trial = x.f_add(&dir.f_mul_scalar(step)?)?;
            let ut = e.energy(&trial.f_unsqueeze(0)?)?;
            let un = tensor::to_vec_f64(&ut)?[0];
            let needed = (-ARMIJO * step * steepest).max(ROUND_OFF * u0[i].abs().max(1.0));
            if un.is_finite() && u0[i] - un >= needed {
                found = Some(Accepted {
                    x: trial,
                    u: ut.get(0),
                    step,
                });
                break;
            }
            step *= 0.5;
        }
        out.push(found);
    }
    Ok(out)
}

/// Where the chains of one step stand: states, energies, directions `d` (the shortest hull
/// vectors), `|d|^2` per chain, and the box width that scales the radii.
struct Standing<'a> {
    x: &'a Tensor,
    u: &'a Tensor,
    direction: &'a Tensor,
    norms2: &'a [f64],
    width: f64,
}

/// What a line search accepted: the new state `[D]`, its energy and the step length.
struct Accepted {
    x: Tensor,
    u: Tensor,
    step: f64,
}

/// Armijo backtracking along `-direction` for the `moving` chains (indices into `chains`),
/// all trial points of one halving in one batch. Returns, per moving chain, the accepted state
/// and energy, or `None` when no step decreased the energy enough. A chain's first trial is
/// twice its last accepted step, and at least a move across its ball (radius times `width`); after
/// a failed search the next one starts from the same first trial.
fn line_search(
    e: &dyn Energy,
    at: &Standing,
    chains: &mut [Chain],
    moving: &[usize],
) -> Result<Vec<(usize, Option<Accepted>)>> {
    let (xa, direction, norms2) = (at.x, at.direction, at.norms2);
    let u0 = tensor::to_vec_f64(at.u)?;
    let mut pending: Vec<usize> = moving.to_vec();
    let mut out = Vec::new();
    // Try at least a move across the ball: a shorter one tells nothing the ball did not.
    let mut first = vec![0.0; chains.len()];
    for &c in moving {
        first[c] = (2.0 * chains[c].step).max(chains[c].radius * at.width / norms2[c].sqrt());
        chains[c].step = first[c];
    }
    for _ in 0..MAX_HALVINGS {
        if pending.is_empty() {
            break;
        }
        let idx = index_tensor(pending.iter().copied(), xa.device())?;
        let steps: Vec<f64> = pending.iter().map(|&c| chains[c].step).collect();
        let s = Tensor::from_slice(&steps)
            .f_reshape([pending.len() as i64, 1])?
            .f_to_kind(xa.kind())?
            .f_to_device(xa.device())?;
        let trial = xa
            .f_index_select(0, &idx)?
            .f_sub(&direction.f_index_select(0, &idx)?.f_mul(&s)?)?;
        let ut = e.energy(&trial)?;
        let un = tensor::to_vec_f64(&ut)?;
        let mut still = Vec::new();
        for (p, &c) in pending.iter().enumerate() {
            let step = chains[c].step;
            if un[p].is_finite() && un[p] <= u0[c] - ARMIJO * step * norms2[c] {
                let (x, u) = (trial.get(p as i64), ut.get(p as i64));
                out.push((c, Some(Accepted { x, u, step })));
            } else {
                chains[c].step = 0.5 * step;
                still.push(c);
            }
        }
        pending = still;
    }
    // A failed search leaves the next one to start from its own first trial (its radius
    // shrinks instead).
    for &c in &pending {
        chains[c].step = 0.5 * first[c];
    }
    out.extend(pending.into_iter().map(|c| (c, None)));
    Ok(out)
}
