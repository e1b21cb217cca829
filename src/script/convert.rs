//! Conversions between Rhai values and core types, option maps, and error mapping.

use super::{EnergyValue, TensorValue};
use crate::{tensor, Error};
use rhai::{Array, Dynamic, EvalAltResult, Map, Position};
use tch::Tensor;

/// Result type of every script function.
pub type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// A core error as a script error (Rhai adds the call's position).
pub fn err(e: impl Into<ScriptError>) -> Box<EvalAltResult> {
    let ScriptError(msg) = e.into();
    EvalAltResult::ErrorRuntime(msg.into(), Position::NONE).into()
}

/// Anything that can become a script error message.
pub struct ScriptError(pub String);

impl From<Error> for ScriptError {
    fn from(e: Error) -> Self {
        ScriptError(e.to_string())
    }
}
impl From<tch::TchError> for ScriptError {
    fn from(e: tch::TchError) -> Self {
        ScriptError(Error::from(e).to_string())
    }
}
impl From<String> for ScriptError {
    fn from(e: String) -> Self {
        ScriptError(e)
    }
}
impl From<&str> for ScriptError {
    fn from(e: &str) -> Self {
        ScriptError(e.to_string())
    }
}

/// Maps any core result into a script result.
pub trait IntoScript<T> {
    /// Converts the error side.
    fn script(self) -> RhaiResult<T>;
}
impl<T, E: Into<ScriptError>> IntoScript<T> for Result<T, E> {
    fn script(self) -> RhaiResult<T> {
        self.map_err(err)
    }
}

/// A number from a Rhai value (int or float).
pub fn num(v: &Dynamic) -> Option<f64> {
    if let Ok(f) = v.as_float() {
        Some(f)
    } else {
        v.as_int().ok().map(|i| i as f64)
    }
}

/// Nested arrays of numbers as flat data and a shape.
pub fn array_data(a: &Array) -> RhaiResult<(Vec<f64>, Vec<i64>)> {
    let mut data = Vec::new();
    let mut shape = vec![a.len() as i64];
    fn walk(a: &Array, depth: usize, data: &mut Vec<f64>, shape: &mut Vec<i64>) -> RhaiResult<()> {
        for v in a {
            if v.is_array() {
                let inner = v.read_lock::<Array>().ok_or_else(|| err("bad array"))?;
                if shape.len() == depth + 1 {
                    shape.push(inner.len() as i64);
                } else if shape[depth + 1] != inner.len() as i64 {
                    return Err(err("ragged nested array: rows must have equal lengths"));
                }
                walk(&inner, depth + 1, data, shape)?;
            } else if let Some(x) = num(v) {
                if shape.len() > depth + 1 {
                    return Err(err("ragged nested array: mixes numbers and arrays"));
                }
                data.push(x);
            } else if let Ok(b) = v.as_bool() {
                data.push(if b { 1.0 } else { 0.0 });
            } else if let Some(t) = v.clone().try_cast::<TensorValue>() {
                return Err(err(format!(
                    "arrays of tensors are not numbers (got a Tensor of shape {:?}); use stack()",
                    t.0.size()
                )));
            } else {
                return Err(err(format!("expected numbers, got {}", v.type_name())));
            }
        }
        Ok(())
    }
    walk(a, 0, &mut data, &mut shape)?;
    let expected: i64 = shape.iter().product();
    if expected as usize != data.len() {
        return Err(err("ragged nested array"));
    }
    Ok((data, shape))
}

/// A tensor from a Rhai value: a Tensor, a number, or (nested) arrays of numbers.
pub fn to_tensor(v: &Dynamic) -> RhaiResult<Tensor> {
    if let Some(t) = v.clone().try_cast::<TensorValue>() {
        return Ok(t.0);
    }
    if let Some(x) = num(v) {
        return tensor::from_vec(&[x], &[]).map_err(err);
    }
    if v.is_array() {
        let a = v.read_lock::<Array>().ok_or_else(|| err("bad array"))?;
        let (data, shape) = array_data(&a)?;
        return tensor::from_vec(&data, &shape).map_err(err);
    }
    Err(err(format!(
        "expected a Tensor, a number or an array, got {}",
        v.type_name()
    )))
}

/// Numbers as a Rhai array of floats.
pub fn float_array(v: &[f64]) -> Dynamic {
    Dynamic::from_array(v.iter().map(|x| Dynamic::from_float(*x)).collect())
}

/// A tensor as nested Rhai arrays (scalars become a float).
pub fn to_dynamic(t: &Tensor) -> RhaiResult<Dynamic> {
    let v = tensor::to_vec_f64(t).map_err(err)?;
    let shape: Vec<usize> = t.size().iter().map(|&s| s as usize).collect();
    fn build(v: &[f64], shape: &[usize]) -> Dynamic {
        match shape {
            [] => Dynamic::from_float(v[0]),
            [n] => float_array(&v[..*n]),
            [n, rest @ ..] => {
                let step: usize = rest.iter().product();
                Dynamic::from_array(
                    (0..*n)
                        .map(|i| build(&v[i * step..(i + 1) * step], rest))
                        .collect(),
                )
            }
        }
    }
    Ok(build(&v, &shape))
}

/// Numbers from a Rhai array or a 1-D tensor.
pub fn to_f64s(v: &Dynamic) -> RhaiResult<Vec<f64>> {
    tensor::to_vec_f64(&to_tensor(v)?).map_err(err)
}

