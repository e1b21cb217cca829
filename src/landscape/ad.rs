//! Attraction-Diffusion trials (paper section 3, Algorithm 3 step 3a), batched: many trials,
//! each with its own start, target and magnetization, run as one batch with per-trial stop
//! rules; finished trials leave the batch.

use crate::energy::{Energy, EnergyRef, Magnetized, Space, SpinChain, SpinModel};
use crate::sampler::{self, Chains, SamplerKind, SamplerSpec};
use crate::{error::invalid, tensor, Result};
use tch::Tensor;

pub use super::delta::{
    auto_deltas, auto_deltas_cached, Delta, DeltaCache, AUTO_DELTA_BLOCK, AUTO_DELTA_CHAINS,
    AUTO_DELTA_MAX_BLOCKS,
};

/// Parameters of an AD trial.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct AdOptions {
    /// Temperature T of the magnetized density.
    pub temperature: f64,
    /// Magnetization strength alpha (per-trial strengths are given to [`ad_trials`] directly).
    pub alpha: f64,
    /// Success when the distance to the target is at most delta (a number, or `auto`).
    pub delta: Delta,
    /// Failure after this many consecutive steps without improving the best distance (M).
    pub improvement_limit: usize,
    /// Hard cap on steps per trial.
    pub max_steps: usize,
    /// The local sampler.
    pub sampler: SamplerSpec,
    /// Record every n-th state of the path (0: no states, energies only).
    pub thin: usize,
    /// Steps between the host's reads of the stop rule's results (0: auto, 1 on the CPU and
    /// [`AUTO_SYNC_CUDA`] on a GPU). Between reads the rule runs on the device; a trial that
    /// ends inside a block keeps sampling until the read, its records cut at its last step.
    #[serde(default)]
    pub sync_every: usize,
    /// How a trial that ends within delta is confirmed as a success ([`SuccessCheck`]).
    #[serde(default)]
    pub check: SuccessCheck,
    /// On a continuous space, the barrier is the highest energy of the polyline through the
    /// visited states, not of the states alone (a move across a ridge would jump over it):
    /// each move is scored at this many evenly spaced interior points and at the peak of the
    /// parabola through the highest of them and its neighbours ([`move_peak`]). 0 reads the
    /// states only, as Algorithm 3 is printed (files written before the option load as 0, the
    /// way they were made).
    #[serde(default)]
    pub path_points: usize,
    /// Receives the warning that a chain is too hot for its minima (once per T and alpha in a
    /// process); not stored.
    #[serde(skip)]
    pub progress: crate::progress::Progress,
}

/// Hands `text` to the options' observer the first time this process warns for their T and
/// alpha: a mapping runs thousands of AD batches with the same two.
fn warn_once(opts: &AdOptions, text: &str) {
    use std::sync::Mutex;
    static WARNED: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());
    let key = (opts.temperature.to_bits(), opts.alpha.to_bits());
    let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
    if opts.progress.is_on() && !warned.contains(&key) {
        warned.push(key);
        opts.progress.warn(text);
    }
}

/// The confirmation of AD successes. A chain within delta of its target may still sit in
/// another basin (a hot chain's thermal radius can exceed the distance between minima), and
/// the highest energy on its path is then no barrier to the target at all. So the end of every
/// such trial is minimized, together with the target, in one batch: the trial succeeds only
/// when both descents reach the same minimum (within `same_tol`); otherwise it is a near-miss,
/// a failure. A trial that reached its target exactly (spins with delta 0) needs no descent.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SuccessCheck {
    /// Confirm successes by descent (false: any trial within delta succeeds, as printed in
    /// Algorithm 3).
    pub descend: bool,
    /// The two descents reach the same minimum when they end this close.
    pub same_tol: f64,
    /// The descent.
    pub minimize: crate::minimize::MinimizeOptions,
}

impl Default for SuccessCheck {
    fn default() -> Self {
        SuccessCheck {
            descend: true,
            same_tol: 1e-3,
            minimize: crate::minimize::MinimizeOptions::default(),
        }
    }
}

/// The share of the room around a trial's target (the distance to the nearest other known
/// state of the batch, its start included) that a `delta: "auto"` radius may reach: a success
/// radius as wide as the distance between two minima would count a chain still at its start
/// as arrived.
pub const AUTO_DELTA_SHARE: f64 = 0.5;

/// Steps between host reads of AD's stop rule on a CUDA device (`sync_every: 0`).
pub const AUTO_SYNC_CUDA: usize = 16;

impl AdOptions {
    /// The stop rule of these options' trials.
    pub fn stop_rule(&self) -> StopRule {
        StopRule {
            patience: self.improvement_limit,
            max_steps: self.max_steps,
        }
    }
    /// Steps between host reads on `device` (resolving `sync_every: 0`).
    pub fn sync_steps(&self, device: tch::Device) -> usize {
        match (self.sync_every, device) {
            (0, tch::Device::Cuda(_)) => AUTO_SYNC_CUDA,
            (0, _) => 1,
            (k, _) => k,
        }
    }
}

impl Default for AdOptions {
    fn default() -> Self {
        AdOptions {
            temperature: 0.1,
            alpha: 1.0,
            delta: Delta::Auto,
            improvement_limit: 40,
            max_steps: 5000,
            sampler: SamplerSpec::default(),
            thin: 0,
            sync_every: 0,
            check: SuccessCheck::default(),
            path_points: DEFAULT_PATH_POINTS,
            progress: crate::progress::Progress::silent(),
        }
    }
}

