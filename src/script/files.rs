//! Script functions that write results out and read arrays back: `save_npy`, `load_npy`,
//! `write_csv` and `write_json`. Every write is atomic (a crash never leaves half a file) and obeys the sandbox.

use super::convert::{err, num, to_tensor, IntoScript, RhaiResult};
use super::{records, Api, TensorValue};
use crate::tensor;
use crate::tensor_io::{read_npy, write_atomic, write_npy};
use rhai::{Array, Dynamic, Map, NativeCallContext};
use std::path::Path;

/// Registers the file functions.
pub fn register(api: &mut Api) {
    api.func(
        "save_npy",
        "save_npy(x: Tensor|array|number, path: string)",
        "Writes x as a NumPy .npy file (float64, x's shape; np.load reads it), atomically.",
        |x: Dynamic, path: &str| -> RhaiResult<()> {
            let t = to_tensor(&x)?;
            let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
            let data = tensor::to_vec_f64(&t).script()?;
            write_npy(Path::new(path), &data, &shape).script()
        },
    );
    api.example(
        "save_npy",
        "let x = randn([100, 2]);\nsave_npy(x, \"x.npy\");\nlet y = load_npy(\"x.npy\");",
    );
    api.func(
        "load_npy",
        "load_npy(path: string) -> Tensor",
        "Reads a NumPy .npy file (float64, float32, int64, int32 or uint8, C order) as a tensor of the session's dtype, in the file's shape.",
        |path: &str| -> RhaiResult<TensorValue> {
            let (data, shape) = read_npy(Path::new(path)).script()?;
            let shape: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
            Ok(TensorValue(tensor::from_vec(&data, &shape).script()?))
        },
    );
    api.func(
        "write_csv",
        "write_csv(rows: array, path: string)",
        "Writes rows as CSV, atomically: each row is a map or a result (AdBarrier, AlphaRow, ...; its fields), the header is every key of the rows that holds single values (in order of first appearance, each map's keys alphabetical as Rhai keeps them; fields holding arrays, such as a path's energies, are left out and named on stderr; write_csv(rows, path, columns) picks and orders the columns), and a row without a key leaves its cell empty. Cells are numbers (floats in their shortest exact form), strings (quoted when needed), bools, or one-value tensors; an array or a many-value tensor is refused (save it with save_npy).",
        |rows: Array, path: &str| -> RhaiResult<()> {
            let text = csv_text(&rows, None)?;
            write_atomic(Path::new(path), text.as_bytes()).script()
        },
    );
    api.func(
        "write_csv",
        "write_csv(rows: array, path: string, columns: array)",
        "Like write_csv(rows, path), with the columns named and ordered by `columns` (a row's other keys are left out).",
        |rows: Array, path: &str, columns: Array| -> RhaiResult<()> {
            let names: Vec<String> = columns
                .iter()
                .map(|c| c.clone().into_string().map_err(|t| err(format!("write_csv: a column name must be a string, got {t}"))))
                .collect::<RhaiResult<_>>()?;
            let text = csv_text(&rows, Some(names))?;
            write_atomic(Path::new(path), text.as_bytes()).script()
        },
    );
    api.example(
        "write_csv",
        "let rows = [];\nfor T in [1.0, 2.0] { rows.push(#{T: T, energy: -T * 2.0}); }\nwrite_csv(rows, \"table.csv\");",
    );
    api.func(
        "write_json",
        "write_json(value, path: string)",
        "Writes value as JSON (pretty, atomically): maps become objects (keys in Rhai's alphabetical order), arrays lists, results (AdTrial, Samples, ...) objects of their fields, a tensor its nested lists (one value: a number), floats in their shortest exact form (NaN and infinities, which JSON lacks, as null), () as null. Maps of minima are saved with m.save(path) instead.",
        |ctx: NativeCallContext, value: Dynamic, path: &str| -> RhaiResult<()> {
            let json = json_value(&value, "value", &|t| ctx.engine().map_type_name(t).to_string())?;
            let mut text = serde_json::to_string_pretty(&json).map_err(|e| err(format!("write_json: {e}")))?;
            text.push('\n');
            write_atomic(Path::new(path), text.as_bytes()).script()
        },
    );
    api.example(
        "write_json",
        "let runs = [];\nfor s in 1..=3 { runs.push(#{seed: s, energy: -s * 0.5}); }\nwrite_json(#{runs: runs, note: \"three seeds\"}, \"runs.json\");",
    );
}

/// The JSON form of a script value; `at` names where it sits (`value.runs[2].energy`) and
/// `type_name` gives a value's script type name, for errors.
pub fn json_value(
    v: &Dynamic,
    at: &str,
    type_name: &dyn Fn(&str) -> String,
) -> RhaiResult<serde_json::Value> {
    use serde_json::Value;
    if v.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = v.as_int() {
        return Ok(Value::from(i));
    }
    if let Some(x) = num(v) {
        return Ok(float_json(x));
    }
    if v.is_string() {
        return Ok(Value::String(v.clone().into_string().unwrap_or_default()));
    }
    if let Some(a) = v.read_lock::<Array>() {
        let items = a
            .iter()
            .enumerate()
            .map(|(i, x)| json_value(x, &format!("{at}[{i}]"), type_name))
            .collect::<RhaiResult<_>>()?;
        return Ok(Value::Array(items));
    }
    if let Some(t) = v.read_lock::<TensorValue>() {
        let data = tensor::to_vec_f64(&t.0).script()?;
        let shape: Vec<usize> = t.0.size().iter().map(|&d| d as usize).collect();
        return Ok(nested(&data, &shape));
    }
    if let Some(fields) = records::fields_of(v) {
        let mut out = serde_json::Map::new();
        for (k, x) in &fields {
            out.insert(
                k.to_string(),
                json_value(x, &format!("{at}.{k}"), type_name)?,
            );
        }
        return Ok(Value::Object(out));
    }
    Err(err(format!(
        "write_json: `{at}` is {}, which JSON cannot hold (a map of minima saves with m.save(path), a figure with p.save(path))",
        type_name(v.type_name())
    )))
}

