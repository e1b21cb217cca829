//! Hamiltonian Monte Carlo with a leapfrog integrator and unit mass.

use super::{metropolis, Chains, Sampler};
use crate::energy::Energy;
use crate::Result;

/// HMC: `leapfrog` steps of size `eps`, then a Metropolis test on the total energy.
pub struct Hmc {
    eps: f64,
    leapfrog: usize,
}

impl Hmc {
    /// Leapfrog step size `eps` and number of leapfrog steps per proposal.
    pub fn new(eps: f64, leapfrog: usize) -> Self {
        Hmc { eps, leapfrog }
    }
}

impl Sampler for Hmc {
    fn name(&self) -> &'static str {
        "hmc"
    }
    fn step(&mut self, e: &dyn Energy, c: &mut Chains) -> Result<()> {
        let g0 = match &c.grad {
            Some(g) => g.shallow_clone(),
            None => {
                let (u, g) = e.energy_and_grad(&c.x)?;
                c.u = u;
                g
            }
        };
        let p0 = c.x.f_randn_like()?;
        let kinetic = |p: &tch::Tensor| {
            p.f_square()
                .and_then(|s| s.f_sum_dim_intlist(1, false, s.kind()))
                .and_then(|s| s.f_mul_scalar(0.5))
        };
        let mut p = p0.f_sub(&g0.f_mul_scalar(self.eps / 2.0)?)?;
        let mut x = c.x.shallow_clone();
        let mut u = c.u.shallow_clone();
        let mut g = g0.shallow_clone();
        for i in 0..self.leapfrog {
            x = x.f_add(&p.f_mul_scalar(self.eps)?)?;
            let (un, gn) = e.energy_and_grad(&x)?;
            u = un;
            g = gn;
            let scale = if i + 1 == self.leapfrog {
                self.eps / 2.0
            } else {
                self.eps
            };
            p = p.f_sub(&g.f_mul_scalar(scale)?)?;
        }
        // Metropolis on H = U + K: the kinetic difference enters as a log ratio.
        let log_ratio = kinetic(&p0)?.f_sub(&kinetic(&p)?)?;
        let accept = metropolis(c, x, u, Some(&log_ratio))?;
        c.grad = Some(g.f_where_self(&accept.f_unsqueeze(1)?, &g0)?);
        Ok(())
    }
}
