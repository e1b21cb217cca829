//! Attraction-Diffusion trials (paper section 3, Algorithm 3 step 3a), batched: many trials,
//! each with its own start, target and magnetization, run as one batch with per-trial stop
//! rules; finished trials leave the batch.

use crate::energy::{EnergyRef, Magnetized};
use crate::sampler::{self, Chains, SamplerSpec};
use crate::{error::invalid, tensor, Result};
use tch::Tensor;

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
        }
    }
}

/// The success radius of AD trials.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Delta {
    /// A fixed distance.
    Fixed(f64),
    /// `"auto"`: per target and magnetization, the median distance to the target of a
    /// magnetized chain held there ([`auto_deltas`]); 0 on spin spaces (success means reaching
    /// the target itself, as the paper's SK runs use).
    #[serde(with = "auto_tag")]
    Auto,
}

mod auto_tag {
    pub fn serialize<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("auto")
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<(), D::Error> {
        let text: String = serde::Deserialize::deserialize(d)?;
        if text == "auto" {
            Ok(())
        } else {
            Err(serde::de::Error::custom(format!(
                "delta must be a number or \"auto\", not \"{text}\""
            )))
        }
    }
}

impl Delta {
    /// The fixed value, if any.
    pub fn fixed(&self) -> Option<f64> {
        match self {
            Delta::Fixed(d) => Some(*d),
            Delta::Auto => None,
        }
    }
    /// True for a fixed negative or non-finite value.
    pub fn is_invalid(&self) -> bool {
        matches!(self, Delta::Fixed(d) if !(*d >= 0.0) || !d.is_finite())
    }
}

impl std::fmt::Display for Delta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Delta::Fixed(d) => write!(f, "{d}"),
            Delta::Auto => write!(f, "auto"),
        }
    }
}

/// Steps per block of the `auto` delta measurement ([`auto_deltas`]).
pub const AUTO_DELTA_BLOCK: usize = 25;
/// Block limit of the `auto` delta measurement.
pub const AUTO_DELTA_MAX_BLOCKS: usize = 40;
/// Chains held at each target ([`auto_deltas`]).
pub const AUTO_DELTA_CHAINS: usize = 16;

/// The `delta: "auto"` rule: for every distinct (target, alpha) pair, [`AUTO_DELTA_CHAINS`]
/// chains start at the target and sample the magnetized density `U/T + alpha ||x - target||`
/// with the AD sampler (all targets in one batch), in blocks of [`AUTO_DELTA_BLOCK`] steps
/// until the mean distance over the last two blocks is within 3% of the two before them (the
/// chains have spread to their thermal radius; at least 4 and at most
/// [`AUTO_DELTA_MAX_BLOCKS`] blocks). The success radius is the median distance over the last
/// two blocks: a chain that has arrived
/// in the target's basin is then within delta about half of the time, so it succeeds within a
/// few steps, while delta follows the thermal radius as the dimension, T and alpha change.
/// Spin spaces get 0.
pub fn auto_deltas(
    e: &EnergyRef,
    targets: &Tensor,
    alphas: &[f64],
    opts: &AdOptions,
) -> Result<Vec<f64>> {
    let _g = tch::no_grad_guard();
    let targets = tensor::as_batch(targets)?.f_to_kind(tensor::dtype())?;
    let b = targets.size()[0] as usize;
    if b == 0 || e.space() == crate::energy::Space::Spins {
        return Ok(vec![0.0; b]);
    }
    // Distinct (target, alpha) pairs, in order of first appearance.
    let rows = tensor::to_matrix(&targets)?;
    let mut keys: std::collections::HashMap<(Vec<u64>, u64), usize> = Default::default();
    let mut slot = Vec::with_capacity(b);
    let mut first = Vec::new();
    for (i, (row, &a)) in rows.iter().zip(alphas).enumerate() {
        let key = (row.iter().map(|v| v.to_bits()).collect(), a.to_bits());
        let next = keys.len();
        let k = *keys.entry(key).or_insert_with(|| {
            first.push(i);
            next
        });
        slot.push(k);
    }
    let c = AUTO_DELTA_CHAINS;
    let rows_idx: Vec<i64> = first
        .iter()
        .flat_map(|&i| std::iter::repeat_n(i as i64, c))
        .collect();
    let idx = Tensor::from_slice(&rows_idx).f_to_device(targets.device())?;
    let held = targets.f_index_select(0, &idx)?;
    let al: Vec<f64> = rows_idx.iter().map(|&i| alphas[i as usize]).collect();
    let density = Magnetized::with_alphas(e.clone(), opts.temperature, &al, held.shallow_clone())?;
    let mut chains = Chains::new(&density, &held)?;
    let mut sampler = sampler::make_sampler(&opts.sampler, &e.space())?;
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mean = |blocks: &[Vec<f64>]| {
        let n: usize = blocks.iter().map(|b| b.len()).sum();
        blocks.iter().flatten().sum::<f64>() / n.max(1) as f64
    };
    // Per key, the distances of every block so far.
    let mut blocks: Vec<Vec<Vec<f64>>> = vec![Vec::new(); keys.len()];
    for block in 0..AUTO_DELTA_MAX_BLOCKS {
        // The block's distances stay on the device until the block ends: one read per block.
        let mut steps = Vec::with_capacity(AUTO_DELTA_BLOCK);
        for _ in 0..AUTO_DELTA_BLOCK {
            crate::interrupt::check()?;
            sampler.step(&density, &mut chains)?;
            steps.push(density.distance(&chains.x)?);
        }
        let d = tensor::to_vec_f64(&Tensor::f_stack(&steps, 0)?)?; // [steps, chains] row-major
        let chains_n = rows_idx.len();
        let mut seen: Vec<Vec<f64>> = vec![Vec::new(); keys.len()];
        for (k, v) in d.into_iter().enumerate() {
            seen[(k % chains_n) / c].push(v);
        }
        for (b, s) in blocks.iter_mut().zip(seen) {
            b.push(s);
        }
        // Settled: the last two blocks are on average within 3% of the two before them.
        if block >= 3
            && blocks
                .iter()
                .all(|b| mean(&b[block - 1..]) <= 1.03 * mean(&b[block - 3..block - 1]))
        {
            break;
        }
    }
    let mut last: Vec<Vec<f64>> = blocks.iter().map(|b| b[b.len() - 2..].concat()).collect();
    // Never below one move of the sampler: a chain held so tightly that it hardly moves
    // (a strong alpha) gives a median near 0, which an arriving chain could never meet.
    let floor = opts
        .sampler
        .move_length(&e.space(), targets.size()[1] as usize);
    let radius: Vec<f64> = last.iter_mut().map(|v| median(v).max(floor)).collect();
    Ok(slot.iter().map(|&k| radius[k]).collect())
}

