//! Random-walk and component-wise Metropolis-Hastings with Gaussian proposals.

use super::{metropolis, Chains, Sampler};
use crate::energy::{Energy, Space};
use crate::Result;
use tch::Tensor;

/// Random-walk MH: propose `x + step * N(0, I)` for every chain, accept by Metropolis.
/// On spin spaces the proposal flips one random spin per chain instead.
pub struct RandomWalkMh {
    step: f64,
}

impl RandomWalkMh {
    /// Gaussian proposal with standard deviation `step`.
    pub fn new(step: f64) -> Self {
        RandomWalkMh { step }
    }
}

impl Sampler for RandomWalkMh {
    fn name(&self) -> &'static str {
        "mh"
    }
    fn step(&mut self, e: &dyn Energy, c: &mut Chains) -> Result<()> {
        let x_new = match e.space() {
            Space::Spins => {
                let (b, d) = (c.x.size()[0], c.x.size()[1]);
                let site = Tensor::f_randint(d, [b, 1], (tch::Kind::Int64, c.x.device()))?;
                let flip = Tensor::f_ones([b, d], (c.x.kind(), c.x.device()))?
                    .f_scatter_value(1, &site, -1.0)?;
                c.x.f_mul(&flip)?
            }
            Space::Levels { k, lo, hi } => level_move(&c.x, k, lo, hi)?,
            // N(0, step^2) in one draw, then x added in place: the same bits as
            // `x + step * randn_like(x)` (normal_ computes `r cos(t) * step + 0`).
            Space::Continuous { .. } => c.x.f_normal_functional(0.0, self.step)?.f_add_(&c.x)?,
        };
        let u_new = e.energy(&x_new)?;
        let _ = metropolis(c, x_new, u_new, None)?;
        c.grad = None;
        Ok(())
    }
}

/// Moves one random site per chain to a random other level.
fn level_move(x: &Tensor, k: usize, lo: f64, hi: f64) -> Result<Tensor> {
    let (b, d) = (x.size()[0], x.size()[1]);
    let step = if k > 1 {
        (hi - lo) / (k as f64 - 1.0)
    } else {
        1.0
    };
    let site = Tensor::f_randint(d, [b, 1], (tch::Kind::Int64, x.device()))?;
    let level = Tensor::f_randint(k as i64, [b, 1], (x.kind(), x.device()))?
        .f_mul_scalar(step)?
        .f_add_scalar(lo)?;
    Ok(x.f_scatter(1, &site, &level)?)
}

/// Component-wise MH: one sweep updates each coordinate in turn with a 1-D Gaussian proposal
/// (a spin flip or a random level on discrete spaces), accepting each by Metropolis.
pub struct ComponentMh {
    step: f64,
}

impl ComponentMh {
    /// Per-coordinate proposal with standard deviation `step`.
    pub fn new(step: f64) -> Self {
        ComponentMh { step }
    }
}

impl Sampler for ComponentMh {
    fn name(&self) -> &'static str {
        "cmh"
    }
    fn step(&mut self, e: &dyn Energy, c: &mut Chains) -> Result<()> {
        let (b, d) = (c.x.size()[0], c.x.size()[1]);
        let space = e.space();
        // A copy: metropolis adds to `accepted` in place.
        let before = c.accepted.f_detach_copy()?;
        for j in 0..d {
            let col = c.x.f_select(1, j)?;
            let new_col = match &space {
                Space::Spins => col.f_neg()?,
                Space::Levels { k, lo, hi } => {
                    let step = if *k > 1 {
                        (hi - lo) / (*k as f64 - 1.0)
                    } else {
                        1.0
                    };
                    Tensor::f_randint(*k as i64, [b], (c.x.kind(), c.x.device()))?
                        .f_mul_scalar(step)?
                        .f_add_scalar(*lo)?
                }
                Space::Continuous { .. } => {
                    col.f_add(&col.f_randn_like()?.f_mul_scalar(self.step)?)?
                }
            };
            let x_new = c.x.f_index_copy(
                1,
                &Tensor::from_slice(&[j]).f_to_device(c.x.device())?,
                &new_col.f_unsqueeze(1)?,
            )?;
            let u_new = e.energy(&x_new)?;
            let _ = metropolis(c, x_new, u_new, None)?;
        }
        // Count a sweep's acceptance as the fraction of coordinates accepted.
        c.accepted = before.f_add(&c.accepted.f_sub(&before)?.f_div_scalar(d as f64)?)?;
        c.grad = None;
        Ok(())
    }
}
