//! Langevin dynamics: MALA (Metropolis-adjusted) or unadjusted Langevin.

use super::{metropolis, Chains, Sampler};
use crate::energy::Energy;
use crate::Result;
use tch::Tensor;

/// Langevin step `x' = x - (eps^2 / 2) grad U(x) + eps * N(0, I)` (paper eq. 2.9), with a
/// Metropolis-Hastings correction when `adjusted` (MALA).
pub struct Mala {
    eps: f64,
    adjusted: bool,
}

impl Mala {
    /// Step size `eps`; `adjusted` switches the MH correction on.
    pub fn new(eps: f64, adjusted: bool) -> Self {
        Mala { eps, adjusted }
    }
}

fn grad_of(e: &dyn Energy, c: &mut Chains) -> Result<Tensor> {
    if let Some(g) = &c.grad {
        return Ok(g.shallow_clone());
    }
    let (u, g) = e.energy_and_grad(&c.x)?;
    c.u = u;
    c.grad = Some(g.shallow_clone());
    Ok(g)
}

impl Sampler for Mala {
    fn name(&self) -> &'static str {
        if self.adjusted {
            "mala"
        } else {
            "langevin"
        }
    }
    fn step(&mut self, e: &dyn Energy, c: &mut Chains) -> Result<()> {
        let h = self.eps * self.eps / 2.0;
        let g = grad_of(e, c)?;
        let mean = c.x.f_sub(&g.f_mul_scalar(h)?)?;
        let x_new = mean.f_add(&c.x.f_randn_like()?.f_mul_scalar(self.eps)?)?;
        let (u_new, g_new) = e.energy_and_grad(&x_new)?;
        if !self.adjusted {
            c.x = x_new;
            c.u = u_new;
            c.grad = Some(g_new);
            c.accepted = c.accepted.f_add_scalar(1.0)?;
            return Ok(());
        }
        // log q(x | x') - log q(x' | x), with q(a | b) = N(a; b - h grad(b), eps^2 I).
        let back = c.x.f_sub(&x_new.f_sub(&g_new.f_mul_scalar(h)?)?)?;
        let fwd = x_new.f_sub(&mean)?;
        let s2 = 2.0 * self.eps * self.eps;
        let sq = |t: &Tensor| {
            t.f_square()
                .and_then(|t| t.f_sum_dim_intlist(1, false, t.kind()))
        };
        let log_ratio = sq(&fwd)?.f_sub(&sq(&back)?)?.f_div_scalar(s2)?;
        let accept = metropolis(c, x_new, u_new, Some(&log_ratio))?;
        let old = g;
        c.grad = Some(g_new.f_where_self(&accept.f_unsqueeze(1)?, &old)?);
        Ok(())
    }
}
