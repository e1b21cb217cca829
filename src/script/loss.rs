//! Script bindings for network losses over their own parameters: `torch_loss`, and the
//! `params`, `params_of`, `accuracy` and `loss` methods of such an energy.

use super::convert::{err, ev, opts, to_tensor, IntoScript, RhaiResult};
use super::docs::{OptKind, OptionDoc};
use super::{bounds, Api, EnergyValue, TensorValue};
use crate::models::{self, BatchNorm, LossData, LossKind, TorchLoss, TorchLossOptions};
use rhai::{Dynamic, Map};
use std::path::Path;
use std::rc::Rc;

/// The options of `torch_loss`, one table for parsing, docs and completion.
fn torch_loss_options() -> Vec<OptionDoc> {
    let d = TorchLossOptions::default();
    vec![
        OptionDoc::text("loss", "cross_entropy", "\"cross_entropy\", \"nll\" or \"mse\" (mean over the data), or the path of a TorchScript loss module forward(outputs, targets) -> scalar"),
        OptionDoc::described("batch", OptKind::Count, "all rows", "evaluate on a fixed random subset of this many rows (seeded by `seed`)").within(1.0, 1e9),
        OptionDoc::count("seed", d.seed as usize, "seed of the `batch` subset").bounded(bounds::SEED),
        OptionDoc::described("params", OptKind::Array, "all", "names (or dotted prefixes: \"fc2\" frees fc2.weight and fc2.bias) of the free parameters; the others stay at the module's values"),
        OptionDoc::text("batchnorm", "eval", "\"eval\": the module's stored running statistics at every θ; \"recompute\": normalize by the data's statistics at each θ (training mode; a module with dropout is refused)")
            .choices(&["eval", "recompute"]),
        OptionDoc::number("spread", d.spread, "half-width of the box of random starts around the module's own parameters").within(1e-12, 1e12),
    ]
}

/// A tensor from a Rhai tensor, an array, or the path of a `.npy` file.
fn data_tensor(v: &Dynamic, what: &str) -> RhaiResult<tch::Tensor> {
    if let Some(path) = v.read_lock::<rhai::ImmutableString>() {
        let (values, shape) = crate::tensor_io::read_npy(Path::new(path.as_str())).script()?;
        let shape: Vec<i64> = shape.iter().map(|&s| s as i64).collect();
        return Ok(tch::Tensor::from_slice(&values).reshape(shape.as_slice()));
    }
    to_tensor(v).map_err(|e| err(format!("torch_loss: data `{what}`: {e}")))
}

/// `#{inputs, targets}` (tensors, arrays or .npy paths), or a `dataset(...)` map (`images`
/// and `labels`).
fn loss_data(data: Map) -> RhaiResult<LossData> {
    let pick = |a: &str, b: &str| -> RhaiResult<tch::Tensor> {
        let (key, v) = match (data.get(a), data.get(b)) {
            (Some(v), _) => (a, v),
            (None, Some(v)) => (b, v),
            (None, None) => {
                return Err(err(format!(
                "torch_loss: the data needs `{a}` (or `{b}`, as dataset() gives it); it has {:?}",
                data.keys().map(|k| k.as_str()).collect::<Vec<_>>()
            )))
            }
        };
        data_tensor(v, key)
    };
    Ok(LossData {
        inputs: pick("inputs", "images")?,
        targets: pick("targets", "labels")?,
    })
}

fn the_loss<'a>(u: &'a EnergyValue, what: &str) -> RhaiResult<&'a TorchLoss> {
    u.0.as_torch_loss()
        .ok_or_else(|| err(format!("{what}: {} is not a torch_loss energy", u.0.name())))
}

fn make_torch_loss(path: &str, data: Map, map: Map) -> RhaiResult<Dynamic> {
    let mut o = opts(map, "torch_loss");
    let loss = match o.string("loss")?.as_str() {
        "cross_entropy" => LossKind::CrossEntropy,
        "nll" => LossKind::Nll,
        "mse" => LossKind::Mse,
        file => LossKind::Module(
            models::SlotModule::load(Path::new(file), crate::tensor::device()).script()?,
        ),
    };
    let params = match o.array("params", "parameter names")? {
        None => None,
        Some(a) => Some(
            a.into_iter()
                .map(|v| {
                    v.into_string()
                        .map_err(|t| err(format!("torch_loss: `params` holds names, not {t}")))
                })
                .collect::<RhaiResult<Vec<String>>>()?,
        ),
    };
    let batchnorm = match o.string("batchnorm")?.as_str() {
        "recompute" => BatchNorm::Recompute,
        _ => BatchNorm::Eval,
    };
    let options = TorchLossOptions {
        loss,
        batch: o.usize_opt("batch")?,
        seed: o.usize("seed")? as u64,
        params,
        batchnorm,
        spread: o.f64("spread")?,
    };
    o.finish()?;
    let e = TorchLoss::load(Path::new(path), loss_data(data)?, options).script()?;
    Ok(ev(Rc::new(e)))
}

