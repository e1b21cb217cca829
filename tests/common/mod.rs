//! Independent truth shared by the test files: exact enumeration of small spin models and the
//! checks every map must pass against it.
#![allow(dead_code)]

use telescope::energy::SpinModel;
use telescope::landscape::dg::{Dg, DgOptions};
use telescope::landscape::map::LandscapeMap;

/// Exact landscape of an n-spin model: energies of all 2^n states, single-flip local minima,
/// and the minimax barrier between every pair of minima (states added in increasing energy,
/// union-find over single-flip neighbours).
pub struct Exact {
    pub n: usize,
    /// States (bit patterns) of the local minima, in increasing state order.
    pub minima: Vec<usize>,
    /// Energy of every state.
    pub energy: Vec<f64>,
    /// `barrier[i][j]`: minimax barrier between minima i and j (diagonal: the energy).
    pub barrier: Vec<Vec<f64>>,
}

/// Spins of a bit pattern (bit i set: spin i is +1).
pub fn spins(state: usize, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| if state >> i & 1 == 1 { 1.0 } else { -1.0 })
        .collect()
}

/// Bit pattern of ±1 spins.
pub fn index_of(s: &[f64]) -> usize {
    s.iter()
        .enumerate()
        .map(|(i, &v)| if v > 0.0 { 1 << i } else { 0 })
        .sum()
}

fn find(p: &mut [usize], mut x: usize) -> usize {
    while p[x] != x {
        p[x] = p[p[x]];
        x = p[x];
    }
    x
}

/// Enumerates every state of `model` (n up to about 20).
pub fn exact(model: &SpinModel) -> Exact {
    let n = model.n();
    let total = 1usize << n;
    let energy: Vec<f64> = (0..total).map(|s| model.energy_of(&spins(s, n))).collect();
    let minima: Vec<usize> = (0..total)
        .filter(|&s| (0..n).all(|i| energy[s ^ (1 << i)] > energy[s]))
        .collect();
    let mut order: Vec<usize> = (0..total).collect();
    order.sort_by(|&a, &b| energy[a].total_cmp(&energy[b]));
    let mut parent: Vec<usize> = (0..total).collect();
    let mut active = vec![false; total];
    let k = minima.len();
    let mut barrier = vec![vec![f64::INFINITY; k]; k];
    let pos: std::collections::HashMap<usize, usize> =
        minima.iter().enumerate().map(|(i, &m)| (m, i)).collect();
    let mut members: Vec<Vec<usize>> = vec![vec![]; total];
    for &s in &order {
        active[s] = true;
        if let Some(&i) = pos.get(&s) {
            members[s].push(i);
            barrier[i][i] = energy[s];
        }
        for b in 0..n {
            let t = s ^ (1 << b);
            if !active[t] {
                continue;
            }
            let (ra, rb) = (find(&mut parent, s), find(&mut parent, t));
            if ra == rb {
                continue;
            }
            let (ma, mb) = (
                std::mem::take(&mut members[ra]),
                std::mem::take(&mut members[rb]),
            );
            for &i in &ma {
                for &j in &mb {
                    barrier[i][j] = energy[s];
                    barrier[j][i] = energy[s];
                }
            }
            parent[rb] = ra;
            members[ra] = ma.into_iter().chain(mb).collect();
        }
    }
    Exact {
        n,
        minima,
        energy,
        barrier,
    }
}

impl Exact {
    /// Position in `minima` of a state, if it is a local minimum.
    pub fn minimum_of(&self, s: &[f64]) -> Option<usize> {
        let idx = index_of(s);
        self.minima.binary_search(&idx).ok()
    }
    /// Positions in `minima` sorted by energy.
    pub fn by_energy(&self) -> Vec<usize> {
        let mut o: Vec<usize> = (0..self.minima.len()).collect();
        o.sort_by(|&a, &b| self.energy[self.minima[a]].total_cmp(&self.energy[self.minima[b]]));
        o
    }
}

/// The lowest merge energy joining every pair of leaves of a DG (infinite across trees).
pub fn dg_pair_levels(dg: &Dg) -> Vec<Vec<f64>> {
    let n = dg.leaves.len();
    let mut level = vec![vec![f64::INFINITY; n]; n];
    for id in n..dg.n_nodes() {
        let leaves = dg.subtree_leaves(id);
        let e = dg.energy(id);
        for &a in &leaves {
            for &b in &leaves {
                let (ga, gb) = (dg.leaves[a].id, dg.leaves[b].id);
                if e < level[ga][gb] {
                    level[ga][gb] = e;
                }
            }
        }
    }
    level
}

