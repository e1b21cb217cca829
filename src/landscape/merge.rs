//! Joining ADELM maps of one energy that were made apart (the shards of a cluster run) into
//! one map, offline: no server, no shared state between the runs that made them.
//!
//! 1. **Union.** The maps' groups, minima, proposals, merges and barriers are put side by
//!    side (each map's barriers stay: they are real paths between its representatives). The
//!    inputs are taken in an order of their own content, so the order they are given in does
//!    not change the result.
//! 2. **Twins.** Groups whose representatives are the same minimum (within `same_tol`) are
//!    merged at once: the path between them is that minimum.
//! 3. **Cross tests.** Every group is tested by AD, both directions, against its `max_checks`
//!    nearest groups (by the 1-D line barrier) that share no source map with it, and against
//!    the groups holding a minimum it holds too. The successes are consolidated by ADELM's own
//!    rules ([`super::adelm::consolidate`]): two groups merge only when their current
//!    representatives connect.
//! 4. **Completion** into one tree, as `adelm` completes its maps.
//!
//! A merge interrupted by Ctrl-C returns the union with its twins merged, marked interrupted,
//! with the source of every group in its parameters: merging that map again (alone or with
//! more maps) resumes the cross tests.

use super::ad::DeltaCache;
use super::adelm::{all_or_nothing, consolidate_pairs, params_json, run_options, AdelmOptions};
use super::barrier::nearest_by_line;
use super::map::LandscapeMap;
use crate::energy::EnergyRef;
use crate::{error::invalid, tensor, Result};
use std::cmp::Ordering;

/// Seed stream of a merge's AD tests (with the maps' total iteration count).
const MERGE_STREAM: u64 = 0x3e_e6e5;

/// Groups ranked by the line per check, nearest by distance first.
const RANKED_PER_CHECK: usize = 4;

/// Where each group of a map came from: one set of source maps per group, ids small.
type Sources = Vec<Vec<usize>>;

/// Joins `maps` (ADELM maps of the energy `e`) into one map; see the module doc. `opts`
/// supplies AD, `max_checks`, `same_tol`, the seed, completion and progress.
pub fn merge_maps(
    e: &EnergyRef,
    maps: &[LandscapeMap],
    opts: &AdelmOptions,
) -> Result<LandscapeMap> {
    check_inputs(e, maps)?;
    let opts = &run_options(opts);
    if maps[0].method == "gwl" {
        return merge_gwl(e, maps, opts);
    }
    let started = std::time::Instant::now();
    let mut order: Vec<usize> = (0..maps.len()).collect();
    order.sort_by(|&a, &b| content_order(&maps[a], &maps[b]));
    let mut map = LandscapeMap::empty("adelm", e.describe(), params_json(opts), opts.seed);
    let mut sources: Sources = Vec::new();
    for &i in &order {
        let own = earlier_sources(&maps[i]);
        append(&mut map, &maps[i]);
        let base = sources.iter().flatten().max().map_or(0, |m| m + 1);
        match own {
            Some(own) => sources.extend(own.into_iter().map(|s| shift(s, base))),
            None => sources.extend(std::iter::repeat_n(vec![base], maps[i].groups.len())),
        }
    }
    map.interrupted = false;
    merge_twins(&mut map, &mut sources, opts.same_tol)?;
    let mut deltas = DeltaCache::default();
    let queue = cross_pairs(e, &map, &sources, opts)?;
    map.iterations = maps.iter().map(|m| m.iterations).sum();
    let tested = all_or_nothing(&mut map, opts, MERGE_STREAM, |m| {
        consolidate_pairs(e, m, opts, &mut deltas, queue)
    })?;
    if !tested {
        map.interrupted = true;
        map.params["merge"] = serde_json::json!({ "group_sources": sources });
        return Ok(map);
    }
    map.consolidated_at = map.iterations;
    if opts.complete {
        let completed = all_or_nothing(&mut map, opts, MERGE_STREAM ^ 1, |m| {
            super::complete::connect_groups(e, m, &opts.ad, &opts.progress)
        })?;
        map.interrupted = !completed;
    }
    drop_repeated_minima(&mut map, opts.same_tol);
    map.stats.seconds += started.elapsed().as_secs_f64();
    Ok(map)
}

/// GWL maps of one glass: the union of their basins (one group per distinct minimum) with,
/// between two basins, the lowest barrier any map found (each is the top of a real path);
/// pairs no map holds together are joined as `adelm` completes its maps. No AD.
fn merge_gwl(e: &EnergyRef, maps: &[LandscapeMap], opts: &AdelmOptions) -> Result<LandscapeMap> {
    let mut order: Vec<usize> = (0..maps.len()).collect();
    order.sort_by(|&a, &b| content_order(&maps[a], &maps[b]));
    let mut map = LandscapeMap::empty(
        "gwl",
        e.describe(),
        maps[order[0]].params.clone(),
        opts.seed,
    );
    let mut sources: Sources = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        append(&mut map, &maps[i]);
        sources.extend(std::iter::repeat_n(vec![k], maps[i].groups.len()));
    }
    merge_twins(&mut map, &mut sources, opts.same_tol)?;
    map.iterations = maps.iter().map(|m| m.iterations).sum();
    if opts.complete {
        map.interrupted = !all_or_nothing(&mut map, opts, MERGE_STREAM ^ 2, |m| {
            super::complete::connect_groups(e, m, &opts.ad, &opts.progress)
        })?;
    }
    drop_repeated_minima(&mut map, opts.same_tol);
    Ok(map)
}

