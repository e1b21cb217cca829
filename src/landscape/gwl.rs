//! Generalized Wang-Landau mapping of a spin landscape (section 2.6, eq. 2.15; Zhou 2011), the
//! baseline that section 5.1 judges ADELM against.
//!
//! One Metropolis chain of single spin flips lives below the energy cutoff `emax`. The state
//! space is cut into cells (basin, energy bin): the basin of a state is the minimum its
//! steepest single-flip descent reaches, its bin one of `bins` equal slices of `[emin, emax]`.
//! A proposal from `S` to `S*` is accepted with eq. 2.15,
//! `min(1, P(S*)/P(S) · exp(γ (N_φ(S) − N_φ(S*))))`, where `N` counts the chain's visits to each
//! cell and `P ∝ exp(−U/T)` (uniform when `T` is absent): repeated visits are penalized, so the
//! chain climbs out of the basins it knows and finds new ones.
//!
//! Every proposal whose two states lie in different basins is a crossing: the path
//! `min_a ← S → S* → min_b` (descents are monotone) has maximum `max(U(S), U(S*))`, an upper
//! bound of the minimax barrier. The lowest crossing per pair of basins is kept (only a
//! minimum spanning forest of them, which holds every minimax). At the end the crossings on
//! the tree joining the `K` lowest minima are lowered by ridge descent (the same spin flipped
//! in both states while each stays in its basin), greedy paths (section 5.1) join every pair
//! of kept minima, and each barrier of the map is the minimax over all of these paths: never
//! below the exact barrier, and the lower of the two methods, as in the paper.
//!
//! Each step draws its random numbers from its own index, and the chain stops (Ctrl-C) and
//! checkpoints only between blocks of `block` steps with its full state, so a run resumed from
//! a checkpoint or an interruption equals the uninterrupted run with the same seed.

use super::map::{BarrierKind, Group, LandscapeMap, MapStats, MinimumRecord};
use super::union_find::UnionFind;
use crate::energy::{Energy, SpinModel};
use crate::{error::invalid, tensor_io, Result};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BinaryHeap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Options of a GWL mapping.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GwlOptions {
    /// How many of the lowest minima the map keeps (the paper: 500).
    #[serde(rename = "K")]
    pub k: usize,
    /// Lower end of the binned energy range (energies below fall in the first bin); `None`:
    /// the lowest energy of 64 random descents.
    pub emin: Option<f64>,
    /// The energy cutoff: the chain never goes above it (the paper: −0.35 per spin).
    pub emax: f64,
    /// Energy bins per basin.
    pub bins: usize,
    /// Visit penalty γ of eq. 2.15.
    pub gamma: f64,
    /// Temperature of the target `P ∝ exp(−U/T)`; `None`: uniform below the cutoff.
    #[serde(rename = "T")]
    pub temperature: Option<f64>,
    /// Chain steps (single-flip proposals) in all.
    pub iters: usize,
    /// Steps per block: the unit of checkpoints and Ctrl-C.
    pub block: usize,
    /// Seed of the run.
    pub seed: u64,
    /// Lower the crossings on the tree of the kept minima by ridge descent.
    pub ridge: bool,
    /// Join every pair of kept minima by a greedy path too (section 5.1's second method; the
    /// lowest [`MAX_GREEDY_K`] of them when more are kept).
    pub greedy: bool,
    /// Write the chain state to `<checkpoint>.state` every `checkpoint_every` steps, and the
    /// map to `checkpoint` at the end.
    pub checkpoint: Option<PathBuf>,
    /// Checkpoint period in steps (rounded up to whole blocks).
    pub checkpoint_every: usize,
    /// Print progress to stderr.
    pub progress: bool,
}

impl Default for GwlOptions {
    fn default() -> Self {
        GwlOptions {
            k: 500,
            emin: None,
            emax: f64::NAN,
            bins: 20,
            gamma: 0.01,
            temperature: None,
            iters: 1_000_000,
            block: 10_000,
            seed: 0,
            ridge: true,
            greedy: true,
            checkpoint: None,
            checkpoint_every: 1_000_000,
            progress: false,
        }
    }
}

/// The path of the chain-state file beside a checkpoint.
pub fn state_path(checkpoint: &Path) -> PathBuf {
    let mut p = checkpoint.as_os_str().to_owned();
    p.push(".state");
    PathBuf::from(p)
}

