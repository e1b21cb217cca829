//! One pair of minima, three barrier estimates (Figure 25): the straight line, the refined AD
//! path, and (D)NEB started from the straight line and from the AD path.

use super::barrier::{barrier_1d, refine_barriers, LineBarrier, RefineOptions, Refined};
use super::neb::{neb, NebInit, NebOptions, NebResult};
use crate::energy::{Energy, EnergyRef};
use crate::{tensor, Result};
use tch::Tensor;

/// The estimates for one pair.
pub struct PathComparison {
    /// Max U on the straight line.
    pub line: LineBarrier,
    /// The points of the line where `line.energies` were taken, from `a` to `b`, `[n, D]`.
    pub line_path: Tensor,
    /// AD refinement (its best path has its states recorded, oriented from `a` to `b` like
    /// every other path here, whichever direction the trial ran).
    pub ad: Refined,
    /// (D)NEB from the straight line.
    pub neb_linear: NebResult,
    /// (D)NEB from the best AD path, when AD succeeded.
    pub neb_from_ad: Option<NebResult>,
}

impl PathComparison {
    /// A plain-text table of the barriers (max U along each path).
    pub fn table(&self) -> String {
        let mut s = format!("{:<22} {:>14}  {}\n", "method", "barrier (max U)", "notes");
        s.push_str(&format!(
            "{:<22} {:>14.6}  highest point at t = {:.2}\n",
            "1-D straight line", self.line.barrier, self.line.at
        ));
        match (&self.ad.barrier, &self.ad.alpha) {
            (Some(b), Some(a)) => s.push_str(&format!(
                "{:<22} {:>14.6}  lowest successful alpha {:.4}\n",
                "AD (refined)", b, a
            )),
            _ => s.push_str(&format!(
                "{:<22} {:>14}  no trial reached the target\n",
                "AD (refined)", "-"
            )),
        }
        let row = |name: &str, r: &NebResult| {
            format!(
                "{:<22} {:>14.6}  {} after {} iterations, max force {:.2e}\n",
                name,
                r.max_energy,
                if r.converged {
                    "converged"
                } else {
                    "not converged"
                },
                r.iterations,
                r.max_force
            )
        };
        s.push_str(&row(
            &format!("{:?} (linear start)", self.neb_linear.method)
                .to_uppercase()
                .replace("(LINEAR START)", "(linear start)"),
            &self.neb_linear,
        ));
        if let Some(r) = &self.neb_from_ad {
            s.push_str(&row(
                &format!("{:?} (AD start)", r.method)
                    .to_uppercase()
                    .replace("(AD START)", "(AD start)"),
                r,
            ));
        }
        s
    }
}

/// Runs the three estimates for `a` and `b`. The AD refinement records its paths (`thin` is
/// raised to 1 when 0) so that the best one can start the band.
pub fn compare_paths(
    e: &EnergyRef,
    a: &Tensor,
    b: &Tensor,
    refine: &RefineOptions,
    band: &NebOptions,
) -> Result<PathComparison> {
    let a = tensor::as_batch(a)?.f_to_kind(tensor::dtype())?;
    let b = tensor::as_batch(b)?.f_to_kind(tensor::dtype())?;
    let line = barrier_1d(e.as_ref(), &a, &b, 200)?;
    let mut r = refine.clone();
    r.ad.thin = r.ad.thin.max(1);
    let mut ad = refine_barriers(e, &a, &b, &r)?.remove(0);
    if let Some(best) = ad.best.as_mut() {
        orient_from(
            e.as_ref(),
            best,
            &tensor::to_vec_f64(&a)?,
            &tensor::to_vec_f64(&b)?,
        )?;
    }
    let n = line.energies.len().max(2) as i64;
    let t = Tensor::f_linspace(0.0, 1.0, n, (a.kind(), a.device()))?.f_unsqueeze(1)?;
    let line_path = a.f_add(&b.f_sub(&a)?.f_mul(&t)?)?;
    let neb_linear = neb(
        e.as_ref(),
        &a.f_squeeze_dim(0)?,
        &b.f_squeeze_dim(0)?,
        &NebOptions {
            init: NebInit::Linear,
            ..band.clone()
        },
    )?;
    let neb_from_ad = match &ad.best {
        Some(best) if best.states.len() >= 2 => {
            let path = tensor::from_matrix(&best.states)?;
            Some(neb(
                e.as_ref(),
                &a.f_squeeze_dim(0)?,
                &b.f_squeeze_dim(0)?,
                &NebOptions {
                    init: NebInit::Path(path),
                    ..band.clone()
                },
            )?)
        }
        _ => None,
    };
    Ok(PathComparison {
        line,
        line_path,
        ad,
        neb_linear,
        neb_from_ad,
    })
}

/// Reverses a trial's recorded path (states and energies) when it ran from `b` to `a`, so that
/// it starts at the end nearer `a`. Each step's energy is the highest found on the move into
/// it, so the reversed record is U at the new start (the trial's final state, scored by `e`)
/// followed by the moves' highest energies in reverse order.
fn orient_from(
    e: &dyn Energy,
    trial: &mut crate::landscape::ad::AdTrial,
    a: &[f64],
    b: &[f64],
) -> Result<()> {
    let (Some(first), Some(last)) = (trial.states.first(), trial.states.last()) else {
        return Ok(());
    };
    let forward = tensor::distance(first, a) + tensor::distance(last, b);
    let backward = tensor::distance(first, b) + tensor::distance(last, a);
    if backward < forward {
        let end = tensor::from_vec(&trial.final_state, &[1, trial.final_state.len() as i64])?;
        let u_end = {
            let _g = tch::no_grad_guard();
            tensor::to_vec_f64(&e.energy(&end)?)?[0]
        };
        let moves = trial.energies.split_off(1.min(trial.energies.len()));
        trial.energies = std::iter::once(u_end)
            .chain(moves.into_iter().rev())
            .collect();
        trial.states.reverse();
        trial.distances.reverse();
    }
    Ok(())
}
