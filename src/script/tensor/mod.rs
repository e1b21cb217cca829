//! Script functions: the `Tensor` type. Creation, arithmetic and comparison operators with
//! broadcasting, reductions, elementwise math, shape manipulation, indexing and slicing,
//! conversions and printing. Every operation is functional (returns a new tensor) because Rhai
//! passes values by copy, and every libtorch failure comes back as a script error.

use super::convert::{err, to_tensor, IntoScript, RhaiResult};
use super::{Api, TensorValue};
use crate::tensor as ctx;
use rhai::{Array, Dynamic, RhaiNativeFunc, Variant};
use tch::{Device, Kind, TchError, Tensor};

type TV = TensorValue;
type TchResult = Result<Tensor, TchError>;

mod creation;
mod format;
mod info;
mod math;
mod operators;
mod shape;

use creation::register_creation;
pub use format::format_tensor;
use info::register_info;
use math::{register_math, register_reductions};
use operators::register_operators;
use shape::{register_indexing, register_shapes};

/// Wraps a libtorch result as a script result.
fn wrap(r: TchResult) -> RhaiResult<TV> {
    r.map(TensorValue).script()
}

/// [`wrap`] for libtorch calls that take plain numbers: tch reports their errors by panicking
/// when it frees the number, so the panic is caught here and becomes an ordinary error
/// (located at the call, like any other).
fn guarded(f: impl FnOnce() -> TchResult) -> RhaiResult<TV> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => wrap(r),
        Err(panic) => Err(err(super::host::panic_message(&panic))),
    }
}

/// Dtype and device of new tensors: the session's.
fn opts() -> (Kind, Device) {
    (ctx::dtype(), ctx::device())
}

/// True for floating (and complex) dtypes.
fn is_float(t: &Tensor) -> bool {
    matches!(
        t.f_kind(),
        Ok(Kind::Half
            | Kind::Float
            | Kind::Double
            | Kind::BFloat16
            | Kind::ComplexHalf
            | Kind::ComplexFloat
            | Kind::ComplexDouble)
    )
}

/// The tensor itself when floating, else converted to the session dtype.
fn floatify(t: &Tensor) -> TchResult {
    if is_float(t) {
        Ok(t.shallow_clone())
    } else {
        t.f_to_kind(ctx::dtype())
    }
}

/// A number as a 0-d tensor: floats in the session dtype, integers as int64 (so `x * 2` keeps
/// the dtype of `x`, and `x * 0.5` of an integer tensor gives the session dtype).
fn float_scalar(v: f64) -> TchResult {
    Tensor::from(v).f_to_kind(ctx::dtype())
}
fn int_scalar(v: i64) -> TchResult {
    Ok(Tensor::from(v))
}

/// Deep copy that keeps autograd history.
fn deep_copy(t: &Tensor) -> TchResult {
    let mut r = t.f_empty_like()?;
    r.f_copy_(t)?;
    Ok(r)
}

