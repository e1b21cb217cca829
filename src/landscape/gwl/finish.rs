//! The end of a GWL run: ridge descent of the crossings joining the K lowest minima, greedy
//! paths between them, and the map of minimax barriers.

use super::walk::{pack, sort_crossings, unpack, Crossing, Walk};
use super::{GwlOptions, MAX_GREEDY_K};
use crate::energy::{Energy, SpinModel};
use crate::landscape::map::{BarrierKind, Group, LandscapeMap, MinimumRecord};
use crate::landscape::union_find::UnionFind;
use crate::Result;
use rayon::prelude::*;
use std::collections::HashMap;

/// Ridge descent of one crossing (Zhou 2011): flip the same spin in both states when that
/// lowers the higher of their energies and each state still descends to its own minimum.
/// Returns the lowered level.
pub(super) fn ridge_descent(model: &SpinModel, c: &Crossing, key_a: &[u64], key_b: &[u64]) -> f64 {
    let n = model.n();
    let mut x = unpack(&c.x, n);
    let mut y = unpack(&c.y, n);
    let (mut fx, mut fy) = (model.local_fields(&x), model.local_fields(&y));
    let (mut ux, mut uy) = (model.energy_of(&x), model.energy_of(&y));
    let stays = |s: &[f64], f: &[f64], j: usize, key: &[u64]| {
        let (mut s, mut f) = (s.to_vec(), f.to_vec());
        model.flip(&mut s, &mut f, j);
        model.steepest_descent(&mut s, &mut f);
        *pack(&s) == *key
    };
    for _ in 0..4 * n {
        let level = ux.max(uy);
        let mut cands: Vec<(f64, usize)> = (0..n)
            .filter(|&j| x[j] == y[j])
            .map(|j| {
                let new =
                    (ux + model.flip_delta(&x, &fx, j)).max(uy + model.flip_delta(&y, &fy, j));
                (new, j)
            })
            .filter(|&(new, _)| new < level - 1e-12)
            .collect();
        cands.sort_by(|p, q| p.0.total_cmp(&q.0).then(p.1.cmp(&q.1)));
        let Some(&(_, j)) = cands
            .iter()
            .take(8)
            .find(|&&(_, j)| stays(&x, &fx, j, key_a) && stays(&y, &fy, j, key_b))
        else {
            break;
        };
        ux += model.flip_delta(&x, &fx, j);
        uy += model.flip_delta(&y, &fy, j);
        model.flip(&mut x, &mut fx, j);
        model.flip(&mut y, &mut fy, j);
    }
    model.energy_of(&x).max(model.energy_of(&y))
}

/// The edges of the minimum spanning forest that lie on paths between kept basins.
fn tree_between_kept(walk: &Walk, kept: &[u32]) -> Vec<(u32, u32)> {
    let mut all: Vec<Crossing> = walk.crossings.values().cloned().collect();
    sort_crossings(&mut all);
    let nb = walk.basins.len();
    let mut uf = UnionFind::new(nb);
    let mut adj: Vec<Vec<u32>> = vec![vec![]; nb];
    for c in &all {
        if uf.union(c.a as usize, c.b as usize) {
            adj[c.a as usize].push(c.b);
            adj[c.b as usize].push(c.a);
        }
    }
    // Prune leaves that are not kept until every leaf is kept.
    let mut is_kept = vec![false; nb];
    for &k in kept {
        is_kept[k as usize] = true;
    }
    let mut degree: Vec<usize> = adj.iter().map(|a| a.len()).collect();
    let mut removed = vec![false; nb];
    let mut stack: Vec<usize> = (0..nb).filter(|&v| degree[v] == 1 && !is_kept[v]).collect();
    while let Some(v) = stack.pop() {
        if removed[v] {
            continue;
        }
        removed[v] = true;
        for &w in &adj[v] {
            let w = w as usize;
            if !removed[w] {
                degree[w] -= 1;
                if degree[w] == 1 && !is_kept[w] {
                    stack.push(w);
                }
            }
        }
    }
    let mut edges = vec![];
    for v in 0..nb {
        if removed[v] {
            continue;
        }
        for &w in &adj[v] {
            if (v as u32) < w && !removed[w as usize] {
                edges.push((v as u32, w));
            }
        }
    }
    edges
}

