//! The loss of a user's own TorchScript network over its own parameters, as an energy:
//! `U(θ) = loss(f_θ(inputs), targets)` over the flattened parameters θ. Every barrier method
//! (NEB, AD, curves, the line) then runs between trained networks.
//!
//! The module is called with its parameter slots pointed at views of θ ([`SlotModule`]), so
//! autograd differentiates the loss with respect to θ through the module's own forward, as
//! `torch.func.functional_call` does. A batch of states is evaluated one parameter vector at
//! a time (a TorchScript module takes one set of parameters per call); the gradient is taken
//! row by row, so memory holds one row's graph.
//!
//! Batch norm: `Eval` uses the running statistics stored in the module, the same at every θ
//! (a path between two networks is then measured with statistics that belong to neither of
//! the states between them). `Recompute` normalizes at every θ by the statistics of the loss's
//! own data, as training mode does (its gradient includes the statistics' dependence on θ);
//! this is what Garipov et al.'s `update_bn` approximates before measuring a point of a curve
//! (it keeps the unbiased variance, training mode the biased one: a relative difference of
//! 1/n in the variance for n values per channel). The stored running statistics are restored
//! after each call, and a module with dropout is refused (training mode would drop units).

use super::module_slots::{SlotKind, SlotModule};
use super::torchscript::{dtype_name, is_float};
use crate::energy::{check_dim, Energy, Space};
use crate::{error::invalid, tensor, Result};
use std::path::Path;
use tch::{Device, Kind, Reduction, Tensor};

/// The loss between the module's outputs and the targets (mean over the data).
pub enum LossKind {
    /// `cross_entropy(outputs [N, C], targets)`: class indices in `0..C`.
    CrossEntropy,
    /// `nll_loss(outputs [N, C], targets)`: log-probabilities and class indices.
    Nll,
    /// `mse_loss(outputs, targets)`: targets of the outputs' shape.
    Mse,
    /// A TorchScript module `forward(outputs, targets) -> scalar`.
    Module(SlotModule),
}

impl LossKind {
    /// The name used in options and descriptions.
    pub fn name(&self) -> String {
        match self {
            LossKind::CrossEntropy => "cross_entropy".into(),
            LossKind::Nll => "nll".into(),
            LossKind::Mse => "mse".into(),
            LossKind::Module(m) => m.path().display().to_string(),
        }
    }
    fn takes_classes(&self) -> bool {
        matches!(self, LossKind::CrossEntropy | LossKind::Nll)
    }
}

/// How batch-norm layers normalize (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchNorm {
    /// The module's stored running statistics.
    Eval,
    /// The statistics of the loss's data at each θ (training-mode normalization).
    Recompute,
}

/// Inputs and targets of a loss, as given (any dtype; converted when the loss is made).
pub struct LossData {
    /// `[N, ...]`: what the module's forward takes.
    pub inputs: Tensor,
    /// `[N]` class indices or `[N, ...]` regression targets.
    pub targets: Tensor,
}

/// Options of [`TorchLoss::load`].
pub struct TorchLossOptions {
    /// The loss.
    pub loss: LossKind,
    /// Evaluate on a fixed random subset of this many rows (all rows when `None`).
    pub batch: Option<usize>,
    /// Seed of the subset.
    pub seed: u64,
    /// Free parameters: names or dotted prefixes (`fc2` frees `fc2.weight` and `fc2.bias`);
    /// all of them when `None`. The others stay at the module's values.
    pub params: Option<Vec<String>>,
    /// Batch-norm statistics.
    pub batchnorm: BatchNorm,
    /// Half-width of the box of random starts around the module's own θ.
    pub spread: f64,
}

impl Default for TorchLossOptions {
    fn default() -> Self {
        TorchLossOptions {
            loss: LossKind::CrossEntropy,
            batch: None,
            seed: 1,
            params: None,
            batchnorm: BatchNorm::Eval,
            spread: 1.0,
        }
    }
}

/// One free parameter slot: where its values sit in θ.
struct FreeSlot {
    slot: usize,
    offset: i64,
    numel: i64,
    shape: Vec<i64>,
}

