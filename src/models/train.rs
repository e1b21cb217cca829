//! Training: DeepFRAME (Algorithm 1, persistent chains) and Co-Op nets (Algorithm 2), with
//! Langevin synthesis (eq. 2.9) or Gibbs sweeps over K-level pixels (section 5.2), latent
//! Langevin inference (eq. 2.11), Adam, progress lines, Ctrl-C and checkpoints.
//!
//! Weights are updated in place: the networks' tensors are shared with every energy built on
//! them. Randomness comes from libtorch's generator, so the session seed makes runs repeatable.

use super::energy::{deepframe_u, deepframe_u_and_score};
use super::net::{Net, Role};
use super::site_scores::ConvFcScorer;
use crate::energy::SiteScorer;
use crate::{error::invalid, Result};
use std::path::PathBuf;
use std::time::Instant;
use tch::{Kind, Tensor};

/// How synthesized images are revised in each learning step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Synthesis {
    /// Langevin dynamics (eq. 2.9): `Y <- Y - (eps^2/2) dU/dY + eps N(0, I)`.
    Langevin,
    /// Gibbs sweeps over pixels restricted to `levels` evenly spaced values in `[lo, hi]`.
    Gibbs { levels: usize },
}

/// Options of both training algorithms (the Co-Op ones are ignored by DeepFRAME training).
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Passes over the data.
    pub epochs: usize,
    /// Mini-batch size m (also the number of persistent chains).
    pub batch: usize,
    /// Descriptor learning rate (Adam).
    pub lr: f64,
    /// Adam's beta1 (0.5 is usual for these models).
    pub beta1: f64,
    /// Langevin steps (or Gibbs sweeps) K per learning step.
    pub steps: usize,
    /// Langevin step size eps for images.
    pub step_size: f64,
    /// Reference deviation sigma of the energy (2.4).
    pub sigma: f64,
    /// Pixel range: random starts, clamping and Gibbs levels.
    pub lo: f64,
    /// Upper end of the pixel range.
    pub hi: f64,
    /// Clamp Langevin images to `[lo, hi]` after each step.
    pub clamp: bool,
    /// Scale of the Langevin noise on images (1: eq. 2.9; smaller values give smoother
    /// synthesized images, which a Co-Op generator can follow more closely).
    pub noise: f64,
    /// Langevin or Gibbs synthesis.
    pub synthesis: Synthesis,
    /// Keep the synthesized chains between steps (PCD, Algorithm 1); otherwise restart from noise.
    pub persistent: bool,
    /// Report a progress line every this many epochs (0: none).
    pub print_every: usize,
    /// Receives the progress lines.
    pub progress: crate::progress::Progress,
    /// Path prefix for checkpoints (`<prefix>_descriptor.safetensors`, `<prefix>_generator.safetensors`).
    pub checkpoint: Option<PathBuf>,
    /// Write a checkpoint every this many epochs (0: only at the end) when `checkpoint` is set.
    pub checkpoint_every: usize,
    /// Co-Op: generator learning rate.
    pub gen_lr: f64,
    /// Co-Op: observation deviation tau of the generator model (2.10).
    pub tau: f64,
    /// Co-Op: latent Langevin steps (eq. 2.11).
    pub latent_steps: usize,
    /// Co-Op: latent Langevin step size.
    pub latent_step_size: f64,
    /// Weight of the score penalty `reg * mean(F(data)^2 + F(synth)^2)` added to the descriptor
    /// loss (Du & Mordatch 2019); keeps the energy scale bounded (0: the paper's loss).
    pub reg: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 20,
            batch: 64,
            lr: 1e-3,
            beta1: 0.5,
            steps: 20,
            step_size: 0.05,
            sigma: 1.0,
            lo: -1.0,
            hi: 1.0,
            clamp: true,
            noise: 1.0,
            synthesis: Synthesis::Langevin,
            persistent: true,
            print_every: 1,
            progress: crate::progress::Progress::silent(),
            checkpoint: None,
            checkpoint_every: 10,
            gen_lr: 1e-3,
            tau: 0.3,
            latent_steps: 20,
            latent_step_size: 0.1,
            reg: 0.0,
        }
    }
}

