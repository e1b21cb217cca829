//! Tensor printing: one line when short, one row per line when wide, abbreviated when large.

use super::*;

/// Tensors with more elements than this print abbreviated.
const PRINT_THRESHOLD: i64 = 100;
/// Items kept at each end of an abbreviated dimension.
const EDGE: i64 = 3;
/// Single-line printing is used up to this many characters.
const LINE_WIDTH: usize = 80;
/// Rows whose values would take more characters than this show only their ends.
const MAX_ROW: usize = 120;

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