/// The loss of a TorchScript network as an energy over its flattened free parameters.
pub struct TorchLoss {
    module: SlotModule,
    originals: Vec<Tensor>,
    free: Vec<FreeSlot>,
    dim: usize,
    data: (Tensor, Tensor),
    loss: LossKind,
    batchnorm: BatchNorm,
    batch: Option<usize>,
    theta0: Tensor,
    kind: Kind,
    device: Device,
    lo: Vec<f64>,
    hi: Vec<f64>,
    /// Recompute mode: the module's stored buffers, and scratch copies made once that
    /// training-mode forwards may update (their running statistics are never read there).
    buffers: Vec<(Tensor, Tensor)>,
}

/// Restores the module's own parameter tensors when an evaluation ends, however it ends.
struct Restore<'a>(&'a TorchLoss);

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        for s in &self.0.free {
            let _ = self
                .0
                .module
                .set_slot(SlotKind::Parameter, s.slot, &self.0.originals[s.slot]);
        }
    }
}

impl TorchLoss {
    /// Loads the module at `path` on the session device and makes its loss over `data` an
    /// energy. Checks the data against the module and the loss with one evaluation at the
    /// module's own parameters.
    pub fn load(path: &Path, data: LossData, opts: TorchLossOptions) -> Result<TorchLoss> {
        let device = tensor::device();
        let module = SlotModule::load(path, device)?;
        let file = module.file_name();
        let names = module.names(SlotKind::Parameter).to_vec();
        let originals: Vec<Tensor> = (0..names.len())
            .map(|i| module.slot(SlotKind::Parameter, i))
            .collect::<Result<_>>()?;
        let kinds: Vec<Kind> = originals
            .iter()
            .map(|t| t.kind())
            .filter(|&k| is_float(k))
            .collect();
        let kind = match kinds.first() {
            None => return Err(invalid(format!("{file}: the module has no floating-point parameters, so its loss has no parameter space"))),
            Some(&k) if kinds.iter().all(|&o| o == k) => k,
            Some(_) => return Err(invalid(format!("{file}: the module's parameters mix dtypes; convert it with model.float() or model.double() before exporting"))),
        };
        let chosen: Vec<usize> = match &opts.params {
            None => (0..names.len()).collect(),
            Some(wanted) => {
                for w in wanted {
                    if !names.iter().any(|n| selects(w, n)) {
                        return Err(invalid(format!(
                            "torch_loss: {file} has no parameter `{w}`; its parameters: {}",
                            names.join(", ")
                        )));
                    }
                }
                (0..names.len())
                    .filter(|&i| wanted.iter().any(|w| selects(w, &names[i])))
                    .collect()
            }
        };
        let mut free = Vec::new();
        let mut offset = 0i64;
        for i in chosen {
            let numel = originals[i].numel() as i64;
            free.push(FreeSlot {
                slot: i,
                offset,
                numel,
                shape: originals[i].size(),
            });
            offset += numel;
        }
        if offset == 0 {
            return Err(invalid(format!(
                "torch_loss: {file}: no free parameter values"
            )));
        }
        // θ, its gradient and a few working copies per state.
        crate::budget::check(
            &format!("the parameters of {file}"),
            offset as f64 * 4.0,
            kind_bytes(kind),
        )?;
        if opts.batchnorm == BatchNorm::Recompute {
            if let Some(t) = module.module_types().iter().find(|t| t.contains("Dropout")) {
                return Err(invalid(format!(
                    "torch_loss: {file} has a dropout layer ({t}); batchnorm: \"recompute\" normalizes in training mode, where dropout drops units at random. Export the module without dropout, or use batchnorm: \"eval\""
                )));
            }
        }
        let data = prepare_data(&file, data, &opts, kind, device)?;
        if !(opts.spread > 0.0 && opts.spread.is_finite()) {
            return Err(invalid("torch_loss: `spread` must be positive and finite"));
        }
        let theta0 = flatten(&free, &originals)?;
        let th = tensor::to_vec_f64(&theta0)?;
        let buffers = match opts.batchnorm {
            BatchNorm::Eval => Vec::new(),
            BatchNorm::Recompute => (0..module.names(SlotKind::Buffer).len())
                .map(|i| {
                    let stored = module.slot(SlotKind::Buffer, i)?;
                    let scratch = stored.f_detach_copy()?;
                    Ok((stored, scratch))
                })
                .collect::<Result<_>>()?,
        };
        let e = TorchLoss {
            module,
            originals,
            free,
            dim: offset as usize,
            data,
            loss: opts.loss,
            batchnorm: opts.batchnorm,
            batch: opts.batch,
            theta0,
            kind,
            device,
            lo: th.iter().map(|v| v - opts.spread).collect(),
            hi: th.iter().map(|v| v + opts.spread).collect(),
            buffers,
        };
        let _guard = tch::no_grad_guard();
        let u = tensor::scalar_f64(&e.loss_of(&e.theta0, &e.data.0, &e.data.1)?)?;
        if !u.is_finite() {
            // Allowed (the module's own point may be where the loss diverges), but worth knowing.
            eprintln!("torch_loss: the loss at {file}'s own parameters is {u}");
        }
        Ok(e)
    }

