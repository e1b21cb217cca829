//! ADELM (paper Algorithm 3): propose, minimize, group new minima by Attraction-Diffusion
//! against the known group representatives (both directions; a proposal batch at a time, see
//! [`super::placement`]), keep the lowest member as representative, consolidate
//! representatives by pairwise AD.

use super::ad::{ad_trials_cached, AdOptions, DeltaCache};
use super::barrier::nearest_by_line;
use super::map::{BarrierKind, LandscapeMap, MergeRecord, Proposal};
use super::placement::{place_segment, NewMinimum};
pub use super::proposer::{NormalProposer, Proposer, RandomProposer};
use crate::energy::EnergyRef;
use crate::minimize::{self, MinimizeOptions};
use crate::{error::invalid, tensor, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;

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
    /// Consolidate at all (false: Algorithm 3 as printed, groups only ever made by placement,
    /// as in the paper's SK run of section 5.1).
    #[serde(default = "yes")]
    pub consolidate: bool,
    /// Local minimum search.
    pub minimize: MinimizeOptions,
    /// Minima closer than this to a known minimum are the same minimum (no AD needed).
    pub same_tol: f64,
    /// Proposals minimized together in one batch.
    pub batch: usize,
    /// How new minima are sorted into groups: a proposal batch at a time (two AD batches, see
    /// [`super::placement`]) or one at a time (Algorithm 3 as printed).
    #[serde(default)]
    pub placement: Placement,
    /// Write the map here every `checkpoint_every` iterations (and at the end).
    pub checkpoint: Option<PathBuf>,
    /// Checkpoint period in iterations.
    pub checkpoint_every: usize,
    /// Receives progress lines (about one a second) and the warning for a map without a
    /// successful AD trial; not stored with the map.
    #[serde(skip)]
    pub progress: crate::progress::Progress,
    /// Keep every proposal with the minimum it reached (`LandscapeMap::proposals`).
    #[serde(default)]
    pub keep_proposals: bool,
    /// At the end, join groups that AD never connected into one DG tree
    /// ([`super::complete::connect_groups`]).
    #[serde(default = "yes")]
    pub complete: bool,
}

fn yes() -> bool {
    true
}

/// How ADELM sorts the minima of a proposal batch into groups.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Placement {
    /// All new minima of a batch in one AD batch against the known groups, then the unjoined
    /// ones among themselves in one more ([`super::placement`]).
    #[default]
    Batched,
    /// One minimum at a time against the groups as they are after the previous one.
    Sequential,
}

impl Placement {
    /// Every choice with its name in scripts and map files.
    pub const ALL: [(&'static str, Placement); 2] = [
        ("batched", Placement::Batched),
        ("sequential", Placement::Sequential),
    ];
    /// The placement called `name`.
    pub fn parse(name: &str) -> Option<Placement> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
    }
    /// Its name in scripts and map files.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, p)| *p == self)
            .map_or("", |(n, _)| n)
    }
}

impl From<Placement> for String {
    fn from(p: Placement) -> String {
        p.name().to_string()
    }
}

impl TryFrom<String> for Placement {
    type Error = String;
    fn try_from(name: String) -> std::result::Result<Placement, String> {
        Placement::parse(&name).ok_or_else(|| format!("unknown placement \"{name}\""))
    }
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
            consolidate: true,
            minimize: MinimizeOptions::default(),
            same_tol: 1e-3,
            batch: 32,
            placement: Placement::Batched,
            checkpoint: None,
            checkpoint_every: 100,
            progress: crate::progress::Progress::silent(),
            keep_proposals: false,
            complete: true,
        }
    }
}

/// Runs ADELM from scratch.
pub fn adelm(
    e: &EnergyRef,
    proposer: &mut dyn Proposer,
    opts: &AdelmOptions,
) -> Result<LandscapeMap> {
    resume(
        e,
        proposer,
        LandscapeMap::empty("adelm", e.describe(), params_json(opts), opts.seed),
        opts,
    )
}

