//! Shape manipulation, indexing and slicing.

use super::*;

pub(super) fn register_shapes(api: &mut Api) {
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

pub(super) fn register_indexing(api: &mut Api) {
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