/// Outcome of one AD trial.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AdTrial {
    /// The chain came within delta of the target.
    pub success: bool,
    /// Steps taken.
    pub steps: usize,
    /// Highest unmagnetized energy U along the path (start included).
    pub barrier: f64,
    /// Distance to the target when the trial stopped.
    pub final_distance: f64,
    /// Best distance reached.
    pub best_distance: f64,
    /// U after every step (index 0: the start).
    pub energies: Vec<f64>,
    /// Distance to the target after every step.
    pub distances: Vec<f64>,
    /// Every `thin`-th state of the path (start and end included) when `thin > 0`.
    pub states: Vec<Vec<f64>>,
    /// Where the chain stopped.
    pub final_state: Vec<f64>,
}

/// Runs one AD trial per row of `starts` toward the same row of `targets` with the per-trial
/// strengths `alphas`. Stops every trial cleanly on Ctrl-C (those count as failures).
pub fn ad_trials(
    e: &EnergyRef,
    starts: &Tensor,
    targets: &Tensor,
    alphas: &[f64],
    opts: &AdOptions,
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
    let t = opts.temperature;
    if let (Some(model), true) = (
        e.spin_model(),
        matches!(opts.sampler.kind.as_str(), "gibbs" | "auto"),
    ) {
        return spin_trials(model, &starts, &targets, alphas, opts);
    }
    let deltas = match opts.delta {
        Delta::Fixed(d) => vec![d; b],
        Delta::Auto => auto_deltas(e, &targets, alphas, opts)?,
    };
    let mut trials: Vec<AdTrial> = Vec::with_capacity(b);
    let u0 = tensor::to_vec_f64(&e.energy(&starts)?)?;
    let d0 = tensor::to_vec_f64(&starts.f_sub(&targets)?.f_norm_scalaropt_dim(
        2,
        &[1i64][..],
        false,
    )?)?;
    let start_rows = tensor::to_matrix(&starts)?;
    for i in 0..b {
        let success = d0[i] <= deltas[i];
        trials.push(AdTrial {
            success,
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
        });
    }
    let mut stale = vec![0usize; b];
    let mut active: Vec<usize> = (0..b).filter(|&i| !trials[i].success).collect();
    if active.is_empty() {
        return Ok(trials);
    }
    let index = |ids: &[usize]| {
        Tensor::from_slice(&ids.iter().map(|&i| i as i64).collect::<Vec<_>>())
            .f_to_device(starts.device())
    };
    let subset = |ids: &[usize]| -> Result<(Tensor, Vec<f64>)> {
        Ok((
            targets.f_index_select(0, &index(ids)?)?,
            ids.iter().map(|&i| alphas[i]).collect(),
        ))
    };
    let (tg, al) = subset(&active)?;
    let mut density = Magnetized::with_alphas(e.clone(), t, &al, tg)?;
    let mut chains = Chains::new(&density, &starts.f_index_select(0, &index(&active)?)?)?;
    let mut sampler = sampler::make_sampler(&opts.sampler, &e.space())?;
    let mut step = 0usize;
    while !active.is_empty() {
        if crate::interrupt::requested() {
            break;
        }
        sampler.step(&density, &mut chains)?;
        step += 1;
        let d = tensor::to_vec_f64(&density.distance(&chains.x)?)?;
        let u = tensor::to_vec_f64(&chains.u)?;
        let al = density.alpha_values(active.len())?;
        let record = opts.thin > 0 && step.is_multiple_of(opts.thin);
        let rows = if record {
            tensor::to_matrix(&chains.x)?
        } else {
            vec![]
        };
        let mut finished = Vec::new();
        for (k, &i) in active.iter().enumerate() {
            let tr = &mut trials[i];
            let energy = t * (u[k] - al[k] * d[k]);
            tr.steps = step;
            tr.barrier = tr.barrier.max(energy);
            if let Some(pm) = &chains.path_max {
                tr.barrier = tr.barrier.max(pm[k]);
            }
            tr.energies.push(energy);
            tr.distances.push(d[k]);
            tr.final_distance = d[k];
            if record {
                tr.states.push(rows[k].clone());
            }
            if d[k] < tr.best_distance {
                tr.best_distance = d[k];
                stale[i] = 0;
            } else {
                stale[i] += 1;
            }
            tr.success = d[k] <= deltas[i];
            if tr.success || stale[i] >= opts.improvement_limit || step >= opts.max_steps {
                finished.push(k);
            }
        }
        if !finished.is_empty() {
            let rows = tensor::to_matrix(&chains.x)?;
            for &k in &finished {
                let tr = &mut trials[active[k]];
                tr.final_state = rows[k].clone();
                if opts.thin > 0 && tr.states.last() != Some(&rows[k]) {
                    tr.states.push(rows[k].clone());
                }
            }
            let keep: Vec<usize> = (0..active.len())
                .filter(|k| !finished.contains(k))
                .collect();
            active = keep.iter().map(|&k| active[k]).collect();
            if active.is_empty() {
                break;
            }
            chains.keep(&index(&keep)?)?;
            let (tg, al) = subset(&active)?;
            density = Magnetized::with_alphas(e.clone(), t, &al, tg)?;
        }
    }
    // Interrupted trials end where they are.
    if !active.is_empty() {
        let rows = tensor::to_matrix(&chains.x)?;
        for (k, &i) in active.iter().enumerate() {
            trials[i].final_state = rows[k].clone();
        }
    }
    Ok(trials)
}