/// What a map of an enumerable spin model scored against the truth.
#[derive(Default, Debug)]
pub struct Fidelity {
    /// Stored barriers checked.
    pub barriers: usize,
    /// Sum and maximum of (stored - exact) over them.
    pub excess_sum: f64,
    pub excess_max: f64,
    /// Of the 6 lowest exact minima, how many the map found.
    pub lowest6_found: usize,
    pub lowest6: usize,
}

/// The hard rules every finished map of an enumerable spin model must keep; returns the soft
/// figures. `what` names the case in failure messages.
pub fn check_spin_map(map: &LandscapeMap, truth: &Exact, what: &str) -> Fidelity {
    let tol = 1e-9;
    // Each representative is a true single-flip local minimum with its true energy.
    let reps: Vec<usize> = map
        .groups
        .iter()
        .map(|g| {
            let m = truth
                .minimum_of(&g.state)
                .unwrap_or_else(|| panic!("{what}: a representative is not a local minimum"));
            assert!(
                (g.energy - truth.energy[truth.minima[m]]).abs() < tol,
                "{what}: representative energy {} is not its true energy",
                g.energy
            );
            m
        })
        .collect();
    // Every minimum found is a true minimum, and each group's representative is its lowest.
    for rec in &map.minima {
        let m = truth
            .minimum_of(&rec.state)
            .unwrap_or_else(|| panic!("{what}: a minimum found is not a local minimum"));
        assert!(
            truth.energy[truth.minima[m]] >= map.groups[rec.group].energy - tol,
            "{what}: a member is lower than its group's representative"
        );
    }
    // The ground state (or its mirror: the same energy) is found.
    let order = truth.by_energy();
    let ground = truth.energy[truth.minima[order[0]]];
    assert!(
        map.minima.iter().any(|m| (m.energy - ground).abs() < tol),
        "{what}: the ground state {ground} was not found"
    );
    // No stored barrier is below the exact minimax between the current representatives.
    let mut fid = Fidelity::default();
    for i in 0..map.groups.len() {
        for j in 0..map.groups.len() {
            if i == j {
                continue;
            }
            if let Some(b) = map.barriers[i][j] {
                let exact_b = truth.barrier[reps[i]][reps[j]];
                assert!(
                    b >= exact_b - tol,
                    "{what}: stored barrier {b} ({:?}) between groups {i} and {j} is below the exact minimax {exact_b}",
                    map.barrier_kinds[i][j]
                );
                assert!(
                    map.barrier_kinds[i][j].is_some(),
                    "{what}: barrier {i}-{j} has no kind"
                );
                if i < j {
                    fid.barriers += 1;
                    fid.excess_sum += b - exact_b;
                    fid.excess_max = fid.excess_max.max(b - exact_b);
                }
            }
        }
    }
    // The DG is one tree whose merge energies are never below exact single linkage.
    let dg = Dg::from_map(map, &DgOptions::default()).unwrap();
    assert_eq!(dg.roots.len(), 1, "{what}: the DG is not one tree");
    let level = dg_pair_levels(&dg);
    for i in 0..map.groups.len() {
        for j in 0..map.groups.len() {
            if i != j {
                assert!(
                    level[i][j] >= truth.barrier[reps[i]][reps[j]] - tol,
                    "{what}: DG joins groups {i} and {j} at {} below the exact {}",
                    level[i][j],
                    truth.barrier[reps[i]][reps[j]]
                );
            }
        }
    }
    // Every merge joined two representatives by a real AD path between them, keeping the lower.
    for r in &map.merges {
        let (k, g) = (&map.minima[r.kept], &map.minima[r.merged]);
        let (mk, mg) = (
            truth.minimum_of(&k.state).unwrap(),
            truth.minimum_of(&g.state).unwrap(),
        );
        assert!(
            r.barrier >= truth.barrier[mk][mg] - tol,
            "{what}: merge at {} below the exact minimax {} of the two representatives",
            r.barrier,
            truth.barrier[mk][mg]
        );
        assert!(
            k.energy <= g.energy + tol,
            "{what}: a merge kept the higher representative"
        );
        assert_eq!(
            k.group, g.group,
            "{what}: merged minima are in different groups"
        );
    }
    fid.lowest6 = order.len().min(6);
    fid.lowest6_found = order
        .iter()
        .take(6)
        .filter(|&&m| {
            map.minima
                .iter()
                .any(|r| index_of(&r.state) == truth.minima[m])
        })
        .count();
    fid
}
