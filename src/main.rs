//! The `telescope` command line: parse, dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "telescope — look inside energy landscapes

Usage:
  telescope                      open the REPL
  telescope run [FLAGS] FILE.rhai [ARGS]
                                 run a script
  telescope demo                 map a built-in landscape end to end
  telescope check FILE.rhai      report problems without running
  telescope doc [NAME]           reference of script functions
  telescope bench [NAMES] [--device cpu|cuda] [--peers]
                                 benchmarks: samplers sk ad adelm gwl neb kinks (the
                                 default set), latent image merge (minutes on a CPU, only
                                 when named); --peers runs the same kernels in PyTorch-Python
  telescope lsp                  language server on stdio
  telescope --version | --help | help COMMAND | COMMAND --help

Flags of `run` (also of the REPL, before any command):
  --limit NAME=VALUE             change a limit (see `limits()`: operations, string, array,
                                 map, call_depth, native_depth, memory in GiB)
  --sandbox                      for a script someone else wrote: files are written only
                                 under the working folder (or --out), imports come only
                                 from the script's folder and the stdlib
  --out DIR                      with --sandbox: the folder writes are confined to
                                 (created if missing)
  --reproducible                 the same map from the same script and seed on any x86-64
                                 CPU (also TELESCOPE_REPRODUCIBLE=1): fixes MKL's and ATen's
                                 kernels, one libtorch thread, deterministic algorithms
  --shard I/N                    map shard I of N (0-based) of a cluster run: the script sees
                                 SHARD (#{index, count}), maps record it, default seeds differ
                                 by shard; in a Slurm array job SLURM_ARRAY_TASK_ID and
                                 SLURM_ARRAY_TASK_COUNT fill it in (scripts/slurm/submit.sh)";

/// One command: its usage line and what it does, printed by `telescope COMMAND --help` and
/// `telescope help COMMAND`.
struct CommandHelp {
    name: &'static str,
    usage: &'static str,
    about: &'static str,
}

const COMMANDS: &[CommandHelp] = &[
    CommandHelp {
        name: "run",
        usage: "telescope run [FLAGS] [--] FILE.rhai [ARGS]",
        about: "Runs a script. ARGS reach it as the array ARGS (strings), untouched: flags after\n\
                FILE.rhai belong to the script. `--` ends telescope's flags, for a file whose\n\
                name starts with `-`. The flags are those below.",
    },
    CommandHelp {
        name: "demo",
        usage: "telescope demo",
        about: "Maps a built-in landscape end to end (energy, ADELM, DG, figures) in a minute.",
    },
    CommandHelp {
        name: "check",
        usage: "telescope check FILE.rhai",
        about: "Reports problems without running the script: syntax, unknown functions and\n\
                options, wrong arities, option values outside their ranges; exit 1 when any.",
    },
    CommandHelp {
        name: "doc",
        usage: "telescope doc [NAME]",
        about: "The reference of script functions: every one grouped by area, or one function\n\
                (or method, `Map.save`) with its signatures, options and example.",
    },
    CommandHelp {
        name: "bench",
        usage: "telescope bench [NAMES] [--device cpu|cuda] [--peers]",
        about: "Benchmarks: samplers sk ad adelm gwl neb kinks (the default set), latent image\n\
                merge (minutes on a CPU, only when named). Each kernel line gives libtorch operators\n\
                and host reads per step; --peers runs the same kernels written in PyTorch-Python\n\
                (bench/peers, with the project's .venv or TELESCOPE_PYTHON) and prints the ratio.",
    },
    CommandHelp {
        name: "lsp",
        usage: "telescope lsp",
        about: "The language server on stdio, for editors: diagnostics, completion, hover,\n\
                signature help, go to definition.",
    },
];

/// The flags `run` and the REPL take, as [`take_flags`] reads them.
const FLAGS: &[&str] = &["--limit", "--sandbox", "--out", "--reproducible", "--shard"];

/// The usage of `command` (with the flags when it takes them), or `None` for an unknown one.
fn command_help(command: &str) -> Option<String> {
    let c = COMMANDS.iter().find(|c| c.name == command)?;
    let mut text = format!("Usage: {}\n\n{}\n", c.usage, c.about);
    if c.name == "run" {
        let flags = USAGE.split_once("Flags of `run`").map_or("", |(_, f)| f);
        text.push_str(&format!("\nFlags{flags}\n"));
    }
    Some(text)
}

/// True for `--help`, `-h` and `help`.
fn is_help(arg: &str) -> bool {
    matches!(arg, "--help" | "-h" | "help")
}

/// Scripts run on a thread with a large stack: deep but legitimate recursion (script
/// functions, callbacks up to the `native_depth` limit) must end in a clear error, never
/// in a stack overflow.
const SCRIPT_STACK_BYTES: usize = 1 << 30;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let worker = std::thread::Builder::new()
        .name("telescope".into())
        .stack_size(SCRIPT_STACK_BYTES)
        .spawn(move || dispatch(&args));
    let code = match worker.map(|w| w.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(_)) => 101,
        Err(e) => {
            eprintln!("telescope: could not start: {e}");
            1
        }
    };
    // The session is over (the REPL quit, the script finished or failed): the figures `show`
    // wrote to the temp directory go with it, unless TELESCOPE_KEEP_PLOTS=1.
    telescope::plot::terminal::end_session();
    ExitCode::from(code)
}

