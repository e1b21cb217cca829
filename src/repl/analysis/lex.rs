//! A small lexer for Rhai source: tokens for highlighting, completion and call context,
//! and whether an input is unfinished.

/// Rhai keywords (highlighted, and offered by completion).
pub const KEYWORDS: &[&str] = &[
    "let", "const", "fn", "if", "else", "while", "loop", "for", "in", "do", "until", "break",
    "continue", "return", "throw", "try", "catch", "import", "export", "as", "private", "switch",
    "true", "false", "this", "global",
];

/// A function the Rhai language provides as a keyword: name, signature and what it does.
pub struct KeywordFn {
    /// Name as called.
    pub name: &'static str,
    /// How it is called.
    pub signature: &'static str,
    /// What it does.
    pub doc: &'static str,
}

/// The functions Rhai provides as keywords (they are not in the engine's metadata).
pub const KEYWORD_FNS: &[KeywordFn] = &[
    KeywordFn { name: "print", signature: "print(value)", doc: "Prints the value (its display form) and a newline to stdout." },
    KeywordFn { name: "debug", signature: "debug(value)", doc: "Prints the value's debug form (strings quoted) to stderr." },
    KeywordFn { name: "type_of", signature: "type_of(value) -> string", doc: "The type name of a value: \"i64\", \"f64\", \"string\", \"array\", \"map\", \"Tensor\", \"Energy\", ..." },
    KeywordFn { name: "eval", signature: "eval(code: string) -> ?", doc: "Evaluates script text in the current scope and returns its value." },
    KeywordFn { name: "Fn", signature: "Fn(name: string) -> Fn", doc: "A function pointer to the script function `name`, for `call` and methods that take functions." },
    KeywordFn { name: "call", signature: "f.call(args...) -> ?", doc: "Calls a function pointer with the given arguments." },
    KeywordFn { name: "curry", signature: "f.curry(args...) -> Fn", doc: "A function pointer with its first arguments bound." },
    KeywordFn { name: "is_shared", signature: "is_shared(value) -> bool", doc: "True when the value is shared (captured by a closure)." },
    KeywordFn { name: "is_def_fn", signature: "is_def_fn(name: string, arity: int) -> bool", doc: "True when a script function `name` with `arity` parameters is defined." },
    KeywordFn { name: "is_def_var", signature: "is_def_var(name: string) -> bool", doc: "True when a variable `name` is in scope." },
];

/// Kind of a lexical token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    /// An identifier.
    Ident,
    /// A Rhai keyword.
    Keyword,
    /// A number literal.
    Number,
    /// A string or character literal; `closed` is false when it runs to the end of the input.
    Str {
        /// The closing quote was seen.
        closed: bool,
    },
    /// A line or block comment; `closed` is false for an unterminated block comment.
    Comment {
        /// The comment is complete.
        closed: bool,
    },
    /// A punctuation character (operators, brackets, `.`, `,`, ...).
    Punct(char),
    /// Spaces, tabs and newlines.
    Space,
}

/// A token and its byte range in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: Tok,
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset just past it.
    pub end: usize,
}

