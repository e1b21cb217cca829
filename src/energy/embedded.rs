//! A low-dimensional energy placed in a random subspace of a larger space, with a stiff
//! quadratic across it: the standard way to test whether a path or saddle method still works
//! when the landscape is embedded in more dimensions (e.g. Müller-Brown in 10-D).
//!
//! With `Q` a random orthogonal `dim x dim` matrix and `y = Q^T x`, the energy is
//! `U(x) = inner(y_1 .. y_k) + stiffness * (y_{k+1}^2 + .. + y_dim^2)`, `k` the inner dimension.
//! The inner landscape lives on the plane spanned by the first `k` columns of `Q`; its minima and
//! saddles map there by [`Embedded::embed_state`] and keep their energies, and every other
//! direction is a bowl of curvature `2 stiffness`.

use super::{Energy, EnergyRef, Space};
use crate::{error::invalid, tensor, Result};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use tch::Tensor;

/// An energy embedded in `dim` dimensions by a seeded random rotation (see the module docs).
pub struct Embedded {
    inner: EnergyRef,
    k: usize,
    dim: usize,
    seed: u64,
    stiffness: f64,
    /// `Q` as a float64 tensor `[dim, dim]`.
    q_tensor: Tensor,
    lo: Vec<f64>,
    hi: Vec<f64>,
}

/// Embeds `inner` (a continuous energy of fixed dimension `k <= dim`) in `dim` dimensions: a
/// random orthogonal `Q` drawn from `seed` (QR of a Gaussian matrix, with its own RNG, so the
/// session's random streams are untouched), the inner energy on the first `k` coordinates of
/// `Q^T x` and `stiffness * |rest|^2` on the others. The box for random starts is the smallest
/// box around the inner box mapped through `Q`.
pub fn embed(inner: EnergyRef, dim: usize, seed: u64, stiffness: f64) -> Result<Embedded> {
    let k = inner.dim().ok_or_else(|| {
        invalid(format!(
            "embed: {} has no fixed dimension to embed",
            inner.name()
        ))
    })?;
    let (ilo, ihi) = match inner.space() {
        Space::Continuous { lo, hi } => (lo, hi),
        _ => {
            return Err(invalid(format!(
                "embed needs a continuous energy; {} is discrete",
                inner.name()
            )))
        }
    };
    if k == 0 || dim < k {
        return Err(invalid(format!(
            "embed: dim must be at least the inner dimension {k}, got {dim}"
        )));
    }
    if !stiffness.is_finite() || stiffness < 0.0 {
        return Err(invalid("embed: stiffness must be a finite number >= 0"));
    }
    // The rotation is a dense dim x dim matrix (built, orthogonalised, stored as a tensor).
    crate::budget::check(
        &format!("embedding in dimension {dim}"),
        (dim as f64) * (dim as f64),
        24.0,
    )?;
    let q = random_orthogonal(dim, seed);
    let mut lo = vec![0.0; dim];
    let mut hi = vec![0.0; dim];
    for i in 0..dim {
        for j in 0..k {
            let (p, r) = (q[i * dim + j] * ilo[j], q[i * dim + j] * ihi[j]);
            lo[i] += p.min(r);
            hi[i] += p.max(r);
        }
    }
    let q_tensor = tensor::from_vec(&q, &[dim as i64, dim as i64])?.f_to_kind(tch::Kind::Double)?;
    Ok(Embedded {
        inner,
        k,
        dim,
        seed,
        stiffness,
        q_tensor,
        lo,
        hi,
    })
}

/// A `d x d` orthogonal matrix (row-major): the Q factor of a seeded standard Gaussian matrix by
/// twice-applied modified Gram-Schmidt on its columns, signs fixed so that R has a positive
/// diagonal (which makes Q Haar-distributed).
fn random_orthogonal(d: usize, seed: u64) -> Vec<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // Columns of the Gaussian matrix, column-major for the orthogonalisation.
    let mut cols: Vec<Vec<f64>> = (0..d)
        .map(|_| (0..d).map(|_| StandardNormal.sample(&mut rng)).collect())
        .collect();
    for j in 0..d {
        let (done, rest) = cols.split_at_mut(j);
        let cj = &mut rest[0];
        for _pass in 0..2 {
            for ci in done.iter() {
                let proj: f64 = ci.iter().zip(cj.iter()).map(|(a, b)| a * b).sum();
                for (v, c) in cj.iter_mut().zip(ci) {
                    *v -= proj * c;
                }
            }
        }
        // Dividing by the (positive) norm is what gives R a positive diagonal.
        let norm = cj.iter().map(|v| v * v).sum::<f64>().sqrt();
        for v in cj.iter_mut() {
            *v /= norm;
        }
    }
    let mut q = vec![0.0; d * d];
    for (j, c) in cols.iter().enumerate() {
        for (i, v) in c.iter().enumerate() {
            q[i * d + j] = *v;
        }
    }
    q
}