impl TrainOptions {
    fn validate(&self) -> Result<()> {
        if self.batch == 0 {
            return Err(invalid("batch must be at least 1"));
        }
        for (name, v) in [
            ("lr", self.lr),
            ("sigma", self.sigma),
            ("gen_lr", self.gen_lr),
            ("tau", self.tau),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                return Err(invalid(format!("{name} must be positive, got {v}")));
            }
        }
        if self.reg.is_nan() || self.reg < 0.0 {
            return Err(invalid(format!(
                "reg must be non-negative, got {}",
                self.reg
            )));
        }
        if self.noise.is_nan()
            || self.noise < 0.0
            || self.step_size.is_nan()
            || self.step_size < 0.0
            || self.latent_step_size.is_nan()
            || self.latent_step_size < 0.0
        {
            return Err(invalid("step sizes must be non-negative"));
        }
        if !(0.0..1.0).contains(&self.beta1) {
            return Err(invalid("beta1 must be in [0, 1)"));
        }
        if self.hi.partial_cmp(&self.lo) != Some(std::cmp::Ordering::Greater) {
            return Err(invalid(format!(
                "pixel range [{}, {}] is empty",
                self.lo, self.hi
            )));
        }
        // Pixels live in the networks' dtype: the range (and its width) must fit float32.
        if !((self.hi - self.lo).abs() < f32::MAX as f64) {
            return Err(invalid(format!(
                "pixel range [{}, {}] is too wide for float32 networks",
                self.lo, self.hi
            )));
        }
        if let Synthesis::Gibbs { levels } = self.synthesis {
            if levels < 2 {
                return Err(invalid("Gibbs synthesis needs levels >= 2"));
            }
        }
        Ok(())
    }
}

/// Averages over one epoch.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EpochStats {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean descriptor energy of the data mini-batches.
    pub data_energy: f64,
    /// Mean descriptor energy of the revised synthesized images.
    pub sample_energy: f64,
    /// Co-Op: mean generator reconstruction loss `||Y - g(Z)||^2 / (2 tau^2)`.
    pub gen_loss: Option<f64>,
    /// Seconds since training began.
    pub seconds: f64,
}

/// What a training run returns.
pub struct TrainReport {
    /// One entry per finished epoch.
    pub history: Vec<EpochStats>,
    /// The last synthesized images `[m, C*H*W]` (net dtype and device).
    pub samples: Tensor,
    /// True when Ctrl-C stopped the run (weights so far are kept).
    pub interrupted: bool,
    /// Learning steps done.
    pub steps: usize,
}

/// Adam with bias correction, updating tensors in place.
pub struct Adam {
    params: Vec<Tensor>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    t: i32,
    lr: f64,
    b1: f64,
    b2: f64,
    eps: f64,
}

impl Adam {
    /// Adam over `params` with learning rate `lr` and betas `(b1, 0.999)`.
    pub fn new(params: Vec<Tensor>, lr: f64, b1: f64) -> Result<Adam> {
        let m = params
            .iter()
            .map(|p| p.f_zeros_like())
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let v = params
            .iter()
            .map(|p| p.f_zeros_like())
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Adam {
            params,
            m,
            v,
            t: 0,
            lr,
            b1,
            b2: 0.999,
            eps: 1e-8,
        })
    }
    /// One step downhill on `loss` (a scalar built from the parameters).
    pub fn step(&mut self, loss: &Tensor) -> Result<()> {
        let refs: Vec<&Tensor> = self.params.iter().collect();
        let grads = Tensor::f_run_backward(&[loss], &refs, false, false)?;
        self.t += 1;
        let c1 = 1.0 - self.b1.powi(self.t);
        let c2 = 1.0 - self.b2.powi(self.t);
        let _guard = tch::no_grad_guard();
        for (i, g) in grads.iter().enumerate() {
            self.m[i] = self.m[i]
                .f_mul_scalar(self.b1)?
                .f_add(&g.f_mul_scalar(1.0 - self.b1)?)?;
            self.v[i] = self.v[i]
                .f_mul_scalar(self.b2)?
                .f_add(&g.f_square()?.f_mul_scalar(1.0 - self.b2)?)?;
            let denom = self.v[i]
                .f_div_scalar(c2)?
                .f_sqrt()?
                .f_add_scalar(self.eps)?;
            let upd = self.m[i].f_div(&denom)?.f_mul_scalar(self.lr / c1)?;
            let mut p = self.params[i].shallow_clone();
            let _ = p.f_sub_(&upd)?;
        }
        Ok(())
    }
}

