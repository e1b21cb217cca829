//! `telescope doc [NAME]`: prints the reference of script functions (rendered by
//! [`crate::script::help`] from the one docs metadata) and of the stdlib modules
//! ([`super::module_doc`]).

use crate::script::help::{help_text, overview};

/// Prints the reference (all functions by area, or one entry in full); returns the exit status.
pub fn run(name: Option<&str>) -> u8 {
    let docs = crate::script::docs();
    match name
        .map(str::trim)
        .filter(|n| !n.trim_matches('"').is_empty())
    {
        None => {
            print!("{}{}", overview(&docs), super::module_doc::overview());
            0
        }
        Some(n) => match help_text(&docs, n).or_else(|e| super::module_doc::help(n).ok_or(e)) {
            Ok(text) => {
                print!("{text}");
                0
            }
            Err(text) => {
                eprint!("{text}");
                1
            }
        },
    }
}
