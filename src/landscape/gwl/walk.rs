//! The GWL chain: its cells, basins, crossings, the K lowest minima, and its state at a block
//! boundary (the checkpoint).

use super::super::union_find::UnionFind;
use super::BLOCK_STREAM;
use crate::energy::SpinModel;
use serde::{Deserialize, Serialize};
use std::collections::{BinaryHeap, HashMap};

pub(super) type Key = Box<[u64]>;

pub(super) fn pack(s: &[f64]) -> Key {
    let mut k = Vec::new();
    pack_into(s, &mut k);
    k.into_boxed_slice()
}

/// Packs ±1 spins into bits (spin i set: +1), reusing `out`'s allocation.
fn pack_into(s: &[f64], out: &mut Vec<u64>) {
    out.clear();
    out.resize(s.len().div_ceil(64), 0);
    for (i, &v) in s.iter().enumerate() {
        if v > 0.0 {
            out[i / 64] |= 1 << (i % 64);
        }
    }
}

pub(super) fn unpack(k: &[u64], n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            if k[i / 64] >> (i % 64) & 1 == 1 {
                1.0
            } else {
                -1.0
            }
        })
        .collect()
}

/// A basin met by the chain: its minimum, the minimum's energy, visits and first step.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(super) struct Basin {
    pub(super) key: Vec<u64>,
    pub(super) energy: f64,
    pub(super) visits: u64,
    pub(super) found_at: usize,
}

/// The lowest known crossing between basins `a < b`: `x` in `a` and `y` in `b`, one flip apart.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(super) struct Crossing {
    pub(super) a: u32,
    pub(super) b: u32,
    pub(super) level: f64,
    pub(super) x: Vec<u64>,
    pub(super) y: Vec<u64>,
}

/// Everything needed to continue the chain at a block boundary (the checkpoint).
#[derive(Serialize, Deserialize)]
pub(super) struct ChainState {
    pub(super) version: String,
    pub(super) energy: serde_json::Value,
    /// The options that shape the chain; a resume must pass the same.
    pub(super) chain: ChainParams,
    pub(super) step: usize,
    pub(super) state: Vec<u64>,
    /// The chain's energy and local fields as carried (incrementally updated) between block
    /// starts, so the resumed chain sees the very same numbers.
    pub(super) u: f64,
    pub(super) fields: Vec<f64>,
    pub(super) basins: Vec<Basin>,
    /// `(basin * bins + bin, visits)`, sorted.
    pub(super) cells: Vec<(u64, u64)>,
    pub(super) crossings: Vec<Crossing>,
    pub(super) accepted: u64,
    pub(super) lowest_changed_at: usize,
    pub(super) seconds: f64,
}

/// The options that determine the chain's path.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(super) struct ChainParams {
    pub(super) emin: f64,
    pub(super) emax: f64,
    pub(super) bins: usize,
    pub(super) gamma: f64,
    pub(super) temperature: Option<f64>,
    pub(super) block: usize,
    pub(super) seed: u64,
}

/// Energies in total order, for the heap of the K lowest minima.
#[derive(Clone, Copy, PartialEq)]
pub(super) struct Level(f64, u32);
impl Eq for Level {}
impl PartialOrd for Level {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Level {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0).then(self.1.cmp(&o.1))
    }
}

/// The running chain.
pub(super) struct Walk<'a> {
    model: &'a SpinModel,
    pub(super) p: ChainParams,
    k: usize,
    s: Vec<f64>,
    fields: Vec<f64>,
    u: f64,
    basin: u32,
    pub(super) basins: Vec<Basin>,
    index: HashMap<Key, u32>,
    pub(super) cells: HashMap<u64, u64>,
    pub(super) crossings: HashMap<(u32, u32), Crossing>,
    /// The K lowest basins so far, highest on top.
    lowest: BinaryHeap<Level>,
    pub(super) step: usize,
    pub(super) accepted: u64,
    pub(super) lowest_changed_at: usize,
    scratch_s: Vec<f64>,
    scratch_f: Vec<f64>,
    /// The bits of the scratch state's minimum (reused every step: no allocation per proposal).
    scratch_key: Vec<u64>,
}