/// Per-image energies and their gradients for descriptor `net` (net dtype).
fn energy_grad(net: &Net, sigma: f64, y: &Tensor) -> Result<(Tensor, Tensor)> {
    tch::with_grad(|| {
        let yg = y.f_detach()?.f_requires_grad_(true)?;
        let u = deepframe_u(net, sigma, &yg)?;
        let total = u.f_sum(u.kind())?;
        let g = Tensor::f_run_backward(&[&total], &[&yg], false, false)?;
        let g = g
            .into_iter()
            .next()
            .ok_or_else(|| invalid("autograd returned no gradient"))?;
        Ok((u.f_detach()?, g))
    })
}

/// `steps` Langevin updates (eq. 2.9) of images `y` `[m, D]` under descriptor `net`; `noise`
/// scales the injected noise (1: Langevin, 0: plain gradient descent).
#[allow(clippy::too_many_arguments)]
pub fn langevin_images(
    net: &Net,
    sigma: f64,
    y: &Tensor,
    steps: usize,
    eps: f64,
    noise: f64,
    clamp: Option<(f64, f64)>,
) -> Result<Tensor> {
    let mut y = y.f_detach()?;
    for _ in 0..steps {
        let (_, g) = energy_grad(net, sigma, &y)?;
        let _guard = tch::no_grad_guard();
        y = y
            .f_sub(&g.f_mul_scalar(eps * eps / 2.0)?)?
            .f_add(&y.f_randn_like()?.f_mul_scalar(eps * noise)?)?;
        if let Some((lo, hi)) = clamp {
            y = y.f_clamp(lo, hi)?;
        }
    }
    Ok(y)
}

/// The `k` evenly spaced levels of `[lo, hi]` in `like`'s dtype and device.
fn level_values(k: usize, lo: f64, hi: f64, like: &Tensor) -> Result<Tensor> {
    Ok(Tensor::f_linspace(
        lo,
        hi,
        k as i64,
        (like.kind(), like.device()),
    )?)
}

/// Rounds `y` to the nearest of `k` levels in `[lo, hi]`.
pub fn quantize(y: &Tensor, k: usize, lo: f64, hi: f64) -> Result<Tensor> {
    let step = (hi - lo) / (k as f64 - 1.0);
    Ok(y.f_clamp(lo, hi)?
        .f_sub_scalar(lo)?
        .f_div_scalar(step)?
        .f_round()?
        .f_mul_scalar(step)?
        .f_add_scalar(lo)?)
}

/// `sweeps` Gibbs sweeps (random site order) over images `y` `[m, D]` whose pixels take `k`
/// levels in `[lo, hi]`, at temperature 1 under descriptor `net`. Each site update evaluates
/// all `k` values of all `m` chains in one batch of `m*k` images (only what the pixel touches
/// for a conv-then-fc descriptor, see `site_scores`). Ctrl-C ends the sweeps early
/// (the images so far are returned).
pub fn gibbs_images(
    net: &Net,
    sigma: f64,
    y: &Tensor,
    sweeps: usize,
    k: usize,
    lo: f64,
    hi: f64,
) -> Result<Tensor> {
    let _guard = tch::no_grad_guard();
    let y = quantize(&y.f_detach()?, k, lo, hi)?.f_contiguous()?;
    let (m, d) = (y.size()[0], y.size()[1]);
    let ki = k as i64;
    let vals = level_values(k, lo, hi, &y)?;
    let vals_mk = vals.f_unsqueeze(0)?.f_expand([m, ki], false)?;
    for _ in 0..sweeps {
        if crate::interrupt::requested() {
            break; // the caller sees the flag and stops cleanly
        }
        let order = Vec::<i64>::try_from(&Tensor::f_randperm(d, (Kind::Int64, tch::Device::Cpu))?)?;
        if let Some(mut sites) = ConvFcScorer::new(net, sigma, &y)? {
            // Incremental scores (conv-then-fc descriptors), fresh every sweep.
            for i in order {
                let u = sites.candidates(i, &vals)?;
                let p = u.f_neg()?.f_softmax(1, u.kind())?;
                let idx = p.f_multinomial(1, false)?.f_view([m])?;
                let new = vals.f_index_select(0, &idx)?;
                sites.set(i, &new)?;
                y.f_select(1, i)?.f_copy_(&new)?;
            }
            continue;
        }
        for i in order {
            let rep = y
                .f_unsqueeze(1)?
                .f_expand([m, ki, d], false)?
                .f_contiguous()?;
            rep.f_select(2, i)?.f_copy_(&vals_mk)?;
            let u = deepframe_u(net, sigma, &rep.f_view([m * ki, d])?)?.f_view([m, ki])?;
            let p = u.f_neg()?.f_softmax(1, u.kind())?;
            let idx = p.f_multinomial(1, false)?.f_view([m])?;
            let new = vals.f_index_select(0, &idx)?;
            y.f_select(1, i)?.f_copy_(&new)?;
        }
    }
    Ok(y)
}

