//! Barrier estimates between two minima: 1-D interpolation, greedy discrete paths (section 5.1)
//! and the AD refinement of sections 3.4 / 4.3, batched over many pairs.

use super::ad::{ad_trials_cached, AdOptions, AdTrial, DeltaCache};
use crate::energy::{Energy, EnergyRef};
use crate::{error::invalid, tensor, Result};
use rayon::prelude::*;
use tch::Tensor;

/// Energies on the straight line between two states.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LineBarrier {
    /// Highest energy on the line (endpoints included).
    pub barrier: f64,
    /// Position of the highest point, in [0, 1] from `a` to `b`.
    pub at: f64,
    /// Energies at evenly spaced points from `a` to `b`.
    pub energies: Vec<f64>,
}

/// Max U on the straight line between `a` and `b`, from `points` evenly spaced evaluations (in a
/// level space each point is rounded to the levels: only they are states).
pub fn barrier_1d(e: &dyn Energy, a: &Tensor, b: &Tensor, points: usize) -> Result<LineBarrier> {
    let a = tensor::as_batch(a)?;
    let b = tensor::as_batch(b)?;
    let all = line_energies(e, &a, &b, points)?;
    let energies = all.into_iter().next().unwrap_or_default();
    let (k, barrier) = energies
        .iter()
        .enumerate()
        .fold(
            (0, f64::NEG_INFINITY),
            |acc, (k, &u)| if u > acc.1 { (k, u) } else { acc },
        );
    Ok(LineBarrier {
        barrier,
        at: k as f64 / (points.max(2) - 1) as f64,
        energies,
    })
}

/// Energies along the lines between the rows of `a` `[P, D]` and `b` `[P, D]`, one batched call.
pub fn line_energies(
    e: &dyn Energy,
    a: &Tensor,
    b: &Tensor,
    points: usize,
) -> Result<Vec<Vec<f64>>> {
    if points < 2 {
        return Err(invalid("a 1-D barrier needs at least 2 points"));
    }
    crate::budget::check(
        &format!("a line of {points} points"),
        points as f64 * a.numel().max(1) as f64,
        16.0,
    )?;
    if a.size() != b.size() {
        return Err(invalid(format!(
            "endpoints differ in shape: {:?} vs {:?}",
            a.size(),
            b.size()
        )));
    }
    crate::energy::check_dim(e, a)?;
    let (p, d) = (a.size()[0], a.size()[1]);
    if let Some(model) = e.spin_model() {
        let (av, bv) = (tensor::to_vec_f64(a)?, tensor::to_vec_f64(b)?);
        let d = d as usize;
        return Ok(av
            .par_chunks(d.max(1))
            .zip(bv.par_chunks(d.max(1)))
            .map(|(x, y)| model.line_energies(x, y, points))
            .collect());
    }
    let _g = tch::no_grad_guard();
    let ts = Tensor::f_linspace(0.0, 1.0, points as i64, (a.kind(), a.device()))?.f_view([
        1,
        points as i64,
        1,
    ])?;
    let mut pts = a
        .f_unsqueeze(1)?
        .f_add(&b.f_sub(a)?.f_unsqueeze(1)?.f_mul(&ts)?)?;
    // In a level space only the levels are states: each point of the line is rounded to
    // them, so the line's maximum is over states the space holds (a real path's bound).
    if let crate::energy::Space::Levels { k, lo, hi } = e.space() {
        if k >= 2 {
            pts = crate::models::quantize(&pts, k, lo, hi)?;
        }
    }
    let u = tensor::to_vec_f64(&e.energy(&pts.f_view([p * points as i64, d])?)?)?;
    Ok(u.chunks(points).map(|c| c.to_vec()).collect())
}

/// The rows of `candidates` `[G, D]` ordered by the `points`-point 1-D barrier from the state
/// `from` `[D]` (lowest first, ties by index), `skip` left out, at most `limit` of them: the
/// cheap ranking ADELM uses to pick which groups to try AD against.
pub fn nearest_by_line(
    e: &dyn Energy,
    from: &[f64],
    candidates: &Tensor,
    points: usize,
    limit: usize,
    skip: Option<usize>,
) -> Result<Vec<usize>> {
    crate::profile::time(crate::profile::Phase::Rank, || {
        nearest_by_line_untimed(e, from, candidates, points, limit, skip)
    })
}

