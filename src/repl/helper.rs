//! The line editor's helper: completion, signature hints, syntax highlighting with bracket
//! matching, and multi-line validation. All of it reads the docs metadata and the session's
//! variables; nothing names a telescope function.

use super::analysis::{call_context, complete, is_unfinished, lex, Catalog, Env, Tok};
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::{Hint, Hinter};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::Context;
use std::borrow::Cow;
use std::cell::Cell;
use std::rc::Rc;

const RESET: &str = "\x1b[0m";
const KEYWORD: &str = "\x1b[35m";
const STRING: &str = "\x1b[32m";
const NUMBER: &str = "\x1b[36m";
const COMMENT: &str = "\x1b[90m";
const FUNCTION: &str = "\x1b[34m";
const BRACKET: &str = "\x1b[1;4m";
const HINT: &str = "\x1b[90m";

/// The REPL's editor helper.
pub struct ReplHelper {
    /// Functions, methods and docs.
    pub catalog: Rc<Catalog>,
    /// Variables and user functions of the session (refreshed after each input).
    pub env: Env,
    /// Colour output (off when `NO_COLOR` is set).
    pub color: bool,
    bracket: Cell<Option<(usize, usize)>>,
}

/// A signature hint: shown after the cursor, never inserted.
pub struct SignatureHint(String);

impl Hint for SignatureHint {
    fn display(&self) -> &str {
        &self.0
    }
    fn completion(&self) -> Option<&str> {
        None
    }
}

impl ReplHelper {
    /// A helper over `catalog` with an empty environment.
    pub fn new(catalog: Rc<Catalog>) -> Self {
        ReplHelper {
            catalog,
            env: Env::default(),
            color: std::env::var_os("NO_COLOR").is_none(),
            bracket: Cell::new(None),
        }
    }

    /// The signature hint for the call around the end of `text`, if any.
    pub fn signature_hint(&self, text: &str) -> Option<String> {
        let call = call_context(text)?;
        let sigs = self.catalog.signatures(&call.name, call.method);
        let sig = match sigs.first() {
            Some(s) => s.clone(),
            None => {
                let (_, params) = self.env.script_fns.iter().find(|(n, _)| *n == call.name)?;
                format!("{}({})", call.name, params.join(", "))
            }
        };
        let more = if sigs.len() > 1 {
            format!("  (+{} more)", sigs.len() - 1)
        } else {
            String::new()
        };
        Some(format!("   ⟨{sig}⟩{more}"))
    }
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let text = &line[..pos];
        let (start, items) = complete(&self.catalog, &self.env, text);
        let pairs = items
            .into_iter()
            .map(|i| {
                let display = if i.detail.is_empty() || i.detail == i.label {
                    i.label.clone()
                } else if i.detail.starts_with(&i.label) {
                    i.detail.clone()
                } else {
                    format!("{}  {}", i.label, i.detail)
                };
                Pair {
                    display,
                    replacement: i.insert,
                }
            })
            .collect();
        Ok((start, pairs))
    }
}

/// Lines longer than this (bytes) get no colours, hints or bracket matching: each keystroke
/// would otherwise re-read the whole line, so a long paste without bracketed-paste mode took
/// time quadratic in its length. Without them the editor appends each character directly.
const LONG_LINE: usize = 2000;

impl Hinter for ReplHelper {
    type Hint = SignatureHint;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<SignatureHint> {
        if pos < line.len()
            || line.len() > LONG_LINE
            || line.starts_with(':')
            || line.starts_with('?')
        {
            return None;
        }
        self.signature_hint(line).map(SignatureHint)
    }
}

/// The bracket matching the one at byte `at` (ignoring brackets inside strings and comments).
pub fn matching_bracket(line: &str, at: usize) -> Option<usize> {
    let toks: Vec<_> = lex(line)
        .into_iter()
        .filter(|t| matches!(t.kind, Tok::Punct('(' | ')' | '[' | ']' | '{' | '}')))
        .collect();
    let i = toks.iter().position(|t| t.start == at)?;
    let open = |c: char| matches!(c, '(' | '[' | '{');
    let Tok::Punct(c) = toks[i].kind else {
        return None;
    };
    let mut depth = 0i32;
    if open(c) {
        for t in &toks[i..] {
            let Tok::Punct(d) = t.kind else { continue };
            depth += if open(d) { 1 } else { -1 };
            if depth == 0 {
                return Some(t.start);
            }
        }
    } else {
        for t in toks[..=i].iter().rev() {
            let Tok::Punct(d) = t.kind else { continue };
            depth += if open(d) { -1 } else { 1 };
            if depth == 0 {
                return Some(t.start);
            }
        }
    }
    None
}

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if !self.color || line.len() > LONG_LINE || line.starts_with(':') {
            return Cow::Borrowed(line);
        }
        let brackets = self.bracket.get();
        let mut out = String::with_capacity(line.len() * 2);
        let toks = lex(line);
        for (k, t) in toks.iter().enumerate() {
            let s = &line[t.start..t.end];
            let color = match t.kind {
                Tok::Keyword => Some(KEYWORD),
                Tok::Str { .. } => Some(STRING),
                Tok::Number => Some(NUMBER),
                Tok::Comment { .. } => Some(COMMENT),
                Tok::Ident if toks.get(k + 1).is_some_and(|n| n.kind == Tok::Punct('(')) => {
                    Some(FUNCTION)
                }
                Tok::Punct(_) if brackets.is_some_and(|(a, b)| t.start == a || t.start == b) => {
                    Some(BRACKET)
                }
                _ => None,
            };
            match color {
                Some(c) => {
                    out.push_str(c);
                    out.push_str(s);
                    out.push_str(RESET);
                }
                None => out.push_str(s),
            }
        }
        Cow::Owned(out)
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color {
            Cow::Owned(format!("{HINT}{hint}{RESET}"))
        } else {
            Cow::Borrowed(hint)
        }
    }

    fn highlight_char(&self, line: &str, pos: usize, kind: CmdKind) -> bool {
        if line.len() > LONG_LINE {
            self.bracket.set(None);
            return false;
        }
        let pair = if kind == CmdKind::ForcedRefresh {
            None
        } else {
            let at = |i: usize| {
                line.as_bytes()
                    .get(i)
                    .is_some_and(|b| b"()[]{}".contains(b))
            };
            let cand = if at(pos) {
                Some(pos)
            } else if pos > 0 && at(pos - 1) {
                Some(pos - 1)
            } else {
                None
            };
            cand.and_then(|c| matching_bracket(line, c).map(|m| (c, m)))
        };
        let changed = pair != self.bracket.get();
        self.bracket.set(pair);
        changed || kind == CmdKind::Other || pair.is_some()
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        let t = input.trim_start();
        if t.starts_with(':') || t.starts_with('?') || !is_unfinished(input) {
            Ok(ValidationResult::Valid(None))
        } else {
            Ok(ValidationResult::Incomplete)
        }
    }
}

impl rustyline::Helper for ReplHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_match_across_nesting_and_ignore_strings() {
        let l = "f([1, \")\"], {a})";
        assert_eq!(matching_bracket(l, 1), Some(l.len() - 1));
        assert_eq!(matching_bracket(l, 2), Some(9));
        assert_eq!(matching_bracket(l, 9), Some(2));
        assert_eq!(matching_bracket("(()", 0), None);
    }
}
