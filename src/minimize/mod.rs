//! Local minimum search: FIRE and gradient descent for continuous energies (with gradient
//! sampling taking over chains that stall on a kink), zero-temperature single-site descent for
//! discrete ones. All batched over chains. [`stepper`] holds FIRE and
//! L-BFGS as stateful steppers over a force, for loops that move one system (the NEB band).

mod discrete;
mod fire;
mod gd;
mod min_norm;
mod nonsmooth;
pub mod stepper;

pub use discrete::descend_discrete;
pub use fire::fire;
pub use gd::gradient_descent;
pub use nonsmooth::continue_stalled;
pub use stepper::{Fire, FireSystems, Lbfgs, Stepper};

use crate::energy::Energy;
use crate::{error::invalid, Result};
use tch::Tensor;

/// A chain whose step (FIRE's time step, descent's step length) fell below this share of the
/// first has stalled: it straddles a kink, where the gradient flips at every step.
pub const STALLED: f64 = 1e-4;

/// How minima are searched for, by the names scripts and map files use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MinimizeMethod {
    /// FIRE for continuous spaces (gradient sampling for chains stalled on a kink),
    /// single-site descent for discrete ones.
    Auto,
    /// FIRE, one system per chain (continuous spaces), then gradient sampling for stalled chains.
    Fire,
    /// Gradient descent with a backtracking step (continuous spaces), then gradient sampling for
    /// stalled chains.
    Gd,
    /// Zero-temperature single-site descent (discrete spaces).
    Descent,
}

impl MinimizeMethod {
    /// Every method, in the order help lists them.
    pub const ALL: [MinimizeMethod; 4] = [
        MinimizeMethod::Auto,
        MinimizeMethod::Fire,
        MinimizeMethod::Gd,
        MinimizeMethod::Descent,
    ];

    /// The script name, e.g. `fire`.
    pub fn name(self) -> &'static str {
        match self {
            MinimizeMethod::Auto => "auto",
            MinimizeMethod::Fire => "fire",
            MinimizeMethod::Gd => "gd",
            MinimizeMethod::Descent => "descent",
        }
    }

    /// The method named `name`; the error lists the known names.
    pub fn parse(name: &str) -> Result<MinimizeMethod> {
        MinimizeMethod::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| {
                invalid(format!(
                    "unknown minimize method `{name}`; known: {}",
                    MinimizeMethod::ALL.map(MinimizeMethod::name).join(", ")
                ))
            })
    }
}

/// Options of a minimum search.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct MinimizeOptions {
    /// The search method.
    pub method: MinimizeMethod,
    /// Stop when the largest gradient component of a chain is below this.
    pub tol: f64,
    /// Iteration limit.
    pub max_iter: usize,
    /// Initial / maximal step (FIRE's dt, gradient descent's first step).
    pub step: f64,
    /// Receives a progress line about once a second from FIRE; not stored with a map.
    #[serde(skip)]
    pub progress: crate::progress::Progress,
}

impl Default for MinimizeOptions {
    fn default() -> Self {
        MinimizeOptions {
            method: MinimizeMethod::Auto,
            tol: 1e-6,
            max_iter: 5000,
            step: 0.01,
            progress: crate::progress::Progress::silent(),
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
    /// Per chain: converged within tolerance (the gradient, or on a kink the shortest vector in
    /// the hull of the gradients sampled around the chain, see [`continue_stalled`]).
    pub converged: Vec<bool>,
    /// Stopped early by Ctrl-C: `x` holds where the chains were.
    pub interrupted: bool,
}

/// Finds a local minimum from every row of `x0`.
pub fn minimize(e: &dyn Energy, x0: &Tensor, opts: &MinimizeOptions) -> Result<Minima> {
    crate::profile::time(crate::profile::Phase::Minimize, || {
        minimize_untimed(e, x0, opts)
    })
}

fn minimize_untimed(e: &dyn Energy, x0: &Tensor, opts: &MinimizeOptions) -> Result<Minima> {
    let x0 = crate::tensor::as_batch(x0)?.f_to_kind(crate::tensor::dtype())?;
    crate::energy::check_dim(e, &x0)?;
    let discrete = e.space().is_discrete();
    use MinimizeMethod::*;
    match (opts.method, discrete) {
        (Auto | Descent, true) => descend_discrete(e, &x0, opts.max_iter),
        (Auto | Fire, false) => continue_stalled(e, fire(e, &x0, opts)?, opts),
        (Gd, false) => continue_stalled(e, gradient_descent(e, &x0, opts)?, opts),
        (m @ (Fire | Gd), true) => Err(invalid(format!(
            "`{}` needs a continuous space; discrete energies use single-site descent",
            m.name()
        ))),
        (Descent, false) => Err(invalid(
            "`descent` needs a discrete space; continuous energies use fire or gd",
        )),
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
