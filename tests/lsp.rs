//! Drives `telescope lsp` with JSON-RPC messages over pipes and checks the replies.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_telescope"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Client {
            child,
            stdin,
            stdout,
        }
    }

    fn send(&mut self, msg: Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{}", body.len(), body).unwrap();
        self.stdin.flush().unwrap();
    }

    fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let m = self.read();
            if m["id"] == id {
                assert_eq!(m["jsonrpc"], "2.0");
                return m;
            }
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The next message from the server.
    fn read(&mut self) -> Value {
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "server closed its output"
            );
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0u8; len];
        self.stdout.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    /// The next `publishDiagnostics` notification.
    fn diagnostics(&mut self) -> Value {
        loop {
            let m = self.read();
            if m["method"] == "textDocument/publishDiagnostics" {
                return m["params"].clone();
            }
        }
    }
}

const URI: &str = "file:///tmp/telescope-lsp-test/exp.rhai";

fn change(c: &mut Client, version: u64, text: &str) {
    c.notify("textDocument/didChange", json!({"textDocument": {"uri": URI, "version": version}, "contentChanges": [{"text": text}]}));
}

#[test]
fn language_server_session() {
    let docs = telescope::script::docs();
    let seed = docs.get("seed").unwrap().clone();
    let mut c = Client::start();

    let init = c.request(
        1,
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    let caps = &init["result"]["capabilities"];
    assert_eq!(caps["textDocumentSync"], 1);
    assert_eq!(caps["hoverProvider"], true);
    assert!(caps["completionProvider"]["triggerCharacters"]
        .as_array()
        .unwrap()
        .contains(&json!(".")));
    assert!(caps["signatureHelpProvider"].is_object());
    assert_eq!(init["result"]["serverInfo"]["name"], "telescope");
    c.notify("initialized", json!({}));

    // Diagnostics on open: wrong arity and an unknown function, with 0-based ranges.
    c.notify("textDocument/didOpen", json!({"textDocument": {"uri": URI, "languageId": "rhai", "version": 1, "text": "let a = 1;\n  seed(1, 2);\nversoin();\n"}}));
    let d = c.diagnostics();
    assert_eq!(d["uri"], URI);
    let diags = d["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 2, "{diags:?}");
    assert_eq!(
        diags[0]["range"],
        json!({"start": {"line": 1, "character": 2}, "end": {"line": 1, "character": 6}})
    );
    assert!(diags[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("`seed` takes 1 argument, but 2 were given"));
    assert_eq!(diags[0]["severity"], 1);
    assert_eq!(
        diags[1]["range"]["start"],
        json!({"line": 2, "character": 0})
    );
    assert!(diags[1]["message"]
        .as_str()
        .unwrap()
        .contains("unknown function `versoin` (did you mean `version`?)"));

    // A parse error after a change.
    change(&mut c, 2, "let x = (1;\n");
    let d = c.diagnostics();
    let diags = d["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1);
    assert_eq!(
        diags[0]["range"]["start"],
        json!({"line": 0, "character": 10})
    );

    // An unfinished `p.` is reported at the end of its own line, not at the next token.
    change(&mut c, 2, "let p = 1;\nlet q = p.\n\nlet r = 2;\n");
    let d = c.diagnostics();
    let diags = d["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(
        diags[0]["range"]["start"],
        json!({"line": 1, "character": 10})
    );

    // Clean text clears the diagnostics.
    change(&mut c, 3, "seed(1);\nlet ver_count = 2;\nlet v = ver_count");
    assert_eq!(c.diagnostics()["diagnostics"], json!([]));
    // A variable being typed that is not defined yet is reported where it stands.
    change(&mut c, 3, "seed(1);\nlet ver_count = 2;\nlet v = ver");
    let d = c.diagnostics();
    let diags = d["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["message"], "undefined variable `ver`");
    assert_eq!(
        diags[0]["range"]["start"],
        json!({"line": 2, "character": 8})
    );

    // Hover over `seed` shows its signature and doc.
    let h = c.request(
        2,
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": {"line": 0, "character": 2}}),
    );
    let text = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains(&seed.signatures[0]) && text.contains(seed.summary()),
        "{text}"
    );

    // Hover over a variable says it is one; over a Rhai keyword function gives its doc.
    let h = c.request(
        20,
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": {"line": 1, "character": 6}}),
    );
    let text = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(text.contains("let ver_count"), "{text}");
    change(
        &mut c,
        4,
        "seed(1);\nlet ver_count = 2;\nprint(ver_count);\nlet v = ver",
    );
    let _ = c.diagnostics();
    let h = c.request(
        21,
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": {"line": 2, "character": 2}}),
    );
    let text = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("print(value)") && text.contains("stdout"),
        "{text}"
    );
    change(&mut c, 5, "seed(1);\nlet ver_count = 2;\nlet v = ver");
    let _ = c.diagnostics();

    // Completion at `ver|` offers the documented function and the variable.
    let r = c.request(
        3,
        "textDocument/completion",
        json!({"textDocument": {"uri": URI}, "position": {"line": 2, "character": 11}}),
    );
    let items = r["result"]["items"].as_array().unwrap();
    let labels: Vec<&str> = items.iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert!(
        labels.contains(&"version") && labels.contains(&"ver_count"),
        "{labels:?}"
    );
    assert!(labels.iter().all(|l| l.starts_with("ver")), "{labels:?}");
    let v = items.iter().find(|i| i["label"] == "version").unwrap();
    assert_eq!(v["detail"], docs.get("version").unwrap().signatures[0]);
    assert_eq!(v["kind"], 3);

    // Signature help inside a call, on the second argument.
    change(&mut c, 4, "set_device(");
    c.diagnostics();
    let s = c.request(
        4,
        "textDocument/signatureHelp",
        json!({"textDocument": {"uri": URI}, "position": {"line": 0, "character": 11}}),
    );
    assert_eq!(
        s["result"]["signatures"][0]["label"],
        docs.get("set_device").unwrap().signatures[0]
    );
    assert_eq!(s["result"]["activeParameter"], 0);

    // Unknown requests get an error, not silence.
    let e = c.request(5, "workspace/symbol", json!({"query": ""}));
    assert_eq!(e["error"]["code"], -32601);

    let r = c.request(6, "shutdown", Value::Null);
    assert!(r["result"].is_null() && r.get("error").is_none());
    c.notify("exit", Value::Null);
    let status = c.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn exit_without_shutdown_is_an_error() {
    let mut c = Client::start();
    c.notify("exit", Value::Null);
    assert_eq!(c.child.wait().unwrap().code(), Some(1));
}

impl Client {
    fn raw(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).unwrap();
        self.stdin.flush().unwrap();
    }

    /// Closes the server's input; returns everything it wrote after that and its exit code.
    fn close(self) -> (String, Option<i32>) {
        let Client {
            mut child,
            stdin,
            mut stdout,
        } = self;
        drop(stdin);
        let mut out = String::new();
        stdout.read_to_string(&mut out).unwrap();
        (out, child.wait().unwrap().code())
    }
}

#[test]
fn hostile_frames_get_errors_and_the_server_stays_in_step() {
    let mut c = Client::start();
    // Before initialize: refused with -32002.
    let early = c.request(1, "textDocument/hover", json!({}));
    assert_eq!(early["error"]["code"], -32002, "{early}");
    let init = c.request(2, "initialize", json!({"capabilities": {}}));
    assert!(init["result"]["capabilities"].is_object());
    // Invalid JSON: a -32700 reply with a null id.
    c.raw(b"Content-Length: 9\r\n\r\n{not json");
    let bad = c.read();
    assert_eq!(bad["error"]["code"], -32700, "{bad}");
    assert!(bad["id"].is_null());
    // A header line that is not UTF-8 is ignored.
    c.raw(b"X-Junk: \xff\xfe\r\n");
    let ok = c.request(
        3,
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": {"line": 0, "character": 0}}),
    );
    assert!(ok.get("error").is_none(), "{ok}");
    // A Content-Length that is too short: the rest of the body is junk before the next header,
    // and the next message is still answered.
    let body = json!({"jsonrpc": "2.0", "id": 4, "method": "textDocument/hover", "params": {}})
        .to_string();
    c.raw(format!("Content-Length: 10\r\n\r\n{body}").as_bytes());
    let _ = c.read(); // the parse error of the 10-byte prefix
    let after = c.request(5, "textDocument/completion", json!({"textDocument": {"uri": "file:///tmp/%aé.rhai"}, "position": {"line": 0, "character": 0}}));
    assert_eq!(after["id"], 5, "{after}");
    // After shutdown only exit is accepted.
    let down = c.request(6, "shutdown", Value::Null);
    assert!(down.get("error").is_none());
    let late = c.request(7, "textDocument/hover", json!({}));
    assert_eq!(late["error"]["code"], -32600, "{late}");
    c.notify("exit", Value::Null);
    assert_eq!(c.child.wait().unwrap().code(), Some(0));
}

#[test]
fn a_content_length_beyond_any_sane_size_is_skipped_not_allocated() {
    for len in [
        "100000000000",
        "18446744073709551615",
        "99999999999999999999999",
    ] {
        let mut c = Client::start();
        c.raw(format!("Content-Length: {len}\r\n\r\n{{}}").as_bytes());
        let (out, code) = c.close();
        assert!(out.contains("-32700"), "Content-Length {len}: {out}");
        assert_eq!(code, Some(1), "Content-Length {len}");
    }
}

#[test]
fn definitions_references_symbols_and_modules() {
    let tmp = tempfile::Builder::new()
        .prefix("telescope-lsp-nav-")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    let module = "// helpers\n/// Twice the value.\nfn twice(x) { 2 * x }\nprivate fn hidden() { 1 }\nfn pair(a, b) { [a, b] }\n";
    std::fs::write(dir.join("helpers.rhai"), module).unwrap();
    let uri = format!("file://{}/main.rhai", dir.display());
    let text = "import \"helpers\" as h;\nlet n = 3;\nfn scale(v) { v * n }\nlet m = h::twice(n);\nprint(n + scale(m));\nh::nosuch(1);\nh::pair(1);\nlet s = h::pa";
    let mut c = Client::start();
    let _ = c.request(
        1,
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    c.notify("initialized", json!({}));
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "rhai", "version": 1, "text": text}}),
    );
    // Diagnostics: the unknown module function and the wrong arity; `n` inside `scale` is
    // undefined at run time too, but Rhai reports the first problem of its strict parse only
    // when the file has no other errors, so it is not asserted here.
    let d = c.diagnostics();
    let messages: Vec<String> = d["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["message"].as_str().unwrap().to_string())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m == "module `h` has no function `nosuch`"),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("`h::pair` takes 2 arguments, but 1 was given")),
        "{messages:?}"
    );
    let at = |line: u64, character: u64| json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}});
    // Go to definition: a variable, a script function, a module function in its file.
    let r = c.request(2, "textDocument/definition", at(4, 7));
    assert_eq!(
        r["result"]["range"]["start"],
        json!({"line": 1, "character": 4}),
        "{r}"
    );
    let r = c.request(3, "textDocument/definition", at(4, 11));
    assert_eq!(
        r["result"]["range"]["start"],
        json!({"line": 2, "character": 3}),
        "{r}"
    );
    let r = c.request(4, "textDocument/definition", at(3, 12));
    assert!(
        r["result"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("/helpers.rhai"),
        "{r}"
    );
    assert_eq!(
        r["result"]["range"]["start"],
        json!({"line": 2, "character": 3}),
        "{r}"
    );
    // References of `n`: its definition and its three uses, not `scale`'s `v`.
    let r = c.request(5, "textDocument/references", json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 4}, "context": {"includeDeclaration": true}}));
    let lines: Vec<u64> = r["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["range"]["start"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![1, 2, 3, 4], "{r}");
    // Document symbols: the variables and functions, in order.
    let r = c.request(
        6,
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri}}),
    );
    let names: Vec<&str> = r["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["n", "scale", "v", "m", "s"], "{r}");
    // Hover and signature help on a module function show its doc comment.
    let r = c.request(7, "textDocument/hover", at(3, 12));
    let v = r["result"]["contents"]["value"].as_str().unwrap();
    assert!(
        v.contains("h::twice(x)") && v.contains("Twice the value."),
        "{v}"
    );
    let r = c.request(8, "textDocument/signatureHelp", at(6, 8));
    assert_eq!(
        r["result"]["signatures"][0]["label"], "h::pair(a, b)",
        "{r}"
    );
    // Completion after `h::` offers the exported functions only.
    let r = c.request(9, "textDocument/completion", at(7, 13));
    let labels: Vec<&str> = r["result"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, vec!["pair"], "{r}");
}
