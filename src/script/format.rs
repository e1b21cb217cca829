//! Script functions that format numbers for tables and reports: `fmt(x, digits)`,
//! `x.round(d)` and printf-style `format("{:.3}", x, ...)` (Rust's format-spec subset).

use super::convert::{err, num, RhaiResult};
use super::{Api, TensorValue};
use rhai::{Dynamic, NativeCallContext};

/// Registers the formatting functions.
pub fn register(api: &mut Api) {
    api.func(
        "fmt",
        "fmt(x: number, digits: int) -> string",
        "x with `digits` significant digits (1 to 17), trailing zeros dropped; scientific notation below 1e-4 and from 1e6 on: fmt(-40.664844, 4) is \"-40.66\", fmt(0.000012345, 2) \"1.2e-5\".",
        |x: Dynamic, digits: i64| -> RhaiResult<String> {
            let x = number(&x, "fmt")?;
            Ok(significant(x, digits_in(digits, 1, 17, "fmt")?))
        },
    );
    api.method(
        "float",
        "round",
        "x.round(d: int) -> float",
        "x rounded to d decimal places (d may be negative: 1234.5.round(-2) is 1200.0); x.round() rounds to a whole number.",
        round_to,
    );
    api.engine
        .register_fn("round", |x: i64, d: i64| -> RhaiResult<f64> {
            round_to(x as f64, d)
        });
    let doc = "The template with each `{}` replaced by the next value, printf-style, as Rust writes it: `{:.3}` three decimals, `{:10.2}` width 10, `{:<8}` `{:^8}` `{:>8}` alignment, `{:+.2}` a sign, `{:.3e}` scientific, `{:08.3}` zero padding, `{{` and `}}` braces. Numbers, strings, bools and one-value tensors are formatted as values; anything else by its printed form.";
    api.func(
        "format",
        "format(template: string, values...) -> string",
        doc,
        |ctx: NativeCallContext, t: &str, a: Dynamic| format_values(&ctx, t, &[a]),
    );
    // The same function for two to six values.
    macro_rules! format_with {
        ($($v:ident),+) => {
            api.engine.register_fn(
                "format",
                |ctx: NativeCallContext, t: &str, $($v: Dynamic),+| format_values(&ctx, t, &[$($v),+]),
            );
        };
    }
    format_with!(a, b);
    format_with!(a, b, c);
    format_with!(a, b, c, d);
    format_with!(a, b, c, d, e);
    format_with!(a, b, c, d, e, f);
    api.example(
        "format",
        "let line = format(\"T = {:.2}  barrier = {:8.4}  {}\", 1.5, 40.664844, \"ok\");",
    );
}

/// A number from a script value (int, float or one-value tensor).
fn number(v: &Dynamic, what: &str) -> RhaiResult<f64> {
    if let Some(x) = num(v) {
        return Ok(x);
    }
    if let Some(t) = v.read_lock::<TensorValue>() {
        if t.0.numel() == 1 {
            return crate::tensor::to_vec_f64(&t.0)
                .map(|v| v[0])
                .map_err(|e| err(e.to_string()));
        }
    }
    Err(err(format!(
        "{what}: expected a number, got {}",
        v.type_name()
    )))
}

fn digits_in(d: i64, lo: i64, hi: i64, what: &str) -> RhaiResult<usize> {
    if (lo..=hi).contains(&d) {
        Ok(d as usize)
    } else {
        Err(err(format!("{what}: digits must be {lo} to {hi}, got {d}")))
    }
}

/// `x` rounded to `d` decimal places (negative `d`: to tens, hundreds, ...).
fn round_to(x: f64, d: i64) -> RhaiResult<f64> {
    if !(-300..=300).contains(&d) {
        return Err(err(format!("round: d must be -300 to 300, got {d}")));
    }
    if !x.is_finite() {
        return Ok(x);
    }
    // Through the decimal text, so that 2.675.round(2) gives the nearest float to the decimal
    // that Rust's correctly rounded formatting picks, with no error from scaling by 10^d.
    if d >= 0 {
        Ok(format!("{x:.*}", d as usize).parse().unwrap_or(x))
    } else {
        let scale = 10f64.powi(-d as i32);
        Ok((x / scale).round() * scale)
    }
}