fn nearest_by_line_untimed(
    e: &dyn Energy,
    from: &[f64],
    candidates: &Tensor,
    points: usize,
    limit: usize,
    skip: Option<usize>,
) -> Result<Vec<usize>> {
    let (g, d) = (candidates.size()[0], from.len() as i64);
    let start = tensor::from_vec(from, &[1, d])?.f_expand([g, d], false)?;
    let lines = line_energies(e, &start, candidates, points)?;
    let mut order: Vec<(usize, f64)> = lines
        .iter()
        .enumerate()
        .filter(|(j, _)| Some(*j) != skip)
        .map(|(j, l)| (j, l.iter().cloned().fold(f64::NEG_INFINITY, f64::max)))
        .collect();
    order.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    Ok(order.into_iter().take(limit).map(|c| c.0).collect())
}

/// A greedy discrete interpolation (section 5.1).
#[derive(Clone, Debug, serde::Serialize)]
pub struct GreedyBarrier {
    /// The lower of the two directions' maxima.
    pub barrier: f64,
    /// Max along the path from `a` to `b`.
    pub forward: f64,
    /// Max along the path from `b` to `a`.
    pub backward: f64,
    /// Energies along the lower path, starting at its start.
    pub energies: Vec<f64>,
}

/// Greedy path between two ±1 states: repeatedly flip, among the differing spins, the one with
/// the smallest energy increase; both directions, the lower maximum kept. O(N) per flip with
/// local fields for spin models; otherwise all candidate flips are scored in one batched call.
pub fn barrier_greedy(e: &dyn Energy, a: &Tensor, b: &Tensor) -> Result<GreedyBarrier> {
    let a = tensor::to_vec_f64(a)?;
    let b = tensor::to_vec_f64(b)?;
    if a.len() != b.len() || a.iter().chain(&b).any(|v| v.abs() != 1.0) {
        return Err(invalid(
            "barrier_greedy needs two ±1 states of the same length",
        ));
    }
    if let Some(d) = e.dim().filter(|&d| d != a.len()) {
        return Err(invalid(format!(
            "barrier_greedy: the energy has {d} spins, the states {}",
            a.len()
        )));
    }
    let fwd = greedy_path(e, &a, &b)?;
    let bwd = greedy_path(e, &b, &a)?;
    let (mf, mb) = (
        fwd.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        bwd.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
    );
    Ok(if mf <= mb {
        GreedyBarrier {
            barrier: mf,
            forward: mf,
            backward: mb,
            energies: fwd,
        }
    } else {
        GreedyBarrier {
            barrier: mb,
            forward: mf,
            backward: mb,
            energies: bwd,
        }
    })
}

fn greedy_path(e: &dyn Energy, from: &[f64], to: &[f64]) -> Result<Vec<f64>> {
    let mut s = from.to_vec();
    let n = s.len();
    if let Some(model) = e.spin_model() {
        return Ok(model.greedy_path(from, to));
    }
    let _g = tch::no_grad_guard();
    let mut path = vec![tensor::scalar_f64(
        &e.energy(&tensor::from_vec(&s, &[1, n as i64])?)?,
    )?];
    loop {
        let diff: Vec<usize> = (0..n).filter(|&i| s[i] != to[i]).collect();
        if diff.is_empty() {
            break;
        }
        let mut cands = Vec::with_capacity(diff.len() * n);
        for &i in &diff {
            let mut c = s.clone();
            c[i] = to[i];
            cands.extend(c);
        }
        let u = tensor::to_vec_f64(
            &e.energy(&tensor::from_vec(&cands, &[diff.len() as i64, n as i64])?)?,
        )?;
        let (k, best) =
            u.iter().enumerate().fold(
                (0, f64::INFINITY),
                |acc, (k, &v)| if v < acc.1 { (k, v) } else { acc },
            );
        s[diff[k]] = to[diff[k]];
        path.push(best);
    }
    Ok(path)
}

/// Options of the AD barrier refinement.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RefineOptions {
    /// AD parameters; `ad.alpha` is the starting (high) alpha.
    pub ad: AdOptions,
    /// Trials per direction and alpha (K).
    pub trials: usize,
    /// Factor applied to alpha after a round with a success (0.97: lower by 3%).
    pub shrink: f64,
    /// Round limit per pair.
    pub max_rounds: usize,
    /// Run both directions (a to b and b to a) in every round.
    pub both_directions: bool,
    /// Receives a progress line about once a second (round, pairs still refining); not stored.
    #[serde(skip)]
    pub progress: crate::progress::Progress,
}