/// Script name of a dtype.
pub fn kind_name(k: Kind) -> String {
    match k {
        Kind::Double => "float64".into(),
        Kind::Float => "float32".into(),
        Kind::Half => "float16".into(),
        Kind::BFloat16 => "bfloat16".into(),
        Kind::Int64 => "int64".into(),
        Kind::Int => "int32".into(),
        Kind::Int16 => "int16".into(),
        Kind::Int8 => "int8".into(),
        Kind::Uint8 => "uint8".into(),
        Kind::Bool => "bool".into(),
        Kind::ComplexFloat => "complex64".into(),
        Kind::ComplexDouble => "complex128".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// A dtype from its script name.
fn parse_kind(name: &str) -> RhaiResult<Kind> {
    Ok(match name {
        "float64" | "double" | "f64" => Kind::Double,
        "float32" | "float" | "f32" => Kind::Float,
        "float16" | "half" | "f16" => Kind::Half,
        "bfloat16" => Kind::BFloat16,
        "int64" | "long" | "i64" => Kind::Int64,
        "int32" | "int" | "i32" => Kind::Int,
        "int16" | "i16" => Kind::Int16,
        "int8" | "i8" => Kind::Int8,
        "uint8" | "u8" => Kind::Uint8,
        "bool" => Kind::Bool,
        s => {
            return Err(err(format!(
                "unknown dtype \"{s}\"; use float64, float32, float16, bfloat16, int64, int32, int16, int8, uint8 or bool"
            )))
        }
    })
}

/// Script name of a device.
pub fn device_name(d: Device) -> String {
    match d {
        Device::Cpu => "cpu".into(),
        Device::Cuda(n) => format!("cuda:{n}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// A shape from an int or an array of ints; `-1` only where `infer` allows it.
fn shape_arg(v: &Dynamic, what: &str, infer: bool) -> RhaiResult<Vec<i64>> {
    let dims: Vec<i64> = if let Ok(n) = v.as_int() {
        vec![n]
    } else if v.is_array() {
        let a = v.read_lock::<Array>().ok_or_else(|| err("bad array"))?;
        a.iter()
            .map(|d| {
                d.as_int().map_err(|_| {
                    err(format!(
                        "{what}: shape entries must be integers, got {}",
                        d.type_name()
                    ))
                })
            })
            .collect::<RhaiResult<_>>()?
    } else {
        return Err(err(format!(
            "{what}: a shape is an int or an array of ints, got {}",
            v.type_name()
        )));
    };
    if let Some(&d) = dims.iter().find(|&&d| d < 0 && !(infer && d == -1)) {
        return Err(err(format!("{what}: negative size {d} in shape {dims:?}")));
    }
    Ok(dims)
}

/// The shape of a new tensor of dtype `kind`, refused when it would not fit the memory budget.
fn new_shape(v: &Dynamic, what: &str, kind: Kind) -> RhaiResult<Vec<i64>> {
    let shape = shape_arg(v, what, false)?;
    crate::budget::check_shape(what, &shape, kind.elt_size_in_bytes()).script()?;
    Ok(shape)
}

/// Refuses an `arange(a, b, step)` whose values would not fit the memory budget (libtorch
/// reports NaN, infinite and wrongly signed bounds itself).
fn arange_budget(a: f64, b: f64, step: f64) -> RhaiResult<()> {
    let count = ((b - a) / step).ceil();
    if count.is_finite() && count > 0.0 {
        crate::budget::check("arange", count, ctx::dtype().elt_size_in_bytes() as f64).script()?;
    }
    Ok(())
}

/// Tensors from an array of tensors (or of arrays / numbers).
fn tensor_list(a: &Array, what: &str) -> RhaiResult<Vec<Tensor>> {
    if a.is_empty() {
        return Err(err(format!("{what}: needs at least one tensor")));
    }
    a.iter().map(to_tensor).collect()
}

/// An integer index tensor from a tensor or an array (float values must be whole numbers).
fn index_tensor(v: &Dynamic) -> RhaiResult<Tensor> {
    let t = to_tensor(v)?;
    if is_float(&t) {
        let whole = t
            .f_eq_tensor(&t.f_round().script()?)
            .and_then(|e| e.f_all())
            .script()?;
        if !bool::try_from(&whole).script()? {
            return Err(err("indices must be whole numbers"));
        }
    }
    t.f_to_kind(Kind::Int64).script()
}

/// `i` as a non-negative index into a dimension of size `n` (negative counts from the end).
fn norm_index(i: i64, n: i64, what: &str) -> RhaiResult<i64> {
    let j = if i < 0 { i + n } else { i };
    if j < 0 || j >= n {
        return Err(err(format!(
            "{what}: index {i} is out of range for a dimension of size {n}"
        )));
    }
    Ok(j)
}

/// The size of the first dimension (error for 0-d tensors).
fn first_dim(t: &Tensor, what: &str) -> RhaiResult<i64> {
    t.size().first().copied().ok_or_else(|| {
        err(format!(
            "{what}: a 0-d tensor (a scalar) has no dimension 0; use item() for its value"
        ))
    })
}

/// `x[i]`: the `i`-th entry along dimension 0.
fn get_index(t: &Tensor, i: i64) -> RhaiResult<TV> {
    let j = norm_index(i, first_dim(t, "index")?, "index")?;
    wrap(t.f_select(0, j))
}

/// A new tensor equal to `t` with entry `i` along dimension 0 replaced by `v` (broadcast).
fn set_index(t: &Tensor, i: i64, v: &Dynamic) -> RhaiResult<Tensor> {
    let j = norm_index(i, first_dim(t, "index")?, "index")?;
    let target = t.f_select(0, j).script()?;
    let src = to_tensor(v)?
        .f_to_kind(t.f_kind().script()?)
        .and_then(|s| s.f_to_device(t.device()))
        .and_then(|s| s.f_broadcast_to(target.size()))
        .script()?;
    t.f_select_scatter(&src, 0, j).script()
}

/// A tensor as nested arrays: floats, ints or bools following its dtype.
fn to_array_value(t: &Tensor) -> RhaiResult<Dynamic> {
    let kind = t.f_kind().script()?;
    let v = ctx::to_vec_f64(t).script()?;
    let leaf = |x: f64| match kind {
        Kind::Bool => Dynamic::from_bool(x != 0.0),
        Kind::Int64 | Kind::Int | Kind::Int16 | Kind::Int8 | Kind::Uint8 => {
            Dynamic::from_int(x as i64)
        }
        _ => Dynamic::from_float(x),
    };
    fn build(v: &[f64], shape: &[i64], leaf: &dyn Fn(f64) -> Dynamic) -> Dynamic {
        match shape {
            [] => leaf(v[0]),
            [n, rest @ ..] => {
                let step: usize = rest.iter().product::<i64>() as usize;
                Dynamic::from_array(
                    (0..*n as usize)
                        .map(|i| build(&v[i * step..(i + 1) * step], rest, leaf))
                        .collect(),
                )
            }
        }
    }
    Ok(build(&v, &t.size(), &leaf))
}

/// `f(x, y)` between two tensor-like script values, at least one a tensor.
type Binary = fn(&Tensor, &Tensor) -> TchResult;

/// Registers `f` under `op` for Tensor/Tensor, Tensor/int, Tensor/float, int/Tensor and
/// float/Tensor; documents `op` with `sigs` (and as a Tensor method when `method`).
fn binary(
    api: &mut Api,
    op: &str,
    sigs: &[&str],
    doc: &str,
    f: impl Fn(&Tensor, &Tensor) -> TchResult + Copy + 'static,
    method: bool,
) {
    let e = &mut *api.engine;
    e.register_fn(op, move |a: TV, b: TV| wrap(f(&a.0, &b.0)));
    e.register_fn(op, move |a: TV, b: i64| {
        wrap(int_scalar(b).and_then(|b| f(&a.0, &b)))
    });
    e.register_fn(op, move |a: TV, b: f64| {
        wrap(float_scalar(b).and_then(|b| f(&a.0, &b)))
    });
    e.register_fn(op, move |a: i64, b: TV| {
        wrap(int_scalar(a).and_then(|a| f(&a, &b.0)))
    });
    e.register_fn(op, move |a: f64, b: TV| {
        wrap(float_scalar(a).and_then(|a| f(&a, &b.0)))
    });
    let area = api.area;
    for sig in sigs {
        api.docs.add(area, op, sig, 2, doc, false);
        if method {
            api.docs.add(
                area,
                &format!("Tensor.{op}"),
                &method_sig(sig),
                2,
                doc,
                true,
            );
        }
    }
}

/// `name(x: Tensor, a) -> R` as `x.name(a) -> R`.
fn method_sig(sig: &str) -> String {
    let Some((name, rest)) = sig.split_once('(') else {
        return sig.to_string();
    };
    let cut = rest.find([',', ')']).unwrap_or(rest.len());
    let recv = rest[..cut].split(':').next().unwrap_or("x").trim();
    let tail = rest[cut..]
        .strip_prefix(',')
        .map(|t| t.trim_start())
        .unwrap_or(&rest[cut..]);
    format!("{recv}.{name}({tail}")
}

/// Registers `f` once and documents it both as function `name(x, ...)` and method `x.name(...)`.
fn both<A: 'static, const N: usize, const X: bool, R: Variant + Clone, const F: bool>(
    api: &mut Api,
    name: &str,
    sig: &str,
    doc: &str,
    f: impl RhaiNativeFunc<A, N, X, R, F> + 'static,
) {
    api.func(name, sig, doc, f);
    let area = api.area;
    api.docs.add(
        area,
        &format!("Tensor.{name}"),
        &method_sig(sig),
        N - usize::from(X),
        doc,
        true,
    );
}

/// Registers a reduction: `name(x)`, `name(x, dim)` and `name(x, dim, keepdim)`.
fn reduction(
    api: &mut Api,
    name: &str,
    doc: &str,
    all: fn(&Tensor) -> TchResult,
    along: fn(&Tensor, i64, bool) -> TchResult,
) {
    both(
        api,
        name,
        &format!("{name}(x: Tensor) -> Tensor"),
        doc,
        move |x: TV| guarded(|| all(&x.0)),
    );
    both(
        api,
        name,
        &format!("{name}(x: Tensor, dim: int) -> Tensor"),
        doc,
        move |x: TV, d: i64| guarded(|| along(&x.0, d, false)),
    );
    both(
        api,
        name,
        &format!("{name}(x: Tensor, dim: int, keepdim: bool) -> Tensor"),
        doc,
        move |x: TV, d: i64, k: bool| guarded(|| along(&x.0, d, k)),
    );
}

/// A number argument (int or float).
fn num_arg(v: &Dynamic, what: &str) -> RhaiResult<f64> {
    super::convert::num(v)
        .ok_or_else(|| err(format!("{what}: expected a number, got {}", v.type_name())))
}

/// Registers the tensor functions.
pub fn register(api: &mut Api) {
    register_creation(api);
    register_operators(api);
    register_reductions(api);
    register_math(api);
    register_shapes(api);
    register_indexing(api);
    register_info(api);
}
