//! Zero-temperature single-site descent for discrete energies.

use super::Minima;
use crate::energy::{Energy, Space};
use crate::{error::invalid, tensor, Result};
use tch::Tensor;

/// Descent until no single-site change lowers the energy: native local-field sweeps for spin
/// models; otherwise coordinate sweeps in which each site takes its lowest-energy value given
/// the others (all values of all chains scored in one batched call per site). `max_iter`
/// caps the sweeps; a chain is converged when a whole sweep left it unchanged.
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
            interrupted: false,
        });
    }
    let candidates: Vec<f64> = match e.space() {
        Space::Spins => vec![1.0, -1.0],
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
    let k = candidates.len() as i64;
    let values = tensor::from_vec(&candidates, &[k])?
        .f_to_kind(x0.kind())?
        .f_to_device(x0.device())?;
    let mut x = snap_to_values(&x0.f_detach()?, &values)?;
    let mut converged = vec![false; b as usize];
    let mut iterations = 0;
    let mut interrupted = false;
    // Coordinate sweeps (iterated conditional modes): each site in turn takes its best value
    // given the others, all K values of all chains scored in one call. A sweep that changes
    // nothing has checked every single-site move of the final state: a local minimum.
    for it in 0..max_iter {
        iterations = it + 1;
        if crate::interrupt::requested() {
            interrupted = true;
            break;
        }
        let mut changed = Tensor::f_zeros([b], (tch::Kind::Bool, x.device()))?;
        // Incremental single-site scores when the energy has them (fresh every sweep).
        let mut sites = e.site_scorer(&x)?;
        for j in 0..d {
            // Scores of every value of site j, the current one included, from the same call,
            // so that rounding cannot make the current value look improvable.
            let u_site = match sites.as_mut() {
                Some(s) => s.candidates(j, &values)?.f_transpose(0, 1)?,
                None => site_energies(e, &x, j, &values)?,
            }; // [K, B]
            let current = x.f_select(1, j)?;
            let current_idx = current
                .f_unsqueeze(0)?
                .f_sub(&values.f_unsqueeze(1)?)?
                .f_abs()?
                .f_argmin(0, false)?;
            let u_current = u_site
                .f_gather(0, &current_idx.f_unsqueeze(0)?, false)?
                .f_squeeze_dim(0)?;
            let (best, pick) = u_site.f_min_dim(0, false)?;
            let margin = u_current.f_abs()?.f_add_scalar(1.0)?.f_mul_scalar(1e-9)?;
            let improve = best.f_lt_tensor(&u_current.f_sub(&margin)?)?;
            let column = values
                .f_index_select(0, &pick)?
                .f_where_self(&improve, &current)?;
            let idx = Tensor::from_slice(&[j]).f_to_device(x.device())?;
            x = x.f_index_copy(1, &idx, &column.f_unsqueeze(1)?)?;
            if let Some(s) = sites.as_mut() {
                s.set(j, &column)?;
            }
            changed = changed.f_logical_or(&improve)?;
        }
        let changed = tensor::to_vec_f64(&changed.f_to_kind(tch::Kind::Double)?)?;
        for (c, ch) in converged.iter_mut().zip(&changed) {
            *c = *ch == 0.0;
        }
        if converged.iter().all(|c| *c) {
            break;
        }
    }
    // Exact energies of the final states (the sweep's running values carry rounding).
    let u = e.energy(&x)?;
    Ok(Minima {
        interrupted,
        x,
        energy: u,
        iterations,
        converged,
    })
}

/// Energies `[K, B]` of every chain in `x` `[B, D]` with site `j` set to each of `values`.
fn site_energies(e: &dyn Energy, x: &Tensor, j: i64, values: &Tensor) -> Result<Tensor> {
    let (b, d) = (x.size()[0], x.size()[1]);
    let k = values.size()[0];
    let idx = Tensor::from_slice(&[j]).f_to_device(x.device())?;
    let cand = x.f_unsqueeze(0)?.f_repeat([k, 1, 1])?; // [K, B, D]
    let col = values.f_view([k, 1, 1])?.f_expand([k, b, 1], false)?;
    let cand = cand.f_index_copy(2, &idx, &col.f_contiguous()?)?;
    Ok(e.energy(&cand.f_view([k * b, d])?)?.f_view([k, b])?)
}

/// Every entry of `x` replaced by the nearest of `values` (states off the grid start on it).
fn snap_to_values(x: &Tensor, values: &Tensor) -> Result<Tensor> {
    let k = values.size()[0];
    let gap = x
        .f_unsqueeze(-1)?
        .f_sub(&values.f_view([1, 1, k])?)?
        .f_abs()?;
    let nearest = gap.f_argmin(-1, false)?;
    Ok(values
        .f_index_select(0, &nearest.f_flatten(0, -1)?)?
        .f_view_as(x)?)
}