/// Points evaluated inside each move of a continuous AD path by default
/// ([`AdOptions::path_points`]): three evenly spaced, then the parabola's peak, two energy
/// calls per step (on 3 B and B rows). Measured on Müller-Brown's B-C saddle with MH moves of
/// step 0.05, 10 seeds: one point leaves barriers up to 0.011 below the exact saddle, three
/// none by more than 1e-4; the states alone fall up to 1.24 below it.
pub const DEFAULT_PATH_POINTS: usize = 3;

/// The highest energy found on each chain's straight move from `before` (energies `u0`) to
/// `after` (`u1`), `[B, D]` and `[B]`: `points` evenly spaced interior points in one batched
/// call, then one more at the peak of the parabola through the highest sample and its two
/// neighbours (exact where the energy along the move is quadratic, as it is near a saddle).
/// Every value returned is the energy of a point on the move. A chain that did not move
/// scores its own state.
pub(crate) fn move_peak(
    e: &dyn Energy,
    before: &Tensor,
    after: &Tensor,
    u0: &Tensor,
    u1: &Tensor,
    points: usize,
) -> Result<Tensor> {
    let _g = tch::no_grad_guard();
    let (b, d) = (before.size()[0], before.size()[1]);
    let m = points.max(1) as i64;
    let spacing = 1.0 / (m + 1) as f64;
    let delta = after.f_sub(before)?;
    let fractions = Tensor::f_arange_start(1, m + 1, (before.kind(), before.device()))?
        .f_mul_scalar(spacing)?
        .f_view([m, 1, 1])?;
    let interior = before
        .f_unsqueeze(0)?
        .f_add(&delta.f_unsqueeze(0)?.f_mul(&fractions)?)?
        .f_view([m * b, d])?;
    let inside = e.energy(&interior)?.f_view([m, b])?;
    let kind = inside.kind();
    let samples = Tensor::f_cat(
        &[
            u0.f_to_kind(kind)?.f_unsqueeze(0)?,
            inside,
            u1.f_to_kind(kind)?.f_unsqueeze(0)?,
        ],
        0,
    )?;
    // The three samples around the highest inner one (an end's highest: its inner neighbour).
    let centre = samples.f_argmax(0, true)?.f_clamp(1, m)?;
    let at = |shift: i64| -> Result<Tensor> {
        Ok(samples
            .f_gather(0, &centre.f_add_scalar(shift)?, false)?
            .f_squeeze_dim(0)?)
    };
    let (left, mid, right) = (at(-1)?, at(0)?, at(1)?);
    // Vertex offset in spacings from the centre: (l - r) / (2 (l - 2c + r)) where concave.
    let curvature = left.f_add(&right)?.f_sub(&mid.f_mul_scalar(2.0)?)?;
    let offset = left
        .f_sub(&right)?
        .f_div(&curvature.f_mul_scalar(2.0)?)?
        .f_where_scalarother(&curvature.f_lt(0.0)?, 0.0)?
        .f_nan_to_num(0.0, 0.0, 0.0)?
        .f_clamp(-1.0, 1.0)?;
    let t = centre
        .f_squeeze_dim(0)?
        .f_to_kind(before.kind())?
        .f_add(&offset.f_to_kind(before.kind())?)?
        .f_mul_scalar(spacing)?;
    let peak = before.f_add(&delta.f_mul(&t.f_unsqueeze(1)?)?)?;
    let at_peak = e.energy(&peak)?;
    Ok(samples.f_amax([0], false)?.f_maximum(&at_peak)?)
}

/// Outcome of one AD trial.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AdTrial {
    /// The chain came within delta of the target, and (with [`SuccessCheck::descend`]) a
    /// descent from where it stopped reaches the target's minimum.
    pub success: bool,
    /// The chain came within delta of the target but a descent from where it stopped reaches
    /// another minimum: a failure.
    pub near_miss: bool,
    /// Steps taken.
    pub steps: usize,
    /// Highest unmagnetized energy U along the path (start included); for a confirmed success
    /// never below U(target), which a path to the target reaches.
    pub barrier: f64,
    /// Distance to the target when the trial stopped.
    pub final_distance: f64,
    /// Best distance reached.
    pub best_distance: f64,
    /// The highest U found on every step's move (index 0: the start): the state's U on discrete
    /// spaces without a path inside the step, otherwise also the energies met inside it
    /// (Gibbs sweeps, [`AdOptions::path_points`]).
    pub energies: Vec<f64>,
    /// Distance to the target after every step.
    pub distances: Vec<f64>,
    /// Every `thin`-th state of the path (start and end included) when `thin > 0`.
    pub states: Vec<Vec<f64>>,
    /// Where the chain stopped.
    pub final_state: Vec<f64>,
}

/// AD's stop rule (Algorithm 3, step 3a), one definition for every backend: a trial succeeds
/// when its distance to the target is at most its delta, fails after `patience` (M)
/// consecutive steps without improving its best distance, and stops at `max_steps`. The
/// host form ([`StopRule::observe`]) serves the native spin chains; the batch form runs the
/// same rule on the device, so that the host needs to read it only every few steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StopRule {
    /// Steps without a closer approach before a trial fails (M).
    pub patience: usize,
    /// Hard cap on steps.
    pub max_steps: usize,
}

/// One trial's standing under a [`StopRule`].
#[derive(Clone, Copy, Debug)]
pub struct Standing {
    /// Best distance so far.
    pub best: f64,
    /// Steps since the best distance last improved.
    pub stale: usize,
}

