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

/// Tensors with more elements than this print abbreviated.
const PRINT_THRESHOLD: i64 = 100;
/// Items kept at each end of an abbreviated dimension.
const EDGE: i64 = 3;
/// Single-line printing is used up to this many characters.
const LINE_WIDTH: usize = 80;
/// Rows whose values would take more characters than this show only their ends.
const MAX_ROW: usize = 120;

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

fn register_creation(api: &mut Api) {
    api.func("tensor", "tensor(data: array|number|Tensor) -> Tensor", "A tensor from nested arrays of numbers (or a number, giving a 0-d tensor), in the session dtype and device.\nRows must have equal lengths. A Tensor argument is returned as is.", |v: Dynamic| to_tensor(&v).map(TensorValue));
    api.func(
        "tensor",
        "tensor(data: array|number, dtype: string) -> Tensor",
        "",
        |v: Dynamic, k: &str| {
            let kind = parse_kind(k)?;
            wrap(to_tensor(&v)?.f_to_kind(kind))
        },
    );
    api.example(
        "tensor",
        "let x = tensor([[1, 2], [3, 4]]);\nprint(x.shape);   // [2, 2]",
    );
    api.func(
        "zeros",
        "zeros(shape: int|array) -> Tensor",
        "A tensor of zeros; `shape` is an int or an array of ints.",
        |s: Dynamic| {
            wrap(Tensor::f_zeros(
                new_shape(&s, "zeros", ctx::dtype())?,
                opts(),
            ))
        },
    );
    api.func(
        "zeros",
        "zeros(shape: int|array, dtype: string) -> Tensor",
        "",
        |s: Dynamic, k: &str| {
            let kind = parse_kind(k)?;
            wrap(Tensor::f_zeros(
                new_shape(&s, "zeros", kind)?,
                (kind, ctx::device()),
            ))
        },
    );
    api.func(
        "ones",
        "ones(shape: int|array) -> Tensor",
        "A tensor of ones; `shape` is an int or an array of ints.",
        |s: Dynamic| wrap(Tensor::f_ones(new_shape(&s, "ones", ctx::dtype())?, opts())),
    );
    api.func(
        "ones",
        "ones(shape: int|array, dtype: string) -> Tensor",
        "",
        |s: Dynamic, k: &str| {
            let kind = parse_kind(k)?;
            wrap(Tensor::f_ones(
                new_shape(&s, "ones", kind)?,
                (kind, ctx::device()),
            ))
        },
    );
    api.func(
        "full",
        "full(shape: int|array, value: number) -> Tensor",
        "A tensor filled with `value`.",
        |s: Dynamic, v: Dynamic| {
            let v = super::convert::num(&v)
                .ok_or_else(|| err("full: the fill value must be a number"))?;
            {
                let shape = new_shape(&s, "full", ctx::dtype())?;
                guarded(|| Tensor::f_full(shape, v, opts()))
            }
        },
    );
    api.func(
        "full",
        "full(shape: int|array, value: number, dtype: string) -> Tensor",
        "",
        |s: Dynamic, v: Dynamic, k: &str| {
            let v = super::convert::num(&v)
                .ok_or_else(|| err("full: the fill value must be a number"))?;
            let kind = parse_kind(k)?;
            let shape = new_shape(&s, "full", kind)?;
            guarded(|| Tensor::f_full(shape, v, (kind, ctx::device())))
        },
    );
    api.func(
        "randn",
        "randn(shape: int|array) -> Tensor",
        "Standard normal samples N(0, 1) of the given shape (session seed, dtype and device).",
        |s: Dynamic| {
            wrap(Tensor::f_randn(
                new_shape(&s, "randn", ctx::dtype())?,
                opts(),
            ))
        },
    );
    api.func(
        "randn",
        "randn(shape: int|array, dtype: string) -> Tensor",
        "",
        |s: Dynamic, k: &str| {
            let kind = parse_kind(k)?;
            wrap(Tensor::f_randn(
                new_shape(&s, "randn", kind)?,
                (kind, ctx::device()),
            ))
        },
    );
    api.func(
        "rand",
        "rand(shape: int|array) -> Tensor",
        "Uniform samples on [0, 1) of the given shape (session seed, dtype and device).",
        |s: Dynamic| wrap(Tensor::f_rand(new_shape(&s, "rand", ctx::dtype())?, opts())),
    );
    api.func(
        "rand",
        "rand(shape: int|array, dtype: string) -> Tensor",
        "",
        |s: Dynamic, k: &str| {
            let kind = parse_kind(k)?;
            wrap(Tensor::f_rand(
                new_shape(&s, "rand", kind)?,
                (kind, ctx::device()),
            ))
        },
    );
    api.func(
        "linspace",
        "linspace(a: number, b: number, n: int) -> Tensor",
        "`n` evenly spaced values from `a` to `b`, both ends included.",
        |a: Dynamic, b: Dynamic, n: i64| {
            let (a, b) = (num_arg(&a, "linspace")?, num_arg(&b, "linspace")?);
            if n < 0 {
                return Err(err(format!(
                    "linspace: the number of points must be >= 0, got {n}"
                )));
            }
            crate::budget::check(
                "linspace",
                n as f64,
                ctx::dtype().elt_size_in_bytes() as f64,
            )
            .script()?;
            guarded(|| Tensor::f_linspace(a, b, n, opts()))
        },
    );
    api.func("arange", "arange(n: number) -> Tensor", "Values 0, 1, ..., below `n` (session dtype); also `arange(a, b)` and `arange(a, b, step)` for a, a+step, ... below b.", |n: Dynamic| {
        let n = num_arg(&n, "arange")?;
        arange_budget(0.0, n, 1.0)?;
        guarded(|| Tensor::f_arange(n, opts()))
    });
    api.func(
        "arange",
        "arange(a: number, b: number) -> Tensor",
        "",
        |a: Dynamic, b: Dynamic| {
            let (a, b) = (num_arg(&a, "arange")?, num_arg(&b, "arange")?);
            arange_budget(a, b, 1.0)?;
            guarded(|| Tensor::f_arange_start(a, b, opts()))
        },
    );
    api.func(
        "arange",
        "arange(a: number, b: number, step: number) -> Tensor",
        "",
        |a: Dynamic, b: Dynamic, s: Dynamic| {
            let step = num_arg(&s, "arange")?;
            if step == 0.0 {
                return Err(err("arange: step must not be zero"));
            }
            let (a, b) = (num_arg(&a, "arange")?, num_arg(&b, "arange")?);
            arange_budget(a, b, step)?;
            guarded(|| Tensor::f_arange_start_step(a, b, step, opts()))
        },
    );
    api.func(
        "eye",
        "eye(n: int) -> Tensor",
        "The n x n identity matrix; `eye(n, m)` gives an n x m matrix with ones on the diagonal.",
        |n: i64| {
            if n < 0 {
                return Err(err(format!("eye: size must be >= 0, got {n}")));
            }
            crate::budget::check(
                "eye",
                (n as f64) * (n as f64),
                ctx::dtype().elt_size_in_bytes() as f64,
            )
            .script()?;
            wrap(Tensor::f_eye(n, opts()))
        },
    );
    api.func(
        "eye",
        "eye(n: int, m: int) -> Tensor",
        "",
        |n: i64, m: i64| {
            if n < 0 || m < 0 {
                return Err(err(format!("eye: sizes must be >= 0, got {n} x {m}")));
            }
            crate::budget::check(
                "eye",
                (n as f64) * (m as f64),
                ctx::dtype().elt_size_in_bytes() as f64,
            )
            .script()?;
            wrap(Tensor::f_eye_m(n, m, opts()))
        },
    );
}

