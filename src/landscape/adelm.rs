//! ADELM (paper Algorithm 3): propose, minimize, group new minima by Attraction-Diffusion
//! against the known group representatives (both directions, all candidates in one batch),
//! keep the lowest member as representative, consolidate representatives by pairwise AD.

use super::ad::{ad_trials, AdOptions};
use super::barrier::line_energies;
use super::map::{Group, LandscapeMap, MapStats, MinimumRecord, Proposal};
use crate::energy::{self, EnergyRef};
use crate::minimize::{self, MinimizeOptions};
use crate::{error::invalid, tensor, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;
use tch::Tensor;

/// Parameters of an ADELM run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdelmOptions {
    /// AD parameters (T, alpha, delta, M, sampler).
    pub ad: AdOptions,
    /// Mapping iterations (one proposal and minimum each).
    pub iters: usize,
    /// Burn-in iterations, after which representatives are consolidated.
    pub burn_in: usize,
    /// Cap on candidate groups tried per new minimum, nearest by 10-point 1-D barrier first.
    pub max_checks: usize,
    /// Seed of the run.
    pub seed: u64,
    /// Consolidate representatives every this many iterations (0: only after burn-in and at the end).
    pub consolidate_every: usize,
    /// Local minimum search.
    pub minimize: MinimizeOptions,
    /// Minima closer than this to a known minimum are the same minimum (no AD needed).
    pub same_tol: f64,
    /// Proposals minimized together in one batch.
    pub batch: usize,
    /// Write the map here every `checkpoint_every` iterations (and at the end).
    pub checkpoint: Option<PathBuf>,
    /// Checkpoint period in iterations.
    pub checkpoint_every: usize,
    /// Print progress to stderr.
    pub progress: bool,
    /// Keep every proposal with the minimum it reached (`LandscapeMap::proposals`).
    #[serde(default)]
    pub keep_proposals: bool,
}

impl Default for AdelmOptions {
    fn default() -> Self {
        AdelmOptions {
            ad: AdOptions::default(),
            iters: 100,
            burn_in: 0,
            max_checks: 12,
            seed: 0,
            consolidate_every: 0,
            minimize: MinimizeOptions::default(),
            same_tol: 1e-3,
            batch: 32,
            checkpoint: None,
            checkpoint_every: 100,
            progress: false,
            keep_proposals: false,
        }
    }
}

/// Where new starting states come from (Algorithm 3 step 1).
pub trait Proposer {
    /// `n` starting states `[n, D]`.
    fn propose(&mut self, n: usize) -> Result<Tensor>;
}

/// Uniform random states over the energy's domain.
pub struct RandomProposer(pub EnergyRef);

impl Proposer for RandomProposer {
    fn propose(&mut self, n: usize) -> Result<Tensor> {
        energy::random_states(self.0.as_ref(), n)
    }
}

/// Standard normal states `N(0, I)`: a generator's latent prior (paper section 5.4).
pub struct NormalProposer(pub usize);

impl Proposer for NormalProposer {
    fn propose(&mut self, n: usize) -> Result<Tensor> {
        Ok(Tensor::f_randn(
            [n as i64, self.0 as i64],
            (tensor::dtype(), tensor::device()),
        )?)
    }
}

/// Runs ADELM from scratch.
pub fn adelm(
    e: &EnergyRef,
    proposer: &mut dyn Proposer,
    opts: &AdelmOptions,
) -> Result<LandscapeMap> {
    let map = LandscapeMap {
        version: crate::version().to_string(),
        seed: opts.seed,
        energy: e.describe(),
        params: opts.clone(),
        iterations: 0,
        groups: vec![],
        minima: vec![],
        proposals: vec![],
        barriers: vec![],
        interrupted: false,
        stats: MapStats::default(),
    };
    resume(e, proposer, map, opts)
}

