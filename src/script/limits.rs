//! The limits a script runs under, in one table: Rhai's engine limits (operations, string,
//! array and map sizes, call depth), the depth of native re-entry (an energy or proposer
//! written in Rhai that calls back into telescope) and the memory budget. `limits()` shows
//! them, `set_limit(name, value)` changes the ones that can change while a session runs, and
//! `telescope run --limit name=value` sets any of them before the session starts.

use rhai::Engine;
use std::sync::atomic::{AtomicU64, Ordering};

/// One limit: its name, default (as users write it) and what it bounds.
pub struct Limit {
    /// Name used by `set_limit`, `--limit` and `limits()`.
    pub name: &'static str,
    /// The default, as users write it.
    pub default: &'static str,
    /// What it bounds.
    pub doc: &'static str,
    /// True when it can change while a session runs (otherwise only before it starts).
    pub live: bool,
}

/// Every limit, in the order `limits()` lists them.
pub const LIMITS: &[Limit] = &[
    Limit {
        name: "operations",
        default: "0",
        doc: "Rhai operations per evaluation (0: unlimited); stops runaway script loops",
        live: false,
    },
    Limit {
        name: "string",
        default: "0",
        doc: "characters in one string (0: unlimited; see `array`)",
        live: false,
    },
    Limit {
        name: "array",
        default: "0",
        doc: "items in one array, bytes in one blob (0: unlimited, the default: while any of string, array or map is limited, Rhai recounts a value after each change, so an array built by n pushes costs n^2/2; unlimited values are bounded by the session's memory check instead, which stops a script at 90% of the machine's memory)",
        live: false,
    },
    Limit {
        name: "map",
        default: "0",
        doc: "entries in one object map (0: unlimited; see `array`)",
        live: false,
    },
    Limit {
        name: "call_depth",
        default: "256",
        doc: "nested calls of script functions",
        live: false,
    },
    Limit {
        name: "native_depth",
        default: "16",
        doc: "script callbacks (closure energies, proposers) nested inside one another",
        live: true,
    },
    Limit {
        name: "memory",
        default: "8",
        doc: "what one tensor, data set, coupling matrix, network or band may take, in GiB (also TELESCOPE_MEMORY_LIMIT)",
        live: true,
    },
];

/// Limits as set, one slot per entry of [`LIMITS`] (u64::MAX: the default); `memory` lives in
/// [`crate::budget`] and its slot stays unused.
static VALUES: [AtomicU64; LIMITS.len()] = [const { AtomicU64::new(u64::MAX) }; LIMITS.len()];

fn index(name: &str) -> Option<usize> {
    LIMITS.iter().position(|l| l.name == name)
}

fn unknown(name: &str) -> String {
    let names: Vec<&str> = LIMITS.iter().map(|l| l.name).collect();
    format!(
        "unknown limit `{name}`; the limits are {}",
        names.join(", ")
    )
}

/// The current value of the integer limit `name` (not `memory`).
fn get_int(i: usize) -> u64 {
    match VALUES[i].load(Ordering::Relaxed) {
        u64::MAX => LIMITS[i].default.parse().unwrap_or(0),
        v => v,
    }
}

/// The current value of `name` as a number (memory in GiB).
pub fn get(name: &str) -> Result<f64, String> {
    match index(name) {
        Some(_) if name == "memory" => Ok(crate::budget::limit_gib()),
        Some(i) => Ok(get_int(i) as f64),
        None => Err(unknown(name)),
    }
}

/// The maximum depth of native re-entry.
pub fn native_depth() -> u64 {
    get_int(index("native_depth").unwrap_or(0))
}

