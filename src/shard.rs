//! The shard of a cluster run that this process maps: `telescope run --shard I/N`, or Slurm's
//! array variables when the flag is absent. Scripts see it as `SHARD`; maps record it in
//! their provenance; default seeds mix it in, so shards never repeat each other.

use crate::{error::invalid, Result};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// Shard `index` of `count` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, 0 to count - 1.
    pub index: usize,
    /// How many shards the run has.
    pub count: usize,
}

static SHARD: Mutex<Option<Shard>> = Mutex::new(None);

/// Sets (or clears) the shard of this process.
pub fn set(shard: Option<Shard>) {
    *SHARD.lock().unwrap_or_else(|e| e.into_inner()) = shard;
}

/// The shard of this process, if it is one.
pub fn current() -> Option<Shard> {
    *SHARD.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reads `I/N` (`0 <= I < N`).
pub fn parse(text: &str) -> Result<Shard> {
    let bad = || invalid(format!("--shard takes I/N with 0 <= I < N, got `{text}`"));
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (index, count) = (
        i.trim().parse::<usize>().map_err(|_| bad())?,
        n.trim().parse::<usize>().map_err(|_| bad())?,
    );
    if index >= count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

/// The shard a Slurm array task maps: `SLURM_ARRAY_TASK_ID` less `SLURM_ARRAY_TASK_MIN` (0
/// when unset) of `SLURM_ARRAY_TASK_COUNT`; `None` outside an array job. `var` reads the
/// environment.
pub fn from_slurm(var: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>> {
    let (Some(id), Some(count)) = (var("SLURM_ARRAY_TASK_ID"), var("SLURM_ARRAY_TASK_COUNT"))
    else {
        return Ok(None);
    };
    let min = var("SLURM_ARRAY_TASK_MIN").unwrap_or_else(|| "0".into());
    let num = |name: &str, v: &str| {
        v.trim()
            .parse::<usize>()
            .map_err(|_| invalid(format!("{name} is not a count: `{v}`")))
    };
    let (id, count, min) = (
        num("SLURM_ARRAY_TASK_ID", &id)?,
        num("SLURM_ARRAY_TASK_COUNT", &count)?,
        num("SLURM_ARRAY_TASK_MIN", &min)?,
    );
    match id.checked_sub(min) {
        Some(index) if index < count => Ok(Some(Shard { index, count })),
        _ => Err(invalid(format!(
            "Slurm array task {id} is outside {min}..{min}+{count}: submit the array as --array=0-{}",
            count.saturating_sub(1)
        ))),
    }
}

/// Seed stream of shards.
const SHARD_STREAM: u64 = 0x05_4a2d;

/// The default seed of a run from the session seed `base`: `base` itself outside a shard,
/// otherwise a seed of its own per shard index.
pub fn seed(base: u64) -> u64 {
    match current() {
        Some(s) => crate::tensor::next_seed_for(base ^ SHARD_STREAM, s.index as u64),
        None => base,
    }
}
