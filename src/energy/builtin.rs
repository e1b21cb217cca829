//! Continuous built-in energies: quadratic, a noisy 1-D double well, a Gaussian mixture and
//! Müller-Brown.

use super::{Energy, Space};
use crate::{error::invalid, tensor, Result};
use tch::Tensor;

/// `U(x) = ||x||^2 / 2` in `d` dimensions: the standard Gaussian at T = 1.
pub struct Quadratic {
    d: usize,
}

/// The quadratic bowl `||x||^2 / 2` in `d` dimensions.
pub fn quadratic(d: usize) -> Result<Quadratic> {
    if d == 0 {
        return Err(invalid("quadratic needs d >= 1"));
    }
    Ok(Quadratic { d })
}

impl Energy for Quadratic {
    fn name(&self) -> String {
        format!("quadratic({})", self.d)
    }
    fn dim(&self) -> Option<usize> {
        Some(self.d)
    }
    fn space(&self) -> Space {
        Space::Continuous {
            lo: vec![-3.0; self.d],
            hi: vec![3.0; self.d],
        }
    }
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        super::check_dim(self, x)?;
        Ok(x.f_square()?
            .f_sum_dim_intlist(1, false, x.kind())?
            .f_mul_scalar(0.5)?)
    }
    /// The gradient is `x` itself: bit for bit what autograd gives (`0.5 * 2 * x`, exact), with
    /// no graph to build.
    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let x = tensor::as_batch(x)?.f_detach()?;
        Ok((self.energy(&x)?, x))
    }
}

/// A 1-D landscape with two wide, flat, noisy basins (like the paper's Figure 7): basin one
/// spans roughly `[3, 11]`, basin two `[13.5, 18.5]`, separated by a barrier near 12; ripples
/// of height 0.3 make many shallow local minima inside each basin. Domain `[0, 20]`.
pub struct DoubleWell;

/// The noisy 1-D double well (see [`DoubleWell`]).
pub fn double_well() -> DoubleWell {
    DoubleWell
}

impl Energy for DoubleWell {
    fn name(&self) -> String {
        "double_well".into()
    }
    fn dim(&self) -> Option<usize> {
        Some(1)
    }
    fn space(&self) -> Space {
        Space::Continuous {
            lo: vec![0.0],
            hi: vec![20.0],
        }
    }
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        super::check_dim(self, x)?;
        let x = x.f_select(1, 0)?;
        let bump = |c: f64, w: f64, depth: f64| -> Result<Tensor> {
            Ok(x.f_sub_scalar(c)?
                .f_div_scalar(w)?
                .f_pow_tensor_scalar(4)?
                .f_neg()?
                .f_exp()?
                .f_mul_scalar(-depth)?)
        };
        let ripple = x
            .f_mul_scalar(5.0)?
            .f_sin()?
            .f_square()?
            .f_mul_scalar(0.3)?;
        Ok(bump(7.0, 3.5, 3.0)?
            .f_add(&bump(16.0, 2.5, 2.5)?)?
            .f_add(&ripple)?)
    }
}

/// Gaussian mixture energy `U(x) = -log sum_k w_k exp(-||x - mu_k||^2 / (2 sigma^2))`.
pub struct Gmm {
    means: Tensor,
    log_weights: Tensor,
    sigma: f64,
    d: usize,
    box_lo: Vec<f64>,
    box_hi: Vec<f64>,
}

/// A mixture of isotropic Gaussians with the given means `[K][D]`, weights `[K]` and `sigma`.
pub fn gmm(means: &[Vec<f64>], weights: &[f64], sigma: f64) -> Result<Gmm> {
    if means.is_empty() || means.len() != weights.len() {
        return Err(invalid(format!(
            "gmm needs as many weights as means ({} vs {})",
            weights.len(),
            means.len()
        )));
    }
    if !(sigma > 0.0) {
        return Err(invalid("gmm sigma must be positive"));
    }
    if weights.iter().any(|w| !(*w > 0.0)) {
        return Err(invalid("gmm weights must be positive"));
    }
    let d = means[0].len();
    let total: f64 = weights.iter().sum();
    let lw: Vec<f64> = weights.iter().map(|w| (w / total).ln()).collect();
    let box_lo = (0..d)
        .map(|j| means.iter().map(|m| m[j]).fold(f64::INFINITY, f64::min) - 3.0 * sigma)
        .collect();
    let box_hi = (0..d)
        .map(|j| means.iter().map(|m| m[j]).fold(f64::NEG_INFINITY, f64::max) + 3.0 * sigma)
        .collect();
    Ok(Gmm {
        means: tensor::from_matrix(means)?,
        log_weights: tensor::from_vec(&lw, &[lw.len() as i64])?,
        sigma,
        d,
        box_lo,
        box_hi,
    })
}