/// Errors for what cannot be merged: no maps, maps of another method or energy, maps whose
/// states do not fit the energy.
fn check_inputs(e: &EnergyRef, maps: &[LandscapeMap]) -> Result<()> {
    let Some(first) = maps.first() else {
        return Err(invalid("merge_maps needs at least one map"));
    };
    for (k, m) in maps.iter().enumerate() {
        if !matches!(m.method.as_str(), "adelm" | "gwl") {
            return Err(invalid(format!(
                "merge_maps joins ADELM or GWL maps; map {k} was made by {}",
                m.method
            )));
        }
        if m.method != first.method {
            return Err(invalid(format!(
                "maps 0 and {k} were made by different methods ({} and {}): merge maps of one method",
                first.method, m.method
            )));
        }
        m.check_energy(e.as_ref())
            .map_err(|err| invalid(format!("map {k}: {err}")))?;
        if m.energy != first.energy {
            return Err(invalid(format!(
                "maps 0 and {k} are maps of different energies ({} and {})",
                first.energy, m.energy
            )));
        }
    }
    Ok(())
}

/// An order of maps by their content alone (group energies and states, then sizes), so that
/// the merge does not depend on the order the maps were given in.
fn content_order(a: &LandscapeMap, b: &LandscapeMap) -> Ordering {
    let key = |m: &LandscapeMap| -> Vec<f64> {
        let mut groups: Vec<&super::map::Group> = m.groups.iter().collect();
        groups.sort_by(|x, y| {
            x.energy
                .total_cmp(&y.energy)
                .then_with(|| lexical(&x.state, &y.state))
        });
        groups
            .iter()
            .flat_map(|g| std::iter::once(g.energy).chain(g.state.iter().copied()))
            .chain([m.minima.len() as f64, m.iterations as f64])
            .collect()
    };
    lexical(&key(a), &key(b))
}

/// Lexical order of two float sequences by `total_cmp`, shorter first on a common prefix.
fn lexical(a: &[f64], b: &[f64]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.total_cmp(y))
        .find(|o| o.is_ne())
        .unwrap_or(a.len().cmp(&b.len()))
}

/// The sources of the groups of an interrupted merge (in its parameters), if it is one.
fn earlier_sources(m: &LandscapeMap) -> Option<Sources> {
    if !m.interrupted {
        return None;
    }
    let s: Sources = serde_json::from_value(m.params["merge"]["group_sources"].clone()).ok()?;
    (s.len() == m.groups.len()).then_some(s)
}

fn shift(s: Vec<usize>, base: usize) -> Vec<usize> {
    s.into_iter().map(|v| v + base).collect()
}

/// Appends `m`'s groups, minima, proposals, merges, barriers and counters to `map`.
fn append(map: &mut LandscapeMap, m: &LandscapeMap) {
    let (g0, m0) = (map.groups.len(), map.minima.len());
    let g = m.groups.len();
    for mut group in m.groups.iter().cloned() {
        group.id += g0;
        map.groups.push(group);
    }
    for mut rec in m.minima.iter().cloned() {
        rec.group += g0;
        map.minima.push(rec);
    }
    for mut p in m.proposals.iter().cloned() {
        p.minimum += m0;
        map.proposals.push(p);
    }
    for mut r in m.merges.iter().cloned() {
        r.kept += m0;
        r.merged += m0;
        map.merges.push(r);
    }
    for row in map.barriers.iter_mut() {
        row.extend(std::iter::repeat_n(None, g));
    }
    for row in map.barrier_kinds.iter_mut() {
        row.extend(std::iter::repeat_n(None, g));
    }
    for i in 0..g {
        let mut row = vec![None; g0];
        row.extend(m.barriers[i].iter().copied());
        map.barriers.push(row);
        let mut kinds = vec![None; g0];
        match m.barrier_kinds.get(i) {
            Some(k) if k.len() == g => kinds.extend(k.iter().copied()),
            _ => kinds.extend(std::iter::repeat_n(None, g)),
        }
        map.barrier_kinds.push(kinds);
    }
    let (s, t) = (&mut map.stats, &m.stats);
    s.ad_trials += t.ad_trials;
    s.ad_successes += t.ad_successes;
    s.ad_near_misses += t.ad_near_misses;
    s.repeats += t.repeats;
    s.merges += t.merges;
    s.refined_pairs += t.refined_pairs;
    s.seconds += t.seconds;
    s.proposals += t.proposals;
    s.min_iterations += t.min_iterations;
    map.interrupted |= m.interrupted;
}