impl Default for RefineOptions {
    fn default() -> Self {
        RefineOptions {
            ad: AdOptions {
                alpha: 5.0,
                ..AdOptions::default()
            },
            trials: 10,
            shrink: 0.97,
            max_rounds: 200,
            both_directions: true,
            progress: crate::progress::Progress::silent(),
        }
    }
}

/// Result of the AD refinement for one pair.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Refined {
    /// Lowest barrier over all successful trials (None: no trial ever succeeded).
    pub barrier: Option<f64>,
    /// Lowest alpha at which a trial succeeded: the metastable threshold estimate.
    pub alpha: Option<f64>,
    /// The trial with the lowest barrier.
    pub best: Option<AdTrial>,
    /// `(alpha, successes, trials)` of every round.
    pub rounds: Vec<(f64, usize, usize)>,
    /// Trials that came within delta of the target but whose descent reached another minimum
    /// (failures, see [`super::ad::SuccessCheck`]).
    pub near_misses: usize,
}

/// The AD barrier refinement (sections 3.4, 4.3) for many pairs at once: from the starting
/// alpha (doubled up to 8 times while nothing succeeds), run K trials per direction, lower
/// alpha by `shrink` while any trial succeeds, and keep the lowest barrier seen. All pairs'
/// trials of a round run as one batch.
pub fn refine_barriers(
    e: &EnergyRef,
    a: &Tensor,
    b: &Tensor,
    opts: &RefineOptions,
) -> Result<Vec<Refined>> {
    let a = tensor::as_batch(a)?;
    let b = tensor::as_batch(b)?;
    if a.size() != b.size() {
        return Err(invalid(
            "refine_barriers needs endpoint batches of the same shape",
        ));
    }
    if opts.trials == 0 || !(opts.shrink > 0.0 && opts.shrink < 1.0) || !(opts.ad.alpha > 0.0) {
        return Err(invalid(
            "refinement needs trials >= 1, 0 < shrink < 1 and a positive starting alpha",
        ));
    }
    let p = a.size()[0] as usize;
    let mut out: Vec<Refined> = (0..p)
        .map(|_| Refined {
            barrier: None,
            alpha: None,
            best: None,
            rounds: vec![],
            near_misses: 0,
        })
        .collect();
    let mut alpha = vec![opts.ad.alpha; p];
    let mut grown = vec![0usize; p];
    let mut active: Vec<usize> = (0..p).collect();
    let dirs = if opts.both_directions { 2 } else { 1 };
    let k = opts.trials;
    let mut round = 0;
    let started = std::time::Instant::now();
    let mut last_report = started;
    let mut deltas = DeltaCache::default();
    while !active.is_empty() && round < opts.max_rounds {
        round += 1;
        if crate::interrupt::requested() {
            break;
        }
        let mut starts_idx = Vec::new();
        let mut from_a = Vec::new();
        let mut alphas = Vec::new();
        for &i in &active {
            for dir in 0..dirs {
                for _ in 0..k {
                    starts_idx.push(i as i64);
                    from_a.push(dir == 0);
                    alphas.push(alpha[i]);
                }
            }
        }
        let idx = Tensor::from_slice(&starts_idx).f_to_device(a.device())?;
        let (ra, rb) = (a.f_index_select(0, &idx)?, b.f_index_select(0, &idx)?);
        let mask = Tensor::from_slice(&from_a.iter().map(|&f| f as i64).collect::<Vec<_>>())
            .f_to_device(a.device())?
            .f_to_kind(tch::Kind::Bool)?
            .f_unsqueeze(1)?;
        let starts = ra.f_where_self(&mask, &rb)?;
        let targets = rb.f_where_self(&mask, &ra)?;
        let trials = ad_trials_cached(e, &starts, &targets, &alphas, &opts.ad, &mut deltas)?;
        let mut next = Vec::new();
        for (slot, &i) in active.iter().enumerate() {
            let mine = &trials[slot * dirs * k..(slot + 1) * dirs * k];
            let successes = mine.iter().filter(|t| t.success).count();
            out[i].rounds.push((alpha[i], successes, mine.len()));
            out[i].near_misses += mine.iter().filter(|t| t.near_miss).count();
            for t in mine.iter().filter(|t| t.success) {
                if out[i].barrier.is_none_or(|b| t.barrier < b) {
                    out[i].barrier = Some(t.barrier);
                    out[i].best = Some(t.clone());
                }
            }
            if successes > 0 {
                out[i].alpha = Some(alpha[i]);
                alpha[i] *= opts.shrink;
                next.push(i);
            } else if out[i].alpha.is_none() && grown[i] < 8 {
                grown[i] += 1;
                alpha[i] *= 2.0;
                next.push(i);
            }
        }
        active = next;
        if opts.progress.is_on() && last_report.elapsed().as_secs_f64() > 1.0 {
            last_report = std::time::Instant::now();
            let found = out.iter().filter(|r| r.barrier.is_some()).count();
            opts.progress.line(&format!(
                "barrier refinement: round {round}/{}  {} of {p} pairs still refining, {found} with a barrier  [{:.1}s]",
                opts.max_rounds,
                active.len(),
                started.elapsed().as_secs_f64()
            ));
        }
    }
    Ok(out)
}

