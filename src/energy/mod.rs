//! Energies: one batched interface `[B, D] -> [B]` with gradients, and the built-ins.
//!
//! An energy is the negative log of an unnormalised density. Samplers and minimizers only see
//! this trait; discrete spin energies also expose a [`SpinModel`] so that samplers can update
//! one site in O(N) with local fields instead of recomputing the whole energy.

mod builtin;
mod embedded;
mod full_pass;
mod magnetized;
mod spin;

pub use builtin::{
    double_well, gmm, muller_brown, quadratic, DoubleWell, Gmm, MullerBrown, Quadratic,
};
pub use embedded::{embed, Embedded};
pub use full_pass::FullPass;
pub use magnetized::{tempered, Magnetized};
pub(crate) use spin::SpinChain;
pub use spin::{ising, sk, sk_from_couplings, sk_load, SpinModel};

use crate::{error::invalid, tensor, Result};
use std::rc::Rc;
use tch::Tensor;

/// Where an energy's states live: used to draw random starting states and to pick samplers.
#[derive(Clone, Debug, PartialEq)]
pub enum Space {
    /// Real vectors; `lo`/`hi` bound the box where random starts are drawn (one value per coordinate).
    Continuous { lo: Vec<f64>, hi: Vec<f64> },
    /// Vectors of ±1 spins.
    Spins,
    /// Each coordinate takes one of `k` evenly spaced levels from `lo` to `hi` (discretised pixels).
    Levels { k: usize, lo: f64, hi: f64 },
}

impl Space {
    /// True for spin and level spaces.
    pub fn is_discrete(&self) -> bool {
        !matches!(self, Space::Continuous { .. })
    }
}

/// Energies of single-site changes, kept up to date as sites change: what Gibbs sweeps and
/// single-site descent ask for, from an energy that scores them faster than full passes
/// (a conv-then-fc descriptor updates only what one pixel touches).
pub trait SiteScorer {
    /// Energies `[B, K]` of every chain with site `j` set to each of `values` `[K]` and every
    /// other site as it is, in the states' dtype and device.
    fn candidates(&mut self, j: i64, values: &Tensor) -> Result<Tensor>;
    /// Sets site `j` of every chain `b` to `new[b]` (`new` is `[B]`).
    fn set(&mut self, j: i64, new: &Tensor) -> Result<()>;
    /// The unmagnetized energies `U` `[B, K]` of the last `candidates`, when this scorer
    /// scores a magnetized density: a Gibbs sweep keeps the highest `U` its single-site
    /// states pass through, which is the path's barrier (not only the sweep's end states).
    fn last_unmagnetized(&self) -> Option<Tensor> {
        None
    }
}

/// A batched energy function.
pub trait Energy {
    /// A short human-readable name, e.g. `muller_brown`.
    fn name(&self) -> String;
    /// State dimension D, when fixed.
    fn dim(&self) -> Option<usize>;
    /// The state space.
    fn space(&self) -> Space;
    /// Energies of a batch `[B, D]`, shape `[B]`.
    fn energy(&self, x: &Tensor) -> Result<Tensor>;
    /// Gradients of a batch `[B, D]`, shape `[B, D]`; autograd unless overridden.
    fn grad(&self, x: &Tensor) -> Result<Tensor> {
        Ok(energy_and_grad_autograd(self, x)?.1)
    }
    /// Energies and gradients together (one forward pass for autograd energies).
    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        energy_and_grad_autograd(self, x)
    }
    /// The native spin model behind a discrete ±1 energy, for O(N) single-site updates.
    fn spin_model(&self) -> Option<&SpinModel> {
        None
    }
    /// The magnetized wrapper, when this energy is one (lets spin samplers see T, alpha, target).
    fn as_magnetized(&self) -> Option<&Magnetized> {
        None
    }
    /// The embedding wrapper, when this energy is one (lets scripts map inner states into it).
    fn as_embedded(&self) -> Option<&Embedded> {
        None
    }
    /// The network loss behind a `torch_loss` energy (lets scripts read its parameters and
    /// test metrics).
    fn as_torch_loss(&self) -> Option<&crate::models::TorchLoss> {
        None
    }
    /// A [`SiteScorer`] for the states `x` `[B, D]`, when this energy scores single-site
    /// changes faster than full passes; `None` (the default): score candidates with `energy`.
    fn site_scorer(&self, _x: &Tensor) -> Result<Option<Box<dyn SiteScorer + '_>>> {
        Ok(None)
    }
    /// Parameters worth recording in saved results.
    fn describe(&self) -> serde_json::Value {
        serde_json::json!({ "name": self.name(), "dim": self.dim() })
    }
}