    /// The module's own free parameters θ₀ `[P]`, in the session dtype.
    pub fn params(&self) -> Result<Tensor> {
        Ok(self.theta0.f_to_kind(tensor::dtype())?)
    }

    /// The free parameters of another checkpoint of the same network, `[P]`, after checking
    /// that its parameter names and shapes match this module's.
    pub fn params_of(&self, path: &Path) -> Result<Tensor> {
        let other = SlotModule::load(path, self.device)?;
        let mine = self.module.names(SlotKind::Parameter);
        let theirs = other.names(SlotKind::Parameter);
        if mine != theirs {
            let first = mine.iter().zip(theirs).find(|(a, b)| a != b);
            let why = match first {
                Some((a, b)) => format!("`{a}` here, `{b}` there"),
                None => format!("{} parameters here, {} there", mine.len(), theirs.len()),
            };
            return Err(invalid(format!(
                "params_of: {} does not have the parameters of {} ({why})",
                other.file_name(),
                self.module.file_name()
            )));
        }
        let values: Vec<Tensor> = (0..theirs.len())
            .map(|i| other.slot(SlotKind::Parameter, i))
            .collect::<Result<_>>()?;
        for (i, (v, o)) in values.iter().zip(&self.originals).enumerate() {
            if v.size() != o.size() {
                return Err(invalid(format!(
                    "params_of: {}'s `{}` has shape {:?}, {}'s {:?}",
                    other.file_name(),
                    theirs[i],
                    v.size(),
                    self.module.file_name(),
                    o.size()
                )));
            }
        }
        let values: Vec<Tensor> = values
            .iter()
            .map(|v| v.f_to_kind(self.kind))
            .collect::<std::result::Result<_, _>>()?;
        Ok(flatten(&self.free, &values)?.f_to_kind(tensor::dtype())?)
    }

    /// The names of the free parameters, in θ's order.
    pub fn free_names(&self) -> Vec<String> {
        let names = self.module.names(SlotKind::Parameter);
        self.free.iter().map(|s| names[s.slot].clone()).collect()
    }

    /// Losses and gradients of the rows of `x` on a fresh mini-batch of `k` of the loss's data
    /// rows (drawn from libtorch's generator, so the session seed fixes them; all rows when
    /// `k` is at least their count): a stochastic gradient, as SGD on the loss takes it.
    pub fn energy_and_grad_minibatch(&self, x: &Tensor, k: usize) -> Result<(Tensor, Tensor)> {
        let n = self.data.0.size()[0];
        if k as i64 >= n {
            return self.energy_and_grad_over(x, &self.data.0, &self.data.1);
        }
        let rows = Tensor::f_randperm(n, (Kind::Int64, self.device))?.f_narrow(0, 0, k as i64)?;
        let inputs = self.data.0.f_index_select(0, &rows)?;
        let targets = self.data.1.f_index_select(0, &rows)?;
        self.energy_and_grad_over(x, &inputs, &targets)
    }