/// Splits `src` into tokens (never fails: unknown characters become punctuation).
pub fn lex(src: &str) -> Vec<Token> {
    let b: Vec<(usize, char)> = src.char_indices().collect();
    let n = b.len();
    let at = |i: usize| if i < n { b[i].0 } else { src.len() };
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        let (start, c) = b[i];
        let next = if i + 1 < n { Some(b[i + 1].1) } else { None };
        let kind;
        if c.is_whitespace() {
            while i < n && b[i].1.is_whitespace() {
                i += 1;
            }
            kind = Tok::Space;
        } else if c == '/' && next == Some('/') {
            while i < n && b[i].1 != '\n' {
                i += 1;
            }
            kind = Tok::Comment { closed: true };
        } else if c == '/' && next == Some('*') {
            i += 2;
            let mut depth = 1;
            while i < n && depth > 0 {
                if b[i].1 == '*' && i + 1 < n && b[i + 1].1 == '/' {
                    depth -= 1;
                    i += 2;
                } else if b[i].1 == '/' && i + 1 < n && b[i + 1].1 == '*' {
                    depth += 1;
                    i += 2;
                } else {
                    i += 1;
                }
            }
            kind = Tok::Comment { closed: depth == 0 };
        } else if c == '"' || c == '`' || c == '\'' {
            i += 1;
            let mut closed = false;
            while i < n {
                let d = b[i].1;
                if d == '\\' && c != '`' {
                    i += 2;
                    continue;
                }
                i += 1;
                if d == c {
                    closed = true;
                    break;
                }
            }
            i = i.min(n);
            kind = Tok::Str { closed };
        } else if c.is_ascii_digit() {
            while i < n {
                let d = b[i].1;
                let exp_sign = (d == '-' || d == '+')
                    && i > 0
                    && matches!(b[i - 1].1, 'e' | 'E')
                    && !src[start..at(i)].starts_with("0x");
                let dot = d == '.' && i + 1 < n && b[i + 1].1.is_ascii_digit();
                if d.is_ascii_alphanumeric() || d == '_' || dot || exp_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            kind = Tok::Number;
        } else if c.is_alphabetic() || c == '_' {
            while i < n && (b[i].1.is_alphanumeric() || b[i].1 == '_') {
                i += 1;
            }
            kind = if KEYWORDS.contains(&&src[start..at(i)]) {
                Tok::Keyword
            } else {
                Tok::Ident
            };
        } else {
            i += 1;
            kind = Tok::Punct(c);
        }
        out.push(Token {
            kind,
            start,
            end: at(i),
        });
    }
    out
}

/// True when the input ends inside brackets, a string or a block comment, or after an
/// operator, so an interactive reader should ask for another line.
pub fn is_unfinished(code: &str) -> bool {
    let toks = lex(code);
    let mut depth = 0i32;
    for t in &toks {
        match t.kind {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            _ => {}
        }
    }
    if depth > 0 {
        return true;
    }
    match toks
        .iter()
        .rev()
        .find(|t| !matches!(t.kind, Tok::Space | Tok::Comment { closed: true }))
    {
        Some(t) => match t.kind {
            Tok::Str { closed } | Tok::Comment { closed } => !closed,
            Tok::Punct(c) => depth == 0 && "+-*/%=<>&|^,.".contains(c),
            _ => false,
        },
        None => false,
    }
}

/// The tokens that carry meaning: no spaces or comments.
pub(crate) fn significant(toks: &[Token]) -> Vec<Token> {
    toks.iter()
        .filter(|t| !matches!(t.kind, Tok::Space | Tok::Comment { .. }))
        .copied()
        .collect()
}

/// The identifier that contains byte offset `pos` (or ends at it): its range and whether it
/// follows a `.` (a method or property).
pub fn word_at(text: &str, pos: usize) -> Option<(usize, usize, bool)> {
    let toks = lex(text);
    let i = toks.iter().position(|t| {
        matches!(t.kind, Tok::Ident | Tok::Keyword)
            && t.start <= pos
            && pos <= t.end
            && (pos < t.end || t.end == pos)
    })?;
    let t = toks[i];
    let method = toks[..i]
        .iter()
        .rev()
        .find(|p| !matches!(p.kind, Tok::Space))
        .is_some_and(|p| p.kind == Tok::Punct('.'));
    Some((t.start, t.end, method))
}

/// The top-level statements of `src`, as text: split after each `;` outside brackets and
/// after the block that ends a statement of blocks (`fn`, `for`, `while`, `loop`, `switch`,
/// and `if` unless an `else` follows).
pub fn statements(src: &str) -> Vec<&str> {
    statement_ranges(src)
        .into_iter()
        .map(|r| src[r].trim())
        .filter(|s| !s.is_empty() && *s != ";")
        .collect()
}