/// A number argument (int or float).
fn num_arg(v: &Dynamic, what: &str) -> RhaiResult<f64> {
    super::convert::num(v)
        .ok_or_else(|| err(format!("{what}: expected a number, got {}", v.type_name())))
}

fn register_operators(api: &mut Api) {
    let arith: [(&str, &str, &str, Binary); 4] = [
        ("+", "add", "Elementwise sum with broadcasting (shapes must broadcast, e.g. [3, 1] + [4] gives [3, 4]).", |a, b| a.f_add(b)),
        ("-", "sub", "Elementwise difference with broadcasting; `-x` negates.", |a, b| a.f_sub(b)),
        ("*", "mul", "Elementwise product with broadcasting (use matmul for the matrix product).", |a, b| a.f_mul(b)),
        ("/", "div", "Elementwise true division with broadcasting (integer tensors give the session dtype).", |a, b| {
            if !is_float(a) && !is_float(b) {
                floatify(a)?.f_div(b)
            } else {
                a.f_div(b)
            }
        }),
    ];
    for (op, name, doc, f) in arith {
        let sigs = [
            format!("Tensor {op} Tensor -> Tensor"),
            format!("Tensor {op} number -> Tensor"),
            format!("number {op} Tensor -> Tensor"),
        ];
        binary(
            api,
            op,
            &sigs.iter().map(String::as_str).collect::<Vec<_>>(),
            &format!(
                "{doc}\nCompound assignment (`x {op}= y`) works too and rebinds x to a new tensor."
            ),
            f,
            false,
        );
        let fsig = format!("{name}(x: Tensor|number, y: Tensor|number) -> Tensor");
        binary(
            api,
            name,
            &[&fsig],
            &format!("Same as `x {op} y`. {doc}"),
            f,
            true,
        );
    }
    api.engine.register_fn("-", |a: TV| wrap(a.0.f_neg()));
    api.docs
        .add(api.area, "-", "-Tensor -> Tensor", 1, "", false);
    let pow_doc = "Elementwise power with broadcasting: `x ** p`, `pow(x, p)` or `x.pow(p)`; x or p may be a number.";
    binary(
        api,
        "**",
        &[
            "Tensor ** Tensor -> Tensor",
            "Tensor ** number -> Tensor",
            "number ** Tensor -> Tensor",
        ],
        pow_doc,
        |a, b| a.f_pow(b),
        false,
    );
    binary(
        api,
        "pow",
        &["pow(x: Tensor|number, p: Tensor|number) -> Tensor"],
        pow_doc,
        |a, b| a.f_pow(b),
        true,
    );
    binary(
        api,
        "maximum",
        &["maximum(x: Tensor|number, y: Tensor|number) -> Tensor"],
        "Elementwise maximum of two tensors (or a tensor and a number), with broadcasting.",
        |a, b| a.f_maximum(b),
        true,
    );
    binary(
        api,
        "minimum",
        &["minimum(x: Tensor|number, y: Tensor|number) -> Tensor"],
        "Elementwise minimum of two tensors (or a tensor and a number), with broadcasting.",
        |a, b| a.f_minimum(b),
        true,
    );
    let cmp: [(&str, &str, Binary); 6] = [
        ("==", "equal to", |a, b| a.f_eq_tensor(b)),
        ("!=", "not equal to", |a, b| a.f_ne_tensor(b)),
        ("<", "less than", |a, b| a.f_lt_tensor(b)),
        ("<=", "less than or equal to", |a, b| a.f_le_tensor(b)),
        (">", "greater than", |a, b| a.f_gt_tensor(b)),
        (">=", "greater than or equal to", |a, b| a.f_ge_tensor(b)),
    ];
    for (op, words, f) in cmp {
        let sigs = [
            format!("Tensor {op} Tensor -> Tensor"),
            format!("Tensor {op} number -> Tensor"),
            format!("number {op} Tensor -> Tensor"),
        ];
        let doc = format!(
            "Elementwise `{words}` with broadcasting: a Tensor of 1.0 (true) and 0.0 (false) in the session dtype, so masks multiply and sum directly.\nIt is not a bool: use `equal(x, y)` or `allclose(x, y)` in `if` conditions."
        );
        let f = move |a: &Tensor, b: &Tensor| f(a, b).and_then(|r| r.f_to_kind(ctx::dtype()));
        binary(
            api,
            op,
            &sigs.iter().map(String::as_str).collect::<Vec<_>>(),
            &doc,
            f,
            false,
        );
    }
    api.func("equal", "equal(x: Tensor, y: Tensor) -> bool", "True when x and y have the same shape and exactly the same values (dtypes are promoted to a common one).", |a: TV, b: TV| -> RhaiResult<bool> {
        if a.0.size() != b.0.size() {
            return Ok(false);
        }
        let eq = a.0.f_eq_tensor(&b.0).and_then(|e| e.f_all()).script()?;
        bool::try_from(&eq).script()
    });
    api.func("allclose", "allclose(x: Tensor, y: Tensor) -> bool", "True when |x - y| <= atol + rtol * |y| everywhere (rtol = 1e-5, atol = 1e-8; shapes must broadcast).\n`allclose(x, y, rtol, atol)` sets the tolerances.", |a: TV, b: TV| close(&a, &b, 1e-5, 1e-8));
    api.func(
        "allclose",
        "allclose(x: Tensor, y: Tensor, rtol: float, atol: float) -> bool",
        "",
        |a: TV, b: TV, r: f64, t: f64| close(&a, &b, r, t),
    );
    api.func(
        "where",
        "where(cond: Tensor, a: Tensor|number, b: Tensor|number) -> Tensor",
        "Elementwise choice: `a` where `cond` is nonzero, else `b` (all broadcast together).",
        |c: TV, a: Dynamic, b: Dynamic| {
            let (a, b) = (to_tensor(&a)?, to_tensor(&b)?);
            wrap(c.0.f_ne(0).and_then(|m| a.f_where_self(&m, &b)))
        },
    );
    api.example(
        "where",
        "let x = linspace(-1, 1, 5);\nwhere(x > 0, x, 0.0)   // like relu(x)",
    );
}