/// Revises synthesized images `y` with the chosen synthesis.
fn synthesize(net: &Net, y: &Tensor, o: &TrainOptions) -> Result<Tensor> {
    match o.synthesis {
        Synthesis::Langevin => langevin_images(
            net,
            o.sigma,
            y,
            o.steps,
            o.step_size,
            o.noise,
            o.clamp.then_some((o.lo, o.hi)),
        ),
        Synthesis::Gibbs { levels } => gibbs_images(net, o.sigma, y, o.steps, levels, o.lo, o.hi),
    }
}

/// Random starting images `[m, d]`: uniform in `[lo, hi]` (or uniform over the Gibbs levels).
fn noise_images(net: &Net, m: i64, o: &TrainOptions) -> Result<Tensor> {
    let d = net.input_dim();
    let u = Tensor::f_rand([m, d], (net.kind(), net.device()))?
        .f_mul_scalar(o.hi - o.lo)?
        .f_add_scalar(o.lo)?;
    match o.synthesis {
        Synthesis::Gibbs { levels } => quantize(&u, levels, o.lo, o.hi),
        Synthesis::Langevin => Ok(u),
    }
}

/// Data moved to the net's dtype and device, checked against the input size.
fn prepare_data(net: &Net, data: &Tensor) -> Result<Tensor> {
    let d = net.input_dim();
    let size = data.size();
    if size.len() != 2 || size[1] != d {
        return Err(invalid(format!(
            "training data must be images [N, {d}] for this descriptor, got {size:?}"
        )));
    }
    if size[0] == 0 {
        return Err(invalid("training data is empty"));
    }
    Ok(data
        .f_detach()?
        .f_to_device(net.device())?
        .f_to_kind(net.kind())?)
}

fn mean(t: &Tensor) -> Result<f64> {
    crate::tensor::scalar_f64(&t.f_mean(Kind::Double)?)
}

fn checkpoint(o: &TrainOptions, nets: &[(&str, &Net)]) -> Result<()> {
    if let Some(prefix) = &o.checkpoint {
        for (tag, net) in nets {
            let mut name = prefix.as_os_str().to_owned();
            name.push(format!("_{tag}.safetensors"));
            let path = PathBuf::from(name);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                crate::sandbox::create_dir_all(dir)?;
            }
            net.save(&path)?;
        }
    }
    Ok(())
}

/// Mini-batches of indices for one epoch (random order; a last partial batch is kept).
fn batches(n: i64, m: i64, device: tch::Device) -> Result<Vec<Tensor>> {
    let perm = Tensor::f_randperm(n, (Kind::Int64, device))?;
    let mut out = Vec::new();
    let mut s = 0;
    while s < n {
        let len = m.min(n - s);
        out.push(perm.f_narrow(0, s, len)?);
        s += len;
    }
    Ok(out)
}

/// One descriptor update (2.8): Adam on `mean U(data) - mean U(synth)` plus the optional score
/// penalty; returns the (detached) energies of both batches.
fn descriptor_step(
    net: &Net,
    adam: &mut Adam,
    data: &Tensor,
    synth: &Tensor,
    o: &TrainOptions,
) -> Result<(Tensor, Tensor)> {
    let (u_data, u_syn, loss) = tch::with_grad(|| -> Result<(Tensor, Tensor, Tensor)> {
        let (u_data, f_data) = deepframe_u_and_score(net, o.sigma, data)?;
        let (u_syn, f_syn) = deepframe_u_and_score(net, o.sigma, synth)?;
        let mut loss = u_data
            .f_mean(u_data.kind())?
            .f_sub(&u_syn.f_mean(u_syn.kind())?)?;
        if o.reg > 0.0 {
            let penalty = f_data
                .f_square()?
                .f_mean(f_data.kind())?
                .f_add(&f_syn.f_square()?.f_mean(f_syn.kind())?)?;
            loss = loss.f_add(&penalty.f_mul_scalar(o.reg)?)?;
        }
        Ok((u_data, u_syn, loss))
    })?;
    adam.step(&loss)?;
    Ok((u_data.f_detach()?, u_syn.f_detach()?))
}

