//! Script functions: session settings (seed, device, dtype, threads, limits) and printing
//! helpers.

use super::convert::{err, IntoScript, RhaiResult};
use super::Api;
use crate::tensor;

/// Registers the session functions.
pub fn register(api: &mut Api) {
    api.func("seed", "seed(n: int)", "Seeds every random function of the session; the same seed gives the same results on the same device.", |n: i64| {
        tensor::manual_seed(n as u64);
    });
    api.func(
        "cuda_available",
        "cuda_available() -> bool",
        "True when a CUDA GPU is usable.",
        tensor::cuda_available,
    );
    api.func(
        "device",
        "device() -> string",
        "The device new tensors go to: \"cpu\" or \"cuda:N\".",
        || format!("{:?}", tensor::device()).to_lowercase(),
    );
    api.func(
        "set_device",
        "set_device(name: string)",
        "Chooses the device for new tensors and energies: \"cpu\", \"cuda\" or \"cuda:N\".",
        |name: &str| -> RhaiResult<()> {
            let d = match name {
                "cpu" => tch::Device::Cpu,
                "cuda" | "gpu" => tch::Device::Cuda(0),
                s if s.starts_with("cuda:") => {
                    tch::Device::Cuda(s[5..].parse().map_err(|_| err(format!("bad device {s}")))?)
                }
                s => return Err(err(format!("unknown device {s}; use \"cpu\" or \"cuda\""))),
            };
            tensor::set_device(d).script()
        },
    );
    api.func(
        "set_dtype",
        "set_dtype(name: string)",
        "Floating dtype of new tensors: \"float64\" (default) or \"float32\".",
        |name: &str| -> RhaiResult<()> {
            let k = match name {
                "float64" | "double" | "f64" => tch::Kind::Double,
                "float32" | "float" | "f32" => tch::Kind::Float,
                s => {
                    return Err(err(format!(
                        "unknown dtype {s}; use \"float64\" or \"float32\""
                    )))
                }
            };
            tensor::set_dtype(k).script()
        },
    );
    api.func(
        "threads",
        "threads() -> int",
        "libtorch's intra-op threads for this process (TELESCOPE_THREADS sets them at start).",
        || tensor::threads() as i64,
    );
    api.func(
        "reproducible",
        "reproducible() -> bool",
        "Whether reproducible mode is on (`telescope --reproducible` or TELESCOPE_REPRODUCIBLE=1): the same results from the same script and seed on any x86-64 CPU.",
        crate::tensor::reproducible::is_on,
    );
    api.func(
        "set_threads",
        "set_threads(n: int)",
        "Sets libtorch's intra-op threads (1 to 1024). On a busy machine with few cores one thread is often fastest: idle workers spin waiting for work.",
        |n: i64| -> RhaiResult<()> {
            if n < 1 {
                return Err(err(format!("set_threads needs n >= 1, got {n}")));
            }
            tensor::set_threads(n as usize).script()
        },
    );
    api.func(
        "limits",
        "limits() -> string",
        "The limits this session runs under, one per line: name, value, what it bounds and how to change it.",
        super::limits::describe,
    );
    api.func(
        "set_limit",
        "set_limit(name: string, value: number)",
        "Changes a limit while the session runs: \"native_depth\" (script callbacks nested inside one another) or \"memory\" (GiB one allocation may take). The engine limits (operations, string, array, map, call_depth) are set before a session starts: `telescope run --limit NAME=VALUE`.",
        |name: &str, value: rhai::Dynamic| -> RhaiResult<()> {
            let v = super::convert::num(&value)
                .ok_or_else(|| err(format!("set_limit: the value must be a number, got {}", value.type_name())))?;
            super::limits::set(name, v, true).map_err(err)
        },
    );
    api.example(
        "set_limit",
        "set_limit(\"memory\", 32);   // allow tensors up to 32 GiB\nprint(limits());",
    );
    api.func(
        "version",
        "version() -> string",
        "The telescope version.",
        || crate::version().to_string(),
    );
    api.func(
        "help",
        "help(name: string) -> string",
        "The help text of a function, method (`Tensor.sum`), type or area, as `telescope doc NAME` prints it.\nIn the REPL, `?name` and `help(name)` print it directly.",
        |name: &str| -> String {
            match super::help::help_text(&super::docs(), name) {
                Ok(s) | Err(s) => s,
            }
        },
    );
    api.example("help", "print(help(\"seed\"));");
}
