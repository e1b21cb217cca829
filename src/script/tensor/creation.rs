//! Tensor creation: from data, filled, ranges, random.

use super::*;

pub(super) fn register_creation(api: &mut Api) {
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
            let v = crate::script::convert::num(&v)
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
            let v = crate::script::convert::num(&v)
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
