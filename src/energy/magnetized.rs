//! The Attraction-Diffusion density (paper eq. 3.1): `U(x)/T + alpha * ||x - target||_2`.

use super::{Energy, EnergyRef, SiteScorer, Space, SpinModel};
use crate::{error::invalid, tensor, Result};
use tch::Tensor;

/// `U/T + alpha * ||x - target||` (L2 norm, not squared). With `alpha = 0` it is the tempered
/// energy `U/T`. The target is one state `[D]` or one per chain `[B, D]`.
pub struct Magnetized {
    base: EnergyRef,
    temperature: f64,
    alpha: f64,
    /// Per-chain strengths `[B]`, when chains are magnetized differently (batched AD refinement).
    alphas: Option<Tensor>,
    target: Option<Tensor>,
}

/// `U/T`: the density sampled at temperature `T`, without magnetization.
pub fn tempered(base: EnergyRef, temperature: f64) -> Result<Magnetized> {
    Magnetized::new(base, temperature, 0.0, None)
}

impl Magnetized {
    /// Wraps `base`; `temperature > 0`, `alpha >= 0`; a target is needed when `alpha > 0`.
    pub fn new(
        base: EnergyRef,
        temperature: f64,
        alpha: f64,
        target: Option<Tensor>,
    ) -> Result<Self> {
        if !(temperature > 0.0) || !temperature.is_finite() {
            return Err(invalid(format!(
                "temperature must be positive, got {temperature}"
            )));
        }
        if !(alpha >= 0.0) || !alpha.is_finite() {
            return Err(invalid(format!("alpha must be >= 0, got {alpha}")));
        }
        if alpha > 0.0 && target.is_none() {
            return Err(invalid("a magnetized energy with alpha > 0 needs a target"));
        }
        let target = match target {
            Some(t) => {
                let t = tensor::as_batch(&t)?.f_to_kind(tensor::dtype())?;
                super::check_dim(base.as_ref(), &t)?;
                Some(t)
            }
            None => None,
        };
        Ok(Magnetized {
            base,
            temperature,
            alpha,
            alphas: None,
            target,
        })
    }
    /// One magnetization strength per chain (all `>= 0`), with one target per chain `[B, D]`.
    pub fn with_alphas(
        base: EnergyRef,
        temperature: f64,
        alphas: &[f64],
        target: Tensor,
    ) -> Result<Self> {
        let target = tensor::as_batch(&target)?;
        if alphas.len() as i64 != target.size()[0] {
            return Err(invalid(format!(
                "{} alphas for {} targets",
                alphas.len(),
                target.size()[0]
            )));
        }
        if alphas.iter().any(|a| !(*a >= 0.0) || !a.is_finite()) {
            return Err(invalid("alpha must be >= 0"));
        }
        let max = alphas.iter().cloned().fold(0.0, f64::max);
        let mut m = Magnetized::new(base, temperature, max, Some(target))?;
        let t = m
            .target
            .as_ref()
            .map(|t| (t.kind(), t.device()))
            .unwrap_or((tensor::dtype(), tensor::device()));
        m.alphas = Some(
            tensor::from_vec(alphas, &[alphas.len() as i64])?
                .f_to_kind(t.0)?
                .f_to_device(t.1)?,
        );
        Ok(m)
    }
    /// The magnetization strength of each of `b` chains.
    pub fn alpha_values(&self, b: usize) -> Result<Vec<f64>> {
        match &self.alphas {
            Some(a) => tensor::to_vec_f64(a),
            None => Ok(vec![self.alpha; b]),
        }
    }
    /// The magnetization strength of each of `b` chains as a tensor `[b]` on the device.
    pub fn alphas_tensor(&self, b: usize) -> Result<Tensor> {
        match &self.alphas {
            Some(a) => Ok(a.shallow_clone()),
            None => Ok(Tensor::f_full(
                [b as i64],
                self.alpha,
                (tensor::dtype(), tensor::device()),
            )?),
        }
    }
    /// The unmagnetized energy U.
    pub fn base(&self) -> &EnergyRef {
        &self.base
    }
    /// Temperature T.
    pub fn temperature(&self) -> f64 {
        self.temperature
    }
    /// Magnetization strength alpha.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
    /// The target state(s), `[1, D]` or `[B, D]`.
    pub fn target(&self) -> Option<&Tensor> {
        self.target.as_ref()
    }
    /// Distances `||x - target||` per chain, `[B]` (zeros without a target).
    pub fn distance(&self, x: &Tensor) -> Result<Tensor> {
        match &self.target {
            Some(t) => Ok(x
                .f_sub(&per_row(t, x.size()[0])?)?
                .f_square()?
                .f_sum_dim_intlist(1, false, x.kind())?
                .f_sqrt()?),
            None => Ok(Tensor::f_zeros([x.size()[0]], (x.kind(), x.device()))?),
        }
    }
}