/// Continues a mapping (e.g. loaded from a checkpoint) up to `opts.iters` iterations.
pub fn resume(
    e: &EnergyRef,
    proposer: &mut dyn Proposer,
    mut map: LandscapeMap,
    opts: &AdelmOptions,
) -> Result<LandscapeMap> {
    validate(e, opts)?;
    map.params = opts.clone();
    map.interrupted = false;
    let started = Instant::now();
    let seconds_before = map.stats.seconds;
    let mut last_report = Instant::now();
    while map.iterations < opts.iters {
        if crate::interrupt::requested() {
            map.interrupted = true;
            break;
        }
        let n0 = map.iterations;
        let count = opts.batch.max(1).min(opts.iters - n0);
        tensor::manual_seed(tensor::next_seed_for(opts.seed, n0 as u64));
        let x0 = proposer.propose(count)?;
        crate::energy::check_dim(e.as_ref(), &x0)?;
        let mins = match minimize::minimize(e.as_ref(), &x0, &opts.minimize) {
            Ok(m) => m,
            Err(crate::Error::Interrupted) => {
                map.interrupted = true;
                break;
            }
            Err(err) => return Err(err),
        };
        let states = tensor::to_matrix(&mins.x)?;
        let energies = tensor::to_vec_f64(&mins.energy)?;
        let starts = if opts.keep_proposals {
            tensor::to_matrix(&x0)?
        } else {
            vec![]
        };
        for (k, (y, u)) in states.into_iter().zip(energies).enumerate() {
            if crate::interrupt::requested() {
                map.interrupted = true;
                break;
            }
            let n = n0 + k;
            tensor::manual_seed(tensor::next_seed_for(opts.seed ^ 0x5eed, n as u64));
            if u.is_finite() {
                let minimum = place_minimum(e, &mut map, y, u, n, opts)?;
                if let Some(start) = starts.get(k) {
                    map.proposals.push(Proposal {
                        state: start.clone(),
                        minimum,
                    });
                }
            }
            map.iterations = n + 1;
            let it = map.iterations;
            if it == opts.burn_in
                || (opts.consolidate_every > 0 && it.is_multiple_of(opts.consolidate_every))
            {
                consolidate(e, &mut map, opts)?;
            }
            if let (Some(path), true) = (
                &opts.checkpoint,
                opts.checkpoint_every > 0 && it.is_multiple_of(opts.checkpoint_every),
            ) {
                map.stats.seconds = seconds_before + started.elapsed().as_secs_f64();
                map.save(path)?;
            }
            if opts.progress && last_report.elapsed().as_secs_f64() > 1.0 {
                last_report = Instant::now();
                eprintln!(
                    "adelm: iteration {it}/{}  groups {}  minima {}  AD trials {}  {:.1} it/s",
                    opts.iters,
                    map.groups.len(),
                    map.minima.len(),
                    map.stats.ad_trials,
                    it as f64 / (seconds_before + started.elapsed().as_secs_f64()).max(1e-9)
                );
            }
        }
        if map.interrupted {
            break;
        }
    }
    if !map.interrupted && map.iterations >= opts.iters && opts.iters > opts.burn_in {
        consolidate(e, &mut map, opts)?;
    }
    map.stats.seconds = seconds_before + started.elapsed().as_secs_f64();
    if let Some(path) = &opts.checkpoint {
        map.save(path)?;
    }
    Ok(map)
}