impl StopRule {
    /// The standing of a trial that starts at distance `d0`, and whether it has already
    /// succeeded (within `delta` at the start).
    pub fn start(&self, d0: f64, delta: f64) -> (Standing, bool) {
        (Standing { best: d0, stale: 0 }, d0 <= delta)
    }
    /// Takes the distance `d` after step `step`: `Some(success)` when the trial ends there.
    pub fn observe(&self, s: &mut Standing, d: f64, delta: f64, step: usize) -> Option<bool> {
        if d < s.best {
            s.best = d;
            s.stale = 0;
        } else {
            s.stale += 1;
        }
        let success = d <= delta;
        (success || s.stale >= self.patience || step >= self.max_steps).then_some(success)
    }
    /// [`StopRule::observe`] for a batch of trials on the device; trials already done are
    /// left as they are. `energy` (the unmagnetized U after the step) raises each running
    /// trial's barrier; `x` is remembered as the final state of the trials that end here.
    fn observe_batch(
        &self,
        b: &mut BatchStanding,
        d: &Tensor,
        energy: &Tensor,
        x: &Tensor,
        step: usize,
    ) -> Result<()> {
        let d = d.f_to_kind(tch::Kind::Double)?;
        let running = b.done.f_logical_not()?;
        b.barrier = b.barrier.f_where_self(
            &b.done,
            &b.barrier.f_maximum(&energy.f_to_kind(tch::Kind::Double)?)?,
        )?;
        let improved = d.f_lt_tensor(&b.best)?.f_logical_and(&running)?;
        b.best = d.f_where_self(&improved, &b.best)?;
        let next_stale = b.stale.f_add_scalar(1.0)?.f_masked_fill(&improved, 0.0)?;
        b.stale = next_stale.f_where_self(&running, &b.stale)?;
        let within = d.f_le_tensor(&b.delta)?;
        // At the step cap every running trial ends (decided on the host: no transfer).
        let newly = if step >= self.max_steps {
            running
        } else {
            within
                .f_logical_or(&b.stale.f_ge(self.patience as f64)?)?
                .f_logical_and(&running)?
        };
        b.success = b.success.f_logical_or(&newly.f_logical_and(&within)?)?;
        b.done_at = b.done_at.f_masked_fill(&newly, step as i64)?;
        b.final_x = x.f_where_self(&newly.f_unsqueeze(1)?, &b.final_x)?;
        b.done = b.done.f_logical_or(&newly)?;
        Ok(())
    }
}

/// The standing of a batch of running trials, on the device (float64 bookkeeping).
struct BatchStanding {
    best: Tensor,
    stale: Tensor,
    delta: Tensor,
    barrier: Tensor,
    done: Tensor,
    done_at: Tensor,
    success: Tensor,
    final_x: Tensor,
}

impl BatchStanding {
    fn new(best: &[f64], barrier: &[f64], delta: &[f64], x: &Tensor) -> Result<Self> {
        let dev = x.device();
        let vec = |v: &[f64]| -> Result<Tensor> { Ok(Tensor::from_slice(v).f_to_device(dev)?) };
        let n = best.len() as i64;
        Ok(BatchStanding {
            best: vec(best)?,
            stale: Tensor::f_zeros([n], (tch::Kind::Double, dev))?,
            delta: vec(delta)?,
            barrier: vec(barrier)?,
            done: Tensor::f_zeros([n], (tch::Kind::Bool, dev))?,
            done_at: Tensor::f_zeros([n], (tch::Kind::Int64, dev))?,
            success: Tensor::f_zeros([n], (tch::Kind::Bool, dev))?,
            final_x: x.shallow_clone(),
        })
    }
    /// Keeps the trials at `idx`.
    fn keep(&mut self, idx: &Tensor) -> Result<()> {
        for t in [
            &mut self.best,
            &mut self.stale,
            &mut self.delta,
            &mut self.barrier,
            &mut self.done,
            &mut self.done_at,
            &mut self.success,
            &mut self.final_x,
        ] {
            *t = t.f_index_select(0, idx)?;
        }
        Ok(())
    }
}

/// Per-step records of the running trials since the host last read them.
#[derive(Default)]
struct Block {
    first_step: usize,
    energies: Vec<Tensor>,
    distances: Vec<Tensor>,
    /// (step, states) every `thin` steps.
    states: Vec<(usize, Tensor)>,
}

/// Runs one AD trial per row of `starts` toward the same row of `targets` with the per-trial
/// strengths `alphas`. Stops every trial cleanly on Ctrl-C (those count as failures and end
/// where they are). `delta: "auto"` radii are measured afresh ([`ad_trials_cached`] keeps them).
pub fn ad_trials(
    e: &EnergyRef,
    starts: &Tensor,
    targets: &Tensor,
    alphas: &[f64],
    opts: &AdOptions,
) -> Result<Vec<AdTrial>> {
    ad_trials_cached(e, starts, targets, alphas, opts, &mut DeltaCache::default())
}

/// [`ad_trials`] with the `delta: "auto"` radii taken from, and added to, `cache` (one run's
/// cache: one energy, one sampler).
pub fn ad_trials_cached(
    e: &EnergyRef,
    starts: &Tensor,
    targets: &Tensor,
    alphas: &[f64],
    opts: &AdOptions,
    cache: &mut DeltaCache,
) -> Result<Vec<AdTrial>> {
    crate::profile::time(crate::profile::Phase::Ad, || {
        ad_trials_in_form(e, starts, targets, alphas, opts, cache, RuleForm::Auto)
    })
}