/// Wraps a tensor for scripts.
pub fn tv(t: Tensor) -> Dynamic {
    Dynamic::from(TensorValue(t))
}

/// Wraps an energy for scripts.
pub fn ev(e: crate::energy::EnergyRef) -> Dynamic {
    Dynamic::from(EnergyValue(e))
}

/// An options map with typed getters; `finish` rejects keys nobody read (typos).
pub struct Opts {
    map: Map,
    used: Vec<String>,
    what: String,
}

/// Wraps an options map for function `what`.
pub fn opts(map: Map, what: &str) -> Opts {
    Opts {
        map,
        used: Vec::new(),
        what: what.to_string(),
    }
}

impl Opts {
    fn take(&mut self, key: &str) -> Option<Dynamic> {
        self.used.push(key.to_string());
        self.map.get(key).cloned()
    }
    /// True when the key is present.
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }
    /// A number, or `default`.
    pub fn f64(&mut self, key: &str, default: f64) -> RhaiResult<f64> {
        match self.take(key) {
            None => Ok(default),
            Some(v) => num(&v).ok_or_else(|| {
                err(format!(
                    "{}: option `{key}` must be a number, got {}",
                    self.what,
                    v.type_name()
                ))
            }),
        }
    }
    /// A number if present.
    pub fn f64_opt(&mut self, key: &str) -> RhaiResult<Option<f64>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) if v.is_unit() => Ok(None),
            Some(v) => num(&v)
                .map(Some)
                .ok_or_else(|| err(format!("{}: option `{key}` must be a number", self.what))),
        }
    }
    /// A non-negative integer, or `default`.
    pub fn usize(&mut self, key: &str, default: usize) -> RhaiResult<usize> {
        match self.take(key) {
            None => Ok(default),
            Some(v) => match v.as_int() {
                Ok(i) if i >= 0 => Ok(i as usize),
                _ => Err(err(format!(
                    "{}: option `{key}` must be a non-negative integer, got {v}",
                    self.what
                ))),
            },
        }
    }
    /// A non-negative integer if present (absent or `()`: none).
    pub fn usize_opt(&mut self, key: &str) -> RhaiResult<Option<usize>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) if v.is_unit() => Ok(None),
            Some(v) => match v.as_int() {
                Ok(i) if i >= 0 => Ok(Some(i as usize)),
                _ => Err(err(format!(
                    "{}: option `{key}` must be a non-negative integer, got {v}",
                    self.what
                ))),
            },
        }
    }
    /// A boolean, or `default`.
    pub fn bool(&mut self, key: &str, default: bool) -> RhaiResult<bool> {
        match self.take(key) {
            None => Ok(default),
            Some(v) => v.as_bool().map_err(|_| {
                err(format!(
                    "{}: option `{key}` must be true or false",
                    self.what
                ))
            }),
        }
    }
    /// A string, or `default`.
    pub fn string(&mut self, key: &str, default: &str) -> RhaiResult<String> {
        match self.take(key) {
            None => Ok(default.to_string()),
            Some(v) => v.into_string().map_err(|t| {
                err(format!(
                    "{}: option `{key}` must be a string, got {t}",
                    self.what
                ))
            }),
        }
    }
    /// A path: a string, or absent (or `()`); anything else is an error, never ignored.
    pub fn path(&mut self, key: &str) -> RhaiResult<Option<String>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) if v.is_unit() => Ok(None),
            Some(v) => v.into_string().map(Some).map_err(|t| {
                err(format!(
                    "{}: option `{key}` must be a path string, got {t}",
                    self.what
                ))
            }),
        }
    }
    /// An array if present; `expected` says what it must hold, for the error.
    pub fn array(&mut self, key: &str, expected: &str) -> RhaiResult<Option<Array>> {
        let Some(v) = self.take(key) else {
            return Ok(None);
        };
        let items = v.read_lock::<Array>().map(|a| a.clone());
        items.map(Some).ok_or_else(|| {
            err(format!(
                "{}: option `{key}` must be an array of {expected}, got {}",
                self.what,
                v.type_name()
            ))
        })
    }
    /// A raw value if present.
    pub fn value(&mut self, key: &str) -> Option<Dynamic> {
        self.take(key)
    }
    /// Errors on keys that were never read, naming the closest known key.
    pub fn finish(self) -> RhaiResult<()> {
        for k in self.map.keys() {
            if !self.used.iter().any(|u| u == k.as_str()) {
                let hint = self
                    .used
                    .iter()
                    .min_by_key(|u| super::names::edit_distance(u, k))
                    .filter(|u| super::names::edit_distance(u, k) <= 2)
                    .map(|u| format!(" (did you mean `{u}`?)"))
                    .unwrap_or_default();
                let known = self.used.join(", ");
                return Err(err(format!(
                    "{}: unknown option `{k}`{hint}; known options: {known}",
                    self.what
                )));
            }
        }
        Ok(())
    }
}

/// The observer scripts give long runs when their `progress` option is on: progress lines and
/// warnings on stderr, so that stdout keeps only what the script prints.
pub fn stderr_progress(on: bool) -> crate::progress::Progress {
    if on {
        crate::progress::Progress::new(|_, line| eprintln!("{line}"))
    } else {
        crate::progress::Progress::silent()
    }
}