/// Random streams of the chain's steps and of the start search.
const BLOCK_STREAM: u64 = 0x6a1_b10c;
const START_STREAM: u64 = 0x6a1_57a7;

/// The longest block (Ctrl-C is seen between blocks).
const MAX_BLOCK: usize = 10_000_000;
/// Greedy paths join every pair of the lowest this many kept minima (K² / 2 paths; more would
/// take hours).
pub const MAX_GREEDY_K: usize = 2_000;

type Key = Box<[u64]>;

fn pack(s: &[f64]) -> Key {
    let mut k = vec![0u64; s.len().div_ceil(64)];
    for (i, &v) in s.iter().enumerate() {
        if v > 0.0 {
            k[i / 64] |= 1 << (i % 64);
        }
    }
    k.into_boxed_slice()
}

fn unpack(k: &[u64], n: usize) -> Vec<f64> {
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
struct Basin {
    key: Vec<u64>,
    energy: f64,
    visits: u64,
    found_at: usize,
}

/// The lowest known crossing between basins `a < b`: `x` in `a` and `y` in `b`, one flip apart.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct Crossing {
    a: u32,
    b: u32,
    level: f64,
    x: Vec<u64>,
    y: Vec<u64>,
}

/// Everything needed to continue the chain at a block boundary (the checkpoint).
#[derive(Serialize, Deserialize)]
struct ChainState {
    version: String,
    energy: serde_json::Value,
    /// The options that shape the chain; a resume must pass the same.
    chain: ChainParams,
    step: usize,
    state: Vec<u64>,
    /// The chain's energy and local fields as carried (incrementally updated) between block
    /// starts, so the resumed chain sees the very same numbers.
    u: f64,
    fields: Vec<f64>,
    basins: Vec<Basin>,
    /// `(basin * bins + bin, visits)`, sorted.
    cells: Vec<(u64, u64)>,
    crossings: Vec<Crossing>,
    accepted: u64,
    lowest_changed_at: usize,
    seconds: f64,
}

/// The options that determine the chain's path.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct ChainParams {
    emin: f64,
    emax: f64,
    bins: usize,
    gamma: f64,
    temperature: Option<f64>,
    block: usize,
    seed: u64,
}

/// Energies in total order, for the heap of the K lowest minima.
#[derive(Clone, Copy, PartialEq)]
struct Level(f64, u32);
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
struct Walk<'a> {
    model: &'a SpinModel,
    p: ChainParams,
    k: usize,
    s: Vec<f64>,
    fields: Vec<f64>,
    u: f64,
    basin: u32,
    basins: Vec<Basin>,
    index: HashMap<Key, u32>,
    cells: HashMap<u64, u64>,
    crossings: HashMap<(u32, u32), Crossing>,
    /// The K lowest basins so far, highest on top.
    lowest: BinaryHeap<Level>,
    step: usize,
    accepted: u64,
    lowest_changed_at: usize,
    scratch_s: Vec<f64>,
    scratch_f: Vec<f64>,
}

impl<'a> Walk<'a> {
    fn new(model: &'a SpinModel, p: ChainParams, k: usize, start: &[f64]) -> Walk<'a> {
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
        };
        w.scratch_f.copy_from_slice(&w.fields);
        let (b, _) = w.basin_of_scratch();
        w.basin = b;
        w
    }

