//! Energies defined by networks: the DeepFRAME image energy (2.4), the latent energy (5.4), and
//! a TorchScript module that is itself an energy.
//!
//! Both are ordinary [`Energy`] implementations over flat batches (images `[B, C*H*W]`,
//! latent vectors `[B, d]`), with autograd gradients, so every sampler, AD, ADELM, NEB and DG
//! function accepts them. Inputs are converted to the network's dtype and device and the
//! energies come back in the input's dtype and device (the session default is float64; the
//! networks are usually float32).

use super::net::{Net, Role};
use super::site_scores::ConvFcScorer;
use super::torchscript::ScriptModule;
use crate::energy::{check_dim, Energy, SiteScorer, Space};
use crate::{error::invalid, Result};
use std::rc::Rc;
use tch::Tensor;

/// `U(I) = -F(I|W) + ||I||^2 / (2 sigma^2)` (eq. 2.4) for images flattened to `[B, C*H*W]`.
pub struct DeepFrameEnergy {
    net: Rc<Net>,
    sigma: f64,
    space: Space,
}

/// Options of the image energy's state space.
#[derive(Clone, Debug)]
pub struct ImageSpace {
    /// Lowest pixel value (default -1).
    pub lo: f64,
    /// Highest pixel value (default 1).
    pub hi: f64,
    /// Number of discrete pixel levels (`0`: continuous pixels; e.g. 8 as in section 5.2).
    pub levels: usize,
}

impl Default for ImageSpace {
    fn default() -> Self {
        ImageSpace {
            lo: -1.0,
            hi: 1.0,
            levels: 0,
        }
    }
}

impl DeepFrameEnergy {
    /// The energy of descriptor `net` with reference deviation `sigma` over the pixel space `space`.
    pub fn new(net: Rc<Net>, sigma: f64, space: ImageSpace) -> Result<DeepFrameEnergy> {
        if net.role() != Role::Descriptor {
            return Err(invalid("deepframe_energy needs a descriptor network"));
        }
        if !(sigma > 0.0 && sigma.is_finite()) {
            return Err(invalid(format!("sigma must be positive, got {sigma}")));
        }
        if space.hi.partial_cmp(&space.lo) != Some(std::cmp::Ordering::Greater) {
            return Err(invalid(format!(
                "pixel range [{}, {}] is empty",
                space.lo, space.hi
            )));
        }
        if space.levels == 1 {
            return Err(invalid("levels must be 0 (continuous) or at least 2"));
        }
        let d = net.input_dim() as usize;
        let space = if space.levels >= 2 {
            Space::Levels {
                k: space.levels,
                lo: space.lo,
                hi: space.hi,
            }
        } else {
            Space::Continuous {
                lo: vec![space.lo; d],
                hi: vec![space.hi; d],
            }
        };
        Ok(DeepFrameEnergy { net, sigma, space })
    }
    /// The descriptor.
    pub fn net(&self) -> &Rc<Net> {
        &self.net
    }
    /// The reference deviation sigma.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }
    /// Energies in the network's dtype and device (keeps the autograd graph to the weights).
    pub fn energy_net(&self, x: &Tensor) -> Result<Tensor> {
        deepframe_u(&self.net, self.sigma, x)
    }
}

/// `-F(x) + ||x||^2/(2 sigma^2)` in the net's dtype.
pub(crate) fn deepframe_u(net: &Net, sigma: f64, x: &Tensor) -> Result<Tensor> {
    Ok(deepframe_u_and_score(net, sigma, x)?.0)
}

/// The energy `-F(x) + ||x||^2/(2 sigma^2)` and the score `F(x)` from one forward pass.
pub(crate) fn deepframe_u_and_score(net: &Net, sigma: f64, x: &Tensor) -> Result<(Tensor, Tensor)> {
    let f = net.score(x)?;
    let xn = x.f_to_device(net.device())?.f_to_kind(net.kind())?;
    let b = xn.size()[0];
    let sq = xn
        .f_reshape([b, -1])?
        .f_square()?
        .f_sum_dim_intlist(1, false, net.kind())?;
    Ok((sq.f_div_scalar(2.0 * sigma * sigma)?.f_sub(&f)?, f))
}

fn back_to(u: Tensor, like: &Tensor) -> Result<Tensor> {
    Ok(u.f_to_kind(like.kind())?.f_to_device(like.device())?)
}

