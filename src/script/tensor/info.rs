//! Conversions and properties: shape, dtype, device, values as arrays.

use super::*;

pub(super) fn register_info(api: &mut Api) {
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