/// Merges groups whose representatives are the same minimum (within `tol`), the lower kept.
fn merge_twins(map: &mut LandscapeMap, sources: &mut Sources, tol: f64) -> Result<()> {
    let g = map.groups.len();
    let mut alive = vec![true; g];
    for i in 0..g {
        for j in i + 1..g {
            if !(alive[i] && alive[j]) {
                continue;
            }
            if tensor::distance(&map.groups[i].state, &map.groups[j].state) > tol {
                continue;
            }
            let (keep, gone) = if map.groups[j].energy < map.groups[i].energy {
                (j, i)
            } else {
                (i, j)
            };
            let at = map.groups[i].energy.max(map.groups[j].energy);
            map.merge_groups(keep, gone, at)?;
            map.stats.merges += 1;
            alive[gone] = false;
            let moved = std::mem::take(&mut sources[gone]);
            for s in moved {
                if !sources[keep].contains(&s) {
                    sources[keep].push(s);
                }
            }
        }
    }
    if alive.iter().any(|a| !a) {
        map.retain_groups(&alive);
        let mut k = 0;
        sources.retain(|_| {
            k += 1;
            alive[k - 1]
        });
    }
    Ok(())
}

/// The pairs of groups a merge tests: each group against its `max_checks` nearest groups by
/// the 1-D line that share no source with it, and groups holding the same minimum.
fn cross_pairs(
    e: &EnergyRef,
    map: &LandscapeMap,
    sources: &Sources,
    opts: &AdelmOptions,
) -> Result<Vec<(usize, usize)>> {
    let g = map.groups.len();
    let apart = |i: usize, j: usize| sources[i].iter().all(|s| !sources[j].contains(s));
    let mut queue: Vec<(usize, usize)> = Vec::new();
    let push = |i: usize, j: usize, queue: &mut Vec<(usize, usize)>| {
        let p = (i.min(j), i.max(j));
        if i != j && !queue.contains(&p) {
            queue.push(p);
        }
    };
    // Shared minima first: the two groups reach one basin, so they are the likeliest merges.
    for (a, ra) in map.minima.iter().enumerate() {
        for rb in &map.minima[a + 1..] {
            if ra.group != rb.group
                && apart(ra.group, rb.group)
                && tensor::distance(&ra.state, &rb.state) <= opts.same_tol
            {
                push(ra.group, rb.group, &mut queue);
            }
        }
    }
    let d = map.groups.first().map_or(0, |g| g.state.len()) as i64;
    for i in 0..g {
        let mut others: Vec<usize> = (0..g).filter(|&j| j != i && apart(i, j)).collect();
        if others.is_empty() {
            continue;
        }
        // The line is ranked over the nearest few by distance only: far groups have high lines.
        let far = |j: &usize| tensor::distance(&map.groups[i].state, &map.groups[*j].state);
        others.sort_by(|a, b| far(a).total_cmp(&far(b)).then(a.cmp(b)));
        others.truncate(RANKED_PER_CHECK * opts.max_checks.max(1));
        let reps: Vec<f64> = others
            .iter()
            .flat_map(|&j| map.groups[j].state.clone())
            .collect();
        let zt = tensor::from_vec(&reps, &[others.len() as i64, d])?;
        for k in nearest_by_line(
            e.as_ref(),
            &map.groups[i].state,
            &zt,
            10,
            opts.max_checks,
            None,
        )? {
            push(i, others[k], &mut queue);
        }
    }
    Ok(queue)
}

/// Drops minimum records that repeat another of the same group (within `tol`), adding their
/// counts to the one kept (a group's representative is always kept); proposals and merge
/// records follow the renumbering.
fn drop_repeated_minima(map: &mut LandscapeMap, tol: f64) {
    let n = map.minima.len();
    let reps: Vec<Option<usize>> = (0..map.groups.len())
        .map(|g| map.representative(g))
        .collect();
    let mut into: Vec<usize> = (0..n).collect();
    for b in 0..n {
        if reps.contains(&Some(b)) {
            continue;
        }
        let twin = (0..n).find(|&a| {
            a != b
                && into[a] == a
                && (a < b || reps.contains(&Some(a)))
                && map.minima[a].group == map.minima[b].group
                && tensor::distance(&map.minima[a].state, &map.minima[b].state) <= tol
        });
        if let Some(a) = twin {
            into[b] = a;
        }
    }
    if into.iter().enumerate().all(|(i, &t)| i == t) {
        return;
    }
    let mut new_index = vec![usize::MAX; n];
    let mut kept = Vec::new();
    for i in 0..n {
        if into[i] == i {
            new_index[i] = kept.len();
            kept.push(map.minima[i].clone());
        }
    }
    for i in 0..n {
        if into[i] != i {
            kept[new_index[into[i]]].count += map.minima[i].count;
            map.stats.repeats += 1;
        }
    }
    let renumber = |i: usize| new_index[into[i]];
    for p in map.proposals.iter_mut() {
        p.minimum = renumber(p.minimum);
    }
    for r in map.merges.iter_mut() {
        r.kept = renumber(r.kept);
        r.merged = renumber(r.merged);
    }
    map.minima = kept;
}