impl Energy for DeepFrameEnergy {
    fn name(&self) -> String {
        format!("deepframe({})", self.net.spec().layers)
    }
    fn dim(&self) -> Option<usize> {
        Some(self.net.input_dim() as usize)
    }
    fn space(&self) -> Space {
        self.space.clone()
    }
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        let x = crate::tensor::as_batch(x)?;
        check_dim(self, &x)?;
        back_to(deepframe_u(&self.net, self.sigma, &x)?, &x)
    }
    fn site_scorer(&self, x: &Tensor) -> Result<Option<Box<dyn SiteScorer + '_>>> {
        Ok(ConvFcScorer::new(&self.net, self.sigma, x)?
            .map(|s| Box::new(s) as Box<dyn SiteScorer + '_>))
    }
    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "name": "deepframe",
            "dim": self.dim(),
            "sigma": self.sigma,
            "descriptor": self.net.spec(),
            "image_shape": self.net.input_shape(),
        })
    }
}

/// `U(z) = U(g(z|W2)|W1) + prior * ||z||^2 / 2` (eq. 5.4; the paper uses `prior = 0`) over
/// latent vectors `[B, d]`, optionally plus a wall `stiffness * max(0, ||z|| - radius)^2` that
/// keeps states where the generator was trained.
pub struct LatentEnergy {
    desc: Rc<Net>,
    gen: Rc<Net>,
    sigma: f64,
    prior: f64,
    bound: f64,
    wall: Option<(f64, f64)>,
}

impl LatentEnergy {
    /// The latent energy of generator `gen` under descriptor `desc`; random starts are drawn in
    /// `[-bound, bound]^d`.
    pub fn new(
        desc: Rc<Net>,
        gen: Rc<Net>,
        sigma: f64,
        prior: f64,
        bound: f64,
    ) -> Result<LatentEnergy> {
        if desc.role() != Role::Descriptor || gen.role() != Role::Generator {
            return Err(invalid(
                "latent_energy needs a descriptor and a generator network",
            ));
        }
        if gen.output_shape() != desc.input_shape() {
            return Err(invalid(format!(
                "the generator makes images {:?} but the descriptor reads {:?}",
                gen.output_shape(),
                desc.input_shape()
            )));
        }
        if desc.device() != gen.device() {
            return Err(invalid(
                "descriptor and generator live on different devices",
            ));
        }
        if !(sigma > 0.0 && sigma.is_finite() && bound > 0.0 && prior.is_finite()) {
            return Err(invalid(
                "latent_energy needs sigma > 0, box > 0 and a finite prior weight",
            ));
        }
        Ok(LatentEnergy {
            desc,
            gen,
            sigma,
            prior,
            bound,
            wall: None,
        })
    }
    /// Adds the wall `stiffness * max(0, ||z|| - radius)^2`: the generator only learned
    /// `g(z)` for `z` in the bulk of `N(0, I)`, and far outside it the descriptor may score its
    /// extrapolated images lower than any training image.
    pub fn with_wall(mut self, radius: f64, stiffness: f64) -> Result<LatentEnergy> {
        if !(radius > 0.0 && radius.is_finite() && stiffness > 0.0 && stiffness.is_finite()) {
            return Err(invalid(
                "the latent wall needs a positive radius and a positive stiffness",
            ));
        }
        self.wall = Some((radius, stiffness));
        Ok(self)
    }
    /// The generator.
    pub fn generator(&self) -> &Rc<Net> {
        &self.gen
    }
    /// The descriptor.
    pub fn descriptor(&self) -> &Rc<Net> {
        &self.desc
    }
}

