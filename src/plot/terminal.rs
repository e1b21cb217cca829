//! Showing figures in the terminal: kitty or iTerm2 inline images when the terminal supports
//! them, else a Unicode text rendering; a PNG file when stdout is not a terminal.
//!
//! Detection reads the environment: `TERM=xterm-kitty` or `KITTY_WINDOW_ID` (kitty graphics
//! protocol), `TERM_PROGRAM=iTerm.app` or `WezTerm` (iTerm2 inline images), a `TERM` of foot,
//! mlterm or one that names sixel (e.g. `xterm-sixel`, Sixel graphics). Inside tmux (`TMUX`
//! set) images are not passed through, so the text rendering is used. The variable
//! `TELESCOPE_PLOT` overrides detection: `kitty`, `iterm`, `sixel`, `text` or `file` (plain
//! xterm draws Sixel when started as `xterm -ti vt340`, but says so nowhere in its
//! environment: set `TELESCOPE_PLOT=sixel` there).

use super::Figure;
use crate::{
    error::{invalid, WithPath},
    Result,
};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// How a figure is displayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Display {
    /// Kitty graphics protocol (PNG payload).
    Kitty,
    /// iTerm2 inline image (also WezTerm).
    Iterm,
    /// Sixel graphics (foot, mlterm, xterm in VT340 mode, ...).
    Sixel,
    /// Unicode text rendering.
    Text,
    /// A PNG file whose path is printed.
    File,
}

/// Picks the display from environment variables (`get` looks one up) and whether stdout is a
/// terminal.
pub fn detect_from(get: &dyn Fn(&str) -> Option<String>, is_tty: bool) -> Display {
    match get("TELESCOPE_PLOT").as_deref() {
        Some("kitty") => return Display::Kitty,
        Some("iterm") => return Display::Iterm,
        Some("sixel") => return Display::Sixel,
        Some("text") => return Display::Text,
        Some("file") => return Display::File,
        _ => {}
    }
    if !is_tty {
        return Display::File;
    }
    if get("TMUX").is_some() {
        return Display::Text;
    }
    if get("TERM").as_deref() == Some("xterm-kitty") || get("KITTY_WINDOW_ID").is_some() {
        return Display::Kitty;
    }
    if matches!(
        get("TERM_PROGRAM").as_deref(),
        Some("iTerm.app") | Some("WezTerm")
    ) {
        return Display::Iterm;
    }
    let term = get("TERM").unwrap_or_default();
    if term.starts_with("foot") || term.starts_with("mlterm") || term.contains("sixel") {
        return Display::Sixel;
    }
    Display::Text
}

/// The values `TELESCOPE_PLOT` takes.
pub const DISPLAY_NAMES: [&str; 5] = ["kitty", "iterm", "sixel", "text", "file"];

/// The display for this process. An unknown `TELESCOPE_PLOT` value is said once on stderr
/// (detection then decides, as without it).
pub fn detect() -> Display {
    if let Ok(v) = std::env::var("TELESCOPE_PLOT") {
        static SAID: std::sync::Once = std::sync::Once::new();
        if !DISPLAY_NAMES.contains(&v.as_str()) {
            SAID.call_once(|| {
                eprintln!(
                    "telescope: TELESCOPE_PLOT={v} is none of {}; detecting the terminal instead",
                    DISPLAY_NAMES.join(", ")
                )
            });
        }
    }
    detect_from(&|k| std::env::var(k).ok(), std::io::stdout().is_terminal())
}

