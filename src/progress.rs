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

/// Progress lines on stderr: on a terminal each replaces the last in place (carriage return and
/// erase), so a long run holds one line; to a pipe or file each is its own line. A warning, and
/// the end of the run (the observer dropped), finish the line in place first.
pub mod stderr {
    use super::{Progress, Report};
    use std::io::{IsTerminal, Write};
    use std::sync::atomic::{AtomicBool, Ordering};

    /// True while a progress line stands on the terminal without its newline.
    static OPEN: AtomicBool = AtomicBool::new(false);

    /// Ends an open progress line (a newline after it), so what is printed next starts on a
    /// line of its own. Cheap when none is open.
    pub fn end_line() {
        if OPEN.swap(false, Ordering::SeqCst) {
            let _ = writeln!(std::io::stderr());
        }
    }

    /// What a report becomes on stderr: `(text, leaves the line open)`.
    pub fn render(kind: Report, line: &str, terminal: bool) -> (String, bool) {
        let one_line: String = line.replace(['\n', '\r'], " ");
        match (kind, terminal) {
            (Report::Progress, true) => (format!("\r\x1b[K{one_line}"), true),
            _ => (format!("{line}\n"), false),
        }
    }

    /// Ends the line when the run's observer goes away.
    struct EndOnDrop;
    impl Drop for EndOnDrop {
        fn drop(&mut self) {
            end_line();
        }
    }

    /// The observer: progress in place on a terminal, plain lines elsewhere; warnings always
    /// on lines of their own.
    pub fn observer() -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let guard = EndOnDrop;
        Progress::new(move |kind, line| {
            let _ = &guard;
            if kind == Report::Warning {
                end_line();
            }
            let (text, open) = render(kind, line, terminal);
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(text.as_bytes());
            let _ = err.flush();
            OPEN.store(open, Ordering::SeqCst);
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_terminal_gets_one_line_in_place_and_a_pipe_gets_lines() {
            let (t, open) = render(Report::Progress, "iter 5", true);
            assert_eq!(t, "\r\x1b[Kiter 5");
            assert!(open);
            let (t, open) = render(Report::Progress, "iter 5", false);
            assert_eq!(t, "iter 5\n");
            assert!(!open);
            let (t, open) = render(Report::Warning, "careful", true);
            assert_eq!(t, "careful\n");
            assert!(!open);
        }
    }
}