    fn from_state(model: &'a SpinModel, st: ChainState, k: usize) -> Walk<'a> {
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
        w.basin = w.basin_of_scratch().0;
        w
    }

    fn state(&self, energy: serde_json::Value, seconds: f64) -> ChainState {
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

    /// Descends the scratch state and returns its basin (created when new) and whether new.
    fn basin_of_scratch(&mut self) -> (u32, bool) {
        self.model
            .steepest_descent(&mut self.scratch_s, &mut self.scratch_f);
        let key = pack(&self.scratch_s);
        if let Some(&b) = self.index.get(&key) {
            return (b, false);
        }
        let id = self.basins.len() as u32;
        let energy = self.model.energy_of(&self.scratch_s);
        self.basins.push(Basin {
            key: key.to_vec(),
            energy,
            visits: 0,
            found_at: self.step,
        });
        self.index.insert(key, id);
        if self.push_lowest(Level(energy, id)) {
            self.lowest_changed_at = self.step;
        }
        (id, true)
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
    fn run_block(&mut self, steps: usize) {
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
                let (b, _) = self.basin_of_scratch();
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
    fn prune_crossings(&mut self, always: bool) {
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
    fn kept(&self) -> Vec<u32> {
        let mut v: Vec<Level> = self.lowest.iter().copied().collect();
        v.sort();
        v.into_iter().map(|l| l.1).collect()
    }
}

fn sort_crossings(c: &mut [Crossing]) {
    c.sort_by(|x, y| {
        x.level
            .total_cmp(&y.level)
            .then((x.a, x.b).cmp(&(y.a, y.b)))
    });
}

/// Ridge descent of one crossing (Zhou 2011): flip the same spin in both states when that
/// lowers the higher of their energies and each state still descends to its own minimum.
/// Returns the lowered level.
fn ridge_descent(model: &SpinModel, c: &Crossing, key_a: &[u64], key_b: &[u64]) -> f64 {
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

/// Checks the options and the energy; returns the spin model.
fn spin_model_of<'a>(e: &'a dyn Energy, opts: &GwlOptions) -> Result<&'a SpinModel> {
    let model = e.spin_model().ok_or_else(|| {
        invalid(format!(
            "gwl maps spin energies (sk, ising, sk_load); {} is not one",
            e.name()
        ))
    })?;
    if !opts.emax.is_finite() {
        return Err(invalid(
            "gwl needs the energy cutoff emax (the paper: emax: -0.35 for sk(100, seed))",
        ));
    }
    if opts.k == 0 || opts.bins == 0 || opts.block == 0 {
        return Err(invalid("gwl: K, bins and block must be at least 1"));
    }
    if opts.block > MAX_BLOCK {
        return Err(invalid(format!(
            "gwl: block {} is too long to stop on Ctrl-C in good time; at most {MAX_BLOCK}",
            opts.block
        )));
    }
    if !(opts.gamma >= 0.0 && opts.gamma.is_finite()) {
        return Err(invalid("gwl: gamma must be a finite number >= 0"));
    }
    if let Some(t) = opts.temperature {
        if !(t > 0.0 && t.is_finite()) {
            return Err(invalid("gwl: T must be positive"));
        }
    }
    if let Some(lo) = opts.emin {
        if !(lo < opts.emax) {
            return Err(invalid(format!(
                "gwl: emin ({lo}) must be below emax ({})",
                opts.emax
            )));
        }
    }
    Ok(model)
}

/// The start of a new chain: the lowest of 64 random descents (seeded), and the default emin.
fn start_state(model: &SpinModel, seed: u64) -> (Vec<f64>, f64) {
    let n = model.n();
    let mut rng =
        rand::rngs::StdRng::seed_from_u64(crate::tensor::next_seed_for(seed ^ START_STREAM, 0));
    let mut best: Option<(Vec<f64>, f64)> = None;
    for _ in 0..64 {
        let mut s: Vec<f64> = (0..n)
            .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
            .collect();
        let mut f = model.local_fields(&s);
        model.steepest_descent(&mut s, &mut f);
        let u = model.energy_of(&s);
        if best.as_ref().is_none_or(|b| u < b.1) {
            best = Some((s, u));
        }
    }
    best.expect("64 descents")
}

/// Maps a spin energy with GWL from a fresh chain.
pub fn gwl(e: &dyn Energy, opts: &GwlOptions) -> Result<LandscapeMap> {
    let model = spin_model_of(e, opts)?;
    let (start, u0) = start_state(model, opts.seed);
    if u0 > opts.emax {
        return Err(invalid(format!(
            "gwl: the lowest of 64 random descents has energy {u0:.6}, above emax {}; raise emax",
            opts.emax
        )));
    }
    let emin = opts.emin.unwrap_or(u0);
    let emin = if emin < opts.emax {
        emin
    } else {
        opts.emax - 1.0
    };
    let p = ChainParams {
        emin,
        emax: opts.emax,
        bins: opts.bins,
        gamma: opts.gamma,
        temperature: opts.temperature,
        block: opts.block,
        seed: opts.seed,
    };
    let walk = Walk::new(model, p, opts.k, &start);
    run(e, model, walk, opts, 0.0)
}

/// Continues the GWL chain saved beside `checkpoint` (its `.state` file) up to `opts.iters`
/// steps; the options that shape the chain must be those it was started with.
pub fn gwl_resume(e: &dyn Energy, checkpoint: &Path, opts: &GwlOptions) -> Result<LandscapeMap> {
    let model = spin_model_of(e, opts)?;
    let path = state_path(checkpoint);
    let text = std::fs::read_to_string(&path)
        .map_err(|err| crate::Error::Io(format!("{}: {err}", path.display())))?;
    let st: ChainState = serde_json::from_str(&text)
        .map_err(|err| invalid(format!("{}: not a gwl chain state: {err}", path.display())))?;
    if st.energy != e.describe() {
        return Err(invalid(format!(
            "{}: the chain maps {}, not this energy",
            path.display(),
            st.energy
        )));
    }
    let want = (
        opts.emax,
        opts.bins,
        opts.gamma,
        opts.temperature,
        opts.block,
        opts.seed,
    );
    let c = &st.chain;
    let have = (c.emax, c.bins, c.gamma, c.temperature, c.block, c.seed);
    if want != have || opts.emin.is_some_and(|lo| lo != c.emin) {
        return Err(invalid(format!(
            "{}: the chain was started with emax {}, emin {}, bins {}, gamma {}, T {:?}, block {}, seed {}; resume with the same",
            path.display(), c.emax, c.emin, c.bins, c.gamma, c.temperature, c.block, c.seed
        )));
    }
    if st.fields.len() != model.n()
        || st
            .basins
            .iter()
            .any(|b| b.key.len() != model.n().div_ceil(64))
    {
        return Err(invalid(format!(
            "{}: states of another size",
            path.display()
        )));
    }
    let seconds = st.seconds;
    let walk = Walk::from_state(model, st, opts.k);
    run(e, model, walk, opts, seconds)
}

fn run(
    e: &dyn Energy,
    model: &SpinModel,
    mut walk: Walk,
    opts: &GwlOptions,
    seconds_before: f64,
) -> Result<LandscapeMap> {
    let started = Instant::now();
    let mut last_report = Instant::now();
    let mut last_checkpoint = walk.step;
    let mut interrupted = false;
    let elapsed = |started: &Instant| seconds_before + started.elapsed().as_secs_f64();
    while walk.step < opts.iters {
        if crate::interrupt::requested() {
            interrupted = true;
            break;
        }
        let steps = (opts.block - walk.step % opts.block).min(opts.iters - walk.step);
        walk.run_block(steps);
        walk.prune_crossings(false);
        if let Some(path) = &opts.checkpoint {
            if walk.step - last_checkpoint >= opts.checkpoint_every.max(1) {
                last_checkpoint = walk.step;
                save_state(&walk, e, path, elapsed(&started))?;
            }
        }
        if opts.progress && last_report.elapsed().as_secs_f64() > 1.0 {
            last_report = Instant::now();
            let kept = walk.kept();
            let top = kept
                .last()
                .map(|&b| walk.basins[b as usize].energy)
                .unwrap_or(f64::NAN);
            eprintln!(
                "gwl: step {}/{}  basins {}  lowest {} up to {:.4}  unchanged since {}  acceptance {:.2}  {:.0} steps/s",
                walk.step,
                opts.iters,
                walk.basins.len(),
                kept.len(),
                top,
                walk.lowest_changed_at,
                walk.accepted as f64 / walk.step.max(1) as f64,
                (walk.step as f64) / elapsed(&started).max(1e-9)
            );
        }
    }
    walk.prune_crossings(true);
    if let Some(path) = &opts.checkpoint {
        save_state(&walk, e, path, elapsed(&started))?;
    }
    let mut map = finish(e, model, &walk, opts, interrupted)?;
    map.stats.seconds = elapsed(&started);
    if let Some(path) = &opts.checkpoint {
        map.save(path)?;
    }
    Ok(map)
}

fn save_state(walk: &Walk, e: &dyn Energy, path: &Path, seconds: f64) -> Result<()> {
    let text = serde_json::to_string(&walk.state(e.describe(), seconds))?;
    tensor_io::write_atomic(&state_path(path), text.as_bytes())
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
fn finish(
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
    map.stats = MapStats::default();
    Ok(map)
}
