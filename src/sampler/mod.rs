//! Batched local MCMC samplers. A state is a row; every sampler moves all chains `[B, D]` at
//! once on an energy read as a negative log density (wrap with [`crate::energy::tempered`] or
//! [`crate::energy::Magnetized`] for a temperature and a magnetization).

mod gibbs;
mod hmc;
mod langevin;
mod mh;

pub use gibbs::Gibbs;
pub use hmc::Hmc;
pub use langevin::Mala;
pub use mh::{ComponentMh, RandomWalkMh};

use crate::energy::{Energy, Space};
use crate::{error::invalid, tensor, Result};
use tch::Tensor;

/// The chains being sampled: states, their cached energies (and gradients), acceptance counts.
pub struct Chains {
    /// States `[B, D]`.
    pub x: Tensor,
    /// Energies of `x` under the sampled density, `[B]`.
    pub u: Tensor,
    /// Gradients of the density at `x`, when a gradient sampler has computed them.
    pub grad: Option<Tensor>,
    /// Accepted proposals per chain (fractions for samplers that update site by site), `[B]`.
    pub accepted: Tensor,
    /// Steps taken so far.
    pub steps: usize,
    /// Highest unmagnetized energy met inside the last step, per chain, for samplers that pass
    /// through intermediate states within one step (Gibbs sweeps: native spin sweeps, and
    /// level sweeps through an energy's site scorer).
    pub path_max: Option<Vec<f64>>,
}

impl Chains {
    /// Starts chains at `x` (a state `[D]` or batch `[B, D]`) on energy `e`.
    pub fn new(e: &dyn Energy, x: &Tensor) -> Result<Chains> {
        let x = tensor::as_batch(x)?
            .f_detach()?
            .f_to_kind(tensor::dtype())?;
        crate::energy::check_dim(e, &x)?;
        let u = {
            let _g = tch::no_grad_guard();
            e.energy(&x)?
        };
        let accepted = u.f_zeros_like()?;
        Ok(Chains {
            x,
            u,
            grad: None,
            accepted,
            steps: 0,
            path_max: None,
        })
    }
    /// Acceptance rate per chain.
    pub fn acceptance(&self) -> Result<Vec<f64>> {
        let a = tensor::to_vec_f64(&self.accepted)?;
        Ok(a.iter()
            .map(|v| {
                if self.steps > 0 {
                    v / self.steps as f64
                } else {
                    0.0
                }
            })
            .collect())
    }
    /// Number of chains.
    pub fn len(&self) -> usize {
        self.x.size()[0] as usize
    }
    /// True with no chains.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Keeps only the chains whose indices are given (used to drop finished AD trials).
    pub fn keep(&mut self, idx: &Tensor) -> Result<()> {
        self.x = self.x.f_index_select(0, idx)?;
        self.u = self.u.f_index_select(0, idx)?;
        self.accepted = self.accepted.f_index_select(0, idx)?;
        if let Some(g) = &self.grad {
            self.grad = Some(g.f_index_select(0, idx)?);
        }
        self.path_max = None;
        Ok(())
    }
    /// Re-evaluates the cached energies after the density changed (e.g. a new target).
    pub fn refresh(&mut self, e: &dyn Energy) -> Result<()> {
        let _g = tch::no_grad_guard();
        self.u = e.energy(&self.x)?;
        self.grad = None;
        Ok(())
    }
}

/// A batched MCMC kernel.
pub trait Sampler {
    /// Name, e.g. `mh`.
    fn name(&self) -> &'static str;
    /// Moves every chain by one step (one sweep over sites for site-wise samplers).
    fn step(&mut self, e: &dyn Energy, c: &mut Chains) -> Result<()>;
}

/// The local MCMC kernels, by the names scripts and map files use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SamplerKind {
    /// Gibbs for discrete spaces, random-walk MH otherwise.
    Auto,
    /// Random-walk Metropolis-Hastings, all coordinates at once.
    Mh,
    /// Component-wise Metropolis-Hastings, one coordinate at a time.
    Cmh,
    /// Metropolis-adjusted Langevin.
    Mala,
    /// Unadjusted Langevin.
    Langevin,
    /// Hamiltonian Monte Carlo.
    Hmc,
    /// Site-by-site heat bath on spins or levels.
    Gibbs,
}

impl SamplerKind {
    /// Every kind, in the order help lists them.
    pub const ALL: [SamplerKind; 7] = [
        SamplerKind::Auto,
        SamplerKind::Mh,
        SamplerKind::Cmh,
        SamplerKind::Mala,
        SamplerKind::Langevin,
        SamplerKind::Hmc,
        SamplerKind::Gibbs,
    ];

    /// The script name, e.g. `mh`.
    pub fn name(self) -> &'static str {
        match self {
            SamplerKind::Auto => "auto",
            SamplerKind::Mh => "mh",
            SamplerKind::Cmh => "cmh",
            SamplerKind::Mala => "mala",
            SamplerKind::Langevin => "langevin",
            SamplerKind::Hmc => "hmc",
            SamplerKind::Gibbs => "gibbs",
        }
    }

    /// The kind named `name`; the error lists the known names.
    pub fn parse(name: &str) -> Result<SamplerKind> {
        SamplerKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                invalid(format!(
                    "unknown sampler `{name}`; known: {}",
                    SamplerKind::ALL.map(SamplerKind::name).join(", ")
                ))
            })
    }

    /// The kind that runs in `space`: `auto` becomes gibbs on discrete spaces, mh otherwise.
    pub fn resolve(self, space: &Space) -> SamplerKind {
        match self {
            SamplerKind::Auto if space.is_discrete() => SamplerKind::Gibbs,
            SamplerKind::Auto => SamplerKind::Mh,
            k => k,
        }
    }
}