fn close(a: &TV, b: &TV, rtol: f64, atol: f64) -> RhaiResult<bool> {
    let (x, y) = (floatify(&a.0).script()?, floatify(&b.0).script()?);
    let y = y.f_to_kind(x.f_kind().script()?).script()?;
    x.f_allclose(&y, rtol, atol, false).script()
}

fn register_reductions(api: &mut Api) {
    reduction(
        api,
        "sum",
        "Sum of all elements (a 0-d tensor), or along `dim` (keepdim keeps it with size 1).",
        |t| t.f_sum(None),
        |t, d, k| t.f_sum_dim_intlist([d].as_slice(), k, None),
    );
    reduction(
        api,
        "mean",
        "Mean of all elements, or along `dim` (keepdim keeps it with size 1).",
        |t| floatify(t)?.f_mean(None),
        |t, d, k| floatify(t)?.f_mean_dim([d].as_slice(), k, None),
    );
    reduction(api, "max", "Largest element (a 0-d tensor), or the largest values along `dim` (use argmax for their positions).\nFor the elementwise maximum of two tensors use maximum(x, y).", |t| t.f_max(), |t, d, k| t.f_max_dim(d, k).map(|r| r.0));
    reduction(api, "min", "Smallest element (a 0-d tensor), or the smallest values along `dim` (use argmin for their positions).\nFor the elementwise minimum of two tensors use minimum(x, y).", |t| t.f_min(), |t, d, k| t.f_min_dim(d, k).map(|r| r.0));
    reduction(api, "argmax", "Index of the largest element in the flattened tensor (an int64 0-d tensor), or indices along `dim`.", |t| t.f_argmax(None, false), |t, d, k| t.f_argmax(d, k));
    reduction(api, "argmin", "Index of the smallest element in the flattened tensor (an int64 0-d tensor), or indices along `dim`.", |t| t.f_argmin(None, false), |t, d, k| t.f_argmin(d, k));
    reduction(
        api,
        "norm",
        "Euclidean (L2) norm of all elements, or along `dim`: sqrt(sum(x^2)).",
        |t| floatify(t)?.f_norm(),
        |t, d, k| floatify(t)?.f_norm_scalaropt_dim(2.0, [d].as_slice(), k),
    );
    reduction(
        api,
        "std",
        "Standard deviation (unbiased, divides by n - 1) of all elements, or along `dim`.",
        |t| floatify(t)?.f_std(true),
        |t, d, k| floatify(t)?.f_std_dim([d].as_slice(), true, k),
    );
    reduction(api, "variance", "Variance (unbiased, divides by n - 1) of all elements, or along `dim` (named variance because `var` is a reserved word in Rhai).", |t| floatify(t)?.f_var(true), |t, d, k| floatify(t)?.f_var_dim([d].as_slice(), true, k));
}

