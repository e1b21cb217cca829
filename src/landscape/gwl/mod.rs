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

mod finish;
mod walk;

use super::map::LandscapeMap;
use crate::energy::{Energy, SpinModel};
use crate::{
    error::{invalid, WithPath},
    tensor_io, Result,
};
use finish::finish;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;
use walk::{ChainParams, ChainState, Walk};

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
    /// Receives a progress line about once a second; not stored with the map.
    #[serde(skip)]
    pub progress: crate::progress::Progress,
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
            progress: crate::progress::Progress::silent(),
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
pub(super) const BLOCK_STREAM: u64 = 0x6a1_b10c;
const START_STREAM: u64 = 0x6a1_57a7;

/// The longest block (Ctrl-C is seen between blocks).
const MAX_BLOCK: usize = 10_000_000;
/// Greedy paths join every pair of the lowest this many kept minima (K² / 2 paths; more would
/// take hours).
pub const MAX_GREEDY_K: usize = 2_000;

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
    let text = std::fs::read_to_string(&path).with_path(&path)?;
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
        if opts.progress.is_on() && last_report.elapsed().as_secs_f64() > 1.0 {
            last_report = Instant::now();
            let kept = walk.kept();
            let top = kept
                .last()
                .map(|&b| walk.basins[b as usize].energy)
                .unwrap_or(f64::NAN);
            opts.progress.line(&format!(
                "gwl: step {}/{}  basins {}  lowest {} up to {:.4}  unchanged since {}  acceptance {:.2}  {:.0} steps/s",
                walk.step,
                opts.iters,
                walk.basins.len(),
                kept.len(),
                top,
                walk.lowest_changed_at,
                walk.accepted as f64 / walk.step.max(1) as f64,
                (walk.step as f64) / elapsed(&started).max(1e-9)
            ));
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