    /// Row by row over `(inputs, targets)`: one forward and one backward per parameter vector.
    fn energy_and_grad_over(
        &self,
        x: &Tensor,
        inputs: &Tensor,
        targets: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let x = tensor::as_batch(x)?;
        check_dim(self, &x)?;
        let xm = x
            .f_to_device(self.device)?
            .f_to_kind(self.kind)?
            .f_detach()?;
        let mut us = Vec::new();
        let mut gs = Vec::new();
        for b in 0..xm.size()[0] {
            let (u, g) = tch::with_grad(|| -> Result<(Tensor, Tensor)> {
                let theta = xm.f_get(b)?.f_detach()?.f_requires_grad_(true)?;
                let u = self.loss_of(&theta, inputs, targets)?;
                if !u.requires_grad() {
                    return Ok((u.f_detach()?, theta.f_zeros_like()?));
                }
                let g = Tensor::f_run_backward(&[&u], &[&theta], false, false)?;
                let g = g
                    .into_iter()
                    .next()
                    .ok_or_else(|| invalid("autograd returned no gradient"))?;
                Ok((u.f_detach()?, g))
            })?;
            us.push(u);
            gs.push(g);
        }
        let back =
            |t: Tensor| -> Result<Tensor> { Ok(t.f_to_kind(x.kind())?.f_to_device(x.device())?) };
        Ok((
            back(Tensor::f_stack(&us, 0)?)?,
            back(Tensor::f_stack(&gs, 0)?)?,
        ))
    }

    /// The mean loss at θ `[P]` over other data (a test set), as f64.
    pub fn loss_on(&self, theta: &Tensor, data: LossData) -> Result<f64> {
        let (x, y) = prepare_data(
            &self.module.file_name(),
            data,
            &self.same_loss_opts(),
            self.kind,
            self.device,
        )?;
        let _guard = tch::no_grad_guard();
        tensor::scalar_f64(&self.loss_of(&self.row(theta)?, &x, &y)?)
    }

    /// The share of rows whose highest output is their class, at θ `[P]`, over `data` (the
    /// loss's own data when `None`). Only for class losses.
    pub fn accuracy(&self, theta: &Tensor, data: Option<LossData>) -> Result<f64> {
        if !self.loss.takes_classes() {
            return Err(invalid(format!(
                "accuracy: the loss is {}, not a class loss (cross_entropy or nll)",
                self.loss.name()
            )));
        }
        let (x, y) = match data {
            Some(d) => prepare_data(
                &self.module.file_name(),
                d,
                &self.same_loss_opts(),
                self.kind,
                self.device,
            )?,
            None => (self.data.0.shallow_clone(), self.data.1.shallow_clone()),
        };
        let _guard = tch::no_grad_guard();
        let out = self.outputs(&self.row(theta)?, &x)?;
        let hits = out
            .f_argmax(1, false)?
            .f_eq_tensor(&y)?
            .f_to_kind(Kind::Double)?
            .f_mean(Kind::Double)?;
        tensor::scalar_f64(&hits)
    }

    fn same_loss_opts(&self) -> TorchLossOptions {
        let loss = match &self.loss {
            LossKind::CrossEntropy => LossKind::CrossEntropy,
            LossKind::Nll => LossKind::Nll,
            // Only `takes_classes` is read from these options.
            _ => LossKind::Mse,
        };
        TorchLossOptions {
            loss,
            ..TorchLossOptions::default()
        }
    }

    /// One state `[P]` (or `[1, P]`) in the module's dtype and device.
    fn row(&self, theta: &Tensor) -> Result<Tensor> {
        let t = theta.f_reshape([-1])?;
        if t.size()[0] != self.dim as i64 {
            return Err(invalid(format!(
                "{}: parameter vectors have {} values, got {:?}",
                self.name(),
                self.dim,
                theta.size()
            )));
        }
        Ok(t.f_to_device(self.device)?.f_to_kind(self.kind)?)
    }