/// Per-chain values `t` `[B, ...]` for a batch of `n` rows. A batch of `r * B` rows holds `r`
/// copies of the chains one after another (candidate states scored together by Gibbs sweeps
/// and single-site descent), so `t` is repeated `r` times.
fn per_row(t: &Tensor, n: i64) -> Result<Tensor> {
    let b = t.size()[0];
    if b == n || b == 1 {
        return Ok(t.shallow_clone());
    }
    if b == 0 || n % b != 0 {
        return Err(invalid(format!(
            "a batch of {n} states for {b} magnetized chains"
        )));
    }
    let mut reps = vec![1i64; t.dim()];
    reps[0] = n / b;
    Ok(t.f_repeat(&reps)?)
}

impl Magnetized {
    /// `t / T`; at T = 1 `t` itself (the same bits, one libtorch call fewer).
    fn over_temperature(&self, t: Tensor) -> Result<Tensor> {
        if self.temperature == 1.0 {
            Ok(t)
        } else {
            Ok(t.f_div_scalar(self.temperature)?)
        }
    }
    fn scale_by_alpha(&self, d: &Tensor) -> Result<Tensor> {
        Ok(match &self.alphas {
            Some(a) => d.f_mul(&per_row(a, d.size()[0])?)?,
            None => d.f_mul_scalar(self.alpha)?,
        })
    }
}

impl Energy for Magnetized {
    fn name(&self) -> String {
        format!(
            "magnetize({}, T={}, alpha={})",
            self.base.name(),
            self.temperature,
            self.alpha
        )
    }
    fn dim(&self) -> Option<usize> {
        self.base.dim()
    }
    fn space(&self) -> Space {
        self.base.space()
    }
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        let u = self.over_temperature(self.base.energy(x)?)?;
        if self.alpha == 0.0 {
            return Ok(u);
        }
        Ok(u.f_add(&self.scale_by_alpha(&self.distance(x)?)?)?)
    }
    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (u, g) = self.base.energy_and_grad(x)?;
        let (mut u, mut g) = (self.over_temperature(u)?, self.over_temperature(g)?);
        if let (Some(t), true) = (&self.target, self.alpha > 0.0) {
            let diff = x.f_sub(&per_row(t, x.size()[0])?)?;
            let dist = diff
                .f_square()?
                .f_sum_dim_intlist(1, true, x.kind())?
                .f_sqrt()?;
            // The norm's gradient is a unit vector; at the target itself it is taken as zero.
            let unit = diff.f_div(&dist.f_clamp_min(1e-12)?)?;
            let dist = dist.f_squeeze_dim(1)?;
            let (du, dg) = match &self.alphas {
                Some(a) => {
                    let a = per_row(a, x.size()[0])?;
                    (dist.f_mul(&a)?, unit.f_mul(&a.f_unsqueeze(1)?)?)
                }
                None => (
                    dist.f_mul_scalar(self.alpha)?,
                    unit.f_mul_scalar(self.alpha)?,
                ),
            };
            u = u.f_add(&du)?;
            g = g.f_add(&dg)?;
        }
        Ok((u, g))
    }
    fn grad(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.energy_and_grad(x)?.1)
    }
    fn as_magnetized(&self) -> Option<&Magnetized> {
        Some(self)
    }
    fn site_scorer(&self, x: &Tensor) -> Result<Option<Box<dyn SiteScorer + '_>>> {
        let Some(inner) = self.base.site_scorer(x)? else {
            return Ok(None);
        };
        let b = x.size()[0];
        let x = x.f_detach()?.f_contiguous()?;
        let target = match (&self.target, self.alpha > 0.0) {
            (Some(t), true) => Some(per_row(t, b)?.f_expand_as(&x)?.f_to_kind(x.kind())?),
            _ => None,
        };
        let d2 = match &target {
            Some(t) => x
                .f_sub(t)?
                .f_square()?
                .f_sum_dim_intlist(1, false, x.kind())?,
            None => Tensor::f_zeros([b], (x.kind(), x.device()))?,
        };
        let alphas = match &self.alphas {
            Some(a) => per_row(a, b)?,
            None => Tensor::f_full([b], self.alpha, (x.kind(), x.device()))?,
        }
        .f_to_kind(x.kind())?;
        Ok(Some(Box::new(MagnetizedSites {
            inner,
            temperature: self.temperature,
            alphas,
            target,
            x,
            d2,
            last_base: None,
        })))
    }
    fn spin_model(&self) -> Option<&SpinModel> {
        None
    }
}