fn register_math(api: &mut Api) {
    type Unary = fn(&Tensor) -> TchResult;
    let unary: [(&str, &str, Unary); 17] = [
        ("exp", "Elementwise e^x.", |t| floatify(t)?.f_exp()),
        (
            "log",
            "Elementwise natural logarithm (unlike Rhai's log on numbers, which is base 10).",
            |t| floatify(t)?.f_log(),
        ),
        ("sqrt", "Elementwise square root.", |t| {
            floatify(t)?.f_sqrt()
        }),
        ("abs", "Elementwise absolute value.", |t| t.f_abs()),
        ("relu", "Elementwise max(x, 0).", |t| t.f_relu()),
        ("tanh", "Elementwise hyperbolic tangent.", |t| {
            floatify(t)?.f_tanh()
        }),
        (
            "sigmoid",
            "Elementwise logistic function 1 / (1 + e^-x).",
            |t| floatify(t)?.f_sigmoid(),
        ),
        (
            "softplus",
            "Elementwise log(1 + e^x) (numerically stable).",
            |t| floatify(t)?.f_softplus(),
        ),
        ("sin", "Elementwise sine.", |t| floatify(t)?.f_sin()),
        ("cos", "Elementwise cosine.", |t| floatify(t)?.f_cos()),
        ("square", "Elementwise x^2.", |t| t.f_square()),
        ("floor", "Elementwise largest integer <= x.", |t| {
            t.f_floor()
        }),
        (
            "round",
            "Elementwise rounding to the nearest integer (halves to even).",
            |t| t.f_round(),
        ),
        ("sign", "Elementwise sign: -1, 0 or 1.", |t| t.f_sign()),
        ("neg", "Elementwise -x.", |t| t.f_neg()),
        (
            "log1p",
            "Elementwise log(1 + x), accurate for small x.",
            |t| floatify(t)?.f_log1p(),
        ),
        ("ceil", "Elementwise smallest integer >= x.", |t| t.f_ceil()),
    ];
    for (name, doc, f) in unary {
        both(
            api,
            name,
            &format!("{name}(x: Tensor) -> Tensor"),
            doc,
            move |x: TV| wrap(f(&x.0)),
        );
    }
    let clamp_doc = "Limits every element to [lo, hi]; pass () for no bound on that side.";
    both(
        api,
        "clamp",
        "clamp(x: Tensor, lo: number|(), hi: number|()) -> Tensor",
        clamp_doc,
        |x: TV, lo: Dynamic, hi: Dynamic| {
            let bound = |v: &Dynamic| -> RhaiResult<Option<f64>> {
                if v.is_unit() {
                    Ok(None)
                } else {
                    num_arg(v, "clamp").map(Some)
                }
            };
            let (lo, hi) = (bound(&lo)?, bound(&hi)?);
            if let (Some(l), Some(h)) = (lo, hi) {
                if l > h {
                    return Err(err(format!("clamp: lo ({l}) is greater than hi ({h})")));
                }
            }
            guarded(|| match (lo, hi) {
                (Some(l), Some(h)) => x.0.f_clamp(l, h),
                (Some(l), None) => x.0.f_clamp_min(l),
                (None, Some(h)) => x.0.f_clamp_max(h),
                (None, None) => Ok(x.0.shallow_clone()),
            })
        },
    );
}

