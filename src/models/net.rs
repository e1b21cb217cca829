//! Networks in the paper's Appendix A layer notation: parsing, shape inference, forward
//! passes, cloning, and saving/loading (safetensors weights plus a JSON sidecar). A network can
//! also be a TorchScript module exported from PyTorch ([`Net::torchscript`]): it then plays the
//! same role (descriptor or generator) with the user's own layers.
//!
//! Layer notation (one layer per call, separated by spaces, commas or `->`):
//!
//! - `conv(channels, kernel, stride)` — 2-D convolution, padding `floor(kernel / 2)`;
//! - `convT(channels, kernel, stride)` — transposed convolution, padding `floor(kernel / 2)`
//!   and output padding `stride - 1` (so an odd kernel multiplies the size by `stride`); the
//!   first convolutional layer of a generator (the one reading the latent vector) uses padding
//!   0 and output padding 0, as Appendix A says;
//! - `fc(units)` — fully connected (flattens its input; its output counts as `units x 1 x 1`).
//!
//! `conv` and `convT` take an optional fourth argument, the padding, overriding the default.
//! ReLU follows every layer but the last; a generator ends with tanh, a descriptor with no
//! activation. A descriptor's score `F(I)` is the sum of its last layer's outputs (one value
//! for the usual final `fc(1)`).

use super::torchscript::{dtype_name as kind_name, ScriptModule};
use crate::{
    error::{invalid, WithPath},
    Result,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::{nn, Device, Kind, Tensor};

/// One layer of the Appendix A notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layer {
    /// `conv(channels, kernel, stride[, padding])`.
    Conv {
        channels: i64,
        kernel: i64,
        stride: i64,
        padding: Option<i64>,
    },
    /// `convT(channels, kernel, stride[, padding])`.
    ConvT {
        channels: i64,
        kernel: i64,
        stride: i64,
        padding: Option<i64>,
    },
    /// `fc(units)`.
    Fc { units: i64 },
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pad = |p: &Option<i64>| p.map(|p| format!(",{p}")).unwrap_or_default();
        match self {
            Layer::Conv {
                channels,
                kernel,
                stride,
                padding,
            } => write!(f, "conv({channels},{kernel},{stride}{})", pad(padding)),
            Layer::ConvT {
                channels,
                kernel,
                stride,
                padding,
            } => write!(f, "convT({channels},{kernel},{stride}{})", pad(padding)),
            Layer::Fc { units } => write!(f, "fc({units})"),
        }
    }
}

/// What a network is for: a descriptor scores images, a generator maps latent vectors to images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// `F(I|W)`: images `[C, H, W]` to one score.
    Descriptor,
    /// `g(Z|W)`: latent vectors `[d]` to images, ending with tanh.
    Generator,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Descriptor => "descriptor",
            Role::Generator => "generator",
        })
    }
}