/// True when representatives are consolidated after iteration `it`.
fn consolidation_due(it: usize, opts: &AdelmOptions) -> bool {
    opts.consolidate
        && it > 0
        && (it == opts.burn_in
            || (opts.consolidate_every > 0 && it.is_multiple_of(opts.consolidate_every)))
}

/// Seed streams: proposals of the batch starting at an iteration, the placement of the
/// segment starting at an iteration, the consolidation after an iteration, the completion of the map.
const PLACE_STREAM: u64 = 0x5eed;
const CONSOLIDATE_STREAM: u64 = 0xc0_5011;
const COMPLETE_STREAM: u64 = 0xc0_3913;

/// Continues a mapping (e.g. loaded from a checkpoint) up to `opts.iters` iterations.
///
/// Proposals come in batches of `opts.batch` that start at multiples of `batch`, each drawn
/// and minimized whole from its own seed; a run resumed inside a batch redraws that batch and
/// places only the minima not yet placed, and every placement and consolidation is reseeded
/// from its iteration. So a map resumed from any checkpoint or interruption equals the
/// uninterrupted run with the same seed and batch size.
pub fn resume(
    e: &EnergyRef,
    proposer: &mut dyn Proposer,
    mut map: LandscapeMap,
    opts: &AdelmOptions,
) -> Result<LandscapeMap> {
    validate(e, opts)?;
    map.check_energy(e.as_ref())?;
    let _session = tensor::SessionSeedGuard::new();
    map.method = "adelm".into();
    map.params = params_json(opts);
    let opts = &run_options(opts);
    map.interrupted = false;
    let started = Instant::now();
    let seconds_before = map.stats.seconds;
    let mut last_report = Instant::now();
    let batch = opts.batch.max(1);
    let mut stage = Stage::Mapping;
    // The auto success radii of this run's targets (representatives are targets again and again).
    let mut deltas = DeltaCache::default();
    while stage != Stage::Done {
        if crate::interrupt::requested() {
            map.interrupted = true;
            break;
        }
        let step = match stage {
            Stage::Mapping if map.iterations >= opts.iters => Ok(true),
            Stage::Mapping => map_batch(
                e,
                proposer,
                &mut map,
                opts,
                batch,
                &mut deltas,
                &mut |map, first| {
                    // A checkpoint whenever a multiple of checkpoint_every was reached or passed.
                    let every = opts.checkpoint_every;
                    if let (Some(path), true) = (
                        &opts.checkpoint,
                        every > 0 && map.iterations / every > first / every,
                    ) {
                        map.stats.seconds = seconds_before + started.elapsed().as_secs_f64();
                        map.save(path)?;
                    }
                    if opts.progress.is_on() && last_report.elapsed().as_secs_f64() > 1.0 {
                        last_report = Instant::now();
                        opts.progress.line(&format!(
                        "adelm: iteration {}/{}  groups {}  minima {}  AD trials {}  {:.1} it/s",
                        map.iterations,
                        opts.iters,
                        map.groups.len(),
                        map.minima.len(),
                        map.stats.ad_trials,
                        map.iterations as f64
                            / (seconds_before + started.elapsed().as_secs_f64()).max(1e-9)
                    ));
                    }
                    Ok(())
                },
            ),
            Stage::Finishing => finish(e, &mut map, opts, &mut deltas),
            Stage::Done => unreachable!("the loop ends at Done"),
        };
        match step {
            Ok(true) => {
                stage = match stage {
                    Stage::Mapping if map.iterations >= opts.iters => Stage::Finishing,
                    Stage::Mapping => Stage::Mapping,
                    _ => Stage::Done,
                }
            }
            Ok(false) | Err(crate::Error::Interrupted) => {
                map.interrupted = true;
                break;
            }
            Err(err) => return Err(err),
        }
    }
    if !map.interrupted && map.stats.ad_trials > 0 && map.stats.ad_successes == 0 {
        opts.progress.warn(&no_success_warning(&map));
    }
    map.stats.seconds = seconds_before + started.elapsed().as_secs_f64();
    if let Some(path) = &opts.checkpoint {
        map.save(path)?;
    }
    Ok(map)
}

