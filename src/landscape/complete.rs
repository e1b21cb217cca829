//! Completing a map's barrier graph so that its disconnectivity graph is one tree.
//!
//! ADELM stores a barrier only between groups whose representatives (or members) connected
//! by AD. Groups that never connected would be separate trees of the DG. For every such
//! component, the representative of lowest energy is joined to those of the nearest other
//! components by a path bound that always exists: the greedy single-flip path on spin spaces
//! (section 5.1), the maximum over 64 points of the straight line otherwise. The edges of the
//! minimum spanning tree of those bounds are stored and refined by a short batched AD
//! refinement (sections 3.4 / 4.3), the lower bound kept. Each bound records its kind.

use super::ad::AdOptions;
use super::barrier::{
    barrier_greedy, line_energies, nearest_by_line, refine_barriers, RefineOptions,
};
use super::map::{BarrierKind, LandscapeMap};
use super::union_find::UnionFind;
use crate::energy::{EnergyRef, Space};
use crate::progress::Progress;
use crate::{tensor, Result};

/// Points on the straight line of the continuous fallback bound.
pub const LINE_POINTS: usize = 64;
/// Other components each component is joined to by a fallback bound.
pub const NEAREST_COMPONENTS: usize = 8;

/// Joins the components of `map`'s barrier graph (see the module doc); `ad` are the map's AD
/// settings, from which the refinement starts at twice the map's alpha; `progress` hears what
/// it joins and how the refinement goes. Err(Interrupted) when Ctrl-C stopped the refinement
/// (the caller discards the half-completed map).
pub fn connect_groups(
    e: &EnergyRef,
    map: &mut LandscapeMap,
    ad: &AdOptions,
    progress: &Progress,
) -> Result<()> {
    map.check_energy(e.as_ref())?;
    let comp = map.components();
    let roots: Vec<usize> = (0..comp.len()).filter(|&i| comp[i] == i).collect();
    if roots.len() < 2 {
        return Ok(());
    }
    // The lowest representative of each component.
    let lowest: Vec<usize> = roots
        .iter()
        .map(|&r| {
            (0..map.groups.len())
                .filter(|&i| comp[i] == r)
                .min_by(|&a, &b| map.groups[a].energy.total_cmp(&map.groups[b].energy))
                .expect("a component has a group")
        })
        .collect();
    let c = lowest.len();
    progress.line(&format!(
        "completing the map: {c} unconnected parts of {} groups, joined by path bounds and a short AD refinement",
        map.groups.len()
    ));
    let d = map.groups[0].state.len() as i64;
    let states: Vec<f64> = lowest
        .iter()
        .flat_map(|&i| map.groups[i].state.clone())
        .collect();
    let reps = tensor::from_vec(&states, &[c as i64, d])?;
    // Each component to its nearest others by a 10-point line.
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for (a, &low) in lowest.iter().enumerate() {
        let near = nearest_by_line(
            e.as_ref(),
            &map.groups[low].state,
            &reps,
            10,
            NEAREST_COMPONENTS,
            Some(a),
        )?;
        for b in near {
            let p = (a.min(b), a.max(b));
            if !pairs.contains(&p) {
                pairs.push(p);
            }
        }
    }
    // Any components the nearest pairs leave apart are joined to component 0 (rare).
    let mut uf = UnionFind::new(c);
    for &(a, b) in &pairs {
        uf.union(a, b);
    }
    for a in 1..c {
        if uf.union(0, a) {
            pairs.push((0, a));
        }
    }
    let mut bounds: Vec<(usize, usize, f64)> = Vec::with_capacity(pairs.len());
    for &(a, b) in &pairs {
        let (sa, sb) = (&map.groups[lowest[a]].state, &map.groups[lowest[b]].state);
        bounds.push((a, b, fallback_bound(e, sa, sb)?));
    }
    let tree = spanning_tree(c, &bounds);
    // Only the spanning tree's bounds are stored: single linkage needs no others, and the
    // other fallback paths would only fill the matrix with loose values.
    let kind = fallback_kind(e);
    for &(a, b, v) in &tree {
        map.offer_barrier(lowest[a], lowest[b], v, kind)?;
    }
    // A short AD refinement of the spanning-tree edges, all in one batch per round.
    let mut ra = Vec::new();
    let mut rb = Vec::new();
    for &(a, b, _) in &tree {
        ra.extend(&map.groups[lowest[a]].state);
        rb.extend(&map.groups[lowest[b]].state);
    }
    let p = tree.len() as i64;
    let opts = completion_refinement(ad, progress);
    let refined = refine_barriers(
        e,
        &tensor::from_vec(&ra, &[p, d])?,
        &tensor::from_vec(&rb, &[p, d])?,
        &opts,
    )?;
    if crate::interrupt::requested() {
        return Err(crate::Error::Interrupted);
    }
    for (&(a, b, _), r) in tree.iter().zip(refined) {
        if let Some(v) = r.barrier {
            map.offer_barrier(lowest[a], lowest[b], v, BarrierKind::Refined)?;
        }
    }
    Ok(())
}

/// The refinement used to complete a map: from twice the map's alpha, 4 trials per direction,
/// alpha lowered by 20% per successful round, at most 12 rounds, its rounds told to `progress`.
pub fn completion_refinement(ad: &AdOptions, progress: &Progress) -> RefineOptions {
    RefineOptions {
        ad: AdOptions {
            alpha: 2.0 * ad.alpha,
            thin: 0,
            ..ad.clone()
        },
        trials: 4,
        shrink: 0.8,
        max_rounds: 12,
        both_directions: true,
        progress: progress.clone(),
    }
}

/// The kind of the fallback bound on `e`'s space.
pub fn fallback_kind(e: &EnergyRef) -> BarrierKind {
    if e.space() == Space::Spins {
        BarrierKind::Greedy
    } else {
        BarrierKind::Line
    }
}

/// A path bound between two states that always exists: the greedy single-flip path on spin
/// spaces, the maximum over [`LINE_POINTS`] points of the straight line otherwise.
pub fn fallback_bound(e: &EnergyRef, a: &[f64], b: &[f64]) -> Result<f64> {
    let d = a.len() as i64;
    let (ta, tb) = (tensor::from_vec(a, &[1, d])?, tensor::from_vec(b, &[1, d])?);
    if e.space() == Space::Spins {
        return Ok(barrier_greedy(e.as_ref(), &ta, &tb)?.barrier);
    }
    let line = line_energies(e.as_ref(), &ta, &tb, LINE_POINTS)?;
    Ok(line[0].iter().cloned().fold(f64::NEG_INFINITY, f64::max))
}

/// Minimum spanning forest (Kruskal) of `n` nodes under the weighted edges.
fn spanning_tree(n: usize, edges: &[(usize, usize, f64)]) -> Vec<(usize, usize, f64)> {
    let mut sorted = edges.to_vec();
    sorted.sort_by(|x, y| x.2.total_cmp(&y.2).then((x.0, x.1).cmp(&(y.0, y.1))));
    let mut uf = UnionFind::new(n);
    sorted
        .into_iter()
        .filter(|&(a, b, _)| uf.union(a, b))
        .collect()
}
