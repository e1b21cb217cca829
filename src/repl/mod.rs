//! The interactive REPL and the script tooling around it (`doc`, `check`, `lsp`).

pub mod check;
pub mod doc;
pub mod lsp;

use crate::script::{new_session, Session};
use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

/// Runs the REPL until Ctrl-D; returns the exit status.
pub fn run() -> u8 {
    let mut session = new_session(Some(std::path::Path::new(".")));
    let mut editor = match DefaultEditor::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("telescope: cannot open the line editor: {e}");
            return 1;
        }
    };
    let history = history_path();
    let _ = editor.load_history(&history);
    println!(
        "telescope {} — type ?name for help, :help for commands, Ctrl-D to leave",
        crate::version()
    );
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "telescope> "
        } else {
            "        ... "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                buffer.push_str(&line);
                buffer.push('\n');
                if is_unfinished(&buffer) {
                    continue;
                }
                let input = std::mem::take(&mut buffer);
                let _ = editor.add_history_entry(input.trim_end());
                eval_and_print(&mut session, &input);
            }
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                println!("(interrupted; Ctrl-D leaves)");
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("telescope: {e}");
                break;
            }
        }
    }
    let _ = editor.save_history(&history);
    0
}

/// Evaluates one input and prints its value or its error.
pub fn eval_and_print(session: &mut Session, input: &str) {
    crate::interrupt::clear();
    match session.eval("<repl>", input) {
        Ok(v) if v.is_unit() => {}
        Ok(v) => println!("{}", crate::script::display_value(&session.engine, &v)),
        Err(e) => eprintln!("{e}"),
    }
}

/// True when the input ends inside brackets or a string, so the REPL should read another line.
pub fn is_unfinished(code: &str) -> bool {
    let mut depth = 0i32;
    let mut in_str: Option<char> = None;
    let mut escaped = false;
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(q) = in_str {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                in_str = None;
            }
            continue;
        }
        match c {
            '"' | '`' => in_str = Some(c),
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
    }
    depth > 0 || in_str.is_some()
}

/// Where the REPL keeps its history.
pub fn history_path() -> std::path::PathBuf {
    std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_default()
        .join(".telescope_history")
}