/// Parses a layer list such as `"conv(50,5,2) fc(100) fc(1)"`.
pub fn parse_layers(spec: &str) -> Result<Vec<Layer>> {
    let chars: Vec<char> = spec.chars().collect();
    let mut i = 0;
    let mut layers = Vec::new();
    let bad = |msg: String| invalid(format!("layer spec \"{spec}\": {msg}"));
    loop {
        while i < chars.len()
            && (chars[i].is_whitespace() || matches!(chars[i], ',' | ';' | '-' | '>'))
        {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let name: String = chars[start..i].iter().collect();
        if name.is_empty() {
            return Err(bad(format!(
                "unexpected `{}` at column {}",
                chars[i],
                i + 1
            )));
        }
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() || chars[i] != '(' {
            return Err(bad(format!(
                "expected `(` after `{name}` at column {}",
                i + 1
            )));
        }
        i += 1;
        let close = chars[i..]
            .iter()
            .position(|&c| c == ')')
            .map(|p| p + i)
            .ok_or_else(|| bad(format!("missing `)` for `{name}(`")))?;
        let inner: String = chars[i..close].iter().collect();
        i = close + 1;
        let args: Vec<i64> = inner
            .split(',')
            .map(str::trim)
            .map(|a| {
                a.parse::<i64>()
                    .map_err(|_| bad(format!("`{name}({inner})`: `{a}` is not an integer")))
            })
            .collect::<Result<_>>()?;
        if let Some(a) = args.iter().find(|&&a| a < 0) {
            return Err(bad(format!("`{name}({inner})`: negative value {a}")));
        }
        let positive = |what: &str, v: i64| -> Result<i64> {
            if v <= 0 {
                Err(bad(format!("`{name}({inner})`: {what} must be at least 1")))
            } else {
                Ok(v)
            }
        };
        let layer = match name.to_ascii_lowercase().as_str() {
            "conv" | "convt" | "deconv" => {
                if args.len() != 3 && args.len() != 4 {
                    return Err(bad(format!(
                        "`{name}({inner})` needs (channels, kernel, stride[, padding])"
                    )));
                }
                let (channels, kernel, stride) = (
                    positive("channels", args[0])?,
                    positive("kernel", args[1])?,
                    positive("stride", args[2])?,
                );
                let padding = args.get(3).copied();
                if name.eq_ignore_ascii_case("conv") {
                    Layer::Conv {
                        channels,
                        kernel,
                        stride,
                        padding,
                    }
                } else {
                    Layer::ConvT {
                        channels,
                        kernel,
                        stride,
                        padding,
                    }
                }
            }
            "fc" | "fully" | "linear" => {
                if args.len() != 1 {
                    return Err(bad(format!("`{name}({inner})` needs one argument: units")));
                }
                Layer::Fc {
                    units: positive("units", args[0])?,
                }
            }
            _ => {
                return Err(bad(format!(
                    "unknown layer `{name}`; use conv(c,k,s), convT(c,k,s) or fc(units)"
                )))
            }
        };
        layers.push(layer);
    }
    if layers.is_empty() {
        return Err(invalid(format!("layer spec \"{spec}\" has no layers")));
    }
    Ok(layers)
}

/// Formats layers back into the notation.
pub fn format_layers(layers: &[Layer]) -> String {
    layers
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The padding, output padding and output shape of layer `index` on an input `[C, H, W]`.
fn layer_geometry(
    role: Role,
    index: usize,
    layers: &[Layer],
    input: [i64; 3],
) -> Result<(i64, i64, [i64; 3])> {
    let [c, h, w] = input;
    let layer = &layers[index];
    // The generator's first convolutional layer (after the latent vector and any fc layers).
    let first_spatial = layers[..index]
        .iter()
        .all(|l| matches!(l, Layer::Fc { .. }));
    let out = match *layer {
        Layer::Conv {
            channels,
            kernel,
            stride,
            padding,
        } => {
            let p = padding.unwrap_or(kernel / 2);
            let f = |n: i64| (n + 2 * p - kernel).div_euclid(stride) + 1;
            let (oh, ow) = if h + 2 * p < kernel || w + 2 * p < kernel {
                (0, 0)
            } else {
                (f(h), f(w))
            };
            (p, 0, [channels, oh, ow])
        }
        Layer::ConvT {
            channels,
            kernel,
            stride,
            padding,
        } => {
            let first_gen = role == Role::Generator && first_spatial;
            let p = padding.unwrap_or(if first_gen { 0 } else { kernel / 2 });
            let op = if p == 0 { 0 } else { stride - 1 };
            let f = |n: i64| (n - 1) * stride - 2 * p + kernel + op;
            (p, op, [channels, f(h), f(w)])
        }
        Layer::Fc { units } => (0, 0, [units, 1, 1]),
    };
    let [oc, oh, ow] = out.2;
    if oc <= 0 || oh <= 0 || ow <= 0 {
        return Err(invalid(format!(
            "layer {} `{layer}` gives a non-positive output size [{oc}, {oh}, {ow}] from input [{c}, {h}, {w}]",
            index + 1
        )));
    }
    Ok(out)
}

/// Output shapes `[C, H, W]` after each layer, for a network of `role` on input `input`.
pub fn infer_shapes(role: Role, layers: &[Layer], input: [i64; 3]) -> Result<Vec<[i64; 3]>> {
    if input.iter().any(|&s| s <= 0) {
        return Err(invalid(format!("input shape {input:?} must be positive")));
    }
    let mut shape = input;
    let mut out = Vec::with_capacity(layers.len());
    for i in 0..layers.len() {
        shape = layer_geometry(role, i, layers, shape)?.2;
        out.push(shape);
    }
    Ok(out)
}

/// Everything needed to rebuild a network (saved as the JSON sidecar).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetSpec {
    /// Descriptor or generator.
    pub role: Role,
    /// The layers, in Appendix A notation.
    pub layers: String,
    /// Input shape `[C, H, W]` (a generator's is `[d, 1, 1]`).
    pub input: [i64; 3],
    /// `"float32"` or `"float64"`.
    pub dtype: String,
    /// The TorchScript file of a network loaded from PyTorch (its `layers` then only name it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
}

struct Params {
    w: Tensor,
    b: Tensor,
}

/// A descriptor's first two layers when they are `conv` then `fc` (see [`Net::conv_fc_head`]).
pub(crate) struct ConvFcHead {
    /// Convolution weights `[C1, C0, k, k]` and bias `[C1]`.
    pub conv_w: Tensor,
    pub conv_b: Tensor,
    pub stride: i64,
    pub padding: i64,
    /// The convolution's output shape `[C1, H1, W1]`.
    pub conv_out: [i64; 3],
    /// Fully connected weights `[U, C1*H1*W1]` and bias `[U]`.
    pub fc_w: Tensor,
    pub fc_b: Tensor,
}

/// What computes a network's outputs.
enum Body {
    /// Appendix A layers with `tch::nn` variables.
    Layers {
        layers: Vec<Layer>,
        vs: nn::VarStore,
        params: Vec<Params>,
    },
    /// A TorchScript module; `flat` when it reads inputs `[B, C*H*W]` rather than `[B, C, H, W]`.
    Script { module: ScriptModule, flat: bool },
}

/// A network: Appendix A layers built from a [`NetSpec`], or a TorchScript module.
pub struct Net {
    spec: NetSpec,
    shapes: Vec<[i64; 3]>,
    body: Body,
    kind: Kind,
}

fn kind_of(dtype: &str) -> Result<Kind> {
    match dtype {
        "float32" | "f32" | "float" => Ok(Kind::Float),
        "float64" | "f64" | "double" => Ok(Kind::Double),
        other => Err(invalid(format!(
            "network dtype must be \"float32\" or \"float64\", not \"{other}\""
        ))),
    }
}

/// Refuses a network whose weights would not fit the memory budget, before any is made
/// (weights start as float32 and are converted when the network is float64).
fn check_weight_budget(
    layers: &[Layer],
    shapes: &[[i64; 3]],
    input: [i64; 3],
    kind: Kind,
) -> Result<()> {
    let mut prev = input;
    let mut weights = 0.0;
    for (l, out) in layers.iter().zip(shapes) {
        let per_output = match *l {
            Layer::Conv { kernel, .. } | Layer::ConvT { kernel, .. } => {
                prev[0] as f64 * (kernel as f64).powi(2)
            }
            Layer::Fc { .. } => prev.iter().map(|&d| d as f64).product(),
        };
        let outputs = match *l {
            Layer::Conv { channels, .. } | Layer::ConvT { channels, .. } => channels as f64,
            Layer::Fc { units } => units as f64,
        };
        weights += outputs * (per_output + 1.0);
        prev = *out;
    }
    let bytes_each = if kind == Kind::Double { 12.0 } else { 4.0 };
    crate::budget::check("the network's weights", weights, bytes_each)
}

fn dtype_name(kind: Kind) -> &'static str {
    if kind == Kind::Double {
        "float64"
    } else {
        "float32"
    }
}