impl Energy for LatentEnergy {
    fn name(&self) -> String {
        format!(
            "latent({} | {})",
            self.gen.spec().layers,
            self.desc.spec().layers
        )
    }
    fn dim(&self) -> Option<usize> {
        Some(self.gen.input_dim() as usize)
    }
    fn space(&self) -> Space {
        let d = self.gen.input_dim() as usize;
        Space::Continuous {
            lo: vec![-self.bound; d],
            hi: vec![self.bound; d],
        }
    }
    fn energy(&self, z: &Tensor) -> Result<Tensor> {
        let z = crate::tensor::as_batch(z)?;
        check_dim(self, &z)?;
        let zn = z
            .f_to_device(self.gen.device())?
            .f_to_kind(self.gen.kind())?;
        let img = self.gen.generate(&zn)?;
        let mut u = deepframe_u(&self.desc, self.sigma, &img)?;
        let zu = zn.f_to_kind(u.kind())?;
        if self.prior != 0.0 {
            let zz = zu.f_square()?.f_sum_dim_intlist(1, false, u.kind())?;
            u = u.f_add(&zz.f_mul_scalar(0.5 * self.prior)?)?;
        }
        if let Some((radius, stiffness)) = self.wall {
            // The norm (not the square root of the sum of squares) has a zero gradient at z = 0.
            let outside = zu
                .f_norm_scalaropt_dim(2, [1i64].as_slice(), false)?
                .f_sub_scalar(radius)?
                .f_relu()?;
            u = u.f_add(&outside.f_square()?.f_mul_scalar(stiffness)?)?;
        }
        back_to(u, &z)
    }
    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "name": "latent",
            "dim": self.dim(),
            "sigma": self.sigma,
            "prior": self.prior,
            "wall": self.wall.map(|(r, k)| serde_json::json!({"radius": r, "stiffness": k})),
            "descriptor": self.desc.spec(),
            "generator": self.gen.spec(),
        })
    }
}

/// A TorchScript module exported from PyTorch that maps states `[B, D]` to energies `[B]`
/// (`[B, 1]` is accepted), with autograd through the module. States are converted to the
/// module's dtype and device; energies come back in the caller's.
pub struct TorchEnergy {
    module: ScriptModule,
    dim: usize,
    space: Space,
}

impl TorchEnergy {
    /// Loads the module at `path` onto the session device as an energy over `dim`
    /// coordinates of `space` (where random starts are drawn and samplers are picked). A probe
    /// batch checks at load time that the module takes `[B, dim]` and returns one energy per
    /// state.
    pub fn load(path: &std::path::Path, dim: usize, space: Space) -> Result<TorchEnergy> {
        if dim == 0 {
            return Err(invalid("torch_energy needs dim >= 1"));
        }
        if let Space::Continuous { lo, hi } = &space {
            let empty = lo.len() != dim
                || hi.len() != dim
                || lo
                    .iter()
                    .zip(hi)
                    .any(|(l, h)| !(l.is_finite() && h.is_finite() && h > l));
            if empty {
                return Err(invalid(
                    "torch_energy: the box of random starts needs lo < hi (finite) in every coordinate",
                ));
            }
        }
        crate::budget::check_shape("a probe batch", &[2, dim as i64], 8)?;
        let module = ScriptModule::load(path, crate::tensor::device())?;
        let e = TorchEnergy { module, dim, space };
        let probe = Tensor::f_zeros([2, dim as i64], (e.module.kind(), e.module.device()))?;
        let _guard = tch::no_grad_guard();
        let _energies = e.run(&probe)?;
        Ok(e)
    }

    /// The module's energies for `x` already in its dtype and device, shape `[B]`.
    fn run(&self, x: &Tensor) -> Result<Tensor> {
        let b = x.size()[0];
        let u = self.module.forward(x)?;
        let u = match u.size().as_slice() {
            [n] if *n == b => u,
            [n, 1] if *n == b => u.f_reshape([b])?,
            other => {
                return Err(invalid(format!(
                    "{}: the module returned {other:?} for states [{b}, {}]; an energy module returns [B] (one energy per state)",
                    self.module.file_name(),
                    self.dim
                )))
            }
        };
        if !super::torchscript::is_float(u.kind()) {
            return Err(invalid(format!(
                "{}: the module returned {:?} energies; an energy is floating point",
                self.module.file_name(),
                u.kind()
            )));
        }
        Ok(u)
    }
}

impl Energy for TorchEnergy {
    fn name(&self) -> String {
        format!("torch({})", self.module.file_name())
    }
    fn dim(&self) -> Option<usize> {
        Some(self.dim)
    }
    fn space(&self) -> Space {
        self.space.clone()
    }
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        let x = crate::tensor::as_batch(x)?;
        check_dim(self, &x)?;
        let xn = x
            .f_to_device(self.module.device())?
            .f_to_kind(self.module.kind())?;
        back_to(self.run(&xn)?, &x)
    }
    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "name": "torch",
            "dim": self.dim,
            "module": self.module.path().display().to_string(),
            "dtype": super::torchscript::dtype_name(self.module.kind()),
        })
    }
}
