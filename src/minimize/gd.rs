//! Gradient descent with a per-chain backtracking (Armijo) step. A chain whose step fell below
//! [`STALLED`](super::STALLED) of the first has stalled (on a kink) and stops here.

use super::{Minima, MinimizeOptions, STALLED};
use crate::energy::Energy;
use crate::{tensor, Result};
use tch::Tensor;

/// Minimizes every row of `x0` by gradient descent; each chain adapts its own step.
pub fn gradient_descent(e: &dyn Energy, x0: &Tensor, opts: &MinimizeOptions) -> Result<Minima> {
    let b = x0.size()[0] as usize;
    let mut x = x0.f_detach()?;
    let mut step = vec![opts.step; b];
    let (mut u, mut g) = e.energy_and_grad(&x)?;
    let mut iterations = 0;
    let mut interrupted = false;
    for it in 0..opts.max_iter {
        iterations = it + 1;
        if crate::interrupt::requested() {
            interrupted = true;
            break;
        }
        let gmax = tensor::to_vec_f64(&g.f_abs()?.f_amax(&[1i64][..], false)?)?;
        let idle: Vec<bool> = (0..b)
            .map(|i| gmax[i] < opts.tol || step[i] < STALLED * opts.step)
            .collect();
        if idle.iter().all(|i| *i) {
            break;
        }
        let s = tensor::from_vec(&step, &[b as i64, 1])?.f_to_kind(x.kind())?;
        let x_new = x.f_sub(&g.f_mul(&s)?)?;
        let (u_new, g_new) = e.energy_and_grad(&x_new)?;
        let g2 = tensor::to_vec_f64(&g.f_square()?.f_sum_dim_intlist(1, false, g.kind())?)?;
        let (uo, un) = (tensor::to_vec_f64(&u)?, tensor::to_vec_f64(&u_new)?);
        let mut ok = vec![0.0; b];
        for i in 0..b {
            if idle[i] {
                continue;
            }
            if un[i] <= uo[i] - 1e-4 * step[i] * g2[i] {
                ok[i] = 1.0;
                step[i] *= 1.2;
            } else {
                step[i] *= 0.5;
            }
        }
        let okt = tensor::from_vec(&ok, &[b as i64])?.f_gt(0.5)?;
        x = x_new.f_where_self(&okt.f_unsqueeze(1)?, &x)?;
        u = u_new.f_where_self(&okt, &u)?;
        g = g_new.f_where_self(&okt.f_unsqueeze(1)?, &g)?;
    }
    let gmax = tensor::to_vec_f64(&g.f_abs()?.f_amax(&[1i64][..], false)?)?;
    Ok(Minima {
        interrupted,
        x,
        energy: u,
        iterations,
        converged: gmax.iter().map(|m| *m < opts.tol).collect(),
    })
}