/// The byte ranges of the top-level statements of `src` (see [`statements`]), covering it.
pub fn statement_ranges(src: &str) -> Vec<std::ops::Range<usize>> {
    let toks = lex(src);
    let mut out = Vec::new();
    let (mut start, mut depth) = (0usize, 0i32);
    let mut first: Option<&str> = None;
    for (i, t) in toks.iter().enumerate() {
        let text = &src[t.start..t.end];
        if first.is_none() && !matches!(t.kind, Tok::Space | Tok::Comment { .. }) {
            first = Some(text);
        }
        let end = match t.kind {
            Tok::Punct('(' | '[' | '{') => {
                depth += 1;
                false
            }
            Tok::Punct(')' | ']' | '}') => {
                depth -= 1;
                let next = || {
                    toks[i + 1..]
                        .iter()
                        .find(|u| !matches!(u.kind, Tok::Space | Tok::Comment { .. }))
                        .map(|u| &src[u.start..u.end])
                };
                depth == 0
                    && t.kind == Tok::Punct('}')
                    && match first {
                        Some("fn" | "private" | "for" | "while" | "loop" | "switch") => {
                            next() != Some(";")
                        }
                        Some("if") => !matches!(next(), Some("else" | ";")),
                        _ => false,
                    }
            }
            Tok::Punct(';') => depth == 0,
            _ => false,
        };
        if end {
            out.push(start..t.end);
            start = t.end;
            first = None;
        }
    }
    if start < src.len() {
        out.push(start..src.len());
    }
    out
}

/// True when `src` is a single expression (one statement that is not a definition or an
/// import), so that `let x = <src>;` is valid.
pub fn is_one_expression(src: &str) -> bool {
    let stmts = statements(src);
    let [one] = stmts.as_slice() else {
        return false;
    };
    let first = lex(one)
        .into_iter()
        .find(|t| !matches!(t.kind, Tok::Space | Tok::Comment { .. }))
        .map(|t| &one[t.start..t.end]);
    !matches!(
        first,
        None | Some(
            "let"
                | "const"
                | "fn"
                | "private"
                | "import"
                | "export"
                | "for"
                | "while"
                | "loop"
                | "do"
        )
    )
}

/// True when the identifier `name` occurs in `src` (not inside a string or comment).
pub fn mentions(src: &str, name: &str) -> bool {
    lex(src)
        .iter()
        .any(|t| t.kind == Tok::Ident && &src[t.start..t.end] == name)
}

/// The top-level statements of `src` that define a function or one of the variables `names`
/// (`let` / `const`), in order.
pub fn definitions(src: &str, names: &std::collections::BTreeSet<String>) -> Vec<String> {
    statements(src)
        .into_iter()
        .filter(|stmt| {
            let words: Vec<&str> = significant(&lex(stmt))
                .iter()
                .take(2)
                .map(|t| &stmt[t.start..t.end])
                .collect();
            match words.as_slice() {
                ["fn", ..] | ["private", "fn"] => true,
                ["let" | "const", name] => names.contains(*name),
                _ => false,
            }
        })
        .map(|stmt| {
            let s = stmt.trim_end();
            if is_terminated(s) {
                s.to_string()
            } else {
                format!("{s};")
            }
        })
        .collect()
}

/// The names the top-level `let` and `const` statements of `src` bind, in order.
pub fn bound_names(src: &str) -> Vec<String> {
    statements(src)
        .into_iter()
        .filter_map(|stmt| {
            let toks = lex(stmt);
            let words: Vec<&str> = significant(&toks)
                .iter()
                .take(2)
                .map(|t| &stmt[t.start..t.end])
                .collect();
            match words.as_slice() {
                ["let" | "const", name] => Some(name.to_string()),
                _ => None,
            }
        })
        .collect()
}

/// True when the last token of `src` that is not space or a comment is `;`: in the REPL, as in
/// MATLAB and Julia, such an input runs without showing its value.
pub fn ends_with_semicolon(src: &str) -> bool {
    lex(src)
        .iter()
        .rev()
        .find(|t| !matches!(t.kind, Tok::Space | Tok::Comment { .. }))
        .is_some_and(|t| t.kind == Tok::Punct(';'))
}

/// True when `src` needs no `;` after it: it ends with one, or with the block of a `fn`
/// definition (which stands alone).
pub fn is_terminated(src: &str) -> bool {
    let s = src.trim_end();
    let last = statements(s).last().copied().unwrap_or("");
    s.ends_with(';')
        || (s.ends_with('}') && (last.starts_with("fn") || last.starts_with("private")))
}
