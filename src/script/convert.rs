//! Conversions between Rhai values and core types, option maps, and error mapping.

use super::docs::{OptDefault, OptionDoc};
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

/// An options map read against its function's documented options ([`OptionDoc`]): the
/// getters take their defaults, kinds, ranges and choices from that one table, a key the
/// table lacks is an error, and `finish` rejects keys nobody documented (typos) and reports a
/// documented option the parser never read.
pub struct Opts {
    map: Map,
    spec: Vec<OptionDoc>,
    used: Vec<String>,
    what: String,
}

/// Wraps an options map for the documented function `name` (e.g. `adelm`, `Map.save`).
pub fn opts(map: Map, name: &str) -> Opts {
    let spec = super::docs()
        .get(name)
        .filter(|d| d.name == name)
        .map(|d| d.options.clone())
        .unwrap_or_default();
    Opts::with_spec(map, name, spec)
}

impl Opts {
    /// Wraps an options map whose keys are `spec` (for a map that is not a function's own,
    /// such as one element of an array option); `what` names it in errors.
    pub fn with_spec(map: Map, what: &str, spec: Vec<OptionDoc>) -> Opts {
        Opts {
            map,
            spec,
            used: Vec::new(),
            what: what.to_string(),
        }
    }
    /// Names the map `what` in errors (e.g. a nested map: `compare_paths ad`).
    pub fn labelled(mut self, what: &str) -> Opts {
        self.what = what.to_string();
        self
    }
    /// The documented option `key`; a key the table lacks is a bug in telescope, reported.
    fn spec(&self, key: &str) -> RhaiResult<&OptionDoc> {
        self.spec.iter().find(|o| o.name == key).ok_or_else(|| {
            err(format!(
                "internal error: {} reads option `{key}`, which its documentation lacks; please report",
                self.what
            ))
        })
    }
    /// The value of `key` when present and not `()`, checked against its documented kind,
    /// range and choices.
    fn take(&mut self, key: &str) -> RhaiResult<Option<Dynamic>> {
        let spec = self.spec(key)?;
        let v = self.map.get(key).filter(|v| !v.is_unit()).cloned();
        if let Some(why) = v.as_ref().and_then(|v| spec.reject(v)) {
            return Err(err(format!("{}: option `{key}` {why}", self.what)));
        }
        self.used.push(key.to_string());
        Ok(v)
    }
    /// The value of `key`, or its documented default, converted by `convert`; a default that
    /// is not a fixed value of the getter's type is a bug in telescope, reported.
    fn or_default<T>(
        &mut self,
        key: &str,
        kind: &str,
        convert: impl Fn(Dynamic) -> Option<T>,
    ) -> RhaiResult<T> {
        let shown = self.spec(key)?.default.to_string();
        let v = self.value_or_default(key)?;
        convert(v).ok_or_else(|| {
            err(format!(
                "internal error: option `{key}` of {} is read as {kind}, but its documented default is `{shown}`; please report",
                self.what
            ))
        })
    }
    /// True when the key is present.
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }
    /// A number, or its documented default.
    pub fn f64(&mut self, key: &str) -> RhaiResult<f64> {
        self.or_default(key, "a number", |v| num(&v))
    }
    /// A number if present.
    pub fn f64_opt(&mut self, key: &str) -> RhaiResult<Option<f64>> {
        Ok(self.take(key)?.as_ref().and_then(num))
    }
    /// A non-negative integer, or its documented default.
    pub fn usize(&mut self, key: &str) -> RhaiResult<usize> {
        self.or_default(key, "a count", |v| {
            v.as_int().ok().and_then(|i| usize::try_from(i).ok())
        })
    }
    /// A non-negative integer if present (absent or `()`: none).
    pub fn usize_opt(&mut self, key: &str) -> RhaiResult<Option<usize>> {
        let v = self.take(key)?;
        match v {
            None => Ok(None),
            Some(v) => match v.as_int() {
                Ok(i) if i >= 0 => Ok(Some(i as usize)),
                _ => Err(err(format!(
                    "{}: option `{key}` must be a non-negative integer, got {v}",
                    self.what
                ))),
            },
        }
    }
    /// The `seed` option ([`OptionDoc::seed`]): the given seed, or the session's (mixed
    /// with the shard index in a shard, [`crate::shard::seed`]).
    pub fn seed(&mut self) -> RhaiResult<u64> {
        Ok(self
            .usize_opt("seed")?
            .map(|s| s as u64)
            .unwrap_or_else(|| crate::shard::seed(crate::tensor::session_seed())))
    }
    /// The `seed` option of a call that draws from the session's stream
    /// ([`OptionDoc::call_seed`]): keep the value alive while the call runs.
    pub fn call_seed(&mut self) -> RhaiResult<crate::tensor::CallSeed> {
        Ok(crate::tensor::call_seed(
            self.usize_opt("seed")?.map(|s| s as u64),
        ))
    }
    /// A boolean, or its documented default.
    pub fn bool(&mut self, key: &str) -> RhaiResult<bool> {
        self.or_default(key, "a flag", |v| v.as_bool().ok())
    }
    /// A string, or its documented default.
    pub fn string(&mut self, key: &str) -> RhaiResult<String> {
        self.or_default(key, "a string", |v| v.into_string().ok())
    }
    /// A string if present.
    pub fn string_opt(&mut self, key: &str) -> RhaiResult<Option<String>> {
        match self.take(key)? {
            None => Ok(None),
            Some(v) => v.into_string().map(Some).map_err(|t| {
                err(format!(
                    "{}: option `{key}` must be a string, got {t}",
                    self.what
                ))
            }),
        }
    }
    /// A path: a string, or absent (or `()`); anything else is an error, never ignored.
    pub fn path(&mut self, key: &str) -> RhaiResult<Option<String>> {
        self.string_opt(key)
    }
    /// An array if present; `expected` says what it must hold, for the error.
    pub fn array(&mut self, key: &str, expected: &str) -> RhaiResult<Option<Array>> {
        self.spec(key)?;
        if let Some(v) = self.map.get(key).filter(|v| !v.is_unit() && !v.is_array()) {
            return Err(err(format!(
                "{}: option `{key}` must be an array of {expected}, got {}",
                self.what,
                v.type_name()
            )));
        }
        Ok(self.take(key)?.and_then(|v| v.try_cast::<Array>()))
    }
    /// An options map if present.
    pub fn map(&mut self, key: &str) -> RhaiResult<Option<Map>> {
        Ok(self.take(key)?.and_then(|v| v.try_cast::<Map>()))
    }
    /// The value, or the documented default as a value (`()` when the default is described
    /// in words only).
    pub fn value_or_default(&mut self, key: &str) -> RhaiResult<Dynamic> {
        if let Some(v) = self.take(key)? {
            return Ok(v);
        }
        Ok(match self.spec(key)?.default.clone() {
            OptDefault::Number(x) => Dynamic::from_float(x),
            OptDefault::Count(n) => Dynamic::from_int(n as i64),
            OptDefault::Flag(b) => Dynamic::from_bool(b),
            OptDefault::Text(s) => Dynamic::from(s),
            OptDefault::Numbers(v) => float_array(&v),
            OptDefault::Described(_) => Dynamic::UNIT,
        })
    }
    /// A raw value if present (not `()`).
    pub fn value(&mut self, key: &str) -> RhaiResult<Option<Dynamic>> {
        self.take(key)
    }
    /// Errors on keys that are not documented, naming the closest documented key; first,
    /// reports a documented option the parser never read (a bug in telescope).
    pub fn finish(self) -> RhaiResult<()> {
        let unread: Vec<&str> = self
            .spec
            .iter()
            .map(|o| o.name.as_str())
            .filter(|k| !self.used.iter().any(|u| u == k))
            .collect();
        if !unread.is_empty() {
            return Err(err(format!(
                "internal error: {} documents option(s) {} but never reads them; please report",
                self.what,
                unread.join(", ")
            )));
        }
        let known: Vec<&str> = self.spec.iter().map(|o| o.name.as_str()).collect();
        for k in self.map.keys() {
            if !known.contains(&k.as_str()) {
                let hint = super::names::close_names(k, known.iter().copied(), 1)
                    .first()
                    .map(|u| format!(" (did you mean `{u}`?)"))
                    .unwrap_or_default();
                return Err(err(format!(
                    "{}: unknown option `{k}`{hint}; known options: {}",
                    self.what,
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// True when Ctrl-C was pressed during the call that just returned (its computation stopped
/// early and returned what it had).
pub fn cut_short() -> bool {
    crate::interrupt::presses() > 0
}

/// Says on stderr, in the one sentence every function uses, that Ctrl-C cut the call `what`
/// short and what its result holds: `what: interrupted by Ctrl-C; the result holds ...`.
pub fn say_interrupted(what: &str, holds: &str) {
    crate::progress::stderr::end_line();
    eprintln!("{what}: interrupted by Ctrl-C; the result holds {holds}");
}

/// The observer scripts give long runs when their `progress` option is on: progress lines (in
/// place on a terminal) and warnings on stderr, so that stdout keeps only what the script prints.
pub fn stderr_progress(on: bool) -> crate::progress::Progress {
    if on {
        crate::progress::stderr::observer()
    } else {
        crate::progress::Progress::silent()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::OptKind;

    fn spec() -> Vec<OptionDoc> {
        vec![
            OptionDoc::number("alpha", 1.5, "strength").within(0.0, 10.0),
            OptionDoc::count("iters", 7, "iterations"),
            OptionDoc::flag("fast", false, "hurry"),
            OptionDoc::text("mode", "a", "mode").choices(&["a", "b"]),
            OptionDoc::described("seed", OptKind::Count, "session seed", "seed"),
        ]
    }

    fn map(pairs: &[(&str, Dynamic)]) -> Map {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), v.clone()))
            .collect()
    }

    /// An error's message without Rhai's prefix.
    fn text(e: Box<EvalAltResult>) -> String {
        e.to_string()
            .trim_start_matches("Runtime error: ")
            .to_string()
    }

    /// Reads every option of [`spec`] as a parser would.
    fn read_all(o: &mut Opts) -> RhaiResult<(f64, usize, bool, String, Option<usize>)> {
        Ok((
            o.f64("alpha")?,
            o.usize("iters")?,
            o.bool("fast")?,
            o.string("mode")?,
            o.usize_opt("seed")?,
        ))
    }

    #[test]
    fn defaults_come_from_the_table_and_values_override_them() {
        let mut o = Opts::with_spec(Map::new(), "f", spec());
        assert_eq!(read_all(&mut o).unwrap(), (1.5, 7, false, "a".into(), None));
        o.finish().unwrap();
        let given = map(&[
            ("alpha", Dynamic::from_int(3)),
            ("iters", Dynamic::from_int(2)),
            ("fast", Dynamic::TRUE),
            ("mode", Dynamic::from("b")),
            ("seed", Dynamic::from_int(9)),
        ]);
        let mut o = Opts::with_spec(given, "f", spec());
        assert_eq!(
            read_all(&mut o).unwrap(),
            (3.0, 2, true, "b".into(), Some(9))
        );
        o.finish().unwrap();
    }

    #[test]
    fn wrong_kinds_ranges_and_choices_are_refused_with_the_expected_value() {
        let cases = [
            (
                "alpha",
                Dynamic::from("x"),
                "f: option `alpha` must be a number, got \"x\"",
            ),
            (
                "alpha",
                Dynamic::from_float(11.0),
                "f: option `alpha` must lie in [0, 10], got 11",
            ),
            (
                "iters",
                Dynamic::from_int(-1),
                "f: option `iters` must be a non-negative integer, got -1",
            ),
            (
                "fast",
                Dynamic::from_int(1),
                "f: option `fast` must be true or false, got 1",
            ),
            (
                "mode",
                Dynamic::from("c"),
                "f: option `mode` must be one of a, b, got \"c\" (did you mean \"a\"?)",
            ),
            (
                "mode",
                Dynamic::from("long"),
                "f: option `mode` must be one of a, b, got \"long\"",
            ),
        ];
        for (key, value, message) in cases {
            let mut o = Opts::with_spec(map(&[(key, value)]), "f", spec());
            let e = read_all(&mut o).unwrap_err();
            assert_eq!(text(e), message);
        }
    }

    #[test]
    fn unknown_keys_name_the_closest_documented_one() {
        let mut o = Opts::with_spec(map(&[("iter", Dynamic::from_int(1))]), "f", spec());
        read_all(&mut o).unwrap();
        let e = text(o.finish().unwrap_err());
        assert!(
            e.starts_with("f: unknown option `iter` (did you mean `iters`?); known options: alpha, iters, fast, mode, seed"),
            "{e}"
        );
    }

    #[test]
    fn a_parser_and_its_table_cannot_disagree() {
        // Reading a key the table lacks is an error at once.
        let mut o = Opts::with_spec(Map::new(), "f", spec());
        let e = o.f64("beta").unwrap_err().to_string();
        assert!(e.contains("internal error: f reads option `beta`"), "{e}");
        // Leaving a documented key unread is an error at finish, before unknown keys.
        let mut o = Opts::with_spec(map(&[("zz", Dynamic::UNIT)]), "f", spec());
        o.f64("alpha").unwrap();
        let e = o.finish().unwrap_err().to_string();
        assert!(
            e.contains("internal error: f documents option(s) iters, fast, mode, seed but never reads them"),
            "{e}"
        );
        // A described default is not a value: asking for it is an error, not a guess.
        let mut o = Opts::with_spec(Map::new(), "f", spec());
        let e = o.usize("seed").unwrap_err().to_string();
        assert!(
            e.contains("read as a count, but its documented default is `session seed`"),
            "{e}"
        );
    }
}
