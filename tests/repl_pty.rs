//! Drives the real `telescope` REPL in a pseudo-terminal: completion, help, multi-line input,
//! Ctrl-C, errors, Ctrl-D.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A child process on the slave side of a pty; output collected by a reader thread.
struct Pty {
    master: File,
    child: Child,
    out: Arc<Mutex<Vec<u8>>>,
    seen: usize,
    _home: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Removes ANSI escape sequences and carriage returns.
fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\x1b' => match it.next() {
                Some('[') => {
                    for d in it.by_ref() {
                        if ('\x40'..='\x7e').contains(&d) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    for d in it.by_ref() {
                        if d == '\x07' {
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

impl Drop for Pty {
    fn drop(&mut self) {
        // Never leave a REPL running (e.g. spinning in a loop) when a test fails.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Pty {
    fn spawn(name: &str) -> Pty {
        let home =
            std::env::temp_dir().join(format!("telescope-pty-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&home).unwrap();
        let (mut master, mut slave): (RawFd, RawFd) = (0, 0);
        let ws = libc::winsize {
            ws_row: 50,
            ws_col: 200,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty writes two fds into the given locations.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &ws,
            )
        };
        assert_eq!(rc, 0, "openpty failed");
        // SAFETY: the fds are fresh and owned here; each File takes one duplicate.
        let io = |fd: RawFd| unsafe { Stdio::from(File::from_raw_fd(libc::dup(fd))) };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_telescope"));
        cmd.env("HOME", &home)
            .env("TERM", "xterm")
            .env_remove("NO_COLOR")
            .env_remove("TELESCOPE_PLOT")
            .env_remove("KITTY_WINDOW_ID")
            .env_remove("TERM_PROGRAM")
            .env_remove("TELESCOPE_HISTORY")
            .current_dir(&home);
        cmd.stdin(io(slave)).stdout(io(slave)).stderr(io(slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY as _, 0);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn telescope");
        // SAFETY: closing our copy of the slave; master is owned by the File below.
        unsafe { libc::close(slave) };
        let master = unsafe { File::from_raw_fd(master) };
        let out = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let mut answer = master.try_clone().unwrap();
        let sink = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                // Answer cursor-position queries like a terminal would.
                if buf[..n].windows(4).any(|w| w == b"\x1b[6n") {
                    let _ = answer.write_all(b"\x1b[1;1R");
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            master,
            child,
            out,
            seen: 0,
            _home: TempDir(home),
        }
    }

    fn send(&mut self, s: &str) {
        self.master.write_all(s.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// Waits until `needle` appears in the (ANSI-stripped) output after what was already
    /// consumed; returns the text up to and including it.
    fn expect(&mut self, needle: &str) -> String {
        self.expect_within(needle, Duration::from_secs(15))
            .unwrap_or_else(|| {
                let text = strip_ansi(&String::from_utf8_lossy(&self.out.lock().unwrap()));
                panic!(
                    "timed out waiting for {needle:?}; output after the last match:\n{}",
                    text.get(self.seen..).unwrap_or("")
                )
            })
    }

    /// Like `expect`, but `None` after `limit`.
    fn expect_within(&mut self, needle: &str, limit: Duration) -> Option<String> {
        let t0 = Instant::now();
        loop {
            let text = strip_ansi(&String::from_utf8_lossy(&self.out.lock().unwrap()));
            if let Some(i) = text.get(self.seen..).and_then(|rest| rest.find(needle)) {
                let end = self.seen + i + needle.len();
                let got = text[self.seen..end].to_string();
                self.seen = end;
                return Some(got);
            }
            if t0.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn prompt(&mut self) {
        self.expect("telescope> ");
    }

    /// Sends Ctrl-D, checks the exit status and returns the saved history file.
    fn finish(mut self) -> String {
        self.send("\x04");
        let t0 = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "telescope exited with {status}");
                return std::fs::read_to_string(self._home.0.join(".telescope_history"))
                    .unwrap_or_default();
            }
            if t0.elapsed() > Duration::from_secs(10) {
                let _ = self.child.kill();
                panic!("telescope did not exit on Ctrl-D");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn tab_completes_functions_and_methods_and_help_shows_docs() {
    let mut p = Pty::spawn("complete");
    p.prompt();
    // `vers` has one completion, the documented `version(`; closing the call runs it.
    p.send("vers\t");
    p.expect("version(");
    p.send(")\r");
    p.expect(&format!("\n{}\n", telescope::version()));
    p.prompt();
    // Method completion from the value's type: a string's methods.
    p.send("let s = \"hello\";\r");
    p.prompt();
    p.send("s.to_up\t");
    p.expect("s.to_upper(");
    p.send(")\r");
    p.expect("\nHELLO");
    p.prompt();
    // ?name prints the function's documentation.
    let docs = telescope::script::docs();
    let seed = docs.get("seed").expect("seed is documented");
    p.send("?seed\r");
    p.expect(&format!("\n{}", seed.signatures[0]));
    p.expect(seed.summary());
    p.prompt();
    p.send("help(set_device)\r");
    p.expect(docs.get("set_device").unwrap().summary());
    p.prompt();
    p.finish();
}

/// A Plot value typed at the prompt shows itself (here as text: an xterm without image
/// support), as IPython shows a figure, instead of printing its summary.
#[test]
fn a_plot_typed_at_the_prompt_shows_itself() {
    let mut p = Pty::spawn("plot");
    p.prompt();
    p.send("line_plot([0, 1, 2], [0, 1, 4], #{label: \"squares\"})\r");
    p.expect("squares");
    p.expect("└");
    p.prompt();
    p.finish();
}

#[test]
fn unfinished_lines_continue() {
    let mut p = Pty::spawn("multiline");
    p.prompt();
    p.send("[1234,\r");
    std::thread::sleep(Duration::from_millis(200));
    p.send("5678]\r");
    p.expect("\n[1234, 5678]");
    p.prompt();
    p.send("1000 *\r");
    std::thread::sleep(Duration::from_millis(200));
    p.send("7 + 3\r");
    p.expect("\n7003");
    p.prompt();
    p.finish();
}

#[test]
fn ctrl_c_stops_a_long_loop_and_the_session_goes_on() {
    let mut p = Pty::spawn("interrupt");
    p.prompt();
    p.send("let keep = 31337;\r");
    p.prompt();
    p.send("let n = 0; loop { n += 1; }\r");
    // The line was accepted once the editor moved to a new line; then the loop runs.
    p.expect("loop { n += 1; }\n");
    let mut stopped = false;
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(300));
        p.send("\x03");
        if p.expect_within("interrupted by Ctrl-C", Duration::from_secs(3))
            .is_some()
        {
            stopped = true;
            break;
        }
    }
    assert!(stopped, "Ctrl-C did not stop the loop");
    p.prompt();
    p.send("keep + 1\r");
    p.expect("\n31338");
    p.prompt();
    // Ctrl-C at the prompt clears the line.
    p.send("garbage here\x03");
    std::thread::sleep(Duration::from_millis(200));
    p.send("6 * 7\r");
    p.expect("\n42");
    p.prompt();
    p.finish();
}

#[test]
fn errors_and_bad_commands_do_not_end_the_session() {
    let mut p = Pty::spawn("errors");
    p.prompt();
    p.send(":bogus\r");
    p.expect("\nunknown command :bogus");
    p.prompt();
    p.send("no_such_function(1)\r");
    p.expect("\n<repl>:1:1:");
    p.expect("no_such_function");
    p.prompt();
    p.send("1 / 0\r");
    p.expect("<repl>:1:");
    p.prompt();
    // A libtorch shape error is a located script error; the session goes on.
    p.send("zeros([2]) + zeros([3])\r");
    p.expect("<repl>:1:12: tensor error: The size of tensor a (2) must match");
    p.prompt();
    p.send("let x = (1 +\r");
    std::thread::sleep(Duration::from_millis(200));
    p.send(";)\r");
    p.expect("<repl>:");
    p.prompt();
    p.send(":seed 5\r");
    p.expect("\nseeded with 5");
    p.prompt();
    p.send("let v = 11;\r");
    p.prompt();
    p.send(":vars\r");
    p.expect("v  i64  11");
    p.prompt();
    p.send(":time 20 + 22\r");
    p.expect("\n42");
    p.expect("time: ");
    p.prompt();
    p.send(":save saved.rhai\r");
    p.expect("\nsaved 3 inputs");
    p.prompt();
    p.send(":load saved.rhai\r");
    p.prompt();
    p.send("v * 2\r");
    p.expect("\n22");
    p.prompt();
    let history = p.finish();
    assert!(
        history.lines().any(|l| l == "let v = 11;") && history.lines().any(|l| l == ":seed 5"),
        "{history}"
    );
}

#[test]
fn bytes_that_are_not_utf8_drop_the_line_not_the_session() {
    let mut p = Pty::spawn("utf8");
    p.prompt();
    p.master.write_all(b"\xff\xfe\xfd\r").unwrap();
    p.master.flush().unwrap();
    p.expect("not valid UTF-8");
    p.prompt();
    p.send("print(40 + 2)\r");
    p.expect("42");
    p.prompt();
    p.finish();
}

#[test]
fn a_long_paste_without_bracketed_paste_is_read_in_one_go() {
    // 60,000 characters typed as one line: the editor used to redo colours, hints and bracket
    // matching on every keystroke (quadratic; 50k characters never returned).
    let mut p = Pty::spawn("paste");
    p.prompt();
    let line = format!("[{}1].len()", "1,".repeat(29_999));
    p.send(&line);
    p.send("\r");
    let answered = p.expect_within("\n30000", Duration::from_secs(120));
    assert!(
        answered.is_some(),
        "a 60,000-character line got no answer in 2 minutes"
    );
    p.prompt();
    p.finish();
}

#[test]
fn a_trailing_semicolon_hides_the_value_and_history_keeps_the_line_as_typed() {
    let mut p = Pty::spawn("quiet");
    p.prompt();
    p.send("1000 + 234;\r");
    std::thread::sleep(Duration::from_millis(300));
    p.send("line_plot([0, 1, 2], [0, 1, 4]);\r");
    std::thread::sleep(Duration::from_millis(500));
    p.send("ans.title(\"t\"); 4321 // no semicolon\r");
    let all = p.expect("\n4321");
    assert!(
        !all.contains("\n1234") && !all.contains("└"),
        "a value of an input that ended with `;` was shown: {all}"
    );
    p.prompt();
    let history = p.finish();
    for line in ["1000 + 234;", "line_plot([0, 1, 2], [0, 1, 4]);"] {
        assert!(history.lines().any(|l| l == line), "{line:?} in {history}");
    }
}

#[test]
fn progress_stays_on_one_line_and_save_keeps_an_interrupted_map() {
    let mut p = Pty::spawn("progress");
    p.prompt();
    p.send("let m = adelm(quadratic(2), #{iters: 1000000000})\r");
    p.expect("adelm: iteration");
    // Two more progress reports (about one a second), then Ctrl-C.
    std::thread::sleep(Duration::from_millis(2600));
    p.send("\x03");
    p.expect("adelm: interrupted by Ctrl-C; the result holds");
    p.prompt();
    let raw = String::from_utf8_lossy(&p.out.lock().unwrap()).to_string();
    let reports = raw.matches("adelm: iteration").count();
    assert!(reports >= 2, "{raw:?}");
    // Every report after the first replaces the last in place: carriage return, erase line.
    assert_eq!(
        raw.matches("\r\x1b[Kadelm: iteration").count(),
        reports,
        "{raw:?}"
    );
    p.send("fn reads_m(k) { m.iterations + k }\r");
    p.prompt();
    p.send(":save s.rhai\r");
    p.expect("saved");
    p.prompt();
    let dir = p._home.0.clone();
    let script = std::fs::read_to_string(dir.join("s.rhai")).unwrap();
    assert!(
        script.contains("let m = load_map(\"s.m.json\");")
            && script.contains("// let m = adelm(quadratic(2), #{iters: 1000000000})")
            && script.contains("// fn reads_m(k)"),
        "{script}"
    );
    // The saved session checks clean and runs at once, with the map the session had.
    let check = Command::new(env!("CARGO_BIN_EXE_telescope"))
        .args(["check", "s.rhai"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let run = Command::new(env!("CARGO_BIN_EXE_telescope"))
        .args(["run", "s.rhai"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let saved = telescope::landscape::map::LandscapeMap::load(&dir.join("s.m.json")).unwrap();
    assert!(saved.interrupted && saved.iterations > 0);
    p.finish();
}
