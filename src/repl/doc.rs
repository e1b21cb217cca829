//! `telescope doc [NAME]`: prints the reference of script functions (rendered by
//! [`crate::script::help`] from the one docs metadata).

use crate::script::help::{help_text, overview};

/// Prints the reference (all functions by area, or one entry in full); returns the exit status.
pub fn run(name: Option<&str>) -> u8 {
    let docs = crate::script::docs();
    match name {
        None => {
            print!("{}", overview(&docs));
            0
        }
        Some(n) => match help_text(&docs, n) {
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