    /// The module's outputs for `inputs` with its free parameters set to θ `[P]`.
    fn outputs(&self, theta: &Tensor, inputs: &Tensor) -> Result<Tensor> {
        let _restore = Restore(self);
        for s in &self.free {
            let view = theta
                .f_narrow(0, s.offset, s.numel)?
                .f_view(s.shape.as_slice())?;
            self.module.set_slot(SlotKind::Parameter, s.slot, &view)?;
        }
        let run = || {
            self.module.forward(&[inputs]).map_err(|e| {
                invalid(format!(
                    "{}: the module failed on the data's inputs {:?} ({}): {e}",
                    self.module.file_name(),
                    inputs.size(),
                    dtype_name(inputs.kind())
                ))
            })
        };
        match self.batchnorm {
            BatchNorm::Eval => run(),
            BatchNorm::Recompute => {
                for (i, (_, scratch)) in self.buffers.iter().enumerate() {
                    self.module.set_slot(SlotKind::Buffer, i, scratch)?;
                }
                self.module.set_train(true);
                let out = run();
                self.module.set_train(false);
                for (i, (stored, _)) in self.buffers.iter().enumerate() {
                    self.module.set_slot(SlotKind::Buffer, i, stored)?;
                }
                out
            }
        }
    }

    /// The mean loss at θ `[P]` over `(inputs, targets)`, a scalar tensor (with autograd's
    /// graph to θ when θ requires grad).
    fn loss_of(&self, theta: &Tensor, inputs: &Tensor, targets: &Tensor) -> Result<Tensor> {
        let out = self.outputs(theta, inputs)?;
        let file = self.module.file_name();
        let u = match &self.loss {
            LossKind::CrossEntropy | LossKind::Nll => {
                let n = targets.size()[0];
                let classes = match out.size().as_slice() {
                    [m, c] if *m == n => *c,
                    other => {
                        return Err(invalid(format!(
                            "torch_loss: {} needs outputs [N, C] for {n} targets; {file} returned {other:?}",
                            self.loss.name()
                        )))
                    }
                };
                let top = tensor::scalar_f64(&targets.f_max()?)? as i64;
                if top >= classes {
                    return Err(invalid(format!(
                        "torch_loss: a target is class {top}, but {file} gives {classes} classes (0..{})",
                        classes - 1
                    )));
                }
                match self.loss {
                    LossKind::Nll => {
                        out.f_nll_loss(targets, None::<Tensor>, Reduction::Mean, -100)?
                    }
                    _ => out.f_cross_entropy_loss(
                        targets,
                        None::<Tensor>,
                        Reduction::Mean,
                        -100,
                        0.0,
                    )?,
                }
            }
            LossKind::Mse => {
                if out.size() != targets.size() {
                    return Err(invalid(format!(
                        "torch_loss: mse needs targets of the outputs' shape; {file} returned {:?} for targets {:?}",
                        out.size(),
                        targets.size()
                    )));
                }
                out.f_mse_loss(targets, Reduction::Mean)?
            }
            LossKind::Module(m) => {
                let u = m.forward(&[&out, targets]).map_err(|e| {
                    invalid(format!(
                        "torch_loss: the loss module {} failed: {e}",
                        m.file_name()
                    ))
                })?;
                if u.numel() != 1 || !is_float(u.kind()) {
                    return Err(invalid(format!(
                        "torch_loss: the loss module {} returned {:?} {:?}; a loss is one floating-point value",
                        m.file_name(),
                        u.size(),
                        u.kind()
                    )));
                }
                u.f_reshape([] as [i64; 0])?
            }
        };
        Ok(u)
    }
}

/// True when the option name `w` selects parameter `name`: the name itself or a dotted prefix.
fn selects(w: &str, name: &str) -> bool {
    name == w
        || name
            .strip_prefix(w)
            .is_some_and(|rest| rest.starts_with('.'))
}

fn kind_bytes(kind: Kind) -> f64 {
    match kind {
        Kind::Double => 8.0,
        Kind::Half | Kind::BFloat16 => 2.0,
        _ => 4.0,
    }
}

/// The free slots of `values` (one tensor per parameter slot) as one vector `[P]`.
fn flatten(free: &[FreeSlot], values: &[Tensor]) -> Result<Tensor> {
    let parts: Vec<Tensor> = free
        .iter()
        .map(|s| values[s.slot].f_detach().and_then(|t| t.f_reshape([-1])))
        .collect::<std::result::Result<_, _>>()?;
    Ok(Tensor::f_cat(&parts, 0)?)
}