/// Which sampler to build, with its step size.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SamplerSpec {
    /// The kernel.
    pub kind: SamplerKind,
    /// Proposal scale (MH, component-wise MH), time step (MALA/Langevin, HMC).
    pub step: f64,
    /// Leapfrog steps per HMC step.
    pub leapfrog: usize,
}

impl Default for SamplerSpec {
    fn default() -> Self {
        SamplerSpec {
            kind: SamplerKind::Auto,
            step: 0.05,
            leapfrog: 10,
        }
    }
}

impl SamplerSpec {
    /// The typical length of one move in `dim` dimensions of `space`: `step sqrt(dim)` for the
    /// random-walk and Langevin samplers (per-coordinate scale `step`), `step leapfrog
    /// sqrt(dim)` for HMC, one level spacing on level spaces, 2 (one flip) on spins. A chain
    /// cannot resolve distances much below it.
    pub fn move_length(&self, space: &Space, dim: usize) -> f64 {
        let root = (dim as f64).sqrt();
        match space {
            Space::Spins => 2.0,
            Space::Levels { k, lo, hi } => {
                if *k > 1 {
                    (hi - lo) / (*k as f64 - 1.0)
                } else {
                    0.0
                }
            }
            Space::Continuous { .. } => match self.kind {
                SamplerKind::Hmc => self.step * self.leapfrog.max(1) as f64 * root,
                _ => self.step * root,
            },
        }
    }
}

/// Builds the sampler described by `spec` for states in `space`.
pub fn make_sampler(spec: &SamplerSpec, space: &Space) -> Result<Box<dyn Sampler>> {
    let kind = spec.kind.resolve(space);
    let step_ok = spec.step > 0.0; // false for NaN too
    if kind != SamplerKind::Gibbs && !step_ok {
        return Err(invalid(format!(
            "sampler step must be positive, got {}",
            spec.step
        )));
    }
    let discrete_ok = matches!(
        kind,
        SamplerKind::Gibbs | SamplerKind::Cmh | SamplerKind::Mh
    );
    if space.is_discrete() && !discrete_ok {
        return Err(invalid(format!(
            "sampler `{}` needs a continuous space; use gibbs for discrete states",
            kind.name()
        )));
    }
    Ok(match kind {
        SamplerKind::Mh => Box::new(RandomWalkMh::new(spec.step)),
        SamplerKind::Cmh => Box::new(ComponentMh::new(spec.step)),
        SamplerKind::Mala => Box::new(Mala::new(spec.step, true)),
        SamplerKind::Langevin => Box::new(Mala::new(spec.step, false)),
        SamplerKind::Hmc => Box::new(Hmc::new(spec.step, spec.leapfrog.max(1))),
        SamplerKind::Gibbs | SamplerKind::Auto => Box::new(Gibbs::new(space.clone())?),
    })
}

/// Metropolis acceptance: keeps proposals where `log u < -(u_new - u_old) + log_q_ratio`.
/// A NaN energy on either side makes the comparison false, so it is never accepted.
pub(crate) fn metropolis(
    c: &mut Chains,
    x_new: Tensor,
    u_new: Tensor,
    log_ratio: Option<&Tensor>,
) -> Result<Tensor> {
    let mut log_alpha = c.u.f_sub(&u_new)?;
    if let Some(r) = log_ratio {
        log_alpha = log_alpha.f_add_(r)?;
    }
    let accept = Tensor::f_rand_like(&c.u)?
        .f_log_()?
        .f_lt_tensor(&log_alpha)?;
    c.x = x_new.f_where_self(&accept.f_unsqueeze(1)?, &c.x)?;
    c.u = u_new.f_where_self(&accept, &c.u)?;
    let _ = c.accepted.f_add_(&accept)?;
    Ok(accept)
}

/// Result of running chains: the final chains and thinned states/energies along the way.
pub struct Trace {
    /// Final chains.
    pub chains: Chains,
    /// Recorded states, each `[B, D]`.
    pub states: Vec<Tensor>,
    /// Recorded energies of the sampled density, each `[B]`.
    pub energies: Vec<Tensor>,
}

/// Runs `steps` steps from `x0`, recording every `thin`-th state (0: none). Stops early with
/// what it has when Ctrl-C is pressed.
pub fn run(
    e: &dyn Energy,
    sampler: &mut dyn Sampler,
    x0: &Tensor,
    steps: usize,
    thin: usize,
) -> Result<Trace> {
    let _g = tch::no_grad_guard();
    if let Some(recorded) = steps.checked_div(thin) {
        // Every recorded step keeps a copy of the chains and their energies.
        let per_step = x0.numel() as f64 * x0.kind().elt_size_in_bytes() as f64
            + x0.size().first().copied().unwrap_or(1) as f64 * 8.0;
        crate::budget::check(
            &format!("recording {recorded} steps of the chains (steps / thin)"),
            recorded as f64,
            per_step,
        )?;
    }
    let mut chains = Chains::new(e, x0)?;
    let (mut states, mut energies) = (Vec::new(), Vec::new());
    for i in 0..steps {
        if crate::interrupt::requested() {
            break;
        }
        sampler.step(e, &mut chains)?;
        chains.steps += 1;
        if thin > 0 && (i + 1) % thin == 0 {
            states.push(chains.x.shallow_clone());
            energies.push(chains.u.shallow_clone());
        }
    }
    Ok(Trace {
        chains,
        states,
        energies,
    })
}