/// The warning for a map in which no AD trial succeeded: its groups say nothing about basins.
pub fn no_success_warning(map: &LandscapeMap) -> String {
    format!(
        "warning: none of {} AD trials succeeded, so each of the {} groups is one minimum. \
         Unless every minimum really is its own basin at this T, the success radius (delta {}) \
         or the magnetization (alpha {}) is too small: try delta: \"auto\", a larger alpha \
         or a higher T.",
        map.stats.ad_trials,
        map.groups.len(),
        map.params["ad"]["delta"],
        map.params["ad"]["alpha"]
    )
}

/// The options a run works with: AD confirms its successes with the run's own `same_tol`
/// and minimizer (one notion of "the same minimum" for the whole map), and AD's warnings go
/// to the run's observer.
pub(super) fn run_options(opts: &AdelmOptions) -> AdelmOptions {
    let mut o = opts.clone();
    if opts.same_tol > 0.0 {
        o.ad.check.same_tol = opts.same_tol;
    }
    o.ad.check.minimize = opts.minimize.clone();
    o.ad.progress = opts.progress.clone();
    o
}

/// ADELM's options as stored in a map's `params`.
pub(super) fn params_json(opts: &AdelmOptions) -> serde_json::Value {
    serde_json::to_value(opts).unwrap_or(serde_json::Value::Null)
}

/// The AD settings a map was made with (its `params.ad`), or the defaults for a map made
/// without AD (GWL) or an old file.
pub fn ad_options_of(map: &LandscapeMap) -> AdOptions {
    serde_json::from_value(map.params["ad"].clone()).unwrap_or_default()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Mapping,
    Finishing,
    Done,
}

/// Proposes and minimizes the batch that holds iteration `map.iterations`, and places its
/// minima not yet placed, a segment at a time (running a consolidation wherever one is due).
/// `after_each` runs after every segment with the iteration it started at (checkpoints,
/// progress). Ok(false) when interrupted; the map then holds every completed segment and
/// nothing of the interrupted one.
fn map_batch(
    e: &EnergyRef,
    proposer: &mut dyn Proposer,
    map: &mut LandscapeMap,
    opts: &AdelmOptions,
    batch: usize,
    deltas: &mut DeltaCache,
    after_each: &mut dyn FnMut(&mut LandscapeMap, usize) -> Result<()>,
) -> Result<bool> {
    // A consolidation due at this iteration count that did not run (interrupted) runs first.
    if consolidation_due(map.iterations, opts)
        && map.consolidated_at != map.iterations
        && !consolidate_at(e, map, opts, deltas)?
    {
        return Ok(false);
    }
    let n0 = map.iterations - map.iterations % batch;
    tensor::manual_seed(tensor::next_seed_for(opts.seed, n0 as u64));
    let x0 = crate::profile::time(crate::profile::Phase::Propose, || proposer.propose(batch))?;
    let rows = tensor::as_batch(&x0)?.size()[0];
    if rows != batch as i64 {
        return Err(invalid(format!(
            "the proposer returned {rows} states where {batch} were asked for"
        )));
    }
    crate::energy::check_dim(e.as_ref(), &x0)?;
    let mins = minimize::minimize(e.as_ref(), &x0, &opts.minimize)?;
    if mins.interrupted {
        // Unfinished descents are not minima: the batch is dropped, as an interrupted AD is.
        return Err(crate::Error::Interrupted);
    }
    let states = tensor::to_matrix(&mins.x)?;
    let energies = tensor::to_vec_f64(&mins.energy)?;
    let starts = if opts.keep_proposals {
        tensor::to_matrix(&x0)?
    } else {
        vec![]
    };
    let end = (n0 + batch).min(opts.iters);
    while map.iterations < end {
        if crate::interrupt::requested() {
            return Ok(false);
        }
        let first = map.iterations;
        let last = segment_end(first, end, opts);
        tensor::manual_seed(tensor::next_seed_for(
            opts.seed ^ PLACE_STREAM,
            first as u64,
        ));
        let segment: Vec<NewMinimum> = (first..last)
            .filter(|&n| energies[n - n0].is_finite())
            .map(|n| NewMinimum {
                iteration: n,
                state: states[n - n0].clone(),
                energy: energies[n - n0],
            })
            .collect();
        let placed = match place_segment(e, map, &segment, opts, deltas) {
            Ok(placed) => placed,
            Err(crate::Error::Interrupted) => return Ok(false),
            Err(err) => return Err(err),
        };
        for (m, minimum) in segment.iter().zip(placed) {
            if let Some(start) = starts.get(m.iteration - n0) {
                map.proposals.push(Proposal {
                    state: start.clone(),
                    minimum,
                });
            }
        }
        map.iterations = last;
        map.stats.proposals += last - first;
        if first == n0 {
            // A batch's descents count once, with its first segment: a run resumed inside
            // the batch minimizes it again, but an uninterrupted run would not have.
            map.stats.min_iterations += mins.iterations;
        }
        if consolidation_due(map.iterations, opts) && !consolidate_at(e, map, opts, deltas)? {
            return Ok(false);
        }
        after_each(map, first)?;
    }
    Ok(true)
}