fn register_shapes(api: &mut Api) {
    both(
        api,
        "matmul",
        "matmul(a: Tensor, b: Tensor) -> Tensor",
        "Matrix product (batched for more than 2 dimensions; vectors act as rows or columns).",
        |a: TV, b: TV| wrap(a.0.f_matmul(&b.0)),
    );
    both(
        api,
        "reshape",
        "reshape(x: Tensor, shape: int|array) -> Tensor",
        "The same values in a new shape with as many elements; one size may be -1 (inferred).",
        |x: TV, s: Dynamic| wrap(x.0.f_reshape(shape_arg(&s, "reshape", true)?)),
    );
    both(
        api,
        "transpose",
        "transpose(x: Tensor, d0: int, d1: int) -> Tensor",
        "Swaps dimensions d0 and d1.",
        |x: TV, a: i64, b: i64| wrap(x.0.f_transpose(a, b)),
    );
    both(api, "t", "t(x: Tensor) -> Tensor", "Transpose of a matrix (swaps the last two dimensions; 0-d and 1-d tensors are returned unchanged).", |x: TV| {
        if x.0.dim() < 2 {
            Ok(x)
        } else {
            wrap(x.0.f_transpose(-2, -1))
        }
    });
    api.func(
        "cat",
        "cat(tensors: array, dim: int) -> Tensor",
        "Concatenates tensors along an existing dimension (default 0); other sizes must match.",
        |a: Array, d: i64| wrap(Tensor::f_cat(&tensor_list(&a, "cat")?, d)),
    );
    api.func("cat", "cat(tensors: array) -> Tensor", "", |a: Array| {
        wrap(Tensor::f_cat(&tensor_list(&a, "cat")?, 0))
    });
    api.func(
        "stack",
        "stack(tensors: array, dim: int) -> Tensor",
        "Stacks tensors of equal shape along a new dimension (default 0).",
        |a: Array, d: i64| wrap(Tensor::f_stack(&tensor_list(&a, "stack")?, d)),
    );
    api.func(
        "stack",
        "stack(tensors: array) -> Tensor",
        "",
        |a: Array| wrap(Tensor::f_stack(&tensor_list(&a, "stack")?, 0)),
    );
    api.example("stack", "stack([zeros(3), ones(3)]).shape   // [2, 3]");
    both(
        api,
        "flatten",
        "flatten(x: Tensor) -> Tensor",
        "All values as a 1-d tensor; `flatten(x, start)` flattens only dimensions start.. .",
        |x: TV| wrap(x.0.f_flatten(0, -1)),
    );
    both(
        api,
        "flatten",
        "flatten(x: Tensor, start: int) -> Tensor",
        "",
        |x: TV, s: i64| wrap(x.0.f_flatten(s, -1)),
    );
    both(
        api,
        "unsqueeze",
        "unsqueeze(x: Tensor, dim: int) -> Tensor",
        "Inserts a dimension of size 1 at `dim`.",
        |x: TV, d: i64| wrap(x.0.f_unsqueeze(d)),
    );
    both(
        api,
        "squeeze",
        "squeeze(x: Tensor) -> Tensor",
        "Removes dimensions of size 1 (all, or only `dim` with squeeze(x, dim)).",
        |x: TV| wrap(x.0.f_squeeze()),
    );
    both(
        api,
        "squeeze",
        "squeeze(x: Tensor, dim: int) -> Tensor",
        "",
        |x: TV, d: i64| wrap(x.0.f_squeeze_dim(d)),
    );
}