/// `x` with `digits` significant digits, trailing zeros dropped.
pub fn significant(x: f64, digits: usize) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x == 0.0 {
        return "0".into();
    }
    // The exponent after rounding (9.996 to 3 digits is 10.0, exponent 1).
    let rounded: f64 = format!("{:.*e}", digits - 1, x).parse().unwrap_or(x);
    let mag = rounded.abs().log10().floor() as i32;
    if !(-4..6).contains(&mag) {
        let s = format!("{:.*e}", digits - 1, x);
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = if m.contains('.') {
            m.trim_end_matches('0').trim_end_matches('.')
        } else {
            m
        };
        return format!("{m}e{e}");
    }
    let decimals = (digits as i32 - 1 - mag).max(0) as usize;
    let s = format!("{rounded:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// One `{...}` spec: fill, alignment, sign, zero padding, width, precision and kind.
#[derive(Debug, Default, PartialEq)]
struct Spec {
    fill: Option<char>,
    align: Option<char>,
    plus: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
    kind: Option<char>,
}

fn parse_spec(s: &str) -> Result<Spec, String> {
    let mut spec = Spec::default();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let is_align = |c: char| matches!(c, '<' | '>' | '^');
    if chars.len() >= 2 && is_align(chars[1]) {
        spec.fill = Some(chars[0]);
        spec.align = Some(chars[1]);
        i = 2;
    } else if !chars.is_empty() && is_align(chars[0]) {
        spec.align = Some(chars[0]);
        i = 1;
    }
    if chars.get(i) == Some(&'+') {
        spec.plus = true;
        i += 1;
    }
    if chars.get(i) == Some(&'0') {
        spec.zero = true;
        i += 1;
    }
    let digits = |i: &mut usize| -> Option<usize> {
        let start = *i;
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
        (*i > start).then(|| chars[start..*i].iter().collect::<String>().parse().ok())?
    };
    spec.width = digits(&mut i).unwrap_or(0);
    if chars.get(i) == Some(&'.') {
        i += 1;
        spec.precision = Some(digits(&mut i).ok_or("a `.` must be followed by a precision")?);
    }
    if let Some(&c) = chars.get(i) {
        if matches!(c, 'e' | 'E' | 'f' | '%') {
            spec.kind = Some(c);
            i += 1;
        }
    }
    if i != chars.len() {
        return Err(format!("`{{:{s}}}` is not a format spec I know"));
    }
    if spec.width > 1000 || spec.precision.is_some_and(|p| p > 300) {
        return Err(format!(
            "`{{:{s}}}`: width at most 1000, precision at most 300"
        ));
    }
    Ok(spec)
}

/// `v` formatted by `spec` (numbers as numbers, the rest by their printed form).
fn apply(ctx: &NativeCallContext, spec: &Spec, v: &Dynamic) -> Result<String, String> {
    let numeric = num(v).or_else(|| {
        v.read_lock::<TensorValue>()
            .filter(|t| t.0.numel() == 1)
            .and_then(|t| crate::tensor::to_vec_f64(&t.0).ok().map(|x| x[0]))
    });
    let body = match numeric {
        Some(x) => {
            let is_int = v.is_int();
            let mut s = match (spec.kind, spec.precision) {
                (Some('e'), p) | (Some('E'), p) => {
                    let s = match p {
                        Some(p) => format!("{x:.p$e}"),
                        None => format!("{x:e}"),
                    };
                    if spec.kind == Some('E') {
                        s.to_uppercase()
                    } else {
                        s
                    }
                }
                (Some('%'), p) => format!("{:.*}%", p.unwrap_or(0), x * 100.0),
                (_, Some(p)) => format!("{x:.p$}"),
                (_, None) if is_int => format!("{}", x as i64),
                (_, None) => format!("{x:?}"),
            };
            if spec.plus && !s.starts_with('-') {
                s.insert(0, '+');
            }
            if spec.zero && spec.align.is_none() && s.len() < spec.width {
                let sign = s.starts_with(['-', '+']) as usize;
                let pad = "0".repeat(spec.width - s.chars().count());
                s.insert_str(sign, &pad);
            }
            s
        }
        None => {
            let s = if v.is_string() {
                v.clone().into_string().unwrap_or_default()
            } else {
                ctx.call_native_fn::<String>("to_string", (v.clone(),))
                    .unwrap_or_else(|_| v.to_string())
            };
            match spec.precision {
                Some(p) => s.chars().take(p).collect(),
                None => s,
            }
        }
    };
    let n = body.chars().count();
    if n >= spec.width {
        return Ok(body);
    }
    let fill = spec.fill.unwrap_or(' ');
    let pad = spec.width - n;
    let align = spec
        .align
        .unwrap_or(if numeric.is_some() { '>' } else { '<' });
    let (left, right) = match align {
        '<' => (0, pad),
        '^' => (pad / 2, pad - pad / 2),
        _ => (pad, 0),
    };
    let f = |k: usize| std::iter::repeat_n(fill, k).collect::<String>();
    Ok(format!("{}{body}{}", f(left), f(right)))
}

/// `template` with its `{}` fields replaced by `values` in order.
fn format_values(
    ctx: &NativeCallContext,
    template: &str,
    values: &[Dynamic],
) -> RhaiResult<String> {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    let mut next = 0;
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => field.push(c),
                        None => {
                            return Err(err(format!("format: `{{{field}` is not closed by `}}`")))
                        }
                    }
                }
                let spec_text = match field.split_once(':') {
                    Some(("", s)) => s,
                    None if field.is_empty() => "",
                    _ => {
                        return Err(err(format!(
                            "format: `{{{field}}}`: fields take their values in order; write `{{}}` or `{{:SPEC}}`"
                        )))
                    }
                };
                let spec = parse_spec(spec_text).map_err(|e| err(format!("format: {e}")))?;
                let v = values.get(next).ok_or_else(|| {
                    err(format!(
                        "format: the template has more fields than the {} value(s) given",
                        values.len()
                    ))
                })?;
                next += 1;
                out.push_str(&apply(ctx, &spec, v).map_err(|e| err(format!("format: {e}")))?);
            }
            '}' => return Err(err("format: a lone `}` (write `}}` for a brace)")),
            c => out.push(c),
        }
    }
    if next < values.len() {
        return Err(err(format!(
            "format: {} value(s) given, but the template has {next} field(s)",
            values.len()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits_round_like_printf_g() {
        assert_eq!(significant(-40.664844, 4), "-40.66");
        assert_eq!(significant(9.996, 3), "10");
        assert_eq!(significant(0.000012345, 2), "1.2e-5");
        assert_eq!(significant(1234567.0, 3), "1.23e6");
        assert_eq!(significant(0.5, 3), "0.5");
        // Against printf's %g over many values: the same number, read back.
        for i in 0..2000 {
            let x = ((i as f64) * 0.7315).sin() * 10f64.powi((i % 11) - 4);
            for d in [1usize, 3, 6] {
                let ours: f64 = significant(x, d).parse().unwrap();
                let theirs: f64 = format!("{:.*e}", d - 1, x).parse().unwrap();
                assert_eq!(ours, theirs, "{x} {d}");
            }
        }
    }

    #[test]
    fn specs_parse_as_rust_reads_them() {
        let s = parse_spec("*^+010.3e").unwrap();
        assert_eq!(
            s,
            Spec {
                fill: Some('*'),
                align: Some('^'),
                plus: true,
                zero: true,
                width: 10,
                precision: Some(3),
                kind: Some('e')
            }
        );
        assert!(parse_spec(".").is_err());
        assert!(parse_spec("x").is_err());
    }

    #[test]
    fn rounding_to_decimals_matches_the_decimal_text() {
        assert_eq!(round_to(2.675, 2).unwrap(), 2.67); // 2.675 is 2.67499999... in binary
        assert_eq!(round_to(1234.5, -2).unwrap(), 1200.0);
        assert_eq!(round_to(-0.125, 1).unwrap(), -0.1);
    }
}
