//! Tuning T and alpha (Figure 13) and the AD phase diagram (Figures 9-10).

use super::adelm::{adelm, AdelmOptions};
use super::barrier::{refine_barriers, RefineOptions};
use super::proposer::Proposer;
use crate::energy::{tempered, EnergyRef};
use crate::sampler::{self, Chains, SamplerSpec};
use crate::{error::invalid, tensor, Result};
use tch::Tensor;

/// Energy change of unmagnetized chains at one temperature.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TemperatureRow {
    /// Temperature.
    pub temperature: f64,
    /// Mean over chains and steps of U(x_t) - U(x0).
    pub mean_change: f64,
    /// Largest U(x_t) - U(x0) seen.
    pub max_change: f64,
}

/// Runs `chains` unmagnetized chains from the minimum `x0` for `steps` steps at each temperature.
pub fn tune_temperature(
    e: &EnergyRef,
    x0: &Tensor,
    temps: &[f64],
    steps: usize,
    chains: usize,
    spec: &SamplerSpec,
) -> Result<Vec<TemperatureRow>> {
    let _g = tch::no_grad_guard();
    let x0 = tensor::as_batch(x0)?.f_to_kind(tensor::dtype())?;
    let u0 = tensor::scalar_f64(&e.energy(&x0)?.f_select(0, 0)?)?;
    let start = x0
        .f_narrow(0, 0, 1)?
        .f_expand([chains as i64, x0.size()[1]], false)?
        .f_contiguous()?;
    let mut rows = Vec::new();
    for &t in temps {
        let density = tempered(e.clone(), t)?;
        let mut s = sampler::make_sampler(spec, &e.space())?;
        let mut c = Chains::new(&density, &start)?;
        let (mut sum, mut max, mut count) = (0.0, f64::NEG_INFINITY, 0usize);
        for _ in 0..steps {
            if crate::interrupt::requested() {
                // The temperatures done so far are the result; this one is unfinished.
                return Ok(rows);
            }
            s.step(&density, &mut c)?;
            for v in tensor::to_vec_f64(&c.u)? {
                let du = v * t - u0;
                sum += du;
                max = max.max(du);
                count += 1;
            }
        }
        rows.push(TemperatureRow {
            temperature: t,
            mean_change: sum / count.max(1) as f64,
            max_change: max,
        });
    }
    Ok(rows)
}

/// `n` values from `lo` to `hi` evenly spaced on a log scale.
pub fn log_grid(lo: f64, hi: f64, n: usize) -> Result<Vec<f64>> {
    if !(lo > 0.0 && hi > lo) || n == 0 {
        return Err(invalid("a log grid needs 0 < lo < hi and n >= 1"));
    }
    Ok((0..n)
        .map(|i| {
            if n == 1 {
                lo
            } else {
                (lo.ln() + (hi.ln() - lo.ln()) * i as f64 / (n - 1) as f64).exp()
            }
        })
        .collect())
}

/// One alpha of an alpha sweep.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AlphaRow {
    /// The magnetization.
    pub alpha: f64,
    /// Groups the short mapping found.
    pub groups: usize,
    /// AD trials run.
    pub ad_trials: usize,
    /// Of those, successful (none: the group count says nothing about basins).
    pub ad_successes: usize,
}

/// The warning for a sweep in which some alphas had no successful AD trial (their group counts
/// then say nothing about basins); None when every alpha had one.
pub fn no_success_warning(rows: &[AlphaRow], delta: &super::ad::Delta) -> Option<String> {
    let failed: Vec<String> = rows
        .iter()
        .filter(|r| r.ad_trials > 0 && r.ad_successes == 0)
        .map(|r| r.alpha.to_string())
        .collect();
    (!failed.is_empty()).then(|| {
        format!(
            "tune_alpha: warning: no AD trial succeeded at alpha {}; unless every minimum is its own basin there, those group counts reflect the success radius (delta {delta}), not the basins",
            failed.join(", ")
        )
    })
}

/// Groups found by a short mapping at each alpha, every mapping drawing its starting states
/// from `proposer` (use the proposals of the mapping being tuned). The short maps are not
/// completed into one tree (only their group counts are used).
pub fn tune_alpha(
    e: &EnergyRef,
    alphas: &[f64],
    base: &AdelmOptions,
    proposer: &mut dyn Proposer,
) -> Result<Vec<AlphaRow>> {
    let mut out = Vec::new();
    let started = std::time::Instant::now();
    for (i, &a) in alphas.iter().enumerate() {
        let mut o = base.clone();
        o.ad.alpha = a;
        o.checkpoint = None;
        o.complete = false;
        o.progress = crate::progress::Progress::silent();
        let map = adelm(e, proposer, &o)?;
        if map.interrupted {
            // The alphas done so far are the result; this one's map is unfinished.
            break;
        }
        base.progress.line(&format!(
            "tune_alpha: alpha {a} ({}/{}): {} groups, {} of {} AD trials succeeded  [{:.1}s]",
            i + 1,
            alphas.len(),
            map.groups.len(),
            map.stats.ad_successes,
            map.stats.ad_trials,
            started.elapsed().as_secs_f64()
        ));
        out.push(AlphaRow {
            alpha: a,
            groups: map.groups.len(),
            ad_trials: map.stats.ad_trials,
            ad_successes: map.stats.ad_successes,
        });
    }
    Ok(out)
}

/// One temperature's metastable thresholds.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PhaseRow {
    /// Temperature.
    pub temperature: f64,
    /// Lowest alpha at which a trial from a reached b.
    pub alpha_ab: Option<f64>,
    /// Lowest alpha at which a trial from b reached a.
    pub alpha_ba: Option<f64>,
    /// Lowest barrier found a -> b.
    pub barrier_ab: Option<f64>,
    /// Lowest barrier found b -> a.
    pub barrier_ba: Option<f64>,
}

/// Metastable alpha threshold in both directions for each temperature (all in one batch per round).
pub fn phase_diagram(
    e: &EnergyRef,
    a: &Tensor,
    b: &Tensor,
    temps: &[f64],
    opts: &RefineOptions,
) -> Result<Vec<PhaseRow>> {
    let (a, b) = (crate::tensor::as_batch(a)?, crate::tensor::as_batch(b)?);
    if a.size()[0] != 1 || a.size() != b.size() {
        return Err(crate::error::invalid(format!(
            "phase_diagram needs two single states of the same dimension, got {:?} and {:?}",
            a.size(),
            b.size()
        )));
    }
    let (a, b) = (&a, &b);
    let mut rows = Vec::new();
    for &t in temps {
        let mut o = opts.clone();
        o.ad.temperature = t;
        o.both_directions = false;
        let pa = Tensor::f_cat(&[a, b], 0)?;
        let pb = Tensor::f_cat(&[b, a], 0)?;
        let r = refine_barriers(e, &pa, &pb, &o)?;
        rows.push(PhaseRow {
            temperature: t,
            alpha_ab: r[0].alpha,
            alpha_ba: r[1].alpha,
            barrier_ab: r[0].barrier,
            barrier_ba: r[1].barrier,
        });
    }
    Ok(rows)
}