fn dispatch(args: &[String]) -> u8 {
    // Reproducible mode comes first: MKL and ATen read their settings at libtorch's first call.
    match telescope::tensor::reproducible::requested_by_env() {
        Ok(by_env) if by_env || asks_reproducible(args) => {
            if let Err(e) = telescope::tensor::reproducible::enable() {
                return usage_error(&e.to_string());
            }
        }
        Ok(_) => {}
        Err(e) => return usage_error(&e.to_string()),
    }
    if let Err(e) = telescope::tensor::threads_from_env() {
        return usage_error(&e.to_string());
    }
    let rest = match take_flags(args) {
        Ok(rest) => rest,
        Err(msg) => return usage_error(&msg),
    };
    // `telescope CMD --help` (or -h) and `telescope help CMD` print the command's usage.
    if let (Some(command), Some(second)) = (rest.first(), rest.get(1)) {
        // `doc help` is the reference of the script function `help`, so only the flags count
        // in second place.
        let asked = if is_help(command) {
            Some(second.as_str())
        } else if matches!(second.as_str(), "--help" | "-h") {
            Some(command.as_str())
        } else {
            None
        };
        if let Some(name) = asked {
            return match command_help(name) {
                Some(text) => {
                    print!("{text}");
                    0
                }
                None => usage_error(&format!("no command `{name}`")),
            };
        }
    }
    match rest.first().map(String::as_str) {
        None => telescope::repl::run(),
        Some("run") => match take_flags(&rest[1..]) {
            Ok(r) if !r.is_empty() => run_script(PathBuf::from(&r[0]), &r[1..]),
            Ok(_) => usage_error("run needs a script file"),
            Err(msg) => usage_error(&msg),
        },
        Some("demo") => telescope::cli::demo::run(),
        Some("check") => match rest.get(1) {
            Some(file) => telescope::repl::check::run(&PathBuf::from(file)),
            None => usage_error("check needs a script file"),
        },
        Some("doc") => telescope::repl::doc::run(rest.get(1).map(String::as_str)),
        Some("bench") => telescope::cli::bench::run(&rest[1..]),
        Some("lsp") => telescope::repl::lsp::run(),
        Some("--version" | "-V" | "version") => {
            println!("telescope {}", telescope::version());
            0
        }
        Some("--help" | "-h" | "help") => {
            println!("{USAGE}");
            0
        }
        Some(f) if f.ends_with(".rhai") => run_script(PathBuf::from(f), &rest[1..]),
        Some(other) => usage_error(&format!("unknown command `{other}`")),
    }
}

/// True when `--reproducible` is among the leading flags, of the REPL or of `run`.
fn asks_reproducible(args: &[String]) -> bool {
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        match a.split_once('=').map_or(a.as_str(), |(f, _)| f) {
            "--reproducible" => return true,
            "--sandbox" | "run" => {}
            f @ ("--limit" | "--out" | "--shard") => {
                if f == a {
                    rest.next();
                }
            }
            _ => return false,
        }
    }
    false
}

/// Applies the leading flags (`--limit NAME=VALUE`, `--sandbox`, `--out DIR`, `--reproducible`,
/// `--shard I/N`) and returns the arguments after them.
fn take_flags(args: &[String]) -> Result<&[String], String> {
    let mut i = 0;
    let (mut sandbox, mut out) = (false, None);
    while let Some(a) = args.get(i) {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (a.as_str(), None),
        };
        let mut value = || -> Result<String, String> {
            match inline {
                Some(v) => Ok(v.to_string()),
                None => {
                    i += 1;
                    args.get(i)
                        .cloned()
                        .ok_or_else(|| format!("{flag} needs a value"))
                }
            }
        };
        match flag {
            "--limit" => telescope::script::limits::set_from_flag(&value()?)?,
            "--out" => out = Some(PathBuf::from(value()?)),
            "--sandbox" => sandbox = true,
            "--shard" => telescope::shard::set(Some(
                telescope::shard::parse(&value()?).map_err(|e| e.to_string())?,
            )),
            // Applied before anything else ([`asks_reproducible`]).
            "--reproducible" => {}
            // `--` ends the flags: what follows is the command or the file, whatever its name.
            "--" => {
                i += 1;
                break;
            }
            f if f.starts_with('-')
                && f.len() > 1
                && !is_help(f)
                && !matches!(f, "--version" | "-V") =>
            {
                let hint = telescope::script::names::close_names(f, FLAGS.iter().copied(), 1)
                    .first()
                    .map(|g| format!(" (did you mean {g}?)"))
                    .unwrap_or_default();
                return Err(format!(
                    "unknown flag `{f}`{hint}; the flags are {}, and --help",
                    FLAGS.join(", ")
                ));
            }
            _ => break,
        }
        i += 1;
    }
    match (sandbox, out) {
        (true, dir) => {
            let dir = dir.unwrap_or_else(|| PathBuf::from("."));
            std::fs::create_dir_all(&dir).map_err(|e| format!("--out {}: {e}", dir.display()))?;
            telescope::sandbox::confine_writes(&dir).map_err(|e| e.to_string())?;
        }
        (false, Some(_)) => return Err("--out is a folder for --sandbox".into()),
        (false, None) => {}
    }
    Ok(&args[i..])
}

fn run_script(path: PathBuf, args: &[String]) -> u8 {
    if telescope::shard::current().is_none() {
        match telescope::shard::from_slurm(|v| std::env::var(v).ok()) {
            Ok(shard) => telescope::shard::set(shard),
            Err(e) => return usage_error(&e.to_string()),
        }
    }
    let mut session = telescope::script::new_session(path.parent());
    match session.run_file(&path, args) {
        Ok(_) => 0,
        Err(msg) => {
            eprintln!("{msg}");
            1
        }
    }
}

fn usage_error(msg: &str) -> u8 {
    eprintln!("telescope: {msg}\n\n{USAGE}");
    2
}
