//! FIRE (Bitzek et al. 2006), batched: every chain has its own time step and mixing.

use super::{Minima, MinimizeOptions};
use crate::energy::Energy;
use crate::{tensor, Result};
use tch::Tensor;

/// Minimizes every row of `x0` with FIRE; chains stop moving once converged.
pub fn fire(e: &dyn Energy, x0: &Tensor, opts: &MinimizeOptions) -> Result<Minima> {
    let b = x0.size()[0] as usize;
    let dt_max = opts.step * 10.0;
    let (f_inc, f_dec, alpha0, f_alpha, n_min) = (1.1, 0.5, 0.1, 0.99, 5usize);
    let mut x = x0.f_detach()?;
    let mut v = x.f_zeros_like()?;
    let mut dt = vec![opts.step; b];
    let mut alpha = vec![alpha0; b];
    let mut since_neg = vec![0usize; b];
    let mut done = vec![false; b];
    let mut iterations = 0;
    let mut interrupted = false;
    let (mut u, mut g) = e.energy_and_grad(&x)?;
    for it in 0..opts.max_iter {
        iterations = it;
        if crate::interrupt::requested() {
            interrupted = true;
            break;
        }
        let gmax = tensor::to_vec_f64(&g.f_abs()?.f_amax(&[1i64][..], false)?)?;
        for i in 0..b {
            done[i] = done[i] || gmax[i] < opts.tol || !gmax[i].is_finite();
        }
        if done.iter().all(|d| *d) {
            break;
        }
        let f = g.f_neg()?;
        let power = tensor::to_vec_f64(&f.f_mul(&v)?.f_sum_dim_intlist(1, false, f.kind())?)?;
        let vnorm = v.f_norm_scalaropt_dim(2, &[1i64][..], true)?;
        let fnorm = f
            .f_norm_scalaropt_dim(2, &[1i64][..], true)?
            .f_clamp_min(1e-300)?;
        let mut reset = vec![0.0; b];
        for i in 0..b {
            if power[i] > 0.0 {
                since_neg[i] += 1;
                if since_neg[i] > n_min {
                    dt[i] = (dt[i] * f_inc).min(dt_max);
                    alpha[i] *= f_alpha;
                }
            } else {
                since_neg[i] = 0;
                dt[i] *= f_dec;
                alpha[i] = alpha0;
                reset[i] = 1.0;
            }
        }
        let col = |vals: &[f64]| {
            tensor::from_vec(vals, &[b as i64, 1])
                .and_then(|t| Ok(t.f_to_kind(x.kind())?.f_to_device(x.device())?))
        };
        let a = col(&alpha)?;
        let keep = col(&reset.iter().map(|r| 1.0 - r).collect::<Vec<_>>())?;
        let live = col(&done
            .iter()
            .map(|d| if *d { 0.0 } else { 1.0 })
            .collect::<Vec<_>>())?;
        let dtt = col(&dt)?;
        // Mix velocity toward the force direction, zero it after an uphill step.
        v = v
            .f_mul(&a.f_neg()?.f_add_scalar(1.0)?)?
            .f_add(&f.f_div(&fnorm)?.f_mul(&vnorm)?.f_mul(&a)?)?
            .f_mul(&keep)?;
        // Semi-implicit Euler with unit mass.
        v = v.f_add(&f.f_mul(&dtt)?)?;
        let dx = v.f_mul(&dtt)?.f_mul(&live)?;
        // Limit a single move to 10 initial steps per coordinate, for safety on steep walls.
        let dx = dx.f_clamp(-dt_max * 10.0, dt_max * 10.0)?;
        x = x.f_add(&dx)?;
        let (un, gn) = e.energy_and_grad(&x)?;
        u = un;
        g = gn;
    }
    let gmax = tensor::to_vec_f64(&g.f_abs()?.f_amax(&[1i64][..], false)?)?;
    Ok(Minima {
        interrupted,
        x,
        energy: u,
        iterations: iterations + 1,
        converged: gmax.iter().map(|m| *m < opts.tol).collect(),
    })
}