/// Whether a text rendering may colour its series with ANSI escapes: only on a terminal,
/// and never when `NO_COLOR` is set to anything but the empty string (no-color.org).
pub fn color_from(get: &dyn Fn(&str) -> Option<String>, is_tty: bool) -> bool {
    is_tty && get("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Standard base64 (with padding) of `data`.
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for k in 0..4 {
            if k <= chunk.len() {
                s.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// The kitty graphics escape sequence displaying `png` (payload split into 4096-byte chunks).
pub fn kitty_sequence(png: &[u8]) -> String {
    let b64 = base64(png);
    let chunks: Vec<&[u8]> = b64.as_bytes().chunks(4096).collect();
    let mut s = String::new();
    for (i, c) in chunks.iter().enumerate() {
        let more = u8::from(i + 1 < chunks.len());
        let head = if i == 0 {
            format!("a=T,f=100,m={more}")
        } else {
            format!("m={more}")
        };
        s.push_str(&format!(
            "\x1b_G{head};{}\x1b\\",
            String::from_utf8_lossy(c)
        ));
    }
    s.push('\n');
    s
}

/// The iTerm2 inline-image escape sequence displaying `png`.
pub fn iterm_sequence(png: &[u8]) -> String {
    format!(
        "\x1b]1337;File=inline=1;size={};preserveAspectRatio=1:{}\x07\n",
        png.len(),
        base64(png)
    )
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The session's plot folder once [`write_file`] has made (or adopted) it.
static SESSION_DIR: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);

/// The environment variable that keeps the session's plot folder when the session ends.
pub const KEEP_PLOTS_VAR: &str = "TELESCOPE_KEEP_PLOTS";

/// The per-process folder that figures shown as files go to when no folder was given:
/// `<temp dir>/telescope-plots-PID`. [`end_session`] removes it.
pub fn session_dir() -> PathBuf {
    std::env::temp_dir().join(format!("telescope-plots-{}", std::process::id()))
}

/// Makes the session's plot folder, or adopts one left by an earlier process with the same
/// id, when it is a real folder (not a link) of this user.
fn make_session_dir() -> Result<PathBuf> {
    let mut made = SESSION_DIR.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(dir) = made.as_ref() {
        if dir.is_dir() {
            return Ok(dir.clone());
        }
    }
    let dir = session_dir();
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            use std::os::unix::fs::MetadataExt;
            let meta = std::fs::symlink_metadata(&dir).with_path(&dir)?;
            // SAFETY: getuid has no preconditions and cannot fail.
            let me = unsafe { libc::getuid() };
            if !meta.file_type().is_dir() || meta.uid() != me {
                return Err(invalid(format!(
                    "{}: exists and is not a folder of this user; not writing plots there",
                    dir.display()
                )));
            }
        }
        Err(e) => return Err(e).with_path(&dir),
    }
    *made = Some(dir.clone());
    Ok(dir)
}

/// Whether `TELESCOPE_KEEP_PLOTS` asks to keep the session's plots (set, and neither empty
/// nor `0`); `get` looks a variable up.
pub fn keep_plots_from(get: &dyn Fn(&str) -> Option<String>) -> bool {
    get(KEEP_PLOTS_VAR).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Ends the plotting session: removes the session's plot folder ([`session_dir`]) with the
/// files [`write_file`] put there, unless `TELESCOPE_KEEP_PLOTS=1`. The `telescope` binary
/// calls this as it exits (the REPL, `telescope run`, every command); a Rust program that shows
/// figures with [`show`] and no folder may call it when done with them. Folders the caller named
/// and sandbox folders are never touched. Returns the folder removed, if any.
pub fn end_session() -> Option<PathBuf> {
    let dir = SESSION_DIR
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()?;
    if keep_plots_from(&|k| std::env::var(k).ok()) {
        return None;
    }
    std::fs::remove_dir_all(&dir).ok().map(|()| dir)
}

/// Writes the figure as a PNG file `telescope-plot-PID-N.png` (a fresh name) in `dir` and
/// returns its path.
///
/// With no `dir`, a sandboxed script's files go to its sandbox folder; otherwise the file goes
/// to the session's plot folder `<temp dir>/telescope-plots-PID` ([`session_dir`]), which
/// [`end_session`] removes when the session ends (the binary calls it as it exits) unless
/// `TELESCOPE_KEEP_PLOTS=1` is set. Files in a `dir` the caller names, or in the sandbox
/// folder, are the user's and stay.
pub fn write_file(fig: &Figure, dir: Option<&Path>) -> Result<PathBuf> {
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        // A sandboxed script keeps even these files in its own folder.
        None => match crate::sandbox::root() {
            Some(root) => root.to_path_buf(),
            None => make_session_dir()?,
        },
    };
    crate::sandbox::create_dir_all(&dir)?;
    let k = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("telescope-plot-{}-{k}.png", std::process::id()));
    fig.save(&path)?;
    Ok(path)
}

/// Text size for the terminal: its size less a margin, else 80 x 24.
fn text_size() -> (usize, usize) {
    match crossterm::terminal::size() {
        Ok((c, r)) if c >= 20 && r >= 8 => ((c as usize - 1).min(160), (r as usize - 2).min(50)),
        _ => (80, 24),
    }
}

/// Shows a figure on stdout as [`detect`] decides. When stdout is not a terminal (or
/// `TELESCOPE_PLOT=file`) the figure is written as a PNG by [`write_file`] and its path printed:
/// into `dir` when given (kept), else into the session's plot folder
/// `<temp dir>/telescope-plots-PID`, removed when the session ends unless
/// `TELESCOPE_KEEP_PLOTS=1`. Returns the path of the written file, if any.
pub fn show(fig: &Figure, dir: Option<&Path>) -> Result<Option<PathBuf>> {
    show_as(fig, detect(), dir)
}

/// Shows a figure with a chosen display.
pub fn show_as(fig: &Figure, display: Display, dir: Option<&Path>) -> Result<Option<PathBuf>> {
    let out = std::io::stdout();
    let mut out = out.lock();
    let io = |e: std::io::Error| invalid(format!("writing to the terminal: {e}"));
    match display {
        Display::Kitty => {
            out.write_all(kitty_sequence(&fig.to_png()?).as_bytes())
                .map_err(io)?;
        }
        Display::Iterm => {
            out.write_all(iterm_sequence(&fig.to_png()?).as_bytes())
                .map_err(io)?;
        }
        Display::Sixel => {
            out.write_all(fig.to_sixel()?.as_bytes()).map_err(io)?;
        }
        Display::Text => {
            let (c, r) = text_size();
            let color = color_from(&|k| std::env::var(k).ok(), std::io::stdout().is_terminal());
            out.write_all(fig.to_text(c, r, color).as_bytes())
                .map_err(io)?;
        }
        Display::File => {
            let path = write_file(fig, dir)?;
            writeln!(out, "{}", path.display()).map_err(io)?;
            out.flush().map_err(io)?;
            return Ok(Some(path));
        }
    }
    out.flush().map_err(io)?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    /// An environment of fixed variables.
    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k: &str| {
            pairs
                .iter()
                .find(|(a, _)| *a == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn text_is_coloured_only_on_a_terminal_without_no_color() {
        assert!(color_from(&env(&[]), true));
        assert!(!color_from(&env(&[]), false));
        assert!(!color_from(&env(&[("NO_COLOR", "1")]), true));
        assert!(color_from(&env(&[("NO_COLOR", "")]), true));
    }

    #[test]
    fn detection_follows_the_environment() {
        assert_eq!(
            detect_from(&env(&[("TERM", "xterm-kitty")]), true),
            Display::Kitty
        );
        assert_eq!(
            detect_from(&env(&[("TERM_PROGRAM", "iTerm.app")]), true),
            Display::Iterm
        );
        assert_eq!(
            detect_from(&env(&[("TERM_PROGRAM", "WezTerm"), ("TMUX", "x")]), true),
            Display::Text
        );
        assert_eq!(
            detect_from(&env(&[("TERM", "xterm-kitty")]), false),
            Display::File
        );
        assert_eq!(
            detect_from(&env(&[("TELESCOPE_PLOT", "text")]), false),
            Display::Text
        );
        assert_eq!(detect_from(&env(&[]), true), Display::Text);
        for term in ["foot", "foot-extra", "mlterm", "xterm-sixel"] {
            let vars: &'static [(&str, &str)] = Box::leak(Box::new([("TERM", term)]));
            assert_eq!(detect_from(&env(vars), true), Display::Sixel, "{term}");
        }
        assert_eq!(
            detect_from(&env(&[("TERM", "xterm-256color")]), true),
            Display::Text
        );
        assert_eq!(
            detect_from(&env(&[("TELESCOPE_PLOT", "sixel")]), true),
            Display::Sixel
        );
    }
}
