//! Gibbs sampling for discrete states: ±1 spins (native O(N) local-field sweeps for spin
//! models, batched tensor updates otherwise) and K-level pixels.

use super::{Chains, Sampler};
use crate::energy::{Energy, Space, SpinModel};
use crate::{error::invalid, tensor, Result};
use tch::{Kind, Tensor};

/// Systematic-scan Gibbs sampler: one step is one sweep over every site of every chain.
pub struct Gibbs {
    space: Space,
}

impl Gibbs {
    /// A Gibbs sampler for a discrete space.
    pub fn new(space: Space) -> Result<Self> {
        if !space.is_discrete() {
            return Err(invalid("gibbs needs a discrete space (spins or levels)"));
        }
        Ok(Gibbs { space })
    }
}

/// The native spin model under `e`, with the temperature, magnetization and target it is sampled with.
/// A spin model with the temperature, per-chain alphas and target it is sampled with.
type NativeSpin<'a> = (&'a SpinModel, f64, Vec<f64>, Option<&'a Tensor>);

fn native_spin(e: &dyn Energy, b: usize) -> Option<Result<NativeSpin<'_>>> {
    if let Some(m) = e.spin_model() {
        return Some(Ok((m, 1.0, vec![0.0; b], None)));
    }
    let mag = e.as_magnetized()?;
    let model = mag.base().spin_model()?;
    Some(
        mag.alpha_values(b)
            .map(|a| (model, mag.temperature(), a, mag.target())),
    )
}

impl Sampler for Gibbs {
    fn name(&self) -> &'static str {
        "gibbs"
    }
    fn step(&mut self, e: &dyn Energy, c: &mut Chains) -> Result<()> {
        let b = c.x.size()[0];
        if let Some(native) = native_spin(e, b as usize) {
            let (model, t, alphas, target) = native?;
            let mut states = tensor::to_vec_f64(&c.x)?;
            let targets = match target {
                Some(tg) => Some(tensor::to_vec_f64(
                    &tg.f_expand([b, model.n() as i64], false)?,
                )?),
                None => None,
            };
            let path_max = model.gibbs_sweeps(
                &mut states,
                targets.as_deref(),
                t,
                &alphas,
                1,
                tensor::next_seed(),
            );
            c.x = tensor::from_vec(&states, &[b, model.n() as i64])?
                .f_to_kind(c.x.kind())?
                .f_to_device(c.x.device())?;
            c.path_max = Some(path_max);
        } else {
            match &self.space {
                Space::Spins => sweep_spins(e, c)?,
                Space::Levels { k, lo, hi } => sweep_levels(e, c, *k, *lo, *hi)?,
                Space::Continuous { .. } => return Err(invalid("gibbs needs a discrete space")),
            }
        }
        c.u = e.energy(&c.x)?;
        c.accepted = c.accepted.f_add_scalar(1.0)?;
        c.grad = None;
        Ok(())
    }
}

fn set_column(x: &Tensor, j: i64, col: &Tensor) -> Result<Tensor> {
    let idx = Tensor::from_slice(&[j]).f_to_device(x.device())?;
    Ok(x.f_index_copy(1, &idx, &col.f_unsqueeze(1)?)?)
}

/// Heat-bath update of each spin in turn; both values of a site are scored in one batched call.
fn sweep_spins(e: &dyn Energy, c: &mut Chains) -> Result<()> {
    let (b, d) = (c.x.size()[0], c.x.size()[1]);
    for j in 0..d {
        let plus = set_column(&c.x, j, &Tensor::f_ones([b], (c.x.kind(), c.x.device()))?)?;
        let minus = set_column(
            &c.x,
            j,
            &Tensor::f_full([b], -1.0, (c.x.kind(), c.x.device()))?,
        )?;
        let u = e.energy(&Tensor::f_cat(&[&plus, &minus], 0)?)?;
        let (u_plus, u_minus) = (u.f_narrow(0, 0, b)?, u.f_narrow(0, b, b)?);
        let p_plus = u_minus.f_sub(&u_plus)?.f_sigmoid()?;
        let up = Tensor::f_rand_like(&p_plus)?.f_lt_tensor(&p_plus)?;
        c.x = plus.f_where_self(&up.f_unsqueeze(1)?, &minus)?;
    }
    Ok(())
}

/// Heat-bath update of each K-level site in turn; all K values are scored in one batched call
/// (by the energy's [`crate::energy::SiteScorer`] when it has one).
fn sweep_levels(e: &dyn Energy, c: &mut Chains, k: usize, lo: f64, hi: f64) -> Result<()> {
    let (b, d) = (c.x.size()[0], c.x.size()[1]);
    let step = if k > 1 {
        (hi - lo) / (k as f64 - 1.0)
    } else {
        0.0
    };
    let levels = Tensor::f_arange(k as i64, (c.x.kind(), c.x.device()))?
        .f_mul_scalar(step)?
        .f_add_scalar(lo)?;
    if let Some(mut sites) = e.site_scorer(&c.x)? {
        // Incremental scores: each site's K levels without re-running the whole energy. Under
        // a magnetized density the sweep also keeps the highest unmagnetized energy of the
        // single-site states it passes through (AD's barrier is over the whole path).
        let mut highest: Option<Tensor> = None;
        for j in 0..d {
            let u = sites.candidates(j, &levels)?;
            let probs = u.f_neg()?.f_softmax(1, Kind::Double)?;
            let pick = probs.f_multinomial(1, false)?.f_squeeze_dim(1)?;
            if let Some(base) = sites.last_unmagnetized() {
                let met = base
                    .f_gather(1, &pick.f_unsqueeze(1)?, false)?
                    .f_squeeze_dim(1)?;
                highest = Some(match highest {
                    Some(h) => h.f_maximum(&met)?,
                    None => met,
                });
            }
            let value = levels.f_index_select(0, &pick)?.f_to_kind(c.x.kind())?;
            sites.set(j, &value)?;
            c.x = set_column(&c.x, j, &value)?;
        }
        c.path_max = highest.map(|h| tensor::to_vec_f64(&h)).transpose()?;
        return Ok(());
    }
    for j in 0..d {
        // [K, B, D] candidates, site j set to each level.
        let cand = c.x.f_unsqueeze(0)?.f_repeat([k as i64, 1, 1])?;
        let col = levels
            .f_view([k as i64, 1])?
            .f_expand([k as i64, b], false)?;
        let idx = Tensor::from_slice(&[j]).f_to_device(c.x.device())?;
        let cand = cand.f_index_copy(2, &idx, &col.f_unsqueeze(2)?)?;
        let u = e
            .energy(&cand.f_view([k as i64 * b, d])?)?
            .f_view([k as i64, b])?;
        let probs = u.f_neg()?.f_transpose(0, 1)?.f_softmax(1, Kind::Double)?;
        let pick = probs.f_multinomial(1, false)?.f_squeeze_dim(1)?;
        let value = levels.f_index_select(0, &pick)?.f_to_kind(c.x.kind())?;
        c.x = set_column(&c.x, j, &value)?;
    }
    Ok(())
}