impl<'a> Walk<'a> {
    pub(super) fn new(model: &'a SpinModel, p: ChainParams, k: usize, start: &[f64]) -> Walk<'a> {
        let mut w = Walk {
            model,
            p,
            k,
            s: start.to_vec(),
            fields: model.local_fields(start),
            u: model.energy_of(start),
            basin: 0,
            basins: vec![],
            index: HashMap::new(),
            cells: HashMap::new(),
            crossings: HashMap::new(),
            lowest: BinaryHeap::new(),
            step: 0,
            accepted: 0,
            lowest_changed_at: 0,
            scratch_s: start.to_vec(),
            scratch_f: vec![0.0; start.len()],
            scratch_key: Vec::new(),
        };
        w.scratch_f.copy_from_slice(&w.fields);
        let b = w.basin_of_scratch();
        w.basin = b;
        w
    }

    pub(super) fn from_state(model: &'a SpinModel, st: ChainState, k: usize) -> Walk<'a> {
        let n = model.n();
        let s = unpack(&st.state, n);
        let mut w = Walk::new(model, st.chain, k, &s);
        w.basins.clear();
        w.index.clear();
        w.lowest.clear();
        for (i, b) in st.basins.into_iter().enumerate() {
            w.index.insert(b.key.clone().into_boxed_slice(), i as u32);
            w.push_lowest(Level(b.energy, i as u32));
            w.basins.push(b);
        }
        w.cells = st.cells.into_iter().collect();
        w.crossings = st.crossings.into_iter().map(|c| ((c.a, c.b), c)).collect();
        w.step = st.step;
        w.u = st.u;
        w.fields = st.fields;
        w.accepted = st.accepted;
        w.lowest_changed_at = st.lowest_changed_at;
        w.scratch_f.copy_from_slice(&w.fields);
        w.scratch_s.copy_from_slice(&w.s);
        w.basin = w.basin_of_scratch();
        w
    }

    pub(super) fn state(&self, energy: serde_json::Value, seconds: f64) -> ChainState {
        let mut cells: Vec<(u64, u64)> = self.cells.iter().map(|(&c, &v)| (c, v)).collect();
        cells.sort_unstable();
        let mut crossings: Vec<Crossing> = self.crossings.values().cloned().collect();
        crossings.sort_by_key(|c| (c.a, c.b));
        ChainState {
            version: crate::version().to_string(),
            energy,
            chain: self.p.clone(),
            step: self.step,
            state: pack(&self.s).into_vec(),
            u: self.u,
            fields: self.fields.clone(),
            basins: self.basins.clone(),
            cells,
            crossings,
            accepted: self.accepted,
            lowest_changed_at: self.lowest_changed_at,
            seconds,
        }
    }

    /// Keeps the heap of the K lowest; true when `l` entered it.
    fn push_lowest(&mut self, l: Level) -> bool {
        if self.lowest.len() < self.k {
            self.lowest.push(l);
            return true;
        }
        match self.lowest.peek() {
            Some(top) if l < *top => {
                self.lowest.pop();
                self.lowest.push(l);
                true
            }
            _ => false,
        }
    }

    /// Descends the scratch state and returns its basin (created when new).
    fn basin_of_scratch(&mut self) -> u32 {
        self.model
            .steepest_descent(&mut self.scratch_s, &mut self.scratch_f);
        pack_into(&self.scratch_s, &mut self.scratch_key);
        if let Some(&b) = self.index.get(self.scratch_key.as_slice()) {
            return b;
        }
        let id = self.basins.len() as u32;
        let energy = self.model.energy_of(&self.scratch_s);
        self.basins.push(Basin {
            key: self.scratch_key.clone(),
            energy,
            visits: 0,
            found_at: self.step,
        });
        self.index
            .insert(self.scratch_key.clone().into_boxed_slice(), id);
        if self.push_lowest(Level(energy, id)) {
            self.lowest_changed_at = self.step;
        }
        id
    }

    fn bin(&self, u: f64) -> u64 {
        let f = (u - self.p.emin) / (self.p.emax - self.p.emin);
        ((f * self.p.bins as f64).floor().max(0.0) as u64).min(self.p.bins as u64 - 1)
    }

    fn cell(&self, basin: u32, u: f64) -> u64 {
        basin as u64 * self.p.bins as u64 + self.bin(u)
    }

    fn record_crossing(&mut self, a: u32, b: u32, level: f64, i: usize) {
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        if self
            .crossings
            .get(&(lo, hi))
            .is_some_and(|c| c.level <= level)
        {
            return;
        }
        let x = pack(&self.s).into_vec();
        self.s[i] = -self.s[i];
        let y = pack(&self.s).into_vec();
        self.s[i] = -self.s[i];
        let (x, y) = if a < b { (x, y) } else { (y, x) };
        self.crossings.insert(
            (lo, hi),
            Crossing {
                a: lo,
                b: hi,
                level,
                x,
                y,
            },
        );
    }

    /// Runs `steps` proposals. Each step draws its site and its acceptance number from its own
    /// index (a counter-based stream), so the chain is the same however it is cut into runs.
    pub(super) fn run_block(&mut self, steps: usize) {
        let n = self.model.n() as u64;
        let stream = self.p.seed ^ BLOCK_STREAM;
        // Exact energy and fields at each whole block: no drift from summed flip changes.
        if self.step.is_multiple_of(self.p.block) {
            self.u = self.model.energy_of(&self.s);
            self.fields = self.model.local_fields(&self.s);
        }
        for _ in 0..steps {
            let draw = crate::tensor::next_seed_for(stream, self.step as u64);
            let i = (((draw >> 32) * n) >> 32) as usize;
            // 53 random bits in (0, 1].
            let uniform = ((crate::tensor::splitmix(draw) >> 11) + 1) as f64 / (1u64 << 53) as f64;
            let du = self.model.flip_delta(&self.s, &self.fields, i);
            let u_new = self.u + du;
            if u_new <= self.p.emax {
                self.scratch_s.copy_from_slice(&self.s);
                self.scratch_f.copy_from_slice(&self.fields);
                self.model.flip(&mut self.scratch_s, &mut self.scratch_f, i);
                let b = self.basin_of_scratch();
                if b != self.basin {
                    self.record_crossing(self.basin, b, self.u.max(u_new), i);
                }
                let here = self.cells.get(&self.cell(self.basin, self.u)).copied();
                let there = self.cells.get(&self.cell(b, u_new)).copied();
                let mut log_a =
                    self.p.gamma * (here.unwrap_or(0) as f64 - there.unwrap_or(0) as f64);
                if let Some(t) = self.p.temperature {
                    log_a -= du / t;
                }
                let accept = log_a >= 0.0 || uniform.ln() < log_a;
                if accept {
                    self.model.flip(&mut self.s, &mut self.fields, i);
                    self.u = u_new;
                    self.basin = b;
                    self.accepted += 1;
                }
            }
            let c = self.cell(self.basin, self.u);
            *self.cells.entry(c).or_insert(0) += 1;
            self.basins[self.basin as usize].visits += 1;
            self.step += 1;
        }
    }

    /// Drops every crossing outside the minimum spanning forest of the crossing graph: those
    /// can never carry a minimax barrier, however the chain goes on.
    /// Unless `always`, only when they outnumber the basins well: the forest is unique (ties
    /// broken by basin ids), so when pruning happens does not change the result.
    pub(super) fn prune_crossings(&mut self, always: bool) {
        if !always && self.crossings.len() <= 2 * self.basins.len() + 1024 {
            return;
        }
        let mut all: Vec<Crossing> = self.crossings.drain().map(|(_, c)| c).collect();
        sort_crossings(&mut all);
        let mut uf = UnionFind::new(self.basins.len());
        self.crossings = all
            .into_iter()
            .filter(|c| uf.union(c.a as usize, c.b as usize))
            .map(|c| ((c.a, c.b), c))
            .collect();
    }

    /// The K lowest basins, lowest first.
    pub(super) fn kept(&self) -> Vec<u32> {
        let mut v: Vec<Level> = self.lowest.iter().copied().collect();
        v.sort();
        v.into_iter().map(|l| l.1).collect()
    }
}

pub(super) fn sort_crossings(c: &mut [Crossing]) {
    c.sort_by(|x, y| {
        x.level
            .total_cmp(&y.level)
            .then((x.a, x.b).cmp(&(y.a, y.b)))
    });
}