impl Net {
    /// Builds a network with fresh (Kaiming-uniform) weights on `device`.
    pub fn new(
        role: Role,
        layers: &str,
        input: [i64; 3],
        dtype: &str,
        device: Device,
    ) -> Result<Net> {
        let kind = kind_of(dtype)?;
        let parsed = parse_layers(layers)?;
        let shapes = infer_shapes(role, &parsed, input)?;
        if role == Role::Generator && (input[1] != 1 || input[2] != 1) {
            return Err(invalid("a generator's input is a latent vector [d, 1, 1]"));
        }
        check_weight_budget(&parsed, &shapes, input, kind)?;
        let mut vs = nn::VarStore::new(device);
        let mut params = Vec::with_capacity(parsed.len());
        {
            let root = vs.root();
            let mut prev = input;
            for (i, l) in parsed.iter().enumerate() {
                let p = root.sub(format!("l{i}"));
                let (w, b) = match *l {
                    Layer::Conv {
                        channels, kernel, ..
                    } => {
                        let m = nn::conv2d(&p, prev[0], channels, kernel, Default::default());
                        (m.ws, m.bs)
                    }
                    Layer::ConvT {
                        channels, kernel, ..
                    } => {
                        let m =
                            nn::conv_transpose2d(&p, prev[0], channels, kernel, Default::default());
                        (m.ws, m.bs)
                    }
                    Layer::Fc { units } => {
                        let m = nn::linear(&p, prev.iter().product(), units, Default::default());
                        (m.ws, m.bs)
                    }
                };
                let b = b.ok_or_else(|| invalid("layer without bias"))?;
                params.push(Params { w, b });
                prev = shapes[i];
            }
        }
        if kind == Kind::Double {
            vs.double();
        }
        let spec = NetSpec {
            role,
            layers: format_layers(&parsed),
            input,
            dtype: dtype_name(kind).into(),
            module: None,
        };
        Ok(Net {
            spec,
            shapes,
            body: Body::Layers {
                layers: parsed,
                vs,
                params,
            },
            kind,
        })
    }