/// Sets `name` to `value`; `running` is true while a session runs, when only live limits may
/// change.
pub fn set(name: &str, value: f64, running: bool) -> Result<(), String> {
    let i = index(name).ok_or_else(|| unknown(name))?;
    if running && !LIMITS[i].live {
        return Err(format!(
            "`{name}` is fixed when a session starts; set it with `telescope run --limit {name}=N`"
        ));
    }
    if name == "memory" {
        return crate::budget::set_limit_gib(value).map_err(|e| e.to_string());
    }
    if !(value >= 0.0) || value.fract() != 0.0 || value > 1e15 {
        return Err(format!(
            "limit `{name}` must be a whole number >= 0, not {value}"
        ));
    }
    if name == "native_depth" && value < 1.0 {
        return Err("limit `native_depth` must be at least 1".into());
    }
    VALUES[i].store(value as u64, Ordering::Relaxed);
    Ok(())
}

/// Parses `name=value` (the `--limit` flag) and sets it.
pub fn set_from_flag(flag: &str) -> Result<(), String> {
    let (name, value) = flag
        .split_once('=')
        .ok_or_else(|| format!("--limit takes NAME=VALUE, not `{flag}`"))?;
    let v: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("--limit {name}: `{value}` is not a number"))?;
    set(name.trim(), v, false)
}

/// Applies the engine limits to `engine`.
pub fn apply(engine: &mut Engine) {
    let at = |n: &str| get_int(index(n).unwrap_or(0));
    let size = |n: &str| usize::try_from(at(n)).unwrap_or(usize::MAX);
    engine.set_max_operations(at("operations"));
    engine.set_max_string_size(size("string"));
    engine.set_max_array_size(size("array"));
    engine.set_max_map_size(size("map"));
    engine.set_max_call_levels(size("call_depth"));
}

/// Overrides Rhai's built-ins that allocate a size the script names (`blob(n)`, `pad`), so
/// that size goes through the memory budget and a fallible reservation: `blob(1e11)` is a
/// clear error, not an out-of-memory abort, while array, string and map sizes are unlimited.
pub fn register_sized(engine: &mut Engine) {
    use rhai::{Array, Blob, Dynamic, EvalAltResult, INT};
    type Fallible<T> = Result<T, Box<EvalAltResult>>;
    /// Room for `len` items of `bytes_each` bytes in `v` (which holds `have`), or why not.
    fn reserve<T>(v: &mut Vec<T>, len: INT, bytes_each: f64, what: &str) -> Fallible<usize> {
        let len = usize::try_from(len.max(0)).unwrap_or(usize::MAX);
        let more = len.saturating_sub(v.len());
        crate::budget::check(&format!("{what} of {len} items"), len as f64, bytes_each)
            .map_err(|e| e.to_string())?;
        v.try_reserve_exact(more)
            .map_err(|_| format!("{what} of {len} items: the system refused the memory"))?;
        Ok(len)
    }
    engine.register_fn("blob", |len: INT| -> Fallible<Blob> {
        let mut b = Blob::new();
        let n = reserve(&mut b, len, 1.0, "blob")?;
        b.resize(n, 0);
        Ok(b)
    });
    engine.register_fn("blob", |len: INT, value: INT| -> Fallible<Blob> {
        let mut b = Blob::new();
        let n = reserve(&mut b, len, 1.0, "blob")?;
        b.resize(n, (value & 0xff) as u8);
        Ok(b)
    });
    engine.register_fn(
        "pad",
        |b: &mut Blob, len: INT, value: INT| -> Fallible<()> {
            let n = reserve(b, len, 1.0, "blob")?;
            if n > b.len() {
                b.resize(n, (value & 0xff) as u8);
            }
            Ok(())
        },
    );
    engine.register_fn(
        "pad",
        |a: &mut Array, len: INT, item: Dynamic| -> Fallible<()> {
            let n = reserve(a, len, std::mem::size_of::<Dynamic>() as f64, "array")?;
            if n > a.len() {
                a.resize(n, item);
            }
            Ok(())
        },
    );
    fn pad_string(s: &mut rhai::ImmutableString, len: INT, fill: &str) -> Fallible<()> {
        let chars = s.chars().count();
        let len = usize::try_from(len.max(0)).unwrap_or(usize::MAX);
        if len <= chars || fill.is_empty() {
            return Ok(());
        }
        let fill_chars = fill.chars().count();
        let bytes = (len - chars) as f64 / fill_chars as f64 * fill.len() as f64;
        crate::budget::check(&format!("a string of {len} characters"), bytes, 1.0)
            .map_err(|e| e.to_string())?;
        let mut out = String::new();
        out.try_reserve_exact(s.len() + bytes.ceil() as usize)
            .map_err(|_| format!("a string of {len} characters: the system refused the memory"))?;
        out.push_str(s);
        let mut have = chars;
        'fill: loop {
            for c in fill.chars() {
                if have == len {
                    break 'fill;
                }
                out.push(c);
                have += 1;
            }
        }
        *s = out.into();
        Ok(())
    }
    engine.register_fn(
        "pad",
        |s: &mut rhai::ImmutableString, len: INT, c: char| -> Fallible<()> {
            pad_string(s, len, c.encode_utf8(&mut [0; 4]))
        },
    );
    engine.register_fn(
        "pad",
        |s: &mut rhai::ImmutableString, len: INT, fill: rhai::ImmutableString| -> Fallible<()> {
            pad_string(s, len, &fill)
        },
    );
}

