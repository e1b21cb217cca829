//! The success radius of AD trials: a fixed delta, or `auto`, the thermal radius of a
//! magnetized chain held at the target, measured per target and magnetization and cached for
//! the targets a run meets again.

use super::ad::AdOptions;
use crate::energy::{EnergyRef, Magnetized};
use crate::sampler::{self, Chains};
use crate::{tensor, Result};
use std::collections::HashMap;
use tch::Tensor;

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

/// The `delta: "auto"` radius of each (target, alpha) row, measured afresh (no cache kept):
/// [`auto_deltas_cached`] with an empty cache.
pub fn auto_deltas(
    e: &EnergyRef,
    targets: &Tensor,
    alphas: &[f64],
    opts: &AdOptions,
) -> Result<Vec<f64>> {
    auto_deltas_cached(e, targets, alphas, opts, &mut DeltaCache::default())
}

/// Radii already measured by the `auto` rule, by target, alpha and temperature, for one energy
/// and one sampler: the cache of one ADELM run or one barrier refinement, in which the same
/// representatives are targets again and again.
#[derive(Default)]
pub struct DeltaCache(HashMap<DeltaKey, f64>);

/// A target's bits, alpha's and T's.
type DeltaKey = (Vec<u64>, u64, u64);

impl DeltaCache {
    /// How many radii the cache holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when nothing was measured yet.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The `delta: "auto"` rule: for each (target, alpha) row whose radius `cache` does not hold
/// yet, [`AUTO_DELTA_CHAINS`] chains start at the target and sample the magnetized density
/// `U/T + alpha ||x - target||` with the AD sampler, in blocks of [`AUTO_DELTA_BLOCK`] steps
/// until the mean distance over the last two blocks is within 3% of the two before them (the
/// chains have spread to their thermal radius; at least 4 and at most
/// [`AUTO_DELTA_MAX_BLOCKS`] blocks). The success radius is the median distance over the last
/// two blocks: a chain that has arrived in the target's basin is then within delta about half
/// of the time, so it succeeds within a few steps, while delta follows the thermal radius as
/// the dimension, T and alpha change. Spin spaces get 0.
///
/// Each radius is measured from a seed of its own key, and the caller's random stream goes on
/// from one draw whatever was measured: a cached radius equals a fresh measurement, so a run
/// gives the same result whatever its cache held (a resumed run starts with an empty one).
pub fn auto_deltas_cached(
    e: &EnergyRef,
    targets: &Tensor,
    alphas: &[f64],
    opts: &AdOptions,
    cache: &mut DeltaCache,
) -> Result<Vec<f64>> {
    let _g = tch::no_grad_guard();
    let targets = tensor::as_batch(targets)?.f_to_kind(tensor::dtype())?;
    let b = targets.size()[0] as usize;
    if b == 0 || e.space() == crate::energy::Space::Spins {
        return Ok(vec![0.0; b]);
    }
    let rows = tensor::to_matrix(&targets)?;
    let keys: Vec<DeltaKey> = rows
        .iter()
        .zip(alphas)
        .map(|(row, a)| {
            let bits = row.iter().map(|v| v.to_bits()).collect();
            (bits, a.to_bits(), opts.temperature.to_bits())
        })
        .collect();
    let _session = tensor::SessionSeedGuard::new();
    let resume = Tensor::f_randint(i64::MAX, [1], (tch::Kind::Int64, tch::Device::Cpu))?
        .int64_value(&[0]) as u64;
    let measured = (|| -> Result<()> {
        for (i, key) in keys.iter().enumerate() {
            if !cache.0.contains_key(key) {
                tensor::manual_seed(seed_of(key));
                let target = targets.f_narrow(0, i as i64, 1)?;
                let radius = thermal_radius(e, &target, alphas[i], opts)?;
                cache.0.insert(key.clone(), radius);
            }
        }
        Ok(())
    })();
    tensor::manual_seed(resume);
    measured?;
    Ok(keys.iter().map(|k| cache.0[k]).collect())
}

/// The seed of a key's measurement: a function of the key alone.
fn seed_of(key: &DeltaKey) -> u64 {
    let (bits, alpha, t) = key;
    bits.iter()
        .chain([alpha, t])
        .fold(0xde17a, |h, &v| tensor::next_seed_for(h, v))
}

/// The median distance to `target` (`[1, D]`) of [`AUTO_DELTA_CHAINS`] chains held there at
/// magnetization `alpha`, once they have settled; never below one move of the sampler.
fn thermal_radius(e: &EnergyRef, target: &Tensor, alpha: f64, opts: &AdOptions) -> Result<f64> {
    let c = AUTO_DELTA_CHAINS as i64;
    let held = target
        .f_expand([c, target.size()[1]], false)?
        .f_contiguous()?;
    let density = Magnetized::with_alphas(
        e.clone(),
        opts.temperature,
        &vec![alpha; c as usize],
        held.shallow_clone(),
    )?;
    let mut chains = Chains::new(&density, &held)?;
    let mut sampler = sampler::make_sampler(&opts.sampler, &e.space())?;
    let mean = |blocks: &[Vec<f64>]| {
        let n: usize = blocks.iter().map(|b| b.len()).sum();
        blocks.iter().flatten().sum::<f64>() / n.max(1) as f64
    };
    // The distances of every block so far.
    let mut blocks: Vec<Vec<f64>> = Vec::new();
    for block in 0..AUTO_DELTA_MAX_BLOCKS {
        // The block's distances stay on the device until the block ends: one read per block.
        let mut steps = Vec::with_capacity(AUTO_DELTA_BLOCK);
        for _ in 0..AUTO_DELTA_BLOCK {
            crate::interrupt::check()?;
            sampler.step(&density, &mut chains)?;
            steps.push(density.distance(&chains.x)?);
        }
        blocks.push(tensor::to_vec_f64(&Tensor::f_stack(&steps, 0)?)?);
        // Settled: the last two blocks are on average within 3% of the two before them.
        if block >= 3 && mean(&blocks[block - 1..]) <= 1.03 * mean(&blocks[block - 3..block - 1]) {
            break;
        }
    }
    let mut last = blocks[blocks.len() - 2..].concat();
    last.sort_by(f64::total_cmp);
    // Never below one move of the sampler: a chain held so tightly that it hardly moves
    // (a strong alpha) gives a median near 0, which an arriving chain could never meet.
    let floor = opts
        .sampler
        .move_length(&e.space(), target.size()[1] as usize);
    Ok(last[last.len() / 2].max(floor))
}