/// Shared handle to an energy (energies are cheap to share and not thread-safe: tensors inside).
pub type EnergyRef = Rc<dyn Energy>;

/// Energy and gradient by autograd, with gradients enabled even inside a no-grad section.
pub fn energy_and_grad_autograd<E: Energy + ?Sized>(e: &E, x: &Tensor) -> Result<(Tensor, Tensor)> {
    let x = tensor::as_batch(x)?;
    tch::with_grad(|| {
        let xg = x.f_detach()?.f_requires_grad_(true)?;
        let u = e.energy(&xg)?;
        if u.dim() != 1 || u.size()[0] != xg.size()[0] {
            return Err(invalid(format!(
                "energy {} returned shape {:?} for a batch of {}; expected [{}]",
                e.name(),
                u.size(),
                xg.size()[0],
                xg.size()[0]
            )));
        }
        if !u.requires_grad() {
            // Constant in x (or computed without autograd): the gradient is zero.
            return Ok((u.f_detach()?, xg.f_zeros_like()?));
        }
        let total = u.f_sum(u.kind())?;
        let g = Tensor::f_run_backward(&[&total], &[&xg], false, false)?;
        let g = g
            .into_iter()
            .next()
            .ok_or_else(|| invalid("autograd returned no gradient"))?;
        Ok((u.f_detach()?, g))
    })
}

/// Energy of a single state `[D]` or batch, as `f64` values.
pub fn energies_f64(e: &dyn Energy, x: &Tensor) -> Result<Vec<f64>> {
    let x = tensor::as_batch(x)?;
    let _guard = tch::no_grad_guard();
    tensor::to_vec_f64(&e.energy(&x)?)
}

/// Checks that a batch has the energy's dimension; gives a clear error otherwise.
pub fn check_dim(e: &dyn Energy, x: &Tensor) -> Result<()> {
    if let Some(d) = e.dim() {
        let got = *x.size().last().unwrap_or(&0);
        if got != d as i64 {
            return Err(invalid(format!(
                "{} expects states of dimension {d}, got {:?}",
                e.name(),
                x.size()
            )));
        }
    }
    Ok(())
}

/// Random starting states `[B, D]` drawn uniformly over the energy's space.
pub fn random_states(e: &dyn Energy, b: usize) -> Result<Tensor> {
    let d = e.dim().ok_or_else(|| {
        invalid(format!(
            "{} has no fixed dimension; give starting states",
            e.name()
        ))
    })? as i64;
    let opts = (tensor::dtype(), tensor::device());
    Ok(match e.space() {
        Space::Continuous { lo, hi } => {
            let lo = tensor::from_vec(&lo, &[1, d])?;
            let hi = tensor::from_vec(&hi, &[1, d])?;
            let u = Tensor::f_rand([b as i64, d], opts)?;
            (&lo + u * (&hi - &lo)).f_contiguous()?
        }
        Space::Spins => Tensor::f_randint(2, [b as i64, d], opts)?
            .f_mul_scalar(2.0)?
            .f_sub_scalar(1.0)?,
        Space::Levels { k, lo, hi } => {
            let idx = Tensor::f_randint(k as i64, [b as i64, d], opts)?;
            let step = if k > 1 {
                (hi - lo) / (k as f64 - 1.0)
            } else {
                0.0
            };
            idx.f_mul_scalar(step)?.f_add_scalar(lo)?
        }
    })
}