/// Every limit with its current value, one per line, for `limits()`.
pub fn describe() -> String {
    let w = LIMITS.iter().map(|l| l.name.len()).max().unwrap_or(0);
    let mut s = String::new();
    for l in LIMITS {
        let value = get(l.name)
            .map(|v| format_value(l.name, v))
            .unwrap_or_default();
        let when = if l.live {
            "set_limit or --limit"
        } else {
            "--limit only"
        };
        s.push_str(&format!(
            "{:w$}  {value:>10}  {}  ({when})\n",
            l.name, l.doc
        ));
    }
    s
}

fn format_value(name: &str, v: f64) -> String {
    if name == "memory" {
        crate::budget::human(crate::budget::limit_bytes() as f64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(code: &str) -> Result<rhai::Dynamic, String> {
        let mut engine = Engine::new();
        register_sized(&mut engine);
        engine
            .eval::<rhai::Dynamic>(code)
            .map_err(|e| e.to_string())
    }

    /// The overrides behave as Rhai's own built-ins on sizes that fit, and refuse sizes past
    /// the memory budget with an error.
    #[test]
    fn sized_builtins_match_rhai_and_refuse_huge_sizes() {
        let plain = Engine::new();
        for code in [
            "let b = blob(5, 258); b.pad(8, 7); b",
            "let a = [1, 2]; a.pad(5, \"x\"); a.pad(3, 0); a",
            "let s = \"ab\"; s.pad(5, '-'); s",
            "let s = \"ab\"; s.pad(7, \"xyz\"); s.pad(1, \"q\"); s",
            "let s = \"héllo\"; s.pad(8, 'é'); s",
            "blob(0).len() + blob(-3).len()",
        ] {
            let ours = run(code).unwrap();
            let theirs = plain.eval::<rhai::Dynamic>(code).unwrap();
            assert_eq!(format!("{ours:?}"), format!("{theirs:?}"), "{code}");
        }
        for code in [
            "blob(100000000000)",
            "blob(100000000000, 1)",
            "let a = []; a.pad(100000000000, 0); a",
            "let s = \"\"; s.pad(100000000000, 'x'); s",
        ] {
            let e = run(code).unwrap_err();
            assert!(e.contains("would allocate"), "{code}: {e}");
        }
    }

    #[test]
    fn every_default_parses_and_unknown_names_are_listed() {
        for l in LIMITS {
            assert!(l.default.parse::<f64>().is_ok(), "{}", l.name);
        }
        let e = set("nosuch", 1.0, false).unwrap_err();
        assert!(e.contains("native_depth"), "{e}");
        assert!(set("array", 10.0, true).unwrap_err().contains("--limit"));
        assert!(set_from_flag("native_depth").is_err());
    }
}