/// Builds the map of the K lowest minima: ridge-refined crossings, greedy paths, minimax.
pub(super) fn finish(
    e: &dyn Energy,
    model: &SpinModel,
    walk: &Walk,
    opts: &GwlOptions,
    mut interrupted: bool,
) -> Result<LandscapeMap> {
    let n = model.n();
    let kept = walk.kept();
    let k = kept.len();
    // Edges over all basins: (level, a, b, kind).
    let mut edges: Vec<(f64, u32, u32, BarrierKind)> = walk
        .crossings
        .values()
        .map(|c| (c.level, c.a, c.b, BarrierKind::Transition))
        .collect();
    let mut ridge_lowered = 0usize;
    let tree = if opts.ridge && !interrupted {
        tree_between_kept(walk, &kept)
    } else {
        vec![]
    };
    if !tree.is_empty() {
        let refined: Vec<((u32, u32), f64)> = tree
            .par_iter()
            .map(|&(a, b)| {
                let c = &walk.crossings[&(a, b)];
                let level = if crate::interrupt::requested() {
                    c.level
                } else {
                    ridge_descent(
                        model,
                        c,
                        &walk.basins[a as usize].key,
                        &walk.basins[b as usize].key,
                    )
                };
                ((a, b), level.min(c.level))
            })
            .collect();
        let lowered: HashMap<(u32, u32), f64> = refined.into_iter().collect();
        for edge in edges.iter_mut() {
            if let Some(&l) = lowered.get(&(edge.1, edge.2)) {
                if l < edge.0 {
                    edge.0 = l;
                    ridge_lowered += 1;
                }
            }
        }
    }
    let states: Vec<Vec<f64>> = kept
        .iter()
        .map(|&b| unpack(&walk.basins[b as usize].key, n))
        .collect();
    if opts.greedy && !interrupted {
        let g = k.min(MAX_GREEDY_K);
        let pairs: Vec<(usize, usize)> = (0..g)
            .flat_map(|i| (i + 1..g).map(move |j| (i, j)))
            .collect();
        let greedy: Vec<Option<(f64, u32, u32, BarrierKind)>> = pairs
            .par_iter()
            .map(|&(i, j)| {
                if crate::interrupt::requested() {
                    return None;
                }
                let max = |p: Vec<f64>| p.into_iter().fold(f64::NEG_INFINITY, f64::max);
                let level = max(model.greedy_path(&states[i], &states[j]))
                    .min(max(model.greedy_path(&states[j], &states[i])));
                Some((level, kept[i], kept[j], BarrierKind::Greedy))
            })
            .collect();
        interrupted |= greedy.iter().any(|g| g.is_none());
        edges.extend(greedy.into_iter().flatten());
    }
    edges.sort_by(|x, y| {
        x.0.total_cmp(&y.0)
            .then((x.1, x.2).cmp(&(y.1, y.2)))
            .then((x.3 as u8).cmp(&(y.3 as u8)))
    });
    // Kruskal over all basins; the kept basins of two parts meet at the joining edge's level.
    let nb = walk.basins.len();
    let mut slot = vec![usize::MAX; nb];
    for (i, &b) in kept.iter().enumerate() {
        slot[b as usize] = i;
    }
    let mut uf = UnionFind::new(nb);
    let mut members: Vec<Vec<usize>> = (0..nb)
        .map(|b| {
            if slot[b] == usize::MAX {
                vec![]
            } else {
                vec![slot[b]]
            }
        })
        .collect();
    let mut barriers = vec![vec![None; k]; k];
    let mut kinds = vec![vec![None; k]; k];
    for (i, &b) in kept.iter().enumerate() {
        barriers[i][i] = Some(walk.basins[b as usize].energy);
    }
    for &(level, a, b, kind) in &edges {
        let (ra, rb) = (uf.find(a as usize), uf.find(b as usize));
        if ra == rb {
            continue;
        }
        let (ma, mb) = (
            std::mem::take(&mut members[ra]),
            std::mem::take(&mut members[rb]),
        );
        for &i in &ma {
            for &j in &mb {
                barriers[i][j] = Some(level);
                barriers[j][i] = Some(level);
                kinds[i][j] = Some(kind);
                kinds[j][i] = Some(kind);
            }
        }
        uf.union(ra, rb);
        let root = uf.find(ra);
        members[root] = ma.into_iter().chain(mb).collect();
    }
    let groups: Vec<Group> = kept
        .iter()
        .enumerate()
        .map(|(i, &b)| Group {
            id: i,
            state: states[i].clone(),
            energy: walk.basins[b as usize].energy,
            members: 1,
        })
        .collect();
    let minima: Vec<MinimumRecord> = kept
        .iter()
        .enumerate()
        .map(|(i, &b)| MinimumRecord {
            state: states[i].clone(),
            energy: walk.basins[b as usize].energy,
            group: i,
            count: walk.basins[b as usize].visits as usize,
            iteration: walk.basins[b as usize].found_at,
        })
        .collect();
    let mut params = serde_json::to_value(opts)?;
    let counts = serde_json::json!({
        "emin_used": walk.p.emin,
        "steps": walk.step,
        "basins_found": walk.basins.len(),
        "cells_visited": walk.cells.len(),
        "crossings_kept": walk.crossings.len(),
        "acceptance": walk.accepted as f64 / walk.step.max(1) as f64,
        "lowest_set_stable_since": walk.lowest_changed_at,
        "ridge_refined": tree.len(),
        "ridge_lowered": ridge_lowered,
    });
    if let (Some(p), serde_json::Value::Object(c)) = (params.as_object_mut(), counts) {
        p.extend(c);
    }
    let mut map = LandscapeMap::empty("gwl", e.describe(), params, opts.seed);
    map.iterations = walk.step;
    map.groups = groups;
    map.minima = minima;
    map.barriers = barriers;
    map.barrier_kinds = kinds;
    map.interrupted = interrupted;
    Ok(map)
}
