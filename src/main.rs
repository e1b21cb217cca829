//! The `telescope` command line: parse, dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "telescope — look inside energy landscapes

Usage:
  telescope                      open the REPL
  telescope run FILE.rhai [ARGS] run a script
  telescope demo                 map a built-in landscape end to end
  telescope check FILE.rhai      report problems without running
  telescope doc [NAME]           reference of script functions
  telescope bench                benchmarks (samplers, SK sweeps, AD)
  telescope lsp                  language server on stdio
  telescope --version | --help";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        None => telescope::repl::run(),
        Some("run") => match args.get(1) {
            Some(file) => run_script(PathBuf::from(file), &args[2..]),
            None => usage_error("run needs a script file"),
        },
        Some("demo") => telescope::landscape::demo::run(),
        Some("check") => match args.get(1) {
            Some(file) => telescope::repl::check::run(&PathBuf::from(file)),
            None => usage_error("check needs a script file"),
        },
        Some("doc") => telescope::repl::doc::run(args.get(1).map(String::as_str)),
        Some("bench") => telescope::landscape::bench::run(&args[1..]),
        Some("lsp") => telescope::repl::lsp::run(),
        Some("--version" | "-V" | "version") => {
            println!("telescope {}", telescope::version());
            0
        }
        Some("--help" | "-h" | "help") => {
            println!("{USAGE}");
            0
        }
        Some(f) if f.ends_with(".rhai") => run_script(PathBuf::from(f), &args[1..]),
        Some(other) => usage_error(&format!("unknown command `{other}`")),
    };
    ExitCode::from(code)
}

fn run_script(path: PathBuf, args: &[String]) -> u8 {
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
