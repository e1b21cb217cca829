//! Curves between two states trained by stochastic descent over t, as Garipov et al. (2018,
//! "Loss surfaces, mode connectivity, and fast ensembling of DNNs") connect two networks: a
//! Bézier curve or a polygonal chain φ(t) from `a` to `b` whose interior control points θ
//! minimize the mean energy along the curve, E_{t ~ U(0,1)} U(φ_θ(t)). Each iteration draws
//! `samples` values of t (stratified: one in each of `samples` equal slices of [0, 1]), takes
//! the energy gradients there in one batch, and moves the control points with Adam along
//! `Σ_i B(t_i)ᵀ ∇U(φ(t_i)) / samples`, where `B(t)` is the curve's basis (Bernstein
//! polynomials, or the two hat functions of a chain's segment).
//!
//! The trained curve is returned sampled at `points` equally spaced values of t, a discrete
//! path like a NEB band: its highest point is the barrier of that path, and
//! [`super::neb::SampledPath::saddle`] refines it to the transition state. The curve minimizes the
//! mean energy, not the highest, so its barrier is an upper bound of the saddle's energy that
//! the refinement closes. Works on every continuous energy: network losses (`torch_loss`) and
//! the analytic ones alike.

use crate::energy::Energy;
use crate::models::Adam;
use crate::{error::invalid, interrupt, tensor, Result};
use tch::Tensor;

/// The curve's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CurveKind {
    /// A Bézier curve of degree `bends + 1` with the endpoints as its outer control points.
    Bezier,
    /// A polygonal chain through `bends` points at t = 1/(bends+1), 2/(bends+1), ...
    Polychain,
}

impl CurveKind {
    /// `"bezier"` or `"polychain"`.
    pub fn name(&self) -> &'static str {
        match self {
            CurveKind::Bezier => "bezier",
            CurveKind::Polychain => "polychain",
        }
    }
}

/// Options of [`curve_path`].
#[derive(Clone, Debug)]
pub struct CurveOptions {
    /// Bézier or polygonal chain.
    pub kind: CurveKind,
    /// Interior control points (Garipov et al. use 1).
    pub bends: usize,
    /// Descent iterations.
    pub iters: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Values of t per iteration (one batched energy-and-gradient call).
    pub samples: usize,
    /// Points of the returned path, endpoints included.
    pub points: usize,
    /// For a network's loss (`torch_loss`): each iteration's gradient on a fresh random
    /// mini-batch of this many data rows, as Garipov et al. train their curves; `None`: all
    /// rows. The returned path's energies always use all rows.
    pub minibatch: Option<usize>,
}

impl Default for CurveOptions {
    fn default() -> Self {
        CurveOptions {
            kind: CurveKind::Bezier,
            bends: 1,
            iters: 1000,
            lr: 0.01,
            samples: 16,
            points: 61,
            minibatch: None,
        }
    }
}

/// A trained curve and the path sampled along it.
pub struct CurvePath {
    /// The curve's shape.
    pub kind: CurveKind,
    /// Control points `[bends + 2, D]`, the endpoints first and last.
    pub control: Tensor,
    /// The path: φ(t) at `points` equally spaced t, `[points, D]`.
    pub images: Tensor,
    /// Energy of each image.
    pub energies: Vec<f64>,
    /// Index of the highest image.
    pub top: usize,
    /// Highest energy along the path: the barrier of this path.
    pub max_energy: f64,
    /// The mean energy over t along the sampled path before training (the straight segment)
    /// and after.
    pub mean_before: f64,
    /// See `mean_before`.
    pub mean_after: f64,
    /// Iterations run.
    pub iterations: usize,
    /// Whether Ctrl-C stopped the training (the curve is the one reached).
    pub interrupted: bool,
}

super::neb::sampled_path_fields!(CurvePath);