    /// A TorchScript module at `path` as a network with `role`, reading inputs of shape `input`
    /// (`[C, H, W]` images for a descriptor, `[d, 1, 1]` for a generator's latent vectors).
    /// The module may read flat `[B, C*H*W]` or shaped `[B, C, H, W]` batches (a generator
    /// `[B, d]` or `[B, d, 1, 1]`): a probe batch finds which. A descriptor may return any
    /// shape with the batch first (its score is the sum over the rest, as for layer nets); a
    /// generator returns `[B, C, H, W]`, or `[B, D]` with `image` giving `[C, H, W]` (a square
    /// gray or RGB image is recognised without it).
    pub fn torchscript(
        path: &Path,
        role: Role,
        input: [i64; 3],
        image: Option<[i64; 3]>,
        device: Device,
    ) -> Result<Net> {
        if input.iter().any(|&d| d < 1) {
            return Err(invalid(format!("input shape {input:?} must be positive")));
        }
        if role == Role::Generator && (input[1] != 1 || input[2] != 1) {
            return Err(invalid("a generator's input is a latent vector [d, 1, 1]"));
        }
        crate::budget::check_shape("a probe batch", &[2, input[0], input[1], input[2]], 8)?;
        let module = ScriptModule::load(path, device)?;
        let kind = module.kind();
        let d: i64 = input.iter().product();
        let opts = (kind, device);
        let shaped = Tensor::f_zeros([2, input[0], input[1], input[2]], opts)?;
        let flat = Tensor::f_zeros([2, d], opts)?;
        // Generators usually read flat latent vectors, descriptors shaped images.
        let tries: [(bool, &Tensor); 2] = match role {
            Role::Generator => [(true, &flat), (false, &shaped)],
            Role::Descriptor => [(false, &shaped), (true, &flat)],
        };
        let _guard = tch::no_grad_guard();
        let mut failures = vec![];
        let mut found = None;
        for (is_flat, x) in tries {
            match module.forward(x) {
                Ok(out) => {
                    found = Some((is_flat, out));
                    break;
                }
                Err(e) => {
                    let prefix = format!("{}: ", module.file_name());
                    let msg = e.to_string();
                    failures.push(msg.strip_prefix(&prefix).unwrap_or(&msg).to_string());
                }
            }
        }
        let Some((flat, out)) = found else {
            return Err(invalid(format!(
                "{}: the module takes neither {:?} nor {:?}: {}",
                module.file_name(),
                shaped.size(),
                flat.size(),
                failures.join("; ")
            )));
        };
        let output = probe_output_shape(role, &module, &out, image)?;
        let spec = NetSpec {
            role,
            layers: format!("torchscript({})", module.file_name()),
            input,
            dtype: kind_name(kind).into(),
            module: Some(path.display().to_string()),
        };
        Ok(Net {
            spec,
            shapes: vec![output],
            body: Body::Script { module, flat },
            kind,
        })
    }

    /// A descriptor on images `[C, H, W]`.
    pub fn descriptor(layers: &str, input: [i64; 3], dtype: &str) -> Result<Net> {
        Net::new(
            Role::Descriptor,
            layers,
            input,
            dtype,
            crate::tensor::device(),
        )
    }

    /// A generator from latent vectors of dimension `latent`.
    pub fn generator(layers: &str, latent: i64, dtype: &str) -> Result<Net> {
        Net::new(
            Role::Generator,
            layers,
            [latent, 1, 1],
            dtype,
            crate::tensor::device(),
        )
    }