/// Registers the loss functions.
pub fn register(api: &mut Api) {
    api.func(
        "torch_loss",
        "torch_loss(path: string, data: map, opts: map) -> Energy",
        "The loss of a TorchScript network (torch.jit.script(model).save(path)) over its own flattened parameters θ, as an energy of dimension P: U(θ) = loss(f_θ(inputs), targets), the mean over `data` (#{inputs, targets} as tensors, arrays or .npy paths, or a dataset() map). The gradient comes from autograd through the module's forward with its parameters pointed at θ. The module runs in evaluation mode; a batch of states is evaluated one parameter vector at a time. Every sampler, AD, NEB, curve_path and DG function takes it: barriers between trained networks.",
        make_torch_loss,
    );
    api.func(
        "torch_loss",
        "torch_loss(path: string, data: map) -> Energy",
        "",
        |path: &str, data: Map| make_torch_loss(path, data, Map::new()),
    );
    api.options("torch_loss", torch_loss_options());
    api.example(
        "torch_loss",
        "// In Python: torch.jit.script(net).save(\"a.pt\"), and another seed's net as \"b.pt\"\n// (inputs [N, 256], 10 classes; a dataset(\"mnist\", #{n: 500, size: 16}) map works as data)\nlet data = #{inputs: randn([200, 256]), targets: (rand([200]) * 10.0).floor()};\nlet U = torch_loss(\"a.pt\", data, #{loss: \"cross_entropy\"});\nlet path = neb(U, U.params(), U.params_of(\"b.pt\"), #{images: 8, max_iter: 100});\nprint(path.barrier);\nprint(U.accuracy(U.params()));",
    );
    api.method(
        "Energy",
        "params",
        "Energy.params() -> Tensor",
        "A torch_loss energy's own trained parameters θ₀ [P] (the free ones, in the module's order), as a state.",
        |u: &mut EnergyValue| -> RhaiResult<TensorValue> {
            Ok(TensorValue(the_loss(u, "params")?.params().script()?))
        },
    );
    api.method(
        "Energy",
        "params_of",
        "Energy.params_of(path: string) -> Tensor",
        "The parameters θ [P] of another checkpoint of the same network (a .pt TorchScript file), after checking that its parameter names and shapes match.",
        |u: &mut EnergyValue, path: &str| -> RhaiResult<TensorValue> {
            Ok(TensorValue(the_loss(u, "params_of")?.params_of(Path::new(path)).script()?))
        },
    );
    api.method(
        "Energy",
        "accuracy",
        "Energy.accuracy(theta: Tensor, data: map) -> float",
        "The share of rows of `data` (as torch_loss takes it) whose highest output is their class, for the network at θ; a class loss only. Without `data`: the loss's own data.",
        |u: &mut EnergyValue, theta: Dynamic, data: Map| -> RhaiResult<f64> {
            the_loss(u, "accuracy")?.accuracy(&to_tensor(&theta)?, Some(loss_data(data)?)).script()
        },
    );
    api.engine.register_fn(
        "accuracy",
        |u: &mut EnergyValue, theta: Dynamic| -> RhaiResult<f64> {
            the_loss(u, "accuracy")?
                .accuracy(&to_tensor(&theta)?, None)
                .script()
        },
    );
    api.method(
        "Energy",
        "loss",
        "Energy.loss(theta: Tensor, data: map) -> float",
        "The mean loss of the network at θ over other data (a test set, as torch_loss takes it).",
        |u: &mut EnergyValue, theta: Dynamic, data: Map| -> RhaiResult<f64> {
            the_loss(u, "loss")?
                .loss_on(&to_tensor(&theta)?, loss_data(data)?)
                .script()
        },
    );
}