/// The end of the placement segment that starts at iteration `first` (the batch ends at
/// `end`): the next iteration after which a consolidation is due, or `first + 1` for
/// sequential placement. Segments depend only on the schedule, so a run resumed at a segment
/// boundary cuts the same segments as the uninterrupted one.
fn segment_end(first: usize, end: usize, opts: &AdelmOptions) -> usize {
    if opts.placement == Placement::Sequential {
        return first + 1;
    }
    (first + 1..end)
        .find(|&n| consolidation_due(n, opts))
        .unwrap_or(end)
}

/// What consolidation and completion change: the grouping of a map, without its minima's
/// states (a snapshot costs the groups, not the thousands of minima of a large map).
struct Grouping {
    groups: Vec<super::map::Group>,
    barriers: Vec<Vec<Option<f64>>>,
    barrier_kinds: Vec<Vec<Option<BarrierKind>>>,
    merges: Vec<MergeRecord>,
    stats: super::map::MapStats,
    labels: Vec<usize>,
}

/// Runs `step` on the map, reseeded from `stream` and the iteration count; when Ctrl-C
/// interrupts it, the grouping is put back as it was and the result is Ok(false).
pub(super) fn all_or_nothing(
    map: &mut LandscapeMap,
    opts: &AdelmOptions,
    stream: u64,
    step: impl FnOnce(&mut LandscapeMap) -> Result<()>,
) -> Result<bool> {
    tensor::manual_seed(tensor::next_seed_for(
        opts.seed ^ stream,
        map.iterations as u64,
    ));
    let before = Grouping {
        groups: map.groups.clone(),
        barriers: map.barriers.clone(),
        barrier_kinds: map.barrier_kinds.clone(),
        merges: map.merges.clone(),
        stats: map.stats.clone(),
        labels: map.minima.iter().map(|m| m.group).collect(),
    };
    match step(map) {
        Ok(()) => Ok(true),
        Err(crate::Error::Interrupted) => {
            map.groups = before.groups;
            map.barriers = before.barriers;
            map.barrier_kinds = before.barrier_kinds;
            map.merges = before.merges;
            map.stats = before.stats;
            for (m, g) in map.minima.iter_mut().zip(before.labels) {
                m.group = g;
            }
            Ok(false)
        }
        Err(err) => Err(err),
    }
}

/// Consolidates after iteration `map.iterations`, reseeded from it; all or nothing.
/// Ok(false) when interrupted.
fn consolidate_at(
    e: &EnergyRef,
    map: &mut LandscapeMap,
    opts: &AdelmOptions,
    deltas: &mut DeltaCache,
) -> Result<bool> {
    let done = all_or_nothing(map, opts, CONSOLIDATE_STREAM, |m| {
        consolidate(e, m, opts, deltas)
    })?;
    if done {
        map.consolidated_at = map.iterations;
    }
    Ok(done)
}