fn register_indexing(api: &mut Api) {
    let e = &mut *api.engine;
    e.register_indexer_get(|x: &mut TV, i: i64| get_index(&x.0, i));
    e.register_indexer_get(|x: &mut TV, i: TV| -> RhaiResult<TV> {
        if i.0.dim() == 0 {
            let j = index_tensor(&Dynamic::from(i))?;
            let j = j.f_int64_value(&[]).script()?;
            get_index(&x.0, j)
        } else {
            wrap(x.0.f_index_select(0, &index_tensor(&Dynamic::from(i))?))
        }
    });
    e.register_indexer_set(|x: &mut TV, i: i64, v: Dynamic| -> RhaiResult<()> {
        x.0 = set_index(&x.0, i, &v)?;
        Ok(())
    });
    api.docs.add(
        api.area,
        "Tensor.[]",
        "x[i] -> Tensor",
        2,
        "Entry i along dimension 0 (negative i counts from the end); `x[i][j]` for matrices.\nAn index tensor picks several rows: `x[tensor([0, 2])]`.\n`x[i] = v` replaces row i by v (broadcast): x is rebound to a new tensor, other variables holding the old one are unchanged.",
        true,
    );
    api.method("Tensor", "slice", "x.slice(dim: int, start: int, end: int) -> Tensor", "Entries start..end (end excluded) along `dim`; negative bounds count from the end, bounds past the ends are clipped.\n`x.slice(dim, start, end, step)` takes every step-th entry.", |x: TV, d: i64, s: i64, e: i64| wrap(x.0.f_slice(d, s, e, 1)));
    api.method(
        "Tensor",
        "slice",
        "x.slice(dim: int, start: int, end: int, step: int) -> Tensor",
        "",
        |x: TV, d: i64, s: i64, e: i64, st: i64| {
            if st <= 0 {
                return Err(err(format!("slice: step must be positive, got {st}")));
            }
            wrap(x.0.f_slice(d, s, e, st))
        },
    );
    api.method(
        "Tensor",
        "select",
        "x.select(dim: int, i: int) -> Tensor",
        "Entry i along `dim`, removing that dimension (negative i counts from the end).",
        |x: TV, d: i64, i: i64| {
            let n =
                x.0.size()
                    .get(if d < 0 {
                        (d + x.0.dim() as i64) as usize
                    } else {
                        d as usize
                    })
                    .copied();
            let n = n.ok_or_else(|| {
                err(format!(
                    "select: dimension {d} is out of range for a tensor with {} dimensions",
                    x.0.dim()
                ))
            })?;
            wrap(x.0.f_select(d, norm_index(i, n, "select")?))
        },
    );
    api.method(
        "Tensor",
        "index",
        "x.index(indices: Tensor|array) -> Tensor",
        "Rows of x (dimension 0) at the given indices, in that order (repeats allowed).",
        |x: TV, i: Dynamic| wrap(x.0.f_index_select(0, &index_tensor(&i)?)),
    );
    api.method(
        "Tensor",
        "row",
        "x.row(i: int) -> Tensor",
        "Row i (entry i along dimension 0); same as x[i].",
        |x: TV, i: i64| get_index(&x.0, i),
    );
}

