//! Batched FIRE minimization: every row of the batch is its own chain, driven by the shared
//! [`Fire`] stepper with one system per row; converged chains are frozen by zeroing their force,
//! and so are stalled ones (their time step fell below [`STALLED`](super::STALLED) of the first:
//! FIRE stops like this on a kink), which [`continue_stalled`](super::nonsmooth) takes over.

use super::stepper::{Fire, FireSystems, Stepper};
use super::{Minima, MinimizeOptions, STALLED};
use crate::energy::Energy;
use crate::{tensor, Result};
use tch::Tensor;

/// A move longer than this many first time steps is cut to it, for safety on steep walls.
const MAX_MOVE_IN_STEPS: f64 = 100.0;

/// Minimizes every row of `x0` with FIRE; chains stop moving once converged or stalled.
pub fn fire(e: &dyn Energy, x0: &Tensor, opts: &MinimizeOptions) -> Result<Minima> {
    let b = x0.size()[0] as usize;
    let mut stepper = Fire::with_time_step(
        FireSystems::EachRow,
        opts.step,
        MAX_MOVE_IN_STEPS * opts.step,
    );
    let mut x = x0.f_detach()?;
    let mut done = vec![false; b];
    let mut frozen: Option<Tensor> = None;
    let mut iterations = 0;
    let mut interrupted = false;
    let (mut u, mut g) = e.energy_and_grad(&x)?;
    let mut last_report = std::time::Instant::now();
    for it in 0..opts.max_iter {
        iterations = it;
        if crate::interrupt::requested() {
            interrupted = true;
            break;
        }
        let gmax = largest_components(&g)?;
        let dt = stepper.time_steps();
        let stalled = |i: usize| dt.get(i).is_some_and(|t| *t < STALLED * opts.step);
        let mut newly_done = false;
        for i in 0..b {
            if !done[i] && (gmax[i] < opts.tol || !gmax[i].is_finite() || stalled(i)) {
                done[i] = true;
                newly_done = true;
            }
        }
        if done.iter().all(|d| *d) {
            break;
        }
        if opts.progress.is_on() && last_report.elapsed().as_secs_f64() > 1.0 {
            last_report = std::time::Instant::now();
            let converged = done.iter().filter(|d| **d).count();
            opts.progress.line(&format!(
                "minimize: iteration {it}/{}  converged or stalled {converged}/{b}",
                opts.max_iter
            ));
        }
        if newly_done {
            // The mask goes to the device only when a chain converged.
            let mask: Vec<f64> = done.iter().map(|d| if *d { 1.0 } else { 0.0 }).collect();
            frozen = Some(
                tensor::from_vec(&mask, &[b as i64, 1])?
                    .f_to_device(x.device())?
                    .f_gt(0.5)?,
            );
        }
        let force = match &frozen {
            Some(mask) => g.f_neg()?.f_masked_fill(mask, 0.0)?,
            None => g.f_neg()?,
        };
        x = stepper.step(&x, &force)?;
        (u, g) = e.energy_and_grad(&x)?;
    }
    let gmax = largest_components(&g)?;
    Ok(Minima {
        interrupted,
        x,
        energy: u,
        iterations: iterations + 1,
        converged: gmax.iter().map(|m| *m < opts.tol).collect(),
    })
}

/// The largest gradient component of every row.
fn largest_components(g: &Tensor) -> Result<Vec<f64>> {
    tensor::to_vec_f64(&g.f_abs()?.f_amax(&[1i64][..], false)?)
}