impl Embedded {
    /// The rotation `Q` `[dim, dim]` (float64): `x = Q y`, the inner coordinates are `y_1 .. y_k`.
    pub fn rotation(&self) -> Tensor {
        self.q_tensor.shallow_clone()
    }

    /// The embedded energy.
    pub fn inner(&self) -> &EnergyRef {
        &self.inner
    }

    /// Maps inner states (`[k]` or `[B, k]`) into the embedding: `x = Q[:, :k] x_inner`, shape
    /// `[dim]` or `[B, dim]`, in the input's dtype and device. The energy there equals the inner
    /// energy.
    pub fn embed_state(&self, x_inner: &Tensor) -> Result<Tensor> {
        let single = x_inner.dim() == 1;
        let xb = tensor::as_batch(x_inner)?;
        if xb.size()[1] != self.k as i64 {
            return Err(invalid(format!(
                "embed_state: inner states have dimension {}, got {:?}",
                self.k,
                x_inner.size()
            )));
        }
        let qk = self.q_on(&xb)?.f_narrow(1, 0, self.k as i64)?;
        let x = xb.f_matmul(&qk.f_transpose(0, 1)?)?;
        Ok(if single { x.f_squeeze_dim(0)? } else { x })
    }

    /// The inner coordinates of states `[dim]` or `[B, dim]`: the first `k` entries of `Q^T x`,
    /// shape `[k]` or `[B, k]` (the inverse of [`Embedded::embed_state`] on the inner plane).
    pub fn inner_state(&self, x: &Tensor) -> Result<Tensor> {
        let single = x.dim() == 1;
        let xb = tensor::as_batch(x)?;
        super::check_dim(self, &xb)?;
        let y = xb
            .f_matmul(&self.q_on(&xb)?)?
            .f_narrow(1, 0, self.k as i64)?;
        Ok(if single { y.f_squeeze_dim(0)? } else { y })
    }

    /// `Q` in the dtype and on the device of `x`.
    fn q_on(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.q_tensor.f_to_kind(x.kind())?.f_to_device(x.device())?)
    }

    /// `y = Q^T x` for a batch: inner part `[B, k]` and the rest `[B, dim - k]`.
    fn split(&self, x: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let q = self.q_on(x)?;
        let y = x.f_matmul(&q)?;
        let inner = y.f_narrow(1, 0, self.k as i64)?;
        let rest = y.f_narrow(1, self.k as i64, (self.dim - self.k) as i64)?;
        Ok((q, inner, rest))
    }

    fn quadratic(&self, rest: &Tensor) -> Result<Tensor> {
        Ok(rest
            .f_square()?
            .f_sum_dim_intlist(1, false, rest.kind())?
            .f_mul_scalar(self.stiffness)?)
    }
}

impl Energy for Embedded {
    fn name(&self) -> String {
        format!("embed({}, {})", self.inner.name(), self.dim)
    }
    fn dim(&self) -> Option<usize> {
        Some(self.dim)
    }
    fn space(&self) -> Space {
        Space::Continuous {
            lo: self.lo.clone(),
            hi: self.hi.clone(),
        }
    }
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        super::check_dim(self, x)?;
        let (_, inner, rest) = self.split(x)?;
        Ok(self.inner.energy(&inner)?.f_add(&self.quadratic(&rest)?)?)
    }
    /// The inner energy's own gradient (autograd or analytic), rotated back: `Q [g_inner; 2 s w]`.
    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let x = tensor::as_batch(x)?;
        super::check_dim(self, &x)?;
        let (q, inner, rest) = self.split(&x)?;
        let (u, gi) = self.inner.energy_and_grad(&inner)?;
        let u = u.f_add(&self.quadratic(&rest)?)?;
        let gy = Tensor::f_cat(&[gi, rest.f_mul_scalar(2.0 * self.stiffness)?], 1)?;
        Ok((u, gy.f_matmul(&q.f_transpose(0, 1)?)?))
    }
    fn grad(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.energy_and_grad(x)?.1)
    }
    fn as_embedded(&self) -> Option<&Embedded> {
        Some(self)
    }
    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "name": "embed",
            "inner": self.inner.describe(),
            "dim": self.dim,
            "seed": self.seed,
            "stiffness": self.stiffness,
        })
    }
}