    /// The spec this network was built from.
    pub fn spec(&self) -> &NetSpec {
        &self.spec
    }
    /// Descriptor or generator.
    pub fn role(&self) -> Role {
        self.spec.role
    }
    /// The parsed layers (none for a TorchScript module).
    pub fn layers(&self) -> &[Layer] {
        match &self.body {
            Body::Layers { layers, .. } => layers,
            Body::Script { .. } => &[],
        }
    }
    /// True for a network loaded from a TorchScript module.
    pub fn is_torchscript(&self) -> bool {
        matches!(self.body, Body::Script { .. })
    }
    /// Input shape `[C, H, W]` (`[d, 1, 1]` for a generator).
    pub fn input_shape(&self) -> [i64; 3] {
        self.spec.input
    }
    /// Number of input values (image pixels times channels, or the latent dimension).
    pub fn input_dim(&self) -> i64 {
        self.spec.input.iter().product()
    }
    /// Output shape of the last layer.
    pub fn output_shape(&self) -> [i64; 3] {
        *self.shapes.last().expect("a net has at least one layer")
    }
    /// Number of output values per sample.
    pub fn output_dim(&self) -> i64 {
        self.output_shape().iter().product()
    }
    /// Output shape `[C, H, W]` after each layer.
    pub fn shapes(&self) -> &[[i64; 3]] {
        &self.shapes
    }
    /// The weights' dtype.
    pub fn kind(&self) -> Kind {
        self.kind
    }
    /// The weights' device.
    pub fn device(&self) -> Device {
        match &self.body {
            Body::Layers { vs, .. } => vs.device(),
            Body::Script { module, .. } => module.device(),
        }
    }
    /// The trainable tensors (weights and biases in layer order; a module's parameters).
    pub fn parameters(&self) -> Result<Vec<Tensor>> {
        match &self.body {
            Body::Layers { params, .. } => Ok(params
                .iter()
                .flat_map(|p| [p.w.shallow_clone(), p.b.shallow_clone()])
                .collect()),
            Body::Script { module, .. } => module.parameters(),
        }
    }
    /// The number of trainable values.
    pub fn num_params(&self) -> i64 {
        self.parameters()
            .map(|ps| ps.iter().map(|t| t.numel() as i64).sum())
            .unwrap_or(0)
    }

    /// One line per layer: notation, padding, output shape and parameter count.
    pub fn describe(&self) -> String {
        let (layers, params) = match &self.body {
            Body::Layers { layers, params, .. } => (layers, params),
            Body::Script { module, flat } => {
                return format!(
                    "{} TorchScript module {} on input {:?} ({}, {} parameters)\n  reads {}, returns {:?}\n",
                    self.spec.role,
                    module.path().display(),
                    self.spec.input,
                    self.spec.dtype,
                    self.num_params(),
                    if *flat { "flat batches [B, D]" } else { "shaped batches [B, C, H, W]" },
                    self.output_shape()
                )
            }
        };
        let mut out = format!(
            "{} on input {:?} ({}, {} parameters)\n",
            self.spec.role,
            self.spec.input,
            self.spec.dtype,
            self.num_params()
        );
        let mut prev = self.spec.input;
        for (i, l) in layers.iter().enumerate() {
            let (p, op, shape) = layer_geometry(self.spec.role, i, layers, prev)
                .expect("shapes were checked at build time");
            let act = if i + 1 < layers.len() {
                "relu"
            } else if self.spec.role == Role::Generator {
                "tanh"
            } else {
                "none"
            };
            let pad = match l {
                Layer::Fc { .. } => String::new(),
                Layer::ConvT { .. } => format!(" padding {p} output_padding {op}"),
                Layer::Conv { .. } => format!(" padding {p}"),
            };
            let n = params[i].w.numel() + params[i].b.numel();
            out.push_str(&format!(
                "  {}: {l}{pad} -> {shape:?}, {act}, {n} params\n",
                i + 1
            ));
            prev = shape;
        }
        out
    }