/// Algorithm 1: trains descriptor `net` on images `data` `[N, C*H*W]` with persistent
/// synthesized chains; updates the weights in place.
pub fn train_deepframe(net: &Net, data: &Tensor, o: &TrainOptions) -> Result<TrainReport> {
    o.validate()?;
    if net.role() != Role::Descriptor {
        return Err(invalid("train_deepframe needs a descriptor network"));
    }
    let data = prepare_data(net, data)?;
    let n = data.size()[0];
    let m = (o.batch as i64).min(n);
    let mut adam = Adam::new(net.parameters()?, o.lr, o.beta1)?;
    let mut y = noise_images(net, m, o)?;
    let start = Instant::now();
    let mut history = Vec::new();
    let mut steps = 0;
    let mut interrupted = false;
    'outer: for epoch in 1..=o.epochs {
        let (mut ud, mut us, mut count) = (0.0, 0.0, 0.0);
        for idx in batches(n, m, net.device())? {
            if crate::interrupt::requested() {
                interrupted = true;
                break 'outer;
            }
            let batch = data.f_index_select(0, &idx)?;
            if !o.persistent {
                y = noise_images(net, m, o)?;
            }
            y = synthesize(net, &y, o)?;
            let (u_data, u_syn) = descriptor_step(net, &mut adam, &batch, &y, o)?;
            ud += mean(&u_data)?;
            us += mean(&u_syn)?;
            count += 1.0;
            steps += 1;
        }
        finish_epoch(
            o,
            epoch,
            &mut history,
            ud / count,
            us / count,
            None,
            &start,
            &[("descriptor", net)],
        )?;
    }
    checkpoint(o, &[("descriptor", net)])?;
    Ok(TrainReport {
        history,
        samples: y,
        interrupted,
        steps,
    })
}

#[allow(clippy::too_many_arguments)]
fn finish_epoch(
    o: &TrainOptions,
    epoch: usize,
    history: &mut Vec<EpochStats>,
    ud: f64,
    us: f64,
    gl: Option<f64>,
    start: &Instant,
    nets: &[(&str, &Net)],
) -> Result<()> {
    let st = EpochStats {
        epoch,
        data_energy: ud,
        sample_energy: us,
        gen_loss: gl,
        seconds: start.elapsed().as_secs_f64(),
    };
    if o.print_every > 0 && (epoch.is_multiple_of(o.print_every) || epoch == o.epochs) {
        let g = gl.map(|g| format!("  gen loss {g:.4}")).unwrap_or_default();
        o.progress.line(&format!(
            "epoch {epoch}/{}: U(data) {ud:.4}  U(synth) {us:.4}{g}  [{:.1}s]",
            o.epochs, st.seconds
        ));
    }
    history.push(st);
    if o.checkpoint_every > 0 && epoch.is_multiple_of(o.checkpoint_every) {
        checkpoint(o, nets)?;
    }
    Ok(())
}

/// `steps` Langevin updates (eq. 2.11) of latent vectors `z` `[m, d]` towards images `y`
/// under generator `gen`: energy `||y - g(z)||^2 / (2 tau^2) + ||z||^2 / 2`.
pub fn langevin_latent(
    gen: &Net,
    z: &Tensor,
    y: &Tensor,
    steps: usize,
    eps: f64,
    tau: f64,
) -> Result<Tensor> {
    let mut z = z.f_detach()?;
    let y = y.f_detach()?.f_to_kind(gen.kind())?;
    for _ in 0..steps {
        let g = tch::with_grad(|| -> Result<Tensor> {
            let zg = z.f_detach()?.f_requires_grad_(true)?;
            let u = recon_energy(gen, &zg, &y, tau)?
                .f_add(&zg.f_square()?.f_sum(zg.kind())?.f_mul_scalar(0.5)?)?;
            let g = Tensor::f_run_backward(&[&u], &[&zg], false, false)?;
            g.into_iter()
                .next()
                .ok_or_else(|| invalid("autograd returned no gradient"))
        })?;
        let _guard = tch::no_grad_guard();
        z = z
            .f_sub(&g.f_mul_scalar(eps * eps / 2.0)?)?
            .f_add(&z.f_randn_like()?.f_mul_scalar(eps)?)?;
    }
    Ok(z)
}