fn register_info(api: &mut Api) {
    let shape = |x: &mut TV| -> Array { x.0.size().into_iter().map(Dynamic::from_int).collect() };
    api.getter(
        "Tensor",
        "shape",
        "The sizes of the dimensions, as an array of ints (also x.shape()).",
        shape,
    );
    api.engine.register_fn("shape", shape);
    api.docs
        .add(api.area, "Tensor.shape", "x.shape() -> array", 1, "", true);
    api.method(
        "Tensor",
        "len",
        "x.len() -> int",
        "Size of dimension 0 (an error for 0-d tensors).",
        |x: &mut TV| first_dim(&x.0, "len"),
    );
    api.method(
        "Tensor",
        "numel",
        "x.numel() -> int",
        "Number of elements.",
        |x: &mut TV| x.0.numel() as i64,
    );
    api.method(
        "Tensor",
        "dim",
        "x.dim() -> int",
        "Number of dimensions (0 for a scalar tensor).",
        |x: &mut TV| x.0.dim() as i64,
    );
    let dtype = |x: &mut TV| {
        x.0.f_kind()
            .map(kind_name)
            .unwrap_or_else(|_| "unknown".into())
    };
    api.getter(
        "Tensor",
        "dtype",
        "Element type: \"float64\", \"float32\", \"int64\", \"bool\", ... (also x.dtype()).",
        dtype,
    );
    api.engine.register_fn("dtype", dtype);
    let device = |x: &mut TV| device_name(x.0.device());
    api.getter(
        "Tensor",
        "device",
        "Where the tensor lives: \"cpu\" or \"cuda:N\" (also x.device()).",
        device,
    );
    api.engine.register_fn("device", device);
    api.method("Tensor", "to_array", "x.to_array() -> array", "Values as nested arrays (floats; ints for integer dtypes; bools for bool); a 0-d tensor gives a number.", |x: &mut TV| to_array_value(&x.0));
    api.method("Tensor", "item", "x.item() -> float", "The value of a one-element tensor: a float (an int for integer dtypes, a bool for bool); an error for more elements.", |x: &mut TV| -> RhaiResult<Dynamic> {
        if x.0.numel() != 1 {
            return Err(err(format!("item: expected a tensor with one element, got shape {:?} ({} elements)", x.0.size(), x.0.numel())));
        }
        let v = to_array_value(&x.0.f_reshape([-1]).script()?)?;
        Ok(v.into_array().ok().and_then(|mut a| a.pop()).unwrap_or_default())
    });
    api.method(
        "Tensor",
        "cpu",
        "x.cpu() -> Tensor",
        "A copy on the CPU (the tensor itself when already there).",
        |x: TV| wrap(x.0.f_to_device(Device::Cpu)),
    );
    api.method("Tensor", "cuda", "x.cuda() -> Tensor", "A copy on the GPU (the session's CUDA device, else cuda:0); an error when CUDA is not available.", |x: TV| {
        if !ctx::cuda_available() {
            return Err(err("cuda: CUDA is not available on this machine (use cpu())"));
        }
        let d = match ctx::device() {
            Device::Cuda(n) => Device::Cuda(n),
            _ => Device::Cuda(0),
        };
        wrap(x.0.f_to_device(d))
    });
    api.method("Tensor", "to_dtype", "x.to_dtype(dtype: string) -> Tensor", "Converted to \"float64\", \"float32\", \"float16\", \"bfloat16\", \"int64\", \"int32\", \"int16\", \"int8\", \"uint8\" or \"bool\" (float to int truncates).", |x: TV, k: &str| {
        wrap(x.0.f_to_kind(parse_kind(k)?))
    });
    api.method("Tensor", "clone", "x.clone() -> Tensor", "A copy with its own storage (plain assignment shares values, which is safe because operations never modify tensors in place).", |x: TV| wrap(deep_copy(&x.0)));
    api.method(
        "Tensor",
        "detach",
        "x.detach() -> Tensor",
        "The same values without autograd history.",
        |x: TV| wrap(x.0.f_detach()),
    );
    api.method("Tensor", "to_string", "x.to_string() -> string", "Readable text: values (abbreviated with ... when large), shape, dtype, and device when not cpu.", |x: &mut TV| format_tensor(&x.0));
    api.method(
        "Tensor",
        "to_debug",
        "x.to_debug() -> string",
        "Same as to_string.",
        |x: &mut TV| format_tensor(&x.0),
    );
}

/// Human-readable tensor text: values (abbreviated when large), shape, dtype and device.
///
/// Small tensors print on one line, e.g. `tensor([[1.0000, 2.0000], [3.0000, 4.0000]],
/// shape=[2, 2], float64)`; wider ones print one row per line; tensors with more than 100
/// elements show the first and last 3 entries of each long dimension around `...`.
pub fn format_tensor(t: &Tensor) -> String {
    format_inner(t)
        .unwrap_or_else(|e| format!("tensor(<values not printable: {e}>, shape={:?})", t.size()))
}