/// Spin models with Gibbs sampling: every trial runs natively on its own thread-pool task,
/// with no per-step tensor work and no waiting for the slowest trial of a batch.
fn spin_trials(
    model: &crate::energy::SpinModel,
    starts: &Tensor,
    targets: &Tensor,
    alphas: &[f64],
    opts: &AdOptions,
) -> Result<Vec<AdTrial>> {
    let s = tensor::to_vec_f64(starts)?;
    let t = tensor::to_vec_f64(targets)?;
    if s.iter().chain(&t).any(|v| v.abs() != 1.0) {
        return Err(invalid("AD on a spin model needs ±1 states"));
    }
    let native = model.ad_trials(
        &s,
        &t,
        alphas,
        opts.temperature,
        opts.delta.fixed().unwrap_or(0.0),
        opts.improvement_limit,
        opts.max_steps,
        opts.thin,
        tensor::next_seed(),
    );
    Ok(native
        .into_iter()
        .map(|n| AdTrial {
            success: n.success,
            steps: n.steps,
            barrier: n.barrier,
            final_distance: *n.distances.last().unwrap_or(&0.0),
            best_distance: n.best_distance,
            energies: n.energies,
            distances: n.distances,
            states: n.states,
            final_state: n.final_state,
        })
        .collect())
}