    /// Runs the layers on `x` `[B, C, H, W]` (already in the net's dtype and device).
    fn run(&self, x: &Tensor) -> Result<Tensor> {
        let (layers, params) = match &self.body {
            Body::Layers { layers, params, .. } => (layers, params),
            Body::Script { module, flat } => {
                let b = x.size()[0];
                let out = if *flat {
                    module.forward(&x.f_reshape([b, -1])?)?
                } else {
                    module.forward(x)?
                };
                let per_sample = match self.spec.role {
                    Role::Generator => Some(self.output_dim()),
                    Role::Descriptor => None,
                };
                check_batch_output(module, &out, b, per_sample)?;
                return Ok(out);
            }
        };
        self.run_layers(layers, params, x, 0)
    }

    /// Runs `layers[from..]` on `x`, the input of layer `from` (activated when `from > 0`).
    fn run_layers(
        &self,
        layers: &[Layer],
        params: &[Params],
        x: &Tensor,
        from: usize,
    ) -> Result<Tensor> {
        let mut h = x.shallow_clone();
        let mut prev = if from == 0 {
            self.spec.input
        } else {
            self.shapes[from - 1]
        };
        let n = layers.len();
        for (i, l) in layers.iter().enumerate().skip(from) {
            let (p, op, shape) = layer_geometry(self.spec.role, i, layers, prev)?;
            let Params { w, b } = &params[i];
            h = match *l {
                Layer::Conv { stride, .. } => {
                    h.f_conv2d(w, Some(b), [stride, stride], [p, p], [1, 1], 1)?
                }
                Layer::ConvT { stride, .. } => {
                    h.f_conv_transpose2d(w, Some(b), [stride, stride], [p, p], [op, op], 1, [1, 1])?
                }
                Layer::Fc { units } => h
                    .f_flatten(1, -1)?
                    .f_linear(w, Some(b))?
                    .f_view([-1, units, 1, 1])?,
            };
            if i + 1 < n {
                h = h.f_relu()?;
            } else if self.spec.role == Role::Generator {
                h = h.f_tanh()?;
            }
            prev = shape;
        }
        Ok(h)
    }

    /// The first two layers of a layer descriptor that starts `conv(...)` then `fc(...)`: what
    /// scoring single-pixel changes incrementally needs (`None` for any other network).
    pub(crate) fn conv_fc_head(&self) -> Option<ConvFcHead> {
        let Body::Layers { layers, params, .. } = &self.body else {
            return None;
        };
        if self.spec.role != Role::Descriptor || layers.len() < 2 {
            return None;
        }
        let (Layer::Conv { stride, .. }, Layer::Fc { .. }) = (layers[0], layers[1]) else {
            return None;
        };
        let (padding, _, conv_out) =
            layer_geometry(self.spec.role, 0, layers, self.spec.input).ok()?;
        Some(ConvFcHead {
            conv_w: params[0].w.shallow_clone(),
            conv_b: params[0].b.shallow_clone(),
            stride,
            padding,
            conv_out,
            fc_w: params[1].w.shallow_clone(),
            fc_b: params[1].b.shallow_clone(),
        })
    }

    /// The score `[N]` from the first fully connected layer's pre-activations `[N, U]` of a
    /// network with a [`Net::conv_fc_head`]: the layers after it, summed.
    pub(crate) fn score_after_fc(&self, z: &Tensor) -> Result<Tensor> {
        let Body::Layers { layers, params, .. } = &self.body else {
            return Err(invalid("score_after_fc needs a layer network"));
        };
        let n = z.size()[0];
        let out = if layers.len() == 2 {
            z.shallow_clone()
        } else {
            let units = z.size()[1];
            self.run_layers(layers, params, &z.f_relu()?.f_view([n, units, 1, 1])?, 2)?
        };
        Ok(out
            .f_reshape([n, -1])?
            .f_sum_dim_intlist(1, false, self.kind)?)
    }

    /// Converts a batch to the net's dtype and device and to `[B, C, H, W]`, checking its size.
    fn prepare(&self, x: &Tensor) -> Result<Tensor> {
        let [c, hh, ww] = self.spec.input;
        let d = c * hh * ww;
        let size = x.size();
        let b = match size.as_slice() {
            [n] if *n == d => 1,
            [b, n] if *n == d => *b,
            [b, cc, h2, w2] if [*cc, *h2, *w2] == self.spec.input => *b,
            _ => {
                return Err(invalid(format!(
                    "{} expects inputs [B, {d}] or [B, {c}, {hh}, {ww}], got {size:?}",
                    self.spec.role
                )))
            }
        };
        Ok(x.f_to_device(self.device())?
            .f_to_kind(self.kind)?
            .f_reshape([b, c, hh, ww])?)
    }

