//! The one error type of the core library.

/// Anything that can go wrong in telescope's core: libtorch failures (shape, dtype, device),
/// invalid arguments, I/O, and a run stopped by the user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A libtorch operation failed; the message is libtorch's first line.
    #[error("tensor error: {0}")]
    Torch(String),
    /// An argument or input was not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing a file failed.
    #[error("{0}")]
    Io(String),
    /// The user pressed Ctrl-C; partial results were kept where the caller could keep them.
    #[error("interrupted")]
    Interrupted,
    /// telescope broke one of its own invariants (a bug to report, not a property of the input).
    #[error("internal error (please report it): {0}")]
    Internal(String),
}

/// Result with telescope's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl From<tch::TchError> for Error {
    fn from(e: tch::TchError) -> Self {
        Error::Torch(clean_torch_message(&e.to_string()))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Io(format!("JSON: {e}"))
    }
}

/// Names the file a failure concerns: `path: reason`, keeping the failure's kind (an I/O
/// failure stays [`Error::Io`], bad content stays [`Error::Invalid`]).
pub trait WithPath<T> {
    /// The result, with `path` in front of its error message.
    fn with_path(self, path: &std::path::Path) -> Result<T>;
}

impl<T> WithPath<T> for std::result::Result<T, std::io::Error> {
    fn with_path(self, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| Error::Io(format!("{}: {e}", path.display())))
    }
}

impl<T> WithPath<T> for Result<T> {
    fn with_path(self, path: &std::path::Path) -> Result<T> {
        let at = |m: String| format!("{}: {m}", path.display());
        self.map_err(|e| match e {
            Error::Torch(m) => Error::Torch(at(m)),
            Error::Invalid(m) => Error::Invalid(at(m)),
            Error::Io(m) => Error::Io(at(m)),
            Error::Interrupted => Error::Interrupted,
            Error::Internal(m) => Error::Internal(at(m)),
        })
    }
}

/// Builds an [`Error::Invalid`] from anything printable.
pub fn invalid(msg: impl Into<String>) -> Error {
    Error::Invalid(msg.into())
}

/// Keeps the useful part of a libtorch message: drops the C++ backtrace and wrapper noise.
pub fn clean_torch_message(raw: &str) -> String {
    let mut text = raw.trim();
    for prefix in ["Torch(\"", "Internal torch error: "] {
        if let Some(rest) = text.strip_prefix(prefix) {
            text = rest;
        }
    }
    let cut = [
        "\nException raised from",
        "Exception raised from",
        "\\nException raised from",
    ]
    .iter()
    .filter_map(|m| text.find(m))
    .min()
    .unwrap_or(text.len());
    let first = text[..cut].trim().trim_end_matches("\")").trim();
    first
        .replace("\\n", " ")
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn torch_messages_lose_their_backtrace() {
        let m = clean_torch_message(
            "Internal torch error: The size of tensor a (2) must match the size of tensor b (3)\nException raised from foo at bar.cpp",
        );
        assert_eq!(
            m,
            "The size of tensor a (2) must match the size of tensor b (3)"
        );
    }
}
