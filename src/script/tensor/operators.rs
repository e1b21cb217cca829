//! Arithmetic and comparison operators with broadcasting, and closeness tests.

use super::*;

pub(super) fn register_operators(api: &mut Api) {
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