/// The end of a run: the final consolidation (when not already done at this iteration count)
/// and the completion of the barrier graph into one tree. Ok(false) when interrupted.
fn finish(
    e: &EnergyRef,
    map: &mut LandscapeMap,
    opts: &AdelmOptions,
    deltas: &mut DeltaCache,
) -> Result<bool> {
    if opts.consolidate
        && opts.iters > opts.burn_in
        && map.consolidated_at != map.iterations
        && !consolidate_at(e, map, opts, deltas)?
    {
        return Ok(false);
    }
    if !opts.complete {
        return Ok(true);
    }
    all_or_nothing(map, opts, COMPLETE_STREAM, |m| {
        super::complete::connect_groups(e, m, &opts.ad, &opts.progress)
    })
}

fn validate(e: &EnergyRef, opts: &AdelmOptions) -> Result<()> {
    if e.dim().is_none() {
        return Err(invalid("adelm needs an energy with a fixed dimension"));
    }
    if !(opts.ad.temperature > 0.0) || !(opts.ad.alpha > 0.0) || opts.ad.delta.is_invalid() {
        return Err(invalid("adelm needs T > 0, alpha > 0 and delta >= 0"));
    }
    if opts.max_checks == 0 {
        return Err(invalid("max_checks must be at least 1"));
    }
    Ok(())
}

/// Groups ordered by the 10-point 1-D barrier between `y` and their representatives, lowest
/// first, at most `limit` of them, `skip` left out.
fn nearest_groups(
    e: &EnergyRef,
    map: &LandscapeMap,
    y: &[f64],
    limit: usize,
    skip: Option<usize>,
) -> Result<Vec<usize>> {
    let reps: Vec<f64> = map.groups.iter().flat_map(|g| g.state.clone()).collect();
    let zt = tensor::from_vec(&reps, &[map.groups.len() as i64, y.len() as i64])?;
    nearest_by_line(e.as_ref(), y, &zt, 10, limit, skip)
}

/// AD between the states of each pair, both directions in one batch: for every pair the lowest
/// barrier of its successful trials (None: both failed). Err(Interrupted) when Ctrl-C cut
/// the batch short (its failures would not be real).
pub(super) fn connect_pairs(
    e: &EnergyRef,
    pairs: &[(&[f64], &[f64])],
    opts: &AdelmOptions,
    stats: &mut super::map::MapStats,
    deltas: &mut DeltaCache,
) -> Result<Vec<Option<f64>>> {
    if pairs.is_empty() {
        return Ok(vec![]);
    }
    let d = pairs[0].0.len() as i64;
    let mut s = Vec::with_capacity(pairs.len() * 2 * d as usize);
    let mut t = Vec::with_capacity(pairs.len() * 2 * d as usize);
    for (a, b) in pairs {
        s.extend(*a);
        t.extend(*b);
        s.extend(*b);
        t.extend(*a);
    }
    let rows = 2 * pairs.len() as i64;
    let trials = ad_trials_cached(
        e,
        &tensor::from_vec(&s, &[rows, d])?,
        &tensor::from_vec(&t, &[rows, d])?,
        &vec![opts.ad.alpha; rows as usize],
        &opts.ad,
        deltas,
    )?;
    if crate::interrupt::requested() {
        return Err(crate::Error::Interrupted);
    }
    stats.ad_trials += trials.len();
    stats.ad_successes += trials.iter().filter(|t| t.success).count();
    stats.ad_near_misses += trials.iter().filter(|t| t.near_miss).count();
    Ok(trials
        .chunks(2)
        .map(|two| {
            let b = two
                .iter()
                .filter(|t| t.success)
                .map(|t| t.barrier)
                .fold(f64::INFINITY, f64::min);
            b.is_finite().then_some(b)
        })
        .collect())
}