/// Inputs in the module's dtype and device; class targets as int64 indices (every value an
/// integer from 0), other targets in the module's dtype; the seeded subset when `batch` asks.
fn prepare_data(
    file: &str,
    data: LossData,
    opts: &TorchLossOptions,
    kind: Kind,
    device: Device,
) -> Result<(Tensor, Tensor)> {
    let n = data.inputs.size().first().copied().unwrap_or(0);
    if n == 0 {
        return Err(invalid(format!(
            "torch_loss: the data for {file} has no rows"
        )));
    }
    if data.targets.size().first().copied() != Some(n) {
        return Err(invalid(format!(
            "torch_loss: {n} inputs but targets {:?}; give one target per input row",
            data.targets.size()
        )));
    }
    let mut x = data.inputs.f_to_device(device)?.f_to_kind(kind)?;
    let mut y = data.targets.f_to_device(device)?;
    if opts.loss.takes_classes() {
        let yd = y.f_to_kind(Kind::Double)?;
        if y.dim() != 1 {
            return Err(invalid(format!(
                "torch_loss: {} takes class indices [N]; the targets are {:?} (one-hot or soft targets are not taken: give each row's class)",
                opts.loss.name(),
                y.size()
            )));
        }
        let integral = yd
            .f_eq_tensor(&yd.f_round()?)?
            .f_logical_and(&yd.f_ge(0.0)?)?
            .f_all()?;
        if integral.int64_value(&[]) == 0 {
            return Err(invalid(format!(
                "torch_loss: {} takes class indices (integers from 0); the targets hold other values, e.g. {}",
                opts.loss.name(),
                first_non_class(&yd)?
            )));
        }
        y = y.f_to_kind(Kind::Int64)?;
    } else {
        if !is_float(y.kind()) && y.kind() != Kind::Int64 && y.kind() != Kind::Int {
            return Err(invalid(format!(
                "torch_loss: mse takes numeric targets, not {:?}",
                y.kind()
            )));
        }
        y = y.f_to_kind(kind)?;
    }
    if let Some(b) = opts.batch {
        if b == 0 {
            return Err(invalid("torch_loss: `batch` must be at least 1"));
        }
        if (b as i64) < n {
            use rand::{seq::SliceRandom, SeedableRng};
            let mut idx: Vec<i64> = (0..n).collect();
            idx.shuffle(&mut rand::rngs::StdRng::seed_from_u64(opts.seed));
            idx.truncate(b);
            idx.sort_unstable();
            let idx = Tensor::from_slice(&idx).f_to_device(device)?;
            x = x.f_index_select(0, &idx)?;
            y = y.f_index_select(0, &idx)?;
        }
    }
    Ok((x, y))
}

fn first_non_class(yd: &Tensor) -> Result<f64> {
    let v = tensor::to_vec_f64(yd)?;
    Ok(v.into_iter()
        .find(|t| t.fract() != 0.0 || *t < 0.0 || !t.is_finite())
        .unwrap_or(f64::NAN))
}

impl Energy for TorchLoss {
    fn name(&self) -> String {
        format!("torch_loss({})", self.module.file_name())
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
    /// One loss per row; connected to the rows for autograd when they require grad.
    fn energy(&self, x: &Tensor) -> Result<Tensor> {
        let x = tensor::as_batch(x)?;
        check_dim(self, &x)?;
        let xm = x.f_to_device(self.device)?.f_to_kind(self.kind)?;
        let rows = (0..xm.size()[0])
            .map(|b| self.loss_of(&xm.f_get(b)?, &self.data.0, &self.data.1))
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::f_stack(&rows, 0)?
            .f_to_kind(x.kind())?
            .f_to_device(x.device())?)
    }
    /// Row by row: one forward and one backward per parameter vector.
    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.energy_and_grad_over(x, &self.data.0, &self.data.1)
    }
    fn grad(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.energy_and_grad(x)?.1)
    }
    fn as_torch_loss(&self) -> Option<&TorchLoss> {
        Some(self)
    }
    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "name": "torch_loss",
            "dim": self.dim,
            "module": self.module.path().display().to_string(),
            "loss": self.loss.name(),
            "batch": self.batch,
            "rows": self.data.0.size()[0],
            "params": self.free_names(),
            "batchnorm": match self.batchnorm { BatchNorm::Eval => "eval", BatchNorm::Recompute => "recompute" },
            "dtype": dtype_name(self.kind),
        })
    }
}
