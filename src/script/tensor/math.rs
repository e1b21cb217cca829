//! Reductions and elementwise math.

use super::*;

pub(super) fn register_reductions(api: &mut Api) {
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

pub(super) fn register_math(api: &mut Api) {
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