/// Where the tensor backend keeps its stop rule's standing (the results are the same; the
/// cost differs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleForm {
    /// On the host when the host reads every step (the CPU's default), else on the device.
    Auto,
    /// On the host, read every step.
    Host,
    /// On the device, read every `sync_every` steps.
    Device,
}

/// [`ad_trials_cached`] with the tensor backend's stop rule in the given form.
pub fn ad_trials_in_form(
    e: &EnergyRef,
    starts: &Tensor,
    targets: &Tensor,
    alphas: &[f64],
    opts: &AdOptions,
    cache: &mut DeltaCache,
    form: RuleForm,
) -> Result<Vec<AdTrial>> {
    let _g = tch::no_grad_guard();
    let starts = tensor::as_batch(starts)?.f_to_kind(tensor::dtype())?;
    let targets = tensor::as_batch(targets)?.f_to_kind(tensor::dtype())?;
    let b = starts.size()[0] as usize;
    if targets.size() != starts.size() || alphas.len() != b {
        return Err(invalid(format!(
            "AD needs as many targets and alphas as starts ({:?}, {:?}, {})",
            starts.size(),
            targets.size(),
            alphas.len()
        )));
    }
    if !(opts.temperature > 0.0) || opts.delta.is_invalid() || opts.improvement_limit == 0 {
        return Err(invalid("AD needs T > 0, delta >= 0 and M >= 1"));
    }
    if let (Some(model), true) = (
        e.spin_model(),
        matches!(opts.sampler.kind, SamplerKind::Gibbs | SamplerKind::Auto),
    ) {
        let mut trials = spin_trials(model, &starts, &targets, alphas, opts)?;
        confirm_successes(e, &mut trials, &targets, &opts.check)?;
        return Ok(trials);
    }
    let rule = opts.stop_rule();
    let u0 = tensor::to_vec_f64(&e.energy(&starts)?)?;
    let d0 = tensor::to_vec_f64(&starts.f_sub(&targets)?.f_norm_scalaropt_dim(
        2,
        &[1i64][..],
        false,
    )?)?;
    let deltas = match opts.delta {
        Delta::Fixed(d) => vec![d; b],
        Delta::Auto => {
            let thermal = auto_deltas_cached(e, &targets, alphas, opts, cache)?;
            let room = room_around_targets(&starts, &targets)?;
            let (radii, warning) = capped_auto_deltas(&thermal, &room);
            if let Some(w) = warning {
                warn_once(opts, &w);
            }
            radii
        }
    };
    let start_rows = tensor::to_matrix(&starts)?;
    let mut trials: Vec<AdTrial> = (0..b)
        .map(|i| {
            let success = rule.start(d0[i], deltas[i]).1;
            AdTrial {
                success,
                near_miss: false,
                steps: 0,
                barrier: u0[i],
                final_distance: d0[i],
                best_distance: d0[i],
                energies: vec![u0[i]],
                distances: vec![d0[i]],
                states: if opts.thin > 0 {
                    vec![start_rows[i].clone()]
                } else {
                    vec![]
                },
                // A trial that starts within delta has already ended where it started.
                final_state: if success {
                    start_rows[i].clone()
                } else {
                    vec![]
                },
            }
        })
        .collect();
    let active: Vec<usize> = (0..b).filter(|&i| !trials[i].success).collect();
    if !active.is_empty() {
        let start = Start {
            x: &starts,
            u: &u0,
            d: &d0,
            deltas: &deltas,
        };
        // The host form of the rule whenever the host reads every step anyway.
        let host_rule = match form {
            RuleForm::Auto => opts.sync_steps(starts.device()) == 1,
            RuleForm::Host => true,
            RuleForm::Device => false,
        };
        TensorTrials::new(e, start, &targets, alphas, opts, active, host_rule)?.run(&mut trials)?;
    }
    confirm_successes(e, &mut trials, &targets, &opts.check)?;
    Ok(trials)
}

/// For each trial, the distance from its target to the nearest other known state of the
/// batch: its own start, another trial's start or another target (copies of the target itself
/// do not count). A success radius wider than a share of it could take another minimum for the
/// target.
fn room_around_targets(starts: &Tensor, targets: &Tensor) -> Result<Vec<f64>> {
    let known = Tensor::f_cat(&[targets, starts], 0)?;
    // compute_mode 2: exact differences, not the matrix-product form that blurs zeros.
    let d = Tensor::f_cdist(targets, &known, 2.0, Some(2i64))?;
    let d = d.f_masked_fill(&d.f_le(1e-9)?, f64::INFINITY)?;
    tensor::to_vec_f64(&d.f_amin(&[1i64][..], false)?)
}

/// The `delta: "auto"` radius of each trial: the thermal radius, at most
/// [`AUTO_DELTA_SHARE`] of `room`, the distance from the trial's target to the nearest other
/// known state (its start, or another minimum of the batch). Returns the radii and, when the
/// cap cut any, a warning that the chain is too hot for these minima.
pub fn capped_auto_deltas(thermal: &[f64], room: &[f64]) -> (Vec<f64>, Option<String>) {
    let mut worst: Option<(f64, f64)> = None;
    let radii = thermal
        .iter()
        .zip(room)
        .map(|(&r, &d)| {
            let cap = AUTO_DELTA_SHARE * d;
            if r > cap && d > 0.0 {
                if worst.is_none_or(|(wr, wd)| r / d > wr / wd) {
                    worst = Some((r, d));
                }
                cap
            } else {
                r
            }
        })
        .collect();
    let warning = worst.map(|(r, d)| {
        format!(
            "AD: the chain is too hot for these minima: its thermal radius at the target ({r:.4}) exceeds {AUTO_DELTA_SHARE} of the distance from the target to the nearest other known state ({d:.4}, its start or another minimum); delta \"auto\" was cut to {:.4} (a lower T or a higher alpha narrows the radius)",
            AUTO_DELTA_SHARE * d
        )
    });
    (radii, warning)
}