fn validate(e: &EnergyRef, opts: &AdelmOptions) -> Result<()> {
    if e.dim().is_none() {
        return Err(invalid("adelm needs an energy with a fixed dimension"));
    }
    if !(opts.ad.temperature > 0.0) || !(opts.ad.alpha > 0.0) || opts.ad.delta < 0.0 {
        return Err(invalid("adelm needs T > 0, alpha > 0 and delta >= 0"));
    }
    if opts.max_checks == 0 {
        return Err(invalid("max_checks must be at least 1"));
    }
    Ok(())
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// Sorts one new minimum into the map (Algorithm 3 step 3); returns its index in `minima`.
fn place_minimum(
    e: &EnergyRef,
    map: &mut LandscapeMap,
    y: Vec<f64>,
    u: f64,
    n: usize,
    opts: &AdelmOptions,
) -> Result<usize> {
    // The same minimum found again joins its group without AD.
    if let Some(i) = map
        .minima
        .iter()
        .position(|m| dist(&m.state, &y) <= opts.same_tol)
    {
        let m = &mut map.minima[i];
        m.count += 1;
        map.groups[m.group].members += 1;
        map.stats.repeats += 1;
        return Ok(i);
    }
    if map.groups.is_empty() {
        new_group(map, y, u, n);
        return Ok(map.minima.len() - 1);
    }
    let d = y.len() as i64;
    let yt = tensor::from_vec(&y, &[1, d])?;
    let reps: Vec<f64> = map.groups.iter().flat_map(|g| g.state.clone()).collect();
    let g = map.groups.len();
    let zt = tensor::from_vec(&reps, &[g as i64, d])?;
    // Candidate groups, nearest first by a 10-point 1-D barrier.
    let lines = line_energies(e.as_ref(), &yt.f_expand([g as i64, d], false)?, &zt, 10)?;
    let mut order: Vec<(usize, f64)> = lines
        .iter()
        .enumerate()
        .map(|(j, l)| (j, l.iter().cloned().fold(f64::NEG_INFINITY, f64::max)))
        .collect();
    order.sort_by(|a, b| a.1.total_cmp(&b.1));
    let cand: Vec<usize> = order.iter().take(opts.max_checks).map(|c| c.0).collect();
    // Both directions for every candidate, one batch: rows 2k (Y -> Z_j) and 2k+1 (Z_j -> Y).
    let idx = Tensor::from_slice(&cand.iter().map(|&j| j as i64).collect::<Vec<_>>())
        .f_to_device(zt.device())?;
    let zc = zt.f_index_select(0, &idx)?;
    let yc = yt.f_expand([cand.len() as i64, d], false)?;
    let starts = Tensor::f_stack(&[&yc, &zc], 1)?.f_view([2 * cand.len() as i64, d])?;
    let targets = Tensor::f_stack(&[&zc, &yc], 1)?.f_view([2 * cand.len() as i64, d])?;
    let alphas = vec![opts.ad.alpha; 2 * cand.len()];
    let trials = ad_trials(e, &starts, &targets, &alphas, &opts.ad)?;
    map.stats.ad_trials += trials.len();
    map.stats.ad_successes += trials.iter().filter(|t| t.success).count();
    let mut joined: Vec<(usize, f64)> = Vec::new();
    for (k, &j) in cand.iter().enumerate() {
        let b = [&trials[2 * k], &trials[2 * k + 1]]
            .iter()
            .filter(|t| t.success)
            .map(|t| t.barrier)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() {
            joined.push((j, b));
        }
    }
    if joined.is_empty() {
        new_group(map, y, u, n);
        return Ok(map.minima.len() - 1);
    }
    let &(label, b_label) = joined
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .expect("non-empty");
    // Leakage to several groups gives an upper bound on their mutual barrier (a path through Y).
    for &(j, b) in &joined {
        map.offer_barrier(label, j, b.max(b_label));
    }
    let grp = &mut map.groups[label];
    grp.members += 1;
    if u < grp.energy {
        grp.state = y.clone();
        grp.energy = u;
        map.barriers[label][label] = Some(u);
    }
    map.minima.push(MinimumRecord {
        state: y,
        energy: u,
        group: label,
        count: 1,
        iteration: n,
    });
    Ok(map.minima.len() - 1)
}

fn new_group(map: &mut LandscapeMap, y: Vec<f64>, u: f64, n: usize) {
    let id = map.groups.len();
    map.groups.push(Group {
        id,
        state: y.clone(),
        energy: u,
        members: 1,
    });
    for row in map.barriers.iter_mut() {
        row.push(None);
    }
    let mut row = vec![None; id + 1];
    row[id] = Some(u);
    map.barriers.push(row);
    map.minima.push(MinimumRecord {
        state: y,
        energy: u,
        group: id,
        count: 1,
        iteration: n,
    });
}

/// Pairwise AD between all representatives (both directions, one batch); groups joined by a
/// successful trial merge, keeping the lower-energy representative.
pub fn consolidate(e: &EnergyRef, map: &mut LandscapeMap, opts: &AdelmOptions) -> Result<()> {
    let g = map.groups.len();
    if g < 2 {
        return Ok(());
    }
    let d = map.groups[0].state.len() as i64;
    // Each representative is tested against its `max_checks` nearest others by 1-D barrier,
    // so consolidation costs O(G * max_checks) trials rather than O(G^2).
    let reps: Vec<f64> = map.groups.iter().flat_map(|g| g.state.clone()).collect();
    let zt = tensor::from_vec(&reps, &[g as i64, d])?;
    let mut pairs = Vec::new();
    for i in 0..g {
        let yi = zt
            .f_narrow(0, i as i64, 1)?
            .f_expand([g as i64, d], false)?;
        let lines = line_energies(e.as_ref(), &yi, &zt, 10)?;
        let mut order: Vec<(usize, f64)> = lines
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(j, l)| (j, l.iter().cloned().fold(f64::NEG_INFINITY, f64::max)))
            .collect();
        order.sort_by(|a, b| a.1.total_cmp(&b.1));
        for &(j, _) in order.iter().take(opts.max_checks) {
            let p = (i.min(j), i.max(j));
            if !pairs.contains(&p) {
                pairs.push(p);
            }
        }
    }
    let mut s = Vec::with_capacity(pairs.len() * 2 * d as usize);
    let mut t = Vec::with_capacity(pairs.len() * 2 * d as usize);
    for &(i, j) in &pairs {
        s.extend(&map.groups[i].state);
        t.extend(&map.groups[j].state);
        s.extend(&map.groups[j].state);
        t.extend(&map.groups[i].state);
    }
    let rows = 2 * pairs.len() as i64;
    let trials = ad_trials(
        e,
        &tensor::from_vec(&s, &[rows, d])?,
        &tensor::from_vec(&t, &[rows, d])?,
        &vec![opts.ad.alpha; rows as usize],
        &opts.ad,
    )?;
    map.stats.ad_trials += trials.len();
    let mut parent: Vec<usize> = (0..g).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for (k, &(i, j)) in pairs.iter().enumerate() {
        let best = [&trials[2 * k], &trials[2 * k + 1]]
            .iter()
            .filter(|t| t.success)
            .map(|t| t.barrier)
            .fold(f64::INFINITY, f64::min);
        if best.is_finite() {
            map.offer_barrier(i, j, best);
            let (a, b) = (find(&mut parent, i), find(&mut parent, j));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let roots: Vec<usize> = (0..g).map(|i| find(&mut parent, i)).collect();
    let mut distinct: Vec<usize> = roots.clone();
    distinct.sort();
    distinct.dedup();
    if distinct.len() == g {
        return Ok(());
    }
    map.stats.merges += g - distinct.len();
    let new_id = |old: usize| {
        distinct
            .iter()
            .position(|&r| r == roots[old])
            .expect("root")
    };
    let mut groups: Vec<Group> = Vec::with_capacity(distinct.len());
    for (id, &r) in distinct.iter().enumerate() {
        let members: Vec<usize> = (0..g).filter(|&i| roots[i] == r).collect();
        let best = *members
            .iter()
            .min_by(|&&a, &&b| map.groups[a].energy.total_cmp(&map.groups[b].energy))
            .expect("member");
        groups.push(Group {
            id,
            state: map.groups[best].state.clone(),
            energy: map.groups[best].energy,
            members: members.iter().map(|&i| map.groups[i].members).sum(),
        });
    }
    let l = groups.len();
    let mut barriers = vec![vec![None; l]; l];
    for i in 0..g {
        for j in 0..g {
            let (a, b) = (new_id(i), new_id(j));
            if a == b {
                continue;
            }
            if let Some(v) = map.barriers[i][j] {
                if barriers[a][b].is_none_or(|old: f64| v < old) {
                    barriers[a][b] = Some(v);
                }
            }
        }
    }
    for (a, grp) in groups.iter().enumerate() {
        barriers[a][a] = Some(grp.energy);
    }
    for m in map.minima.iter_mut() {
        m.group = new_id(m.group);
    }
    map.groups = groups;
    map.barriers = barriers;
    Ok(())
}