impl Energy for Gmm {
    fn name(&self) -> String {
        format!("gmm(k={}, d={})", self.means.size()[0], self.d)
    }
    fn dim(&self) -> Option<usize> {
        Some(self.d)
    }
    fn space(&self) -> Space {
        Space::Continuous {
            lo: self.box_lo.clone(),
            hi: self.box_hi.clone(),
        }
    }
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        super::check_dim(self, x)?;
        let means = self.means.f_to_kind(x.kind())?.f_to_device(x.device())?;
        let lw = self
            .log_weights
            .f_to_kind(x.kind())?
            .f_to_device(x.device())?;
        // [B, 1, D] - [1, K, D] -> squared distances [B, K]
        let d2 = x
            .f_unsqueeze(1)?
            .f_sub(&means.f_unsqueeze(0)?)?
            .f_square()?
            .f_sum_dim_intlist(2, false, x.kind())?;
        let logits = d2
            .f_div_scalar(-2.0 * self.sigma * self.sigma)?
            .f_add(&lw.f_unsqueeze(0)?)?;
        Ok(logits.f_logsumexp(1, false)?.f_neg()?)
    }
    fn describe(&self) -> serde_json::Value {
        serde_json::json!({"name": "gmm", "means": tensor::to_matrix(&self.means).ok(), "sigma": self.sigma})
    }
}

/// The Müller-Brown potential (2-D), with the reference parameters.
pub struct MullerBrown;

/// The Müller-Brown potential.
pub fn muller_brown() -> MullerBrown {
    MullerBrown
}

const MB_A: [f64; 4] = [-200.0, -100.0, -170.0, 15.0];
const MB_LA: [f64; 4] = [-1.0, -1.0, -6.5, 0.7];
const MB_B: [f64; 4] = [0.0, 0.0, 11.0, 0.6];
const MB_C: [f64; 4] = [-10.0, -10.0, -6.5, 0.7];
const MB_X0: [f64; 4] = [1.0, 0.0, -0.5, -1.0];
const MB_Y0: [f64; 4] = [0.0, 0.5, 1.5, 1.0];

impl Energy for MullerBrown {
    fn name(&self) -> String {
        "muller_brown".into()
    }
    fn dim(&self) -> Option<usize> {
        Some(2)
    }
    fn space(&self) -> Space {
        Space::Continuous {
            lo: vec![-1.5, -0.2],
            hi: vec![1.2, 2.0],
        }
    }
    /// The four terms side by side (`[B, 4]`, constants broadcast along the rows), each term's
    /// arithmetic in the order of the formula, summed left to right by one reduction: 15
    /// libtorch calls for any batch instead of 4 per term and coordinate.
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        super::check_dim(self, x)?;
        MB_TERMS.with(|cache| -> Result<Tensor> {
            let mut cache = cache.borrow_mut();
            let stale = cache
                .as_ref()
                .is_none_or(|c| c.kind != x.kind() || c.device != x.device());
            if stale {
                *cache = Some(MbTerms::new(x.kind(), x.device())?);
            }
            let c = cache.as_ref().expect("filled above");
            let dx = x.f_narrow(1, 0, 1)?.f_sub(&c.x0)?;
            let dy = x.f_narrow(1, 1, 1)?.f_sub(&c.y0)?;
            let q = dx
                .f_square()?
                .f_mul(&c.la)?
                .f_add(&dx.f_mul(&dy)?.f_mul(&c.b)?)?
                .f_add(&dy.f_square()?.f_mul(&c.c)?)?;
            Ok(q.f_exp()?
                .f_mul(&c.a)?
                .f_sum_dim_intlist(1, false, x.kind())?)
        })
    }
}

/// Müller-Brown's constants as `[1, 4]` tensors of one dtype on one device.
struct MbTerms {
    kind: tch::Kind,
    device: tch::Device,
    a: Tensor,
    la: Tensor,
    b: Tensor,
    c: Tensor,
    x0: Tensor,
    y0: Tensor,
}

impl MbTerms {
    fn new(kind: tch::Kind, device: tch::Device) -> Result<MbTerms> {
        let row = |v: &[f64; 4]| -> Result<Tensor> {
            Ok(Tensor::from_slice(v)
                .f_view([1, 4])?
                .f_to_kind(kind)?
                .f_to_device(device)?)
        };
        Ok(MbTerms {
            kind,
            device,
            a: row(&MB_A)?,
            la: row(&MB_LA)?,
            b: row(&MB_B)?,
            c: row(&MB_C)?,
            x0: row(&MB_X0)?,
            y0: row(&MB_Y0)?,
        })
    }
}

thread_local! {
    /// The constants of the last dtype and device Müller-Brown ran on.
    static MB_TERMS: std::cell::RefCell<Option<MbTerms>> = const { std::cell::RefCell::new(None) };
}
