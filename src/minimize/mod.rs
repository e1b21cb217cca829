//! Local minimum search: FIRE and gradient descent for continuous energies, zero-temperature
//! single-site descent for discrete ones. All batched over chains. [`stepper`] holds FIRE and
//! L-BFGS as stateful steppers over a force, for loops that move one system (the NEB band).

mod discrete;
mod fire;
mod gd;
pub mod stepper;

pub use discrete::descend_discrete;
pub use fire::fire;
pub use gd::gradient_descent;
pub use stepper::{Fire, Lbfgs, Stepper};

use crate::energy::Energy;
use crate::{error::invalid, Result};
use tch::Tensor;

/// Options of a minimum search.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct MinimizeOptions {
    /// `fire`, `gd`, or `auto` (FIRE for continuous spaces, single-site descent for discrete).
    pub method: String,
    /// Stop when the largest gradient component of a chain is below this.
    pub tol: f64,
    /// Iteration limit.
    pub max_iter: usize,
    /// Initial / maximal step (FIRE's dt, gradient descent's first step).
    pub step: f64,
}

impl Default for MinimizeOptions {
    fn default() -> Self {
        MinimizeOptions {
            method: "auto".into(),
            tol: 1e-6,
            max_iter: 5000,
            step: 0.01,
        }
    }
}

/// Minima found from a batch of starts.
pub struct Minima {
    /// Local minima `[B, D]`.
    pub x: Tensor,
    /// Their energies `[B]`.
    pub energy: Tensor,
    /// Iterations used.
    pub iterations: usize,
    /// Per chain: converged within tolerance.
    pub converged: Vec<bool>,
    /// Stopped early by Ctrl-C: `x` holds where the chains were.
    pub interrupted: bool,
}

/// Finds a local minimum from every row of `x0`.
pub fn minimize(e: &dyn Energy, x0: &Tensor, opts: &MinimizeOptions) -> Result<Minima> {
    let x0 = crate::tensor::as_batch(x0)?.f_to_kind(crate::tensor::dtype())?;
    crate::energy::check_dim(e, &x0)?;
    let discrete = e.space().is_discrete();
    match (opts.method.as_str(), discrete) {
        ("auto", true) | ("descent", true) => descend_discrete(e, &x0, opts.max_iter),
        ("auto", false) | ("fire", false) => fire(e, &x0, opts),
        ("gd", false) => gradient_descent(e, &x0, opts),
        (m, true) if m == "fire" || m == "gd" => Err(invalid(format!(
            "`{m}` needs a continuous space; discrete energies use single-site descent"
        ))),
        (m, _) => Err(invalid(format!(
            "unknown minimize method `{m}`; known: auto, fire, gd, descent"
        ))),
    }
}

/// States, energies and counts of distinct minima.
pub type UniqueMinima = (Vec<Vec<f64>>, Vec<f64>, Vec<usize>);

/// Distinct minima: rows closer than `tol` (Euclidean) to a lower-energy row are dropped.
/// Returns `(states, energies, counts)` sorted by energy; `counts` says how many rows each kept.
pub fn unique_minima(x: &Tensor, energy: &Tensor, tol: f64) -> Result<UniqueMinima> {
    let rows = crate::tensor::to_matrix(x)?;
    let u = crate::tensor::to_vec_f64(energy)?;
    let mut order: Vec<usize> = (0..rows.len()).filter(|&i| u[i].is_finite()).collect();
    order.sort_by(|&a, &b| u[a].total_cmp(&u[b]));
    let mut kept: Vec<usize> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    for i in order {
        let near = kept
            .iter()
            .position(|&k| crate::tensor::distance(&rows[k], &rows[i]) <= tol);
        match near {
            Some(p) => counts[p] += 1,
            None => {
                kept.push(i);
                counts.push(1);
            }
        }
    }
    Ok((
        kept.iter().map(|&k| rows[k].clone()).collect(),
        kept.iter().map(|&k| u[k]).collect(),
        counts,
    ))
}