/// Confirms the successes of `trials` by descent ([`SuccessCheck`]): the ends of the trials
/// that stopped within delta but not on the target, and their targets, are minimized in one
/// batch; a trial whose descent reaches another minimum than its target's becomes a near-miss.
/// A confirmed barrier is at least U(target). A descent cut short by Ctrl-C confirms nothing.
fn confirm_successes(
    e: &EnergyRef,
    trials: &mut [AdTrial],
    targets: &Tensor,
    check: &SuccessCheck,
) -> Result<()> {
    let pending: Vec<usize> = (0..trials.len())
        .filter(|&i| trials[i].success && trials[i].final_distance > 0.0)
        .collect();
    if !check.descend || pending.is_empty() {
        return Ok(());
    }
    let dev = targets.device();
    let idx = index_tensor(&pending, dev)?;
    let ends: Vec<f64> = pending
        .iter()
        .flat_map(|&i| trials[i].final_state.iter().copied())
        .collect();
    let d = targets.size()[1];
    let p = pending.len() as i64;
    let ends = tensor::from_vec(&ends, &[p, d])?
        .f_to_device(dev)?
        .f_to_kind(targets.kind())?;
    let aimed = targets.f_index_select(0, &idx)?;
    let u_target = tensor::to_vec_f64(&e.energy(&aimed)?)?;
    let both = Tensor::f_cat(&[&ends, &aimed], 0)?;
    let found = crate::minimize::minimize(e.as_ref(), &both, &check.minimize)?;
    let apart = tensor::to_vec_f64(
        &found
            .x
            .f_narrow(0, 0, p)?
            .f_sub(&found.x.f_narrow(0, p, p)?)?
            .f_norm_scalaropt_dim(2, &[1i64][..], false)?,
    )?;
    for (k, &i) in pending.iter().enumerate() {
        let t = &mut trials[i];
        if !found.interrupted && apart[k] <= check.same_tol {
            t.barrier = t.barrier.max(u_target[k]);
        } else {
            t.success = false;
            t.near_miss = !found.interrupted;
        }
    }
    Ok(())
}

/// The running trials of the tensor backend: chains on the magnetized density, their
/// standing on the device, and the records not yet read.
struct TensorTrials<'a> {
    e: &'a EnergyRef,
    targets: &'a Tensor,
    alphas: &'a [f64],
    opts: &'a AdOptions,
    rule: StopRule,
    /// Trial index of each running chain.
    active: Vec<usize>,
    density: Magnetized,
    chains: Chains,
    standing: Bookkeeping,
    block: Block,
    step: usize,
    /// Unmagnetized energies of the current states, kept for the next move's peak search
    /// (`None` after the batch changed).
    state_energy: Option<Tensor>,
    /// Points scored inside each move: [`AdOptions::path_points`] on a continuous space, 0
    /// otherwise (read once, not per step: `space()` builds the domain's bounds).
    move_points: usize,
}

/// Where the stop rule's standing lives.
enum Bookkeeping {
    /// On the device, read every few steps (GPUs: a host read stalls the queue).
    Device(BatchStanding),
    /// On the host, fed every step by one transfer of the step's energies and distances (the
    /// CPU's default, `sync_every` 1): far fewer libtorch calls than the device form.
    Host(HostStanding),
}

/// The host form of a batch's standing: per running trial, its [`Standing`], barrier and delta.
struct HostStanding {
    standing: Vec<Standing>,
    barrier: Vec<f64>,
    delta: Vec<f64>,
}

impl HostStanding {
    /// Keeps the trials at `keep`.
    fn keep(&mut self, keep: &[usize]) {
        self.standing = keep.iter().map(|&k| self.standing[k]).collect();
        self.barrier = keep.iter().map(|&k| self.barrier[k]).collect();
        self.delta = keep.iter().map(|&k| self.delta[k]).collect();
    }
}

/// Where the trials start: states, their energies U and distances to the targets (already
/// read by the caller), and the success radii.
struct Start<'s> {
    x: &'s Tensor,
    u: &'s [f64],
    d: &'s [f64],
    deltas: &'s [f64],
}

impl<'a> TensorTrials<'a> {
    fn new(
        e: &'a EnergyRef,
        start: Start,
        targets: &'a Tensor,
        alphas: &'a [f64],
        opts: &'a AdOptions,
        active: Vec<usize>,
        host_rule: bool,
    ) -> Result<Self> {
        let idx = index_tensor(&active, start.x.device())?;
        let density = magnetized_subset(e, opts, targets, alphas, &active)?;
        let chains = Chains::new(&density, &start.x.f_index_select(0, &idx)?)?;
        let of = |v: &[f64]| -> Vec<f64> { active.iter().map(|&i| v[i]).collect() };
        let standing = if host_rule {
            let rule = opts.stop_rule();
            let (d, delta) = (of(start.d), of(start.deltas));
            Bookkeeping::Host(HostStanding {
                standing: d
                    .iter()
                    .zip(&delta)
                    .map(|(&d, &r)| rule.start(d, r).0)
                    .collect(),
                barrier: of(start.u),
                delta,
            })
        } else {
            Bookkeeping::Device(BatchStanding::new(
                &of(start.d),
                &of(start.u),
                &of(start.deltas),
                &chains.x,
            )?)
        };
        Ok(TensorTrials {
            e,
            targets,
            alphas,
            opts,
            rule: opts.stop_rule(),
            active,
            density,
            chains,
            standing,
            block: Block::default(),
            step: 0,
            state_energy: None,
            move_points: match e.space() {
                Space::Continuous { .. } => opts.path_points,
                _ => 0,
            },
        })
    }