/// Total `||y - g(z)||^2 / (2 tau^2)` over the batch.
fn recon_energy(gen: &Net, z: &Tensor, y: &Tensor, tau: f64) -> Result<Tensor> {
    let r = y.f_sub(&gen.generate(z)?)?;
    Ok(r.f_square()?
        .f_sum(r.kind())?
        .f_div_scalar(2.0 * tau * tau)?)
}

/// Algorithm 2 (Co-Op): trains descriptor `desc` and generator `gen` together on images `data`;
/// updates both in place. The returned samples are the last revised images.
pub fn train_coop(desc: &Net, gen: &Net, data: &Tensor, o: &TrainOptions) -> Result<TrainReport> {
    o.validate()?;
    if desc.role() != Role::Descriptor || gen.role() != Role::Generator {
        return Err(invalid(
            "train_coop needs a descriptor and a generator network",
        ));
    }
    if gen.output_shape() != desc.input_shape() {
        return Err(invalid(format!(
            "the generator makes images {:?} but the descriptor reads {:?}",
            gen.output_shape(),
            desc.input_shape()
        )));
    }
    if gen.device() != desc.device() {
        return Err(invalid(
            "descriptor and generator live on different devices",
        ));
    }
    let data = prepare_data(desc, data)?;
    let n = data.size()[0];
    let m = (o.batch as i64).min(n);
    let d = gen.input_dim();
    let mut adam_d = Adam::new(desc.parameters()?, o.lr, o.beta1)?;
    let mut adam_g = Adam::new(gen.parameters()?, o.gen_lr, o.beta1)?;
    let start = Instant::now();
    let mut history = Vec::new();
    let mut steps = 0;
    let mut interrupted = false;
    let mut y = Tensor::f_zeros([m, desc.input_dim()], (desc.kind(), desc.device()))?;
    let nets = [("descriptor", desc), ("generator", gen)];
    'outer: for epoch in 1..=o.epochs {
        let (mut ud, mut us, mut gl, mut count) = (0.0, 0.0, 0.0, 0.0);
        for idx in batches(n, m, desc.device())? {
            if crate::interrupt::requested() {
                interrupted = true;
                break 'outer;
            }
            let batch = data.f_index_select(0, &idx)?;
            let mb = batch.size()[0];
            // 1. Z ~ N(0, I), Y = g(Z).
            let z0 = Tensor::f_randn([mb, d], (gen.kind(), gen.device()))?;
            let y0 = tch::no_grad(|| gen.generate(&z0))?.f_to_kind(desc.kind())?;
            // 2. Revise Y under the descriptor.
            y = synthesize(desc, &y0, o)?;
            // 3. Revise Z towards the revised images (eq. 2.11).
            let z = langevin_latent(gen, &z0, &y, o.latent_steps, o.latent_step_size, o.tau)?;
            // 4. Descriptor step (2.8).
            let (u_data, u_syn) = descriptor_step(desc, &mut adam_d, &batch, &y, o)?;
            // 5. Generator step (2.12): fit g(Z) to the revised images.
            let yk = y.f_to_kind(gen.kind())?;
            let gloss = tch::with_grad(|| -> Result<Tensor> {
                recon_energy(gen, &z, &yk, o.tau)?
                    .f_div_scalar(mb as f64)
                    .map_err(Into::into)
            })?;
            adam_g.step(&gloss)?;
            ud += mean(&u_data)?;
            us += mean(&u_syn)?;
            gl += crate::tensor::scalar_f64(&gloss)?;
            count += 1.0;
            steps += 1;
        }
        finish_epoch(
            o,
            epoch,
            &mut history,
            ud / count,
            us / count,
            Some(gl / count),
            &start,
            &nets,
        )?;
    }
    checkpoint(o, &nets)?;
    Ok(TrainReport {
        history,
        samples: y,
        interrupted,
        steps,
    })
}