/// The basis `[S, bends + 2]` of the curve at `t` `[S]`: row `i` weighs the control points
/// into φ(t_i).
fn basis(kind: CurveKind, bends: usize, t: &Tensor) -> Result<Tensor> {
    let n = bends as i64 + 1; // segments of a chain; degree of the Bézier curve
    let t = t.f_unsqueeze(1)?;
    let j = Tensor::f_arange(n + 1, (t.kind(), t.device()))?.f_unsqueeze(0)?;
    Ok(match kind {
        CurveKind::Bezier => {
            // C(n, j) t^j (1 - t)^(n - j), with the binomials computed on the host.
            let binom: Vec<f64> = (0..=n)
                .map(|k| (0..k).fold(1.0, |c, i| c * (n - i) as f64 / (i + 1) as f64))
                .collect();
            let c = tensor::from_vec(&binom, &[1, n + 1])?
                .f_to_kind(t.kind())?
                .f_to_device(t.device())?;
            let one_minus = t.f_neg()?.f_add_scalar(1.0)?;
            c.f_mul(&t.f_pow(&j)?)?
                .f_mul(&one_minus.f_pow(&j.f_neg()?.f_add_scalar(n as f64)?)?)?
        }
        CurveKind::Polychain => {
            // Hat functions max(0, 1 - |n t - j|).
            t.f_mul_scalar(n as f64)?
                .f_sub(&j)?
                .f_abs()?
                .f_neg()?
                .f_add_scalar(1.0)?
                .f_clamp_min(0.0)?
        }
    })
}