fn format_inner(t: &Tensor) -> crate::Result<String> {
    let shape = t.size();
    let kind = t.f_kind()?;
    let summarize = t.numel() as i64 > PRINT_THRESHOLD;
    let mut cut: Vec<bool> = shape.iter().map(|&n| summarize && n > 2 * EDGE).collect();
    let (mut strs, mut rshape) = shown_values(t, &cut, kind)?;
    // Rows too long for a terminal keep only their ends too.
    if let (Some(&n), Some(c)) = (shape.last(), cut.last_mut()) {
        let w = strs.iter().map(String::len).max().unwrap_or(0);
        if !*c && n > 2 * EDGE && n as usize * (w + 2) > MAX_ROW {
            *c = true;
            (strs, rshape) = shown_values(t, &cut, kind)?;
        }
    }
    let mut suffix = format!(", shape={shape:?}, {}", kind_name(kind));
    if t.device() != Device::Cpu {
        suffix.push_str(&format!(", {}", device_name(t.device())));
    }
    if t.requires_grad() {
        suffix.push_str(", requires_grad");
    }
    let body = if strs.is_empty() {
        "[]".to_string()
    } else {
        let one = nest(&strs, &rshape, &cut, 7, None);
        if 7 + one.len() + suffix.len() <= LINE_WIDTH || rshape.len() < 2 {
            one
        } else {
            let w = strs.iter().map(String::len).max().unwrap_or(0);
            nest(&strs, &rshape, &cut, 7, Some(w))
        }
    };
    Ok(format!("tensor({body}{suffix})"))
}

/// The printed numbers of `t` with the dimensions marked in `cut` reduced to their first and
/// last `EDGE` entries, and the reduced shape.
fn shown_values(t: &Tensor, cut: &[bool], kind: Kind) -> crate::Result<(Vec<String>, Vec<i64>)> {
    let mut r = t.f_detach()?;
    for (d, (&n, &c)) in t.size().iter().zip(cut).enumerate() {
        if c {
            let d = d as i64;
            r = Tensor::f_cat(
                &[r.f_slice(d, 0, EDGE, 1)?, r.f_slice(d, n - EDGE, n, 1)?],
                d,
            )?;
        }
    }
    let vals = ctx::to_vec_f64(&r)?;
    let fmt = number_format(&vals, kind);
    Ok((vals.iter().map(|&v| fmt(v)).collect(), r.size()))
}

/// Nested `[...]` text of values `s` with shape `shape`; `cut` marks dimensions abbreviated
/// around `...`; `col` is the column of the opening bracket; `width` pads numbers and puts one
/// row per line (multi-line mode).
fn nest(s: &[String], shape: &[i64], cut: &[bool], col: usize, width: Option<usize>) -> String {
    let Some((&n, rest)) = shape.split_first() else {
        return match width {
            Some(w) => format!("{:>w$}", s[0]),
            None => s[0].clone(),
        };
    };
    let step = s.len() / (n.max(1) as usize);
    let mut parts = Vec::with_capacity(n as usize + 1);
    for i in 0..n as usize {
        if cut[0] && i as i64 == EDGE {
            parts.push("...".to_string());
        }
        parts.push(nest(
            &s[i * step..(i + 1) * step],
            rest,
            &cut[1..],
            col + 1,
            width,
        ));
    }
    let sep = if width.is_some() && shape.len() >= 2 {
        format!(",{}\n{}", "\n".repeat(shape.len() - 2), " ".repeat(col + 1))
    } else {
        ", ".to_string()
    };
    format!("[{}]", parts.join(&sep))
}

/// How numbers of a tensor print: ints plainly, bools as true/false, floats with 4 decimals
/// (scientific when the magnitudes are very large or very small).
fn number_format(vals: &[f64], kind: Kind) -> Box<dyn Fn(f64) -> String> {
    match kind {
        Kind::Bool => Box::new(|v| (v != 0.0).to_string()),
        Kind::Int64 | Kind::Int | Kind::Int16 | Kind::Int8 | Kind::Uint8 => {
            Box::new(|v| format!("{}", v as i64))
        }
        _ => {
            let finite = vals
                .iter()
                .filter(|v| v.is_finite() && **v != 0.0)
                .map(|v| v.abs());
            let (lo, hi) = finite.fold((f64::INFINITY, 0.0f64), |(lo, hi), a| {
                (lo.min(a), hi.max(a))
            });
            if hi >= 1e6 || (lo < 1e-4 && hi > 0.0) {
                Box::new(|v| {
                    if v.is_finite() {
                        format!("{v:.4e}")
                    } else {
                        format!("{v}")
                    }
                })
            } else {
                Box::new(|v| {
                    if v.is_finite() {
                        format!("{v:.4}")
                    } else {
                        format!("{v}")
                    }
                })
            }
        }
    }
}