/// Single-site energies of a magnetized energy: the base's (divided by T) plus alpha times
/// the distance to the target, kept as a running squared distance per chain.
struct MagnetizedSites<'a> {
    inner: Box<dyn SiteScorer + 'a>,
    temperature: f64,
    /// `[B]` magnetization strengths.
    alphas: Tensor,
    /// `[B, D]` targets (none without magnetization).
    target: Option<Tensor>,
    x: Tensor,
    /// `||x - target||^2` per chain `[B]`.
    d2: Tensor,
    /// The base energies `[B, K]` of the last candidates.
    last_base: Option<Tensor>,
}

impl SiteScorer for MagnetizedSites<'_> {
    fn candidates(&mut self, j: i64, values: &Tensor) -> Result<Tensor> {
        let base = self.inner.candidates(j, values)?;
        let u = base.f_div_scalar(self.temperature)?;
        self.last_base = Some(base);
        let Some(t) = &self.target else {
            return Ok(u);
        };
        let (xj, tj) = (self.x.f_select(1, j)?, t.f_select(1, j)?);
        let values = values.f_to_kind(self.x.kind())?;
        let d2 = self
            .d2
            .f_sub(&xj.f_sub(&tj)?.f_square()?)?
            .f_unsqueeze(1)?
            .f_add(
                &values
                    .f_unsqueeze(0)?
                    .f_sub(&tj.f_unsqueeze(1)?)?
                    .f_square()?,
            )?;
        Ok(u.f_add(
            &d2.f_clamp_min(0.0)?
                .f_sqrt()?
                .f_mul(&self.alphas.f_unsqueeze(1)?)?,
        )?)
    }
    fn set(&mut self, j: i64, new: &Tensor) -> Result<()> {
        self.inner.set(j, new)?;
        let new = new.f_to_kind(self.x.kind())?;
        let xj = self.x.f_select(1, j)?;
        if let Some(t) = &self.target {
            let tj = t.f_select(1, j)?;
            self.d2 = self
                .d2
                .f_sub(&xj.f_sub(&tj)?.f_square()?)?
                .f_add(&new.f_sub(&tj)?.f_square()?)?;
        }
        let idx = Tensor::from_slice(&[j]).f_to_device(self.x.device())?;
        self.x = self.x.f_index_copy(1, &idx, &new.f_unsqueeze(1)?)?;
        Ok(())
    }
    fn last_unmagnetized(&self) -> Option<Tensor> {
        self.last_base.as_ref().map(Tensor::shallow_clone)
    }
}