/// Consolidation (Algorithm 3): AD between every representative and its `max_checks` nearest
/// others by 1-D barrier (both directions, one batch). Successful pairs merge in order of
/// their barrier, the lower-energy representative kept, but only while both are still
/// representatives; a success whose end has meanwhile merged into another group is re-tested
/// against the kept representative in the next batch. So two groups merge only when their
/// current representatives connect by AD, never through a chain of stale pairs.
pub fn consolidate(
    e: &EnergyRef,
    map: &mut LandscapeMap,
    opts: &AdelmOptions,
    deltas: &mut DeltaCache,
) -> Result<()> {
    let g = map.groups.len();
    if g < 2 {
        return Ok(());
    }
    let mut queue: Vec<(usize, usize)> = Vec::new();
    for i in 0..g {
        let near = nearest_groups(e, map, &map.groups[i].state, opts.max_checks, Some(i))?;
        for j in near {
            let p = (i.min(j), i.max(j));
            if !queue.contains(&p) {
                queue.push(p);
            }
        }
    }
    consolidate_pairs(e, map, opts, deltas, queue)
}

/// Consolidation's merging rules over the pairs of groups `queue` (`(i, j)` with `i < j`,
/// tested in that order): see [`consolidate`]. Pairs re-tested after merges need not be in
/// the queue. The map's groups are renumbered at the end.
pub(super) fn consolidate_pairs(
    e: &EnergyRef,
    map: &mut LandscapeMap,
    opts: &AdelmOptions,
    deltas: &mut DeltaCache,
    mut queue: Vec<(usize, usize)>,
) -> Result<()> {
    let g = map.groups.len();
    let mut alive = vec![true; g];
    // The group each merged group went into (itself while alive).
    let mut into: Vec<usize> = (0..g).collect();
    let resolve = |into: &[usize], mut i: usize| {
        while into[i] != i {
            i = into[i];
        }
        i
    };
    let mut tested: std::collections::HashSet<(usize, usize)> = Default::default();
    while !queue.is_empty() {
        let pairs: Vec<(&[f64], &[f64])> = queue
            .iter()
            .map(|&(i, j)| {
                (
                    map.groups[i].state.as_slice(),
                    map.groups[j].state.as_slice(),
                )
            })
            .collect();
        let found = connect_pairs(e, &pairs, opts, &mut map.stats, deltas)?;
        tested.extend(queue.iter().copied());
        let mut successes: Vec<(f64, usize, usize)> = queue
            .iter()
            .zip(found)
            .filter_map(|(&(i, j), b)| b.map(|b| (b, i, j)))
            .collect();
        successes.sort_by(|a, b| a.0.total_cmp(&b.0).then((a.1, a.2).cmp(&(b.1, b.2))));
        // Every success is a direct bound between two representatives of this batch; stored
        // first, so that merges below carry them over to the kept representatives.
        for &(b, i, j) in &successes {
            map.offer_barrier(i, j, b, BarrierKind::Ad)?;
        }
        let mut retest = Vec::new();
        for (b, i, j) in successes {
            if alive[i] && alive[j] {
                let (keep, gone) = if map.groups[j].energy < map.groups[i].energy {
                    (j, i)
                } else {
                    (i, j)
                };
                if let (Some(kept), Some(merged)) =
                    (map.representative(keep), map.representative(gone))
                {
                    map.merges.push(MergeRecord {
                        iteration: map.iterations,
                        kept,
                        merged,
                        barrier: b,
                    });
                }
                map.merge_groups(keep, gone, b)?;
                alive[gone] = false;
                into[gone] = keep;
                map.stats.merges += 1;
            } else {
                retest.push((i, j));
            }
        }
        queue.clear();
        for (i, j) in retest {
            let (a, b) = (resolve(&into, i), resolve(&into, j));
            let p = (a.min(b), a.max(b));
            if a != b && !tested.contains(&p) && !queue.contains(&p) {
                queue.push(p);
            }
        }
    }
    if alive.iter().any(|a| !a) {
        map.retain_groups(&alive);
    }
    Ok(())
}
