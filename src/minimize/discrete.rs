//! Zero-temperature single-site descent for discrete energies.

use super::Minima;
use crate::energy::{Energy, Space};
use crate::{error::invalid, tensor, Result};
use tch::Tensor;

/// Greedy descent until no single-site change lowers the energy: native local-field sweeps
/// for spin models; otherwise each iteration scores every single-site change of every chain
/// in one batched call and applies the best one.
pub fn descend_discrete(e: &dyn Energy, x0: &Tensor, max_iter: usize) -> Result<Minima> {
    let (b, d) = (x0.size()[0], x0.size()[1]);
    let _g = tch::no_grad_guard();
    if let Some(model) = e.spin_model() {
        let mut s = tensor::to_vec_f64(x0)?;
        model.descend(&mut s);
        let x = tensor::from_vec(&s, &[b, d])?;
        let energy = e.energy(&x)?;
        return Ok(Minima {
            x,
            energy,
            iterations: 1,
            converged: vec![true; b as usize],
        });
    }
    let candidates: Vec<f64> = match e.space() {
        Space::Spins => vec![],
        Space::Levels { k, lo, hi } => {
            let step = if k > 1 {
                (hi - lo) / (k as f64 - 1.0)
            } else {
                0.0
            };
            (0..k).map(|i| lo + step * i as f64).collect()
        }
        Space::Continuous { .. } => {
            return Err(invalid("single-site descent needs a discrete space"))
        }
    };
    let mut x = x0.f_detach()?;
    let mut u = e.energy(&x)?;
    let mut converged = vec![false; b as usize];
    let mut iterations = 0;
    for it in 0..max_iter {
        iterations = it + 1;
        crate::interrupt::check()?;
        // All single-site changes: [B, M, D] where M = D (flips) or D*K (levels).
        let moves = if candidates.is_empty() {
            let flips = Tensor::f_eye(d, (x.kind(), x.device()))?
                .f_mul_scalar(-2.0)?
                .f_add_scalar(1.0)?;
            x.f_unsqueeze(1)?.f_mul(&flips.f_unsqueeze(0)?)?
        } else {
            let k = candidates.len() as i64;
            let eye = Tensor::f_eye(d, (x.kind(), x.device()))?; // [D, D]
            let lv = tensor::from_vec(&candidates, &[k])?.f_to_kind(x.kind())?;
            // x with site j replaced by level l: x * (1 - e_j) + l * e_j
            let keep = eye.f_neg()?.f_add_scalar(1.0)?.f_unsqueeze(1)?; // [D,1,D]
            let put = eye.f_unsqueeze(1)?.f_mul(&lv.f_view([1, k, 1])?)?; // [D,K,D]
            let cand = x
                .f_view([b, 1, 1, d])?
                .f_mul(&keep.f_unsqueeze(0)?)?
                .f_add(&put.f_unsqueeze(0)?)?;
            cand.f_view([b, d * k, d])?
        };
        let m = moves.size()[1];
        let um = e.energy(&moves.f_view([b * m, d])?)?.f_view([b, m])?;
        let (best, arg) = um.f_min_dim(1, false)?;
        let improve = best.f_lt_tensor(&u.f_sub_scalar(1e-12)?)?;
        let any = tensor::to_vec_f64(&improve.f_to_kind(tch::Kind::Double)?)?;
        if any.iter().all(|v| *v == 0.0) {
            converged = vec![true; b as usize];
            break;
        }
        let picked = moves
            .f_gather(
                1,
                &arg.f_view([b, 1, 1])?.f_expand([b, 1, d], false)?,
                false,
            )?
            .f_squeeze_dim(1)?;
        x = picked.f_where_self(&improve.f_unsqueeze(1)?, &x)?;
        u = best.f_where_self(&improve, &u)?;
    }
    Ok(Minima {
        x,
        energy: u,
        iterations,
        converged,
    })
}
