//! Independent truth shared by the test files: exact enumeration of small spin models and the
//! checks every map must pass against it.
#![allow(dead_code, clippy::needless_range_loop)]

pub mod gradient;
pub mod muller_brown;
pub mod python;

use std::rc::Rc;
use telescope::energy::{EnergyRef, SpinModel};
use telescope::landscape::ad::{AdOptions, Delta};
use telescope::landscape::adelm::AdelmOptions;
use telescope::landscape::dg::{Dg, DgOptions};
use telescope::landscape::map::LandscapeMap;
use telescope::sampler::SamplerSpec;

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

/// AD with native Gibbs sweeps as the SK tests use it: delta 0 (reach the target itself),
/// M = 100, at most 2000 sweeps.
pub fn gibbs_ad(temperature: f64, alpha: f64) -> AdOptions {
    AdOptions {
        temperature,
        alpha,
        delta: Delta::Fixed(0.0),
        improvement_limit: 100,
        max_steps: 2000,
        sampler: SamplerSpec {
            kind: telescope::sampler::SamplerKind::Gibbs,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Random-walk Metropolis with this step.
pub fn mh(step: f64) -> SamplerSpec {
    SamplerSpec {
        kind: telescope::sampler::SamplerKind::Mh,
        step,
        leapfrog: 1,
    }
}

/// Four macroscopic basins, each of two Gaussian components whose minima are separated by a
/// shallow barrier (under 1), basins by barriers above 6 (the demo's landscape).
pub fn four_basin_gmm() -> EnergyRef {
    let means = vec![
        vec![-2.5, -1.9],
        vec![-1.2, -1.9],
        vec![1.9, -2.5],
        vec![1.9, -1.2],
        vec![-1.9, 2.5],
        vec![-1.9, 1.2],
        vec![2.5, 1.9],
        vec![1.2, 1.9],
    ];
    Rc::new(
        telescope::energy::gmm(&means, &[1.0, 0.8, 1.2, 0.7, 0.9, 0.6, 1.1, 0.7], 0.42).unwrap(),
    )
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

/// Minimax barriers on a finite graph: `energy[v]` per vertex, `neighbors(v)` its edges;
/// `sources` the vertices of interest. Vertices are added in increasing energy and joined to
/// their added neighbours (union-find); two sources are first connected at the energy of the
/// vertex that joined them, which is the lowest possible maximum of a path between them.
/// Returns `barrier[i][j]` over the sources (diagonal: their energies).
pub fn minimax_on_graph(
    energy: &[f64],
    neighbors: impl Fn(usize) -> Vec<usize>,
    sources: &[usize],
) -> Vec<Vec<f64>> {
    let total = energy.len();
    let mut order: Vec<usize> = (0..total).collect();
    order.sort_by(|&a, &b| energy[a].total_cmp(&energy[b]));
    let mut parent: Vec<usize> = (0..total).collect();
    let mut active = vec![false; total];
    let k = sources.len();
    let mut barrier = vec![vec![f64::INFINITY; k]; k];
    let mut members: Vec<Vec<usize>> = vec![vec![]; total];
    let mut source_at: std::collections::HashMap<usize, Vec<usize>> = Default::default();
    for (i, &s) in sources.iter().enumerate() {
        source_at.entry(s).or_default().push(i);
    }
    for &s in &order {
        active[s] = true;
        if let Some(ids) = source_at.get(&s) {
            for &i in ids {
                for &j in ids {
                    barrier[i][j] = energy[s];
                }
            }
            members[s].extend(ids);
        }
        for t in neighbors(s) {
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
    barrier
}

/// Minimax path energies over a barrier matrix by Floyd-Warshall, edge weights
/// `max(b_ij, E_i, E_j)` (an independent single linkage): infinite where no path of known
/// barriers joins two vertices; the diagonal holds the energies. A pair known in one direction
/// only counts both ways; known both ways, the lower counts.
pub fn floyd_minimax(e: &[f64], b: &[Vec<Option<f64>>]) -> Vec<Vec<f64>> {
    let n = e.len();
    let mut d = vec![vec![f64::INFINITY; n]; n];
    for i in 0..n {
        d[i][i] = e[i];
        for j in 0..n {
            let known = match (b[i][j], b[j][i]) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            };
            if let (Some(v), true) = (known, i != j) {
                d[i][j] = d[i][j].min(v.max(e[i]).max(e[j]));
            }
        }
    }
    for k in 0..n {
        for i in 0..n {
            for j in 0..n {
                let via = d[i][k].max(d[k][j]);
                if via < d[i][j] {
                    d[i][j] = via;
                }
            }
        }
    }
    d
}

/// Enumerates every state of `model` (n up to about 20).
pub fn exact(model: &SpinModel) -> Exact {
    let n = model.n();
    let total = 1usize << n;
    let energy: Vec<f64> = (0..total).map(|s| model.energy_of(&spins(s, n))).collect();
    let minima: Vec<usize> = (0..total)
        .filter(|&s| (0..n).all(|i| energy[s ^ (1 << i)] > energy[s]))
        .collect();
    let barrier = minimax_on_graph(&energy, |s| (0..n).map(|b| s ^ (1 << b)).collect(), &minima);
    Exact {
        n,
        minima,
        energy,
        barrier,
    }
}

/// A 2-D landscape on a fine grid: the minimax barrier between any two points, up to the
/// grid's resolution (4-neighbour paths between the nearest grid points).
pub struct Grid2 {
    pub lo: [f64; 2],
    pub hi: [f64; 2],
    pub n: usize,
    pub energy: Vec<f64>,
}

impl Grid2 {
    /// Evaluates `e` (2-D) on an `n x n` grid over the box, in one batched call.
    pub fn new(e: &dyn telescope::energy::Energy, lo: [f64; 2], hi: [f64; 2], n: usize) -> Grid2 {
        let mut pts = Vec::with_capacity(2 * n * n);
        for i in 0..n {
            for j in 0..n {
                pts.push(lo[0] + (hi[0] - lo[0]) * i as f64 / (n - 1) as f64);
                pts.push(lo[1] + (hi[1] - lo[1]) * j as f64 / (n - 1) as f64);
            }
        }
        let x = telescope::tensor::from_vec(&pts, &[(n * n) as i64, 2]).unwrap();
        let energy = telescope::energy::energies_f64(e, &x).unwrap();
        Grid2 { lo, hi, n, energy }
    }
    /// The grid vertex nearest a point.
    pub fn vertex(&self, p: [f64; 2]) -> usize {
        let at = |k: usize| {
            let t = (p[k] - self.lo[k]) / (self.hi[k] - self.lo[k]) * (self.n - 1) as f64;
            (t.round().max(0.0) as usize).min(self.n - 1)
        };
        at(0) * self.n + at(1)
    }
    /// Minimax barriers between the points.
    pub fn minimax(&self, points: &[[f64; 2]]) -> Vec<Vec<f64>> {
        let n = self.n;
        let sources: Vec<usize> = points.iter().map(|&p| self.vertex(p)).collect();
        minimax_on_graph(
            &self.energy,
            |v| {
                let (i, j) = (v / n, v % n);
                let mut out = Vec::with_capacity(4);
                if i > 0 {
                    out.push(v - n);
                }
                if i + 1 < n {
                    out.push(v + n);
                }
                if j > 0 {
                    out.push(v - 1);
                }
                if j + 1 < n {
                    out.push(v + 1);
                }
                out
            },
            &sources,
        )
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

/// How far estimates lie above the truth: count, sum and maximum of (estimate - truth).
#[derive(Default, Debug, Clone, Copy)]
pub struct Excess {
    pub n: usize,
    pub sum: f64,
    pub max: f64,
}

impl Excess {
    /// Records one estimate.
    pub fn add(&mut self, estimate: f64, truth: f64) {
        self.n += 1;
        self.sum += estimate - truth;
        self.max = self.max.max(estimate - truth);
    }
    /// Adds another tally to this one.
    pub fn merge(&mut self, other: &Excess) {
        self.n += other.n;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }
    /// `N pairs, excess mean M max X`.
    pub fn summary(&self) -> String {
        format!(
            "{} pairs, excess mean {:.5} max {:.5}",
            self.n,
            self.sum / self.n.max(1) as f64,
            self.max
        )
    }
}

/// What a map scored against the truth: its stored barriers and its DG levels.
#[derive(Default, Debug)]
pub struct Fidelity {
    /// Stored barriers against the minimax between the two representatives.
    pub barriers: Excess,
    /// DG merge levels of every pair of groups against the true single-linkage level.
    pub dg: Excess,
    /// Of the 6 lowest exact minima, how many the map found (spin maps).
    pub lowest6_found: usize,
    pub lowest6: usize,
}

impl Fidelity {
    /// Adds another map's figures.
    pub fn merge(&mut self, other: &Fidelity) {
        self.barriers.merge(&other.barriers);
        self.dg.merge(&other.dg);
        self.lowest6_found += other.lowest6_found;
        self.lowest6 += other.lowest6;
    }
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
                    fid.barriers.add(b, exact_b);
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
                let exact_level = truth.barrier[reps[i]][reps[j]];
                assert!(
                    level[i][j] >= exact_level - tol,
                    "{what}: DG joins groups {i} and {j} at {} below the exact {exact_level}",
                    level[i][j]
                );
                if i < j {
                    fid.dg.add(level[i][j], exact_level);
                }
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

/// Minimax barriers between any list of states (the truth a continuous map is checked on).
pub type Minimax<'a> = &'a dyn Fn(&[Vec<f64>]) -> Vec<Vec<f64>>;

/// The hard rules for a finished map of a continuous landscape whose minimax barriers between
/// any states are known (`minimax` over a list of states): representatives are stationary,
/// no stored barrier, DG merge or consolidation merge is below the truth by more than `tol`
/// (the resolution of the truth and of the sampler's path), and the DG is one tree.
pub fn check_continuous_map(
    map: &LandscapeMap,
    e: &dyn telescope::energy::Energy,
    minimax: Minimax,
    tol: f64,
    what: &str,
) -> Fidelity {
    let g = map.groups.len();
    let reps: Vec<Vec<f64>> = map.groups.iter().map(|g| g.state.clone()).collect();
    let d = reps[0].len() as i64;
    let flat: Vec<f64> = reps.concat();
    let grad = e
        .grad(&telescope::tensor::from_vec(&flat, &[g as i64, d]).unwrap())
        .unwrap();
    for (i, row) in telescope::tensor::to_matrix(&grad)
        .unwrap()
        .iter()
        .enumerate()
    {
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!(
            norm < 1e-3,
            "{what}: representative {i} is not stationary (|grad| {norm})"
        );
    }
    let truth = minimax(&reps);
    let mut fid = Fidelity::default();
    for i in 0..g {
        for j in 0..g {
            if let (Some(b), true) = (map.barriers[i][j], i != j) {
                assert!(
                    b >= truth[i][j] - tol,
                    "{what}: stored barrier {b} ({:?}) between groups {i} and {j} is below the true minimax {}",
                    map.barrier_kinds[i][j],
                    truth[i][j]
                );
                if i < j {
                    fid.barriers.add(b, truth[i][j]);
                }
            }
        }
    }
    let dg = Dg::from_map(map, &DgOptions::default()).unwrap();
    assert_eq!(dg.roots.len(), 1, "{what}: the DG is not one tree");
    let level = dg_pair_levels(&dg);
    for i in 0..g {
        for j in 0..g {
            if i != j {
                assert!(
                    level[i][j] >= truth[i][j] - tol,
                    "{what}: DG joins groups {i} and {j} at {} below the true {}",
                    level[i][j],
                    truth[i][j]
                );
                if i < j {
                    fid.dg.add(level[i][j], truth[i][j]);
                }
            }
        }
    }
    for r in &map.merges {
        let pair = [
            map.minima[r.kept].state.clone(),
            map.minima[r.merged].state.clone(),
        ];
        let t = minimax(&pair);
        assert!(
            r.barrier >= t[0][1] - tol,
            "{what}: a merge at {} is below the true minimax {} of its representatives",
            r.barrier,
            t[0][1]
        );
    }
    fid
}

/// The integers of a script array (as a script returns them), in its order.
pub fn script_ints(v: &rhai::Dynamic) -> Vec<i64> {
    v.clone()
        .into_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_int().expect("an integer"))
        .collect()
}

/// libtorch has one global RNG and the session dtype is process-wide, so the tests of a file
/// take turns: the guard of this file's turn, with one libtorch thread and float64.
pub fn serial_f64() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    telescope::tensor::set_dtype(tch::Kind::Double).unwrap();
    guard
}

/// Random mapping settings for an n-spin glass: the hard rules must hold for all of them.
pub fn random_spin_options(rng: &mut impl rand::Rng, n: usize, seed: u64) -> AdelmOptions {
    let iters = rng.random_range(120..=300);
    let temperature = [0.02, 0.05, 0.1][rng.random_range(0..3)] / n as f64;
    AdelmOptions {
        ad: gibbs_ad(temperature, 10f64.powf(rng.random_range(-1.5..0.3))),
        iters,
        burn_in: [0, 40, iters][rng.random_range(0..3)],
        consolidate_every: [0, 50, 100][rng.random_range(0..3)],
        max_checks: [3, 12, 20][rng.random_range(0..3)],
        batch: [1, 7, 32][rng.random_range(0..3)],
        seed,
        same_tol: 0.0,
        ..Default::default()
    }
}