    /// A descriptor's score `F(I|W)` for a batch of images `[B, C*H*W]` (or `[B, C, H, W]`): shape `[B]`,
    /// in the net's dtype and device.
    pub fn score(&self, x: &Tensor) -> Result<Tensor> {
        if self.spec.role != Role::Descriptor {
            return Err(invalid("score needs a descriptor network"));
        }
        let x = self.prepare(x)?;
        let b = x.size()[0];
        Ok(self
            .run(&x)?
            .f_reshape([b, -1])?
            .f_sum_dim_intlist(1, false, self.kind)?)
    }

    /// A generator's images `g(z)` for latent vectors `[B, d]`: shape `[B, C*H*W]`, in the net's
    /// dtype and device.
    pub fn generate(&self, z: &Tensor) -> Result<Tensor> {
        if self.spec.role != Role::Generator {
            return Err(invalid("generate needs a generator network"));
        }
        let z = self.prepare(z)?;
        let b = z.size()[0];
        Ok(self.run(&z)?.f_reshape([b, -1])?)
    }

    /// An independent copy with the same weights.
    pub fn try_clone(&self) -> Result<Net> {
        match &self.body {
            Body::Script { module, flat } => Ok(Net {
                spec: self.spec.clone(),
                shapes: self.shapes.clone(),
                body: Body::Script {
                    module: module.try_clone()?,
                    flat: *flat,
                },
                kind: self.kind,
            }),
            Body::Layers { vs, .. } => {
                let mut n = Net::new(
                    self.spec.role,
                    &self.spec.layers,
                    self.spec.input,
                    &self.spec.dtype,
                    self.device(),
                )?;
                if let Body::Layers { vs: copy, .. } = &mut n.body {
                    copy.copy(vs)?;
                }
                Ok(n)
            }
        }
    }

    /// Saves the network atomically with its JSON sidecar ([`sidecar_path`]): layer nets as
    /// safetensors weights (`path` must end in `.safetensors`), TorchScript nets as the module
    /// with its current parameters (`path` must end in `.pt`).
    pub fn save(&self, path: &Path) -> Result<()> {
        let (file, module) = match &self.body {
            Body::Layers { vs, .. } => {
                let weights = weights_path(path)?;
                crate::sandbox::check_write(&weights)?;
                let tmp = crate::tensor_io::temporary_beside(&weights)?;
                let saved = vs
                    .save(&tmp)
                    .map_err(crate::Error::from)
                    .and_then(|_| std::fs::rename(&tmp, &weights).map_err(crate::Error::from));
                if let Err(e) = saved {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e).with_path(&weights);
                }
                (weights, false)
            }
            Body::Script { module, .. } => {
                if path.extension().and_then(|e| e.to_str()) != Some("pt") {
                    return Err(invalid(format!(
                        "{}: a TorchScript network is saved as a module; use a path ending in .pt",
                        path.display()
                    )));
                }
                module.save(path)?;
                (path.to_path_buf(), true)
            }
        };
        let name = file.file_name().map(|f| f.to_string_lossy().to_string());
        let mut side = serde_json::json!({
            "format": "telescope-net",
            "version": crate::version(),
            "role": self.spec.role,
            "layers": self.spec.layers,
            "input": self.spec.input,
            "dtype": self.spec.dtype,
        });
        if module {
            side["module"] = serde_json::json!(name);
            side["output"] = serde_json::json!(self.output_shape());
        } else {
            side["weights"] = serde_json::json!(name);
        }
        crate::tensor_io::write_atomic(
            &sidecar_path(&file),
            serde_json::to_string_pretty(&side)?.as_bytes(),
        )?;
        Ok(())
    }

    /// Loads a network saved by [`Net::save`]: give the `.safetensors` or `.pt` file or its
    /// `.json` sidecar. The network goes to the session device.
    pub fn load(path: &Path) -> Result<Net> {
        let ext = path.extension().and_then(|e| e.to_str());
        let side = match ext {
            Some("json") => path.to_path_buf(),
            Some("pt") => sidecar_path(path),
            _ => sidecar_path(&weights_path(path)?),
        };
        let text = std::fs::read_to_string(&side).map_err(|e| {
            invalid(format!(
                "{}: {e} (the layer specs of a saved network live there)",
                side.display()
            ))
        })?;
        let spec: NetSpec = serde_json::from_str(&text).map_err(|e| {
            invalid(format!(
                "{}: not a telescope network description: {e}",
                side.display()
            ))
        })?;
        let folder = side.parent().unwrap_or(Path::new("."));
        if let Some(module) = &spec.module {
            let output: Option<[i64; 3]> = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| serde_json::from_value(v["output"].clone()).ok());
            return Net::torchscript(
                &folder.join(module),
                spec.role,
                spec.input,
                output,
                crate::tensor::device(),
            );
        }
        let weights = side.with_extension("safetensors");
        let mut net = Net::new(
            spec.role,
            &spec.layers,
            spec.input,
            &spec.dtype,
            crate::tensor::device(),
        )?;
        if !weights.exists() {
            return Err(invalid(format!("{}: no such file", weights.display())));
        }
        if let Body::Layers { vs, .. } = &mut net.body {
            vs.load(&weights).map_err(|e| {
                invalid(format!("{}: {}", weights.display(), crate::Error::from(e)))
            })?;
        }
        Ok(net)
    }
}

