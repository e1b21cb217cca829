//! How long runs tell the user how far they are: the caller passes an observer in the run's
//! options, and the core never prints. The script layer passes one that writes to stderr.

use std::sync::Arc;

/// What a long run reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    /// A progress line (at most about one a second, or one per epoch).
    Progress,
    /// Something the user should know about the result.
    Warning,
}

/// An observer of a long run's reports; silent by default. It does not take part in the run's
/// results, so two options that differ only in their observers compare equal and it is not
/// stored with a map.
#[derive(Clone, Default)]
pub struct Progress(Option<Arc<Listener>>);

/// What an observer does with a report.
type Listener = dyn Fn(Report, &str) + Send + Sync;

impl Progress {
    /// An observer that hands every report to `f`.
    pub fn new(f: impl Fn(Report, &str) + Send + Sync + 'static) -> Progress {
        Progress(Some(Arc::new(f)))
    }

    /// An observer that ignores everything.
    pub fn silent() -> Progress {
        Progress(None)
    }

    /// True when someone listens (the run may skip building reports otherwise).
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Hands a progress line to the observer.
    pub fn line(&self, text: &str) {
        if let Some(f) = &self.0 {
            f(Report::Progress, text);
        }
    }

    /// Hands a warning to the observer.
    pub fn warn(&self, text: &str) {
        if let Some(f) = &self.0 {
            f(Report::Warning, text);
        }
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_on() {
            "Progress(on)"
        } else {
            "Progress(silent)"
        })
    }
}

impl PartialEq for Progress {
    /// Always equal: the observer does not change a run's results.
    fn eq(&self, _: &Progress) -> bool {
        true
    }
}