    /// The highest energy found inside each chain's last move (from `before` to the current states)
    /// on a continuous space with [`AdOptions::path_points`] set; `None` otherwise.
    /// `energy` holds the current states' unmagnetized energies.
    fn move_interior(&mut self, before: &Tensor, energy: &Tensor) -> Result<Option<Tensor>> {
        let points = self.move_points;
        if points == 0 {
            return Ok(None);
        }
        let u0 = match self.state_energy.take() {
            Some(u) => u,
            None => {
                let _g = tch::no_grad_guard();
                self.e.energy(before)?
            }
        };
        self.state_energy = Some(energy.shallow_clone());
        move_peak(self.e.as_ref(), before, &self.chains.x, &u0, energy, points).map(Some)
    }

    /// Steps every running trial until all have ended (or Ctrl-C), reading the stop rule's
    /// results every `sync_steps` steps.
    fn run(mut self, trials: &mut [AdTrial]) -> Result<()> {
        if matches!(self.standing, Bookkeeping::Host(_)) {
            return self.run_host(trials);
        }
        let every = self.opts.sync_steps(self.chains.x.device());
        let mut sampler = sampler::make_sampler(&self.opts.sampler, &self.e.space())?;
        let t = self.opts.temperature;
        self.block.first_step = 1;
        while !self.active.is_empty() {
            if crate::interrupt::requested() {
                break;
            }
            let before = self.chains.x.shallow_clone();
            sampler.step(&self.density, &mut self.chains)?;
            self.step += 1;
            STEPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            CHAIN_STEPS.fetch_add(
                self.active.len() as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
            let d = self.density.distance(&self.chains.x)?;
            let alpha = self.density.alphas_tensor(self.active.len())?;
            // The unmagnetized energy U = T (U/T + alpha d - alpha d).
            let mut energy = self.chains.u.f_sub(&alpha.f_mul(&d)?)?.f_mul_scalar(t)?;
            if let Some(top) = self.move_interior(&before, &energy)? {
                energy = energy.f_maximum(&top)?;
            }
            if let Some(pm) = &self.chains.path_max {
                let pm = Tensor::from_slice(pm).f_to_device(energy.device())?;
                energy = energy.f_maximum(&pm.f_to_kind(energy.kind())?)?;
            }
            let Bookkeeping::Device(standing) = &mut self.standing else {
                unreachable!("run_host takes the host form");
            };
            self.rule
                .observe_batch(standing, &d, &energy, &self.chains.x, self.step)?;
            self.block.energies.push(energy);
            self.block.distances.push(d);
            if self.opts.thin > 0 && self.step.is_multiple_of(self.opts.thin) {
                self.block
                    .states
                    .push((self.step, self.chains.x.shallow_clone()));
            }
            if self.block.energies.len() >= every || self.step >= self.opts.max_steps {
                self.read(trials, false)?;
            }
        }
        if !self.active.is_empty() {
            // Interrupted: the running trials end where they are.
            self.read(trials, true)?;
        }
        Ok(())
    }

    /// Reads the block into the trials (one transfer of the standing and the records, and
    /// one of the final states of the trials that ended), then drops the ended trials from
    /// the batch. `stop_all` ends every trial (Ctrl-C).
    fn read(&mut self, trials: &mut [AdTrial], stop_all: bool) -> Result<()> {
        let Bookkeeping::Device(standing) = &self.standing else {
            unreachable!("run_host takes the host form");
        };
        let n = self.active.len();
        let s = self.block.energies.len();
        let dbl = |t: &Tensor| t.f_to_kind(tch::Kind::Double);
        let mut parts = vec![
            dbl(&standing.done)?,
            dbl(&standing.done_at)?,
            dbl(&standing.success)?,
            standing.barrier.shallow_clone(),
            standing.best.shallow_clone(),
        ];
        for t in self.block.energies.iter().chain(&self.block.distances) {
            parts.push(dbl(t)?);
        }
        let packed = tensor::to_vec_f64(&Tensor::f_cat(&parts, 0)?)?;
        let row = |r: usize| &packed[r * n..(r + 1) * n];
        let (done, done_at, success) = (row(0), row(1), row(2));
        let (barrier, best) = (row(3), row(4));
        let first = self.block.first_step;
        // The recorded states of the block, read in one transfer: `[records, n, D]`.
        let recorded_steps: Vec<usize> = self.block.states.iter().map(|(s, _)| *s).collect();
        let recorded_flat = if recorded_steps.is_empty() {
            vec![]
        } else {
            let xs: Vec<&Tensor> = self.block.states.iter().map(|(_, x)| x).collect();
            tensor::to_vec_f64(&Tensor::f_stack(&xs, 0)?)?
        };
        let dim = self.chains.x.size()[1] as usize;
        let recorded_row =
            |r: usize, k: usize| recorded_flat[(r * n + k) * dim..(r * n + k + 1) * dim].to_vec();
        let mut ended = Vec::new();
        for (k, &i) in self.active.iter().enumerate() {
            let finished = done[k] != 0.0;
            let last = if finished {
                done_at[k] as usize
            } else {
                self.step
            };
            let tr = &mut trials[i];
            for r in 0..s.min(last + 1 - first) {
                tr.energies.push(row(5 + r)[k]);
                tr.distances.push(row(5 + s + r)[k]);
            }
            for (r, &step) in recorded_steps.iter().enumerate() {
                if step <= last {
                    tr.states.push(recorded_row(r, k));
                }
            }
            tr.steps = last;
            tr.barrier = barrier[k];
            tr.best_distance = best[k];
            tr.final_distance = *tr.distances.last().unwrap_or(&tr.final_distance);
            tr.success = success[k] != 0.0;
            if finished || stop_all {
                ended.push(k);
            }
        }
        self.block = Block {
            first_step: self.step + 1,
            ..Block::default()
        };
        if ended.is_empty() {
            return Ok(());
        }
        let dev = self.chains.x.device();
        let finals = if stop_all {
            self.chains.x.shallow_clone()
        } else {
            standing
                .final_x
                .f_index_select(0, &index_tensor(&ended, dev)?)?
        };
        self.drop_ended(trials, &ended, &finals)
    }

    /// [`TensorTrials::run`] with the stop rule on the host: every step, one transfer of the
    /// energies and distances feeds [`StopRule::observe`] per trial, and the trials that end
    /// leave the batch at once.
    fn run_host(mut self, trials: &mut [AdTrial]) -> Result<()> {
        let mut sampler = sampler::make_sampler(&self.opts.sampler, &self.e.space())?;
        let t = self.opts.temperature;
        let float32 = self.chains.u.kind() == tch::Kind::Float;
        while !self.active.is_empty() {
            if crate::interrupt::requested() {
                break;
            }
            let before = self.chains.x.shallow_clone();
            sampler.step(&self.density, &mut self.chains)?;
            self.step += 1;
            let n = self.active.len();
            STEPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            CHAIN_STEPS.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
            let d = self.density.distance(&self.chains.x)?;
            let alpha = self.density.alphas_tensor(n)?;
            // The unmagnetized energy U = T (U/T + alpha d - alpha d).
            let mut energy = self.chains.u.f_sub(&alpha.f_mul(&d)?)?.f_mul_scalar(t)?;
            if let Some(top) = self.move_interior(&before, &energy)? {
                energy = energy.f_maximum(&top)?;
            }
            let read = tensor::to_vec_f64(&Tensor::f_cat(&[energy, d], 0)?)?;
            let (energy, dist) = read.split_at(n);
            let states = if self.opts.thin > 0 && self.step.is_multiple_of(self.opts.thin) {
                Some(tensor::to_matrix(&self.chains.x)?)
            } else {
                None
            };
            let Bookkeeping::Host(h) = &mut self.standing else {
                unreachable!("run_host runs the host form");
            };
            let mut ended = Vec::new();
            for k in 0..n {
                let mut u = energy[k];
                if let Some(pm) = &self.chains.path_max {
                    // As the device form does: the maximum in the energy's own precision.
                    u = u.max(if float32 { pm[k] as f32 as f64 } else { pm[k] });
                }
                let tr = &mut trials[self.active[k]];
                tr.energies.push(u);
                tr.distances.push(dist[k]);
                if let Some(states) = &states {
                    tr.states.push(states[k].clone());
                }
                h.barrier[k] = h.barrier[k].max(u);
                let end = self
                    .rule
                    .observe(&mut h.standing[k], dist[k], h.delta[k], self.step);
                tr.steps = self.step;
                tr.barrier = h.barrier[k];
                tr.best_distance = h.standing[k].best;
                tr.final_distance = dist[k];
                if let Some(success) = end {
                    tr.success = success;
                    ended.push(k);
                }
            }
            if !ended.is_empty() {
                let idx = index_tensor(&ended, self.chains.x.device())?;
                let finals = self.chains.x.f_index_select(0, &idx)?;
                self.drop_ended(trials, &ended, &finals)?;
            }
        }
        if !self.active.is_empty() {
            // Interrupted: the running trials end where they are.
            let all: Vec<usize> = (0..self.active.len()).collect();
            let finals = self.chains.x.shallow_clone();
            self.drop_ended(trials, &all, &finals)?;
        }
        Ok(())
    }

    /// Gives the trials at batch positions `ended` their final states (`finals`, one row
    /// each, read in one transfer) and drops them from the batch.
    fn drop_ended(
        &mut self,
        trials: &mut [AdTrial],
        ended: &[usize],
        finals: &Tensor,
    ) -> Result<()> {
        let n = self.active.len();
        for (&k, state) in ended.iter().zip(tensor::to_matrix(finals)?) {
            let tr = &mut trials[self.active[k]];
            if self.opts.thin > 0 && tr.states.last() != Some(&state) {
                tr.states.push(state.clone());
            }
            tr.final_state = state;
        }
        let mut gone = vec![false; n];
        for &k in ended {
            gone[k] = true;
        }
        let keep: Vec<usize> = (0..n).filter(|&k| !gone[k]).collect();
        self.active = keep.iter().map(|&k| self.active[k]).collect();
        if self.active.is_empty() {
            return Ok(());
        }
        let idx = index_tensor(&keep, self.chains.x.device())?;
        self.chains.keep(&idx)?;
        self.state_energy = None;
        match &mut self.standing {
            Bookkeeping::Device(s) => s.keep(&idx)?,
            Bookkeeping::Host(h) => h.keep(&keep),
        }
        self.density =
            magnetized_subset(self.e, self.opts, self.targets, self.alphas, &self.active)?;
        Ok(())
    }
}

/// Work done by AD since the process started: batch steps of the tensor backend, and
/// chain-steps of both backends (sweeps of the native spin chains count as steps; on the
/// tensor backend the ratio of the two is the mean number of chains per step, what fills a GPU).
static STEPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static CHAIN_STEPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// (tensor batch steps, chain-steps) of AD so far, for benchmarks.
pub fn work_done() -> (u64, u64) {
    use std::sync::atomic::Ordering::Relaxed;
    (STEPS.load(Relaxed), CHAIN_STEPS.load(Relaxed))
}

/// The rows `ids` as an index tensor on `device`.
fn index_tensor(ids: &[usize], device: tch::Device) -> Result<Tensor> {
    let v: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
    Ok(Tensor::from_slice(&v).f_to_device(device)?)
}

/// The magnetized density of the trials `ids`: their targets and strengths.
fn magnetized_subset(
    e: &EnergyRef,
    opts: &AdOptions,
    targets: &Tensor,
    alphas: &[f64],
    ids: &[usize],
) -> Result<Magnetized> {
    let tg = targets.f_index_select(0, &index_tensor(ids, targets.device())?)?;
    let al: Vec<f64> = ids.iter().map(|&i| alphas[i]).collect();
    Magnetized::with_alphas(e.clone(), opts.temperature, &al, tg)
}

/// Spin models with Gibbs sampling: every trial runs natively (heat-bath sweeps over local
/// fields, O(N) per flip) on its own thread-pool task, with its own RNG stream, no per-step
/// tensor work and no waiting for the slowest trial of a batch.
fn spin_trials(
    model: &SpinModel,
    starts: &Tensor,
    targets: &Tensor,
    alphas: &[f64],
    opts: &AdOptions,
) -> Result<Vec<AdTrial>> {
    use rand::SeedableRng;
    use rayon::prelude::*;
    let s = tensor::to_vec_f64(starts)?;
    let t = tensor::to_vec_f64(targets)?;
    if s.iter().chain(&t).any(|v| v.abs() != 1.0) {
        return Err(invalid("AD on a spin model needs ±1 states"));
    }
    let n = model.n();
    let rule = opts.stop_rule();
    let delta = opts.delta.fixed().unwrap_or(0.0);
    let seed = tensor::next_seed();
    Ok((0..alphas.len())
        .into_par_iter()
        .map(|b| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(tensor::next_seed_for(seed, b as u64));
            let mut x = s[b * n..(b + 1) * n].to_vec();
            let target = &t[b * n..(b + 1) * n];
            let mut chain = SpinChain::new(model, &x, Some(target));
            let (mut standing, success) = rule.start(chain.distance(), delta);
            let mut tr = AdTrial {
                success,
                near_miss: false,
                steps: 0,
                barrier: chain.energy(),
                final_distance: chain.distance(),
                best_distance: chain.distance(),
                energies: vec![chain.energy()],
                distances: vec![chain.distance()],
                states: if opts.thin > 0 {
                    vec![x.clone()]
                } else {
                    vec![]
                },
                final_state: vec![],
            };
            while !tr.success && !crate::interrupt::requested() {
                let u_max = chain.sweep(
                    model,
                    &mut x,
                    Some(target),
                    opts.temperature,
                    alphas[b],
                    &mut rng,
                );
                tr.steps += 1;
                let d = chain.distance();
                tr.barrier = tr.barrier.max(u_max);
                tr.energies.push(chain.energy());
                tr.distances.push(d);
                tr.final_distance = d;
                if opts.thin > 0 && tr.steps.is_multiple_of(opts.thin) {
                    tr.states.push(x.clone());
                }
                let verdict = rule.observe(&mut standing, d, delta, tr.steps);
                tr.best_distance = standing.best;
                if let Some(success) = verdict {
                    tr.success = success;
                    break;
                }
            }
            if opts.thin > 0 && tr.states.last() != Some(&x) {
                tr.states.push(x.clone());
            }
            tr.final_state = x;
            CHAIN_STEPS.fetch_add(tr.steps as u64, std::sync::atomic::Ordering::Relaxed);
            tr
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The room around each target is its distance to the nearest other state of the batch,
    /// by brute force over random batches in which some targets repeat and some starts sit on
    /// their targets.
    #[test]
    fn room_is_the_distance_to_the_nearest_other_known_state() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..50 {
            let (b, d) = (rng.random_range(1..8usize), rng.random_range(1..5usize));
            let mut targets: Vec<Vec<f64>> = Vec::new();
            let mut starts: Vec<Vec<f64>> = Vec::new();
            for i in 0..b {
                let t: Vec<f64> = if i > 0 && rng.random_bool(0.3) {
                    targets[rng.random_range(0..i)].clone()
                } else {
                    (0..d).map(|_| rng.random_range(-2.0..2.0)).collect()
                };
                let s = if rng.random_bool(0.2) {
                    t.clone()
                } else {
                    (0..d).map(|_| rng.random_range(-2.0..2.0)).collect()
                };
                targets.push(t);
                starts.push(s);
            }
            let tt = tensor::from_matrix(&targets).unwrap();
            let st = tensor::from_matrix(&starts).unwrap();
            let room = room_around_targets(&st, &tt).unwrap();
            for i in 0..b {
                let want = targets
                    .iter()
                    .chain(&starts)
                    .map(|x| tensor::distance(x, &targets[i]))
                    .filter(|&r| r > 1e-9)
                    .fold(f64::INFINITY, f64::min);
                assert!(
                    (room[i] - want).abs() < 1e-9 || room[i] == want,
                    "trial {i}: room {} vs {want}",
                    room[i]
                );
            }
        }
    }
}