/// The image shape `[C, H, W]` a probed module returns per sample, checked against `image`.
fn probe_output_shape(
    role: Role,
    module: &ScriptModule,
    out: &Tensor,
    image: Option<[i64; 3]>,
) -> Result<[i64; 3]> {
    let size = out.size();
    if size.first() != Some(&2) {
        return Err(invalid(format!(
            "{}: the module returned {size:?} for a batch of 2; the batch must come first",
            module.file_name()
        )));
    }
    let per: i64 = size[1..].iter().product();
    if role == Role::Descriptor {
        return Ok([per, 1, 1]);
    }
    let shape = match (&size[1..], image) {
        ([c, h, w], given) => {
            let got = [*c, *h, *w];
            if given.is_some_and(|g| g != got) {
                return Err(invalid(format!(
                    "{}: the generator makes images {got:?}, not the {:?} given as shape",
                    module.file_name(),
                    given.unwrap_or(got)
                )));
            }
            got
        }
        (_, Some(g)) if g.iter().product::<i64>() == per => g,
        (_, Some(g)) => {
            return Err(invalid(format!(
                "{}: the generator makes {per} values per image, not the {} of shape {g:?}",
                module.file_name(),
                g.iter().product::<i64>()
            )))
        }
        (_, None) => square_image(per).ok_or_else(|| {
            invalid(format!(
                "{}: the generator returns {size:?}; give the image shape [C, H, W] as shape",
                module.file_name()
            ))
        })?,
    };
    Ok(shape)
}

/// `[1, s, s]` or `[3, s, s]` when `n` values make a square gray or RGB image.
fn square_image(n: i64) -> Option<[i64; 3]> {
    let side = |m: i64| {
        let s = (m as f64).sqrt().round() as i64;
        (s > 0 && s * s == m).then_some(s)
    };
    side(n).map(|s| [1, s, s]).or_else(|| {
        (n % 3 == 0)
            .then(|| side(n / 3))
            .flatten()
            .map(|s| [3, s, s])
    })
}

/// Refuses a module output that lost the batch (or, for a generator, the image size).
fn check_batch_output(
    module: &ScriptModule,
    out: &Tensor,
    b: i64,
    per_sample: Option<i64>,
) -> Result<()> {
    let size = out.size();
    let ok = size.first() == Some(&b)
        && per_sample.is_none_or(|p| size[1..].iter().product::<i64>() == p);
    if ok {
        return Ok(());
    }
    Err(invalid(format!(
        "{}: the module returned {size:?} for a batch of {b}{}",
        module.file_name(),
        per_sample.map_or(String::new(), |p| format!(
            " (expected {p} values per sample)"
        ))
    )))
}

fn weights_path(path: &Path) -> Result<PathBuf> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("safetensors") => Ok(path.to_path_buf()),
        _ => Err(invalid(format!(
            "{}: network weights are saved as .safetensors; use a path ending in .safetensors",
            path.display()
        ))),
    }
}

/// The JSON sidecar of a weights file: `model.safetensors` -> `model.json`.
pub fn sidecar_path(weights: &Path) -> PathBuf {
    weights.with_extension("json")
}

impl std::fmt::Display for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Net {} \"{}\" {:?} -> {:?}",
            self.spec.role,
            self.spec.layers,
            self.spec.input,
            self.output_shape()
        )
    }
}