/// Fills a map's barrier matrix by AD refinement between pairs of group representatives
/// (all pairs in one batch per round): every pair when `nearest` is 0, else each group with
/// its `nearest` nearest groups by the 10-point 1-D barrier (the ranking ADELM tries AD by)
/// and every pair that already holds a barrier. A disconnectivity graph is single linkage,
/// so its merges come from low barriers between near groups; the nearest pairs cost
/// O(groups) trials per round instead of O(groups^2). Every stored barrier is already a path
/// bound between the current representatives, so each entry keeps the lower of the old and
/// new bound.
pub fn refine_map_barriers(
    e: &EnergyRef,
    map: &mut super::map::LandscapeMap,
    opts: &RefineOptions,
    nearest: usize,
) -> Result<()> {
    map.check_energy(e.as_ref())?;
    let g = map.groups.len();
    if g < 2 {
        return Ok(());
    }
    let d = map.groups[0].state.len() as i64;
    let pairs = refinement_pairs(e, map, nearest)?;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for &(i, j) in &pairs {
        a.extend(&map.groups[i].state);
        b.extend(&map.groups[j].state);
    }
    let p = pairs.len() as i64;
    let refined = refine_barriers(
        e,
        &tensor::from_vec(&a, &[p, d])?,
        &tensor::from_vec(&b, &[p, d])?,
        opts,
    )?;
    map.stats.refined_pairs += pairs.len();
    for (&(i, j), r) in pairs.iter().zip(refined) {
        map.stats.ad_near_misses += r.near_misses;
        if let Some(v) = r.barrier {
            map.offer_barrier(i, j, v, super::map::BarrierKind::Refined)?;
        }
    }
    Ok(())
}

/// The pairs `(i, j)`, `i < j`, that [`refine_map_barriers`] refines: all of them when
/// `nearest` is 0 or covers every other group, else each group's `nearest` nearest by the
/// 10-point 1-D barrier and the pairs that already hold a barrier, in index order.
fn refinement_pairs(
    e: &EnergyRef,
    map: &super::map::LandscapeMap,
    nearest: usize,
) -> Result<Vec<(usize, usize)>> {
    let g = map.groups.len();
    let every = nearest == 0 || nearest + 1 >= g;
    let known = |i: usize, j: usize| {
        map.barriers
            .get(i)
            .and_then(|r| r.get(j))
            .is_some_and(|b| b.is_some())
    };
    let mut chosen: std::collections::BTreeSet<(usize, usize)> = (0..g)
        .flat_map(|i| (i + 1..g).map(move |j| (i, j)))
        .filter(|&(i, j)| every || known(i, j))
        .collect();
    if !every {
        let d = map.groups[0].state.len() as i64;
        let reps: Vec<f64> = map.groups.iter().flat_map(|r| r.state.clone()).collect();
        let reps = tensor::from_vec(&reps, &[g as i64, d])?;
        for i in 0..g {
            let state = &map.groups[i].state;
            for j in nearest_by_line(e.as_ref(), state, &reps, 10, nearest, Some(i))? {
                chosen.insert((i.min(j), i.max(j)));
            }
        }
    }
    Ok(chosen.into_iter().collect())
}