/// Trains a curve from `a` to `b` (`[D]` each) on `e`; see the module docs. Stops on Ctrl-C
/// with the curve reached.
pub fn curve_path(
    e: &dyn Energy,
    a: &Tensor,
    b: &Tensor,
    opts: &CurveOptions,
) -> Result<CurvePath> {
    if e.space().is_discrete() {
        return Err(invalid(format!(
            "curve_path: {} has a discrete state space; curves need a continuous one",
            e.name()
        )));
    }
    if opts.bends == 0 || opts.samples == 0 || opts.points < 3 {
        return Err(invalid(
            "curve_path: bends and samples must be at least 1, points at least 3",
        ));
    }
    if !(opts.lr > 0.0 && opts.lr.is_finite()) {
        return Err(invalid("curve_path: lr must be positive and finite"));
    }
    let minibatch = match (opts.minibatch, e.as_torch_loss()) {
        (None, _) => None,
        (Some(0), _) => return Err(invalid("curve_path: minibatch must be at least 1")),
        (Some(k), Some(loss)) => Some((k, loss)),
        (Some(_), None) => {
            return Err(invalid(format!(
                "curve_path: minibatch needs a loss over data (torch_loss); {} has no data rows",
                e.name()
            )))
        }
    };
    let a = a.f_reshape([1, -1])?;
    let b = b.f_reshape([1, -1])?.f_to_kind(a.kind())?;
    crate::energy::check_dim(e, &a)?;
    crate::energy::check_dim(e, &b)?;
    let k = opts.bends as i64;
    let opt = (a.kind(), a.device());
    // Interior control points on the straight segment (Garipov et al.'s initialization).
    let s = Tensor::f_arange_start(1, k + 1, opt)?
        .f_div_scalar((k + 1) as f64)?
        .f_unsqueeze(1)?;
    let inner = a
        .f_add(&b.f_sub(&a)?.f_mul(&s)?)?
        .f_detach()?
        .f_requires_grad_(true)?;
    let grid = Tensor::f_linspace(0.0, 1.0, opts.points as i64, opt)?;
    let sample_path = |inner: &Tensor| -> Result<(Tensor, Vec<f64>)> {
        let _g = tch::no_grad_guard();
        let control = Tensor::f_cat(&[&a, &inner.f_detach()?, &b], 0)?;
        let images = basis(opts.kind, opts.bends, &grid)?.f_matmul(&control)?;
        let energies = crate::energy::energies_f64(e, &images)?;
        Ok((images, energies))
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let mean_before = mean(&sample_path(&inner)?.1);
    let mut adam = Adam::new(vec![inner.shallow_clone()], opts.lr, 0.9)?;
    let slices = Tensor::f_arange(opts.samples as i64, opt)?;
    let mut iterations = 0;
    let mut interrupted = false;
    for _ in 0..opts.iters {
        if interrupt::requested() {
            interrupted = true;
            break;
        }
        let t = slices
            .f_add(&Tensor::f_rand([opts.samples as i64], opt)?)?
            .f_div_scalar(opts.samples as f64)?;
        let w = basis(opts.kind, opts.bends, &t)?;
        let g = {
            let _g = tch::no_grad_guard();
            let control = Tensor::f_cat(&[&a, &inner.f_detach()?, &b], 0)?;
            let phi = w.f_matmul(&control)?;
            match minibatch {
                Some((k, loss)) => loss.energy_and_grad_minibatch(&phi, k)?.1,
                None => e.energy_and_grad(&phi)?.1,
            }
            .f_detach()?
        };
        if g.f_isfinite()?.f_all()?.int64_value(&[]) == 0 {
            return Err(invalid(format!(
                "curve_path: the gradient of {} is not finite on the curve at iteration {iterations}; a smaller lr keeps the curve where the energy is defined",
                e.name()
            )));
        }
        // A surrogate whose gradient in the interior points is Σ_i B(t_i)ᵀ g_i / S.
        let loss = tch::with_grad(|| -> Result<Tensor> {
            let control = Tensor::f_cat(&[&a, &inner, &b], 0)?;
            let phi = w.f_matmul(&control)?;
            Ok(phi
                .f_mul(&g)?
                .f_sum(phi.kind())?
                .f_div_scalar(opts.samples as f64)?)
        })?;
        tch::with_grad(|| adam.step(&loss))?;
        iterations += 1;
    }
    let (images, energies) = sample_path(&inner)?;
    let top = energies.iter().enumerate().fold(0, |best, (i, &v)| {
        if v > energies[best] || energies[best].is_nan() {
            i
        } else {
            best
        }
    });
    let control = Tensor::f_cat(&[&a, &inner.f_detach()?, &b], 0)?;
    Ok(CurvePath {
        kind: opts.kind,
        control,
        max_energy: energies[top],
        mean_after: mean(&energies),
        mean_before,
        images,
        energies,
        top,
        iterations,
        interrupted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both bases are partitions of unity with the endpoints at t = 0 and 1, and a chain passes
    /// through its bends at t = j / (bends + 1).
    #[test]
    fn bases_weigh_the_control_points_as_the_curves_define() {
        for bends in 1..6 {
            let t = Tensor::from_slice(&[0.0, 0.13, 0.5, 0.77, 1.0]);
            for kind in [CurveKind::Bezier, CurveKind::Polychain] {
                let w = basis(kind, bends, &t).unwrap();
                let sums = w.sum_dim_intlist(1, false, tch::Kind::Double);
                assert!((sums - 1.0).abs().max().double_value(&[]) < 1e-12);
                assert!((w.double_value(&[0, 0]) - 1.0).abs() < 1e-12);
                assert!((w.double_value(&[4, bends as i64 + 1]) - 1.0).abs() < 1e-12);
                assert!(w.min().double_value(&[]) >= 0.0);
            }
            let n = bends as f64 + 1.0;
            let at = Tensor::from_slice(&(0..=bends + 1).map(|j| j as f64 / n).collect::<Vec<_>>());
            let w = basis(CurveKind::Polychain, bends, &at).unwrap();
            let eye = Tensor::eye(bends as i64 + 2, (tch::Kind::Double, tch::Device::Cpu));
            assert!((w - eye).abs().max().double_value(&[]) < 1e-12);
        }
    }
}