/// A float as JSON: its shortest exact form, or null for NaN and the infinities.
fn float_json(x: f64) -> serde_json::Value {
    serde_json::Number::from_f64(x).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// Row-major `data` of `shape` as nested JSON lists (a 0-d tensor: one number).
fn nested(data: &[f64], shape: &[usize]) -> serde_json::Value {
    match shape.split_first() {
        None => float_json(data.first().copied().unwrap_or(f64::NAN)),
        Some((&n, rest)) => {
            let step: usize = rest.iter().product();
            serde_json::Value::Array(
                (0..n)
                    .map(|i| nested(&data[i * step..(i + 1) * step], rest))
                    .collect(),
            )
        }
    }
}

/// The CSV text of `rows` (maps or records), header first: the given columns, else every key.
pub fn csv_text(rows: &Array, columns: Option<Vec<String>>) -> RhaiResult<String> {
    let maps: Vec<Map> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            records::fields_of(r).ok_or_else(|| {
                err(format!(
                    "write_csv: row {i} is {}, not a map or a result",
                    r.type_name()
                ))
            })
        })
        .collect::<RhaiResult<_>>()?;
    let columns = match columns {
        Some(c) => c,
        None => {
            // Every key that holds a single value somewhere; arrays and many-value tensors
            // (a path's energies, a trial's states) are not cells, and are named on stderr.
            let (mut cells, mut left_out): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
            for m in &maps {
                for (k, v) in m {
                    let k = k.to_string();
                    if cells.contains(&k) || left_out.contains(&k) {
                        continue;
                    }
                    if is_cell(v) {
                        cells.push(k);
                    } else if !v.is_unit() {
                        left_out.push(k);
                    }
                }
            }
            left_out.retain(|k| !cells.contains(k));
            if !left_out.is_empty() {
                eprintln!(
                    "write_csv: left out {} (not single values; save them with save_npy, or name the columns)",
                    left_out.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                );
            }
            cells
        }
    };
    let mut out = String::new();
    let header: Vec<String> = columns.iter().map(|c| quote(c)).collect();
    out.push_str(&header.join(","));
    out.push('\n');
    for (i, m) in maps.iter().enumerate() {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| match m.get(c.as_str()) {
                None => Ok(String::new()),
                Some(v) => cell(v).map_err(|why| err(format!("write_csv: row {i}, `{c}`: {why}"))),
            })
            .collect::<RhaiResult<_>>()?;
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    Ok(out)
}

/// True when `v` is one value a CSV cell can hold.
fn is_cell(v: &Dynamic) -> bool {
    match v.read_lock::<TensorValue>() {
        Some(t) => t.0.numel() == 1,
        None => v.is_int() || v.is_float() || v.is_bool() || v.is_string(),
    }
}

/// One CSV cell.
fn cell(v: &Dynamic) -> Result<String, String> {
    if v.is_unit() {
        return Ok(String::new());
    }
    if let Ok(i) = v.as_int() {
        return Ok(i.to_string());
    }
    if let Ok(b) = v.as_bool() {
        return Ok(b.to_string());
    }
    if let Some(x) = num(v) {
        return Ok(float_cell(x));
    }
    if v.is_string() {
        return Ok(quote(&v.clone().into_string().unwrap_or_default()));
    }
    if let Some(t) = v.read_lock::<TensorValue>() {
        if t.0.numel() == 1 {
            let x = tensor::to_vec_f64(&t.0).map_err(|e| e.to_string())?;
            return Ok(float_cell(x[0]));
        }
        return Err(format!(
            "a tensor of shape {:?} is not one value; save it with save_npy",
            t.0.size()
        ));
    }
    Err(format!(
        "{} is not a number, string or bool; save arrays with save_npy",
        v.type_name()
    ))
}

/// A float in its shortest form that reads back exactly (`nan`, `inf`, `-inf` as NumPy writes).
fn float_cell(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{x:?}")
    }
}

/// A string as a CSV field: quoted (with doubled quotes) when it holds a comma, a quote, a line
/// break, or leading or trailing space.
fn quote(s: &str) -> String {
    let needs = s.contains([',', '"', '\n', '\r']) || s.trim() != s;
    if needs {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_read_back_exactly() {
        for x in [0.1, -2.5e-300, 1e300, 1.0 / 3.0, 7.0, -0.0] {
            let s = float_cell(x);
            assert_eq!(s.parse::<f64>().unwrap().to_bits(), x.to_bits(), "{s}");
        }
        assert_eq!(float_cell(f64::NAN), "nan");
    }

    #[test]
    fn fields_with_commas_quotes_and_breaks_are_quoted() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("two\nlines"), "\"two\nlines\"");
        assert_eq!(quote(" padded"), "\" padded\"");
    }
}
