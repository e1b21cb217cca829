//! `telescope lsp`: a Language Server Protocol server for `.rhai` files on stdio.
//!
//! JSON-RPC messages framed by `Content-Length` headers. Supported: `initialize`,
//! `textDocument/didOpen|didChange|didClose` (full sync; each answered by
//! `textDocument/publishDiagnostics` from the same analysis as `telescope check`),
//! `textDocument/completion`, `textDocument/hover`, `textDocument/signatureHelp`,
//! `shutdown` and `exit`. Positions use UTF-16 columns as the protocol requires.

use super::analysis::{
    call_context, complete, definition_at, describe, diagnose, module_functions, qualified_at,
    references_at, symbols, word_at, Catalog, Description, Env, ItemKind, SymbolKind,
};
use crate::script::FnDoc;
use rhai::Engine;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;

/// Runs the language server on stdin/stdout; returns the exit status.
pub fn run() -> u8 {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut server = Server::new();
    serve(&mut server, &mut stdin.lock(), &mut stdout.lock())
}

/// The largest message body accepted (a larger `Content-Length` is skipped and answered with a
/// parse error instead of being allocated).
pub const MAX_MESSAGE: u64 = 64 << 20;

/// One incoming frame: a parsed JSON body, or why it could not be read.
#[derive(Debug, PartialEq)]
pub enum Frame {
    /// A JSON value.
    Message(Value),
    /// A frame that is not a JSON-RPC message (answered with error -32700).
    Invalid(String),
}

/// Reads one framed message; `None` at end of input. Header lines are read as bytes (invalid
/// UTF-8 is replaced, never fatal), a `Content-Length` header is found even when the end of a
/// mis-framed body precedes it on the same line, and a body over [`MAX_MESSAGE`] is skipped,
/// not allocated.
pub fn read_message(input: &mut impl BufRead) -> std::io::Result<Option<Frame>> {
    let mut len: Option<Result<u64, String>> = None;
    loop {
        let mut raw = Vec::new();
        if input.read_until(b'\n', &mut raw)? == 0 {
            return Ok(None);
        }
        let line = String::from_utf8_lossy(&raw);
        let line = line.trim_end();
        if line.is_empty() {
            if len.is_some() {
                break;
            }
            continue;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(at) = lower.rfind("content-length:") {
            let v = line[at + "content-length:".len()..].trim();
            len = Some(v.parse::<u64>().map_err(|_| v.to_string()));
        }
    }
    let n = match len {
        Some(Ok(n)) => n,
        Some(Err(v)) => return Ok(Some(Frame::Invalid(format!("bad Content-Length {v:?}")))),
        None => 0,
    };
    if n > MAX_MESSAGE {
        std::io::copy(&mut input.take(n), &mut std::io::sink())?;
        return Ok(Some(Frame::Invalid(format!(
            "a message of {n} bytes exceeds the limit of {MAX_MESSAGE}"
        ))));
    }
    let mut body = Vec::new();
    input.take(n).read_to_end(&mut body)?;
    if (body.len() as u64) < n {
        return Ok(None);
    }
    Ok(Some(match serde_json::from_slice::<Value>(&body) {
        Ok(v) if v.is_object() => Frame::Message(v),
        Ok(_) => Frame::Invalid("a JSON-RPC message must be an object".into()),
        Err(e) => Frame::Invalid(format!("invalid JSON: {e}")),
    }))
}

/// Writes one framed message.
pub fn write_message(out: &mut impl Write, msg: &Value) -> std::io::Result<()> {
    let body = msg.to_string();
    write!(out, "Content-Length: {}\r\n\r\n{}", body.len(), body)?;
    out.flush()
}

/// Serves messages until `exit` or end of input; returns the exit status (0 after `shutdown`).
pub fn serve(server: &mut Server, input: &mut impl BufRead, out: &mut impl Write) -> u8 {
    loop {
        let msg = match read_message(input) {
            Ok(Some(Frame::Message(m))) => m,
            Ok(Some(Frame::Invalid(why))) => {
                let reply = json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": format!("parse error: {why}")}});
                if write_message(out, &reply).is_err() {
                    return 1;
                }
                continue;
            }
            Ok(None) | Err(_) => return u8::from(!server.shutdown),
        };
        if msg["method"] == "exit" {
            return u8::from(!server.shutdown);
        }
        for reply in server.handle(&msg) {
            if write_message(out, &reply).is_err() {
                return 1;
            }
        }
    }
}

/// The server state: open documents and the analysis catalog.
pub struct Server {
    engine: Engine,
    catalog: Catalog,
    docs: HashMap<String, String>,
    /// True once `initialize` was answered.
    initialized: bool,
    /// True once `shutdown` was received.
    pub shutdown: bool,
}

impl Default for Server {
    fn default() -> Self {
        Self::new()
    }
}

fn utf16_to_byte(line: &str, col16: usize) -> usize {
    let mut n = 0;
    for (i, c) in line.char_indices() {
        if n >= col16 {
            return i;
        }
        n += c.len_utf16();
    }
    line.len()
}

fn chars_to_utf16(line: &str, chars: usize) -> usize {
    line.chars().take(chars).map(char::len_utf16).sum()
}

/// The LSP position (line, UTF-16 column) of byte offset `off` in `text`.
pub fn position_of(text: &str, off: usize) -> Value {
    let off = off.min(text.len());
    let before = &text[..off];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col: usize = text[start..off].chars().map(char::len_utf16).sum();
    json!({"line": line, "character": col})
}

/// An LSP range of bytes `r` in `text`.
fn range_of(text: &str, r: &std::ops::Range<usize>) -> Value {
    json!({"start": position_of(text, r.start), "end": position_of(text, r.end)})
}

/// The `file://` URI of a path.
fn uri_of(path: &std::path::Path) -> String {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    format!("file://{}", abs.display())
}

/// Byte offset of an LSP position (line, UTF-16 column) in `text`.
pub fn offset_of(text: &str, line: usize, col16: usize) -> usize {
    let mut off = 0;
    for (i, l) in text.split('\n').enumerate() {
        if i == line {
            return off + utf16_to_byte(l, col16);
        }
        off += l.len() + 1;
    }
    text.len()
}

fn path_of_uri(uri: &str) -> PathBuf {
    let p = uri.strip_prefix("file://").unwrap_or(uri);
    let mut bytes = Vec::new();
    let b = p.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                bytes.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        bytes.push(b[i]);
        i += 1;
    }
    PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
}

impl Server {
    /// A server with the standard telescope functions.
    pub fn new() -> Self {
        let (engine, catalog) = Catalog::standard();
        Server {
            engine,
            catalog,
            docs: HashMap::new(),
            initialized: false,
            shutdown: false,
        }
    }

    /// Replies (responses and notifications) to one incoming message.
    pub fn handle(&mut self, msg: &Value) -> Vec<Value> {
        let method = msg["method"].as_str().unwrap_or("");
        let id = msg.get("id").cloned();
        let params = &msg["params"];
        // The lifecycle: nothing but `initialize` before it, nothing but `exit` after `shutdown`.
        let refuse = |code: i64, message: &str| match &id {
            Some(id) => vec![
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
            ],
            None => Vec::new(),
        };
        if self.shutdown {
            return refuse(-32600, "the server is shut down; only exit is accepted");
        }
        if !self.initialized && method != "initialize" {
            return refuse(-32002, "the server is not initialized yet");
        }
        let result = match method {
            "initialize" => Some({
                self.initialized = true;
                json!({
                    "capabilities": {
                        "textDocumentSync": 1,
                        "completionProvider": { "triggerCharacters": [".", "\"", "{", ","] },
                        "hoverProvider": true,
                        "signatureHelpProvider": { "triggerCharacters": ["(", ","] },
                        "definitionProvider": true,
                        "referencesProvider": true,
                        "documentSymbolProvider": true
                    },
                    "serverInfo": { "name": "telescope", "version": crate::version() }
                })
            }),
            "shutdown" => {
                self.shutdown = true;
                Some(Value::Null)
            }
            "textDocument/didOpen" => {
                let uri = params["textDocument"]["uri"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                let text = params["textDocument"]["text"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                self.docs.insert(uri.clone(), text);
                return vec![self.diagnostics(&uri)];
            }
            "textDocument/didChange" => {
                let uri = params["textDocument"]["uri"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                if let Some(text) = params["contentChanges"]
                    .as_array()
                    .and_then(|c| c.last())
                    .and_then(|c| c["text"].as_str())
                {
                    self.docs.insert(uri.clone(), text.to_string());
                }
                return vec![self.diagnostics(&uri)];
            }
            "textDocument/didClose" => {
                let uri = params["textDocument"]["uri"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                self.docs.remove(&uri);
                return vec![
                    json!({"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics", "params": {"uri": uri, "diagnostics": []}}),
                ];
            }
            "textDocument/completion" => Some(self.completion(params)),
            "textDocument/hover" => Some(self.hover(params)),
            "textDocument/signatureHelp" => Some(self.signature_help(params)),
            "textDocument/definition" => Some(self.definition(params)),
            "textDocument/references" => Some(self.references(params)),
            "textDocument/documentSymbol" => Some(self.document_symbols(params)),
            _ => None,
        };
        match (id, result) {
            (Some(id), Some(r)) => vec![json!({"jsonrpc": "2.0", "id": id, "result": r})],
            (Some(id), None) if !method.is_empty() => {
                vec![
                    json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": format!("method not found: {method}")}}),
                ]
            }
            _ => Vec::new(),
        }
    }

    fn diagnostics(&self, uri: &str) -> Value {
        let text = self.docs.get(uri).map(String::as_str).unwrap_or("");
        let lines: Vec<&str> = text.split('\n').collect();
        let dir = path_of_uri(uri)
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default();
        let diags: Vec<Value> = diagnose(&self.engine, &self.catalog, text, &dir)
            .into_iter()
            .map(|d| {
                let line = d.line.saturating_sub(1);
                let l = lines.get(line).copied().unwrap_or("");
                let col = chars_to_utf16(l, d.col.saturating_sub(1));
                // Underline the identifier at the position (or one character).
                let word_len: usize = l.chars().skip(d.col.saturating_sub(1)).take_while(|c| c.is_alphanumeric() || *c == '_').map(char::len_utf16).sum();
                json!({
                    "range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col + word_len.max(1)}},
                    "severity": 1,
                    "source": "telescope",
                    "message": d.message
                })
            })
            .collect();
        json!({"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics", "params": {"uri": uri, "diagnostics": diags}})
    }

    /// The document text and the byte offset of the request's position.
    fn at(&self, params: &Value) -> (String, usize, PathBuf) {
        let uri = params["textDocument"]["uri"].as_str().unwrap_or("");
        let text = self.docs.get(uri).cloned().unwrap_or_default();
        let line = params["position"]["line"].as_u64().unwrap_or(0) as usize;
        let col = params["position"]["character"].as_u64().unwrap_or(0) as usize;
        let off = offset_of(&text, line, col);
        let dir = path_of_uri(uri)
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default();
        (text, off, dir)
    }

    fn completion(&self, params: &Value) -> Value {
        let (text, off, dir) = self.at(params);
        let env = Env::scan(&text, &dir);
        let (_, items) = complete(&self.catalog, &env, &text[..off]);
        let items: Vec<Value> = items
            .into_iter()
            .map(|i| {
                let kind = match i.kind {
                    ItemKind::Function => 3,
                    ItemKind::Method => 2,
                    ItemKind::Variable => 6,
                    ItemKind::Keyword => 14,
                    ItemKind::OptionKey => 10,
                    ItemKind::Module => 9,
                    ItemKind::File => 17,
                };
                let doc = self.catalog.doc(&i.label, i.kind == ItemKind::Method).filter(|_| matches!(i.kind, ItemKind::Function | ItemKind::Method)).map(|d| d.doc.clone());
                let mut v = json!({"label": i.label, "kind": kind, "detail": i.detail, "insertText": i.insert});
                if let Some(d) = doc {
                    v["documentation"] = json!({"kind": "markdown", "value": d});
                }
                v
            })
            .collect();
        json!({"isIncomplete": false, "items": items})
    }

    /// Where the name under the cursor is defined: in this script, or for `alias::f` in the
    /// imported module's file (none for a module embedded in the binary).
    fn definition(&self, params: &Value) -> Value {
        let (text, off, dir) = self.at(params);
        let uri = params["textDocument"]["uri"].as_str().unwrap_or("");
        if let Some((alias, name)) = qualified_at(&text, off) {
            return match module_functions(&text, &alias, &dir) {
                Some((Some(file), module, fns)) => fns
                    .iter()
                    .find(|f| f.name == name)
                    .map(|f| json!({"uri": uri_of(&file), "range": range_of(&module, &f.at)}))
                    .unwrap_or(Value::Null),
                _ => Value::Null,
            };
        }
        match definition_at(&text, off) {
            Some(s) => json!({"uri": uri, "range": range_of(&text, &s.at)}),
            None => Value::Null,
        }
    }

    /// Every use of the name under the cursor in this script.
    fn references(&self, params: &Value) -> Value {
        let (text, off, _) = self.at(params);
        let uri = params["textDocument"]["uri"].as_str().unwrap_or("");
        let include_decl = params["context"]["includeDeclaration"]
            .as_bool()
            .unwrap_or(true);
        let decl = definition_at(&text, off).map(|s| s.at);
        let refs: Vec<Value> = references_at(&text, off)
            .into_iter()
            .filter(|r| include_decl || Some(r) != decl.as_ref())
            .map(|r| json!({"uri": uri, "range": range_of(&text, &r)}))
            .collect();
        Value::Array(refs)
    }

    /// The functions and top-level variables the script defines.
    fn document_symbols(&self, params: &Value) -> Value {
        let uri = params["textDocument"]["uri"].as_str().unwrap_or("");
        let text = self.docs.get(uri).cloned().unwrap_or_default();
        let list: Vec<Value> = symbols(&text)
            .into_iter()
            .map(|s| {
                let (kind, detail) = match s.kind {
                    SymbolKind::Function => (12, format!("fn {}({})", s.name, s.params.join(", "))),
                    SymbolKind::Variable | SymbolKind::Parameter => (13, String::new()),
                };
                json!({
                    "name": s.name,
                    "detail": detail,
                    "kind": kind,
                    "location": {"uri": uri, "range": range_of(&text, &s.at)}
                })
            })
            .collect();
        Value::Array(list)
    }

    fn hover(&self, params: &Value) -> Value {
        let (text, off, dir) = self.at(params);
        if let Some((alias, name)) = qualified_at(&text, off) {
            let Some(f) = module_functions(&text, &alias, &dir)
                .and_then(|(_, _, fns)| fns.into_iter().find(|f| f.name == name))
            else {
                return Value::Null;
            };
            let value = format!("```rhai\n{}\n```\n\n{}", f.qualified(&alias), f.doc);
            return json!({"contents": {"kind": "markdown", "value": value}});
        }
        let Some((s, e, method)) = word_at(&text, off) else {
            return Value::Null;
        };
        let word = &text[s..e];
        let env = Env::scan(&text, std::path::Path::new("."));
        let value = match describe(&self.catalog, &env, word, method) {
            Some(Description::Function(d)) => markdown(&d),
            Some(Description::Variable { name, type_name }) => match type_name {
                Some(t) => format!("```rhai\nlet {name}: {t}\n```"),
                None => format!("```rhai\nlet {name}\n```\n\nA variable of this script."),
            },
            None => return Value::Null,
        };
        json!({"contents": {"kind": "markdown", "value": value}})
    }

    fn signature_help(&self, params: &Value) -> Value {
        let (text, off, dir) = self.at(params);
        let Some(call) = call_context(&text[..off]) else {
            return Value::Null;
        };
        let (sigs, doc) = match &call.module {
            // `alias::f(`: the module's function, with its doc comment.
            Some(alias) => match module_functions(&text, alias, &dir)
                .and_then(|(_, _, fns)| fns.into_iter().find(|f| f.name == call.name))
            {
                Some(f) => (vec![f.qualified(alias)], f.doc),
                None => return Value::Null,
            },
            None => (
                self.catalog.signatures(&call.name, call.method),
                self.catalog
                    .doc(&call.name, call.method)
                    .map(|d| d.doc.clone())
                    .unwrap_or_default(),
            ),
        };
        if sigs.is_empty() {
            return Value::Null;
        }
        let sigs: Vec<Value> = sigs
            .iter()
            .map(|s| {
                let inner = s
                    .find('(')
                    .and_then(|a| s.rfind(')').map(|b| &s[a + 1..b]))
                    .unwrap_or("");
                let params: Vec<Value> = split_params(inner)
                    .into_iter()
                    .map(|p| json!({"label": p}))
                    .collect();
                json!({"label": s, "documentation": doc, "parameters": params})
            })
            .collect();
        let active = sigs
            .iter()
            .position(|s| {
                s["parameters"]
                    .as_array()
                    .is_some_and(|p| p.len() > call.arg_index)
            })
            .unwrap_or(0);
        json!({"signatures": sigs, "activeSignature": active, "activeParameter": call.arg_index})
    }
}

/// Splits a parameter list at top-level commas.
/// A function's description as the markdown an editor shows on hover.
fn markdown(d: &FnDoc) -> String {
    let mut md = format!("```rhai\n{}\n```\n\n{}", d.signatures.join("\n"), d.doc);
    if !d.options.is_empty() {
        md.push_str("\n\n**Options**\n");
        for o in &d.options {
            md.push_str(&format!(
                "\n- `{}` ({}, default `{}`): {}",
                o.name,
                o.type_label(),
                o.default,
                o.doc
            ));
            if !o.choices.is_empty() {
                md.push_str(&format!(" One of: {}.", o.choices.join(", ")));
            }
            if let Some(of) = &o.of {
                md.push_str(&format!(" Keys: the options of `{of}`."));
            }
        }
    }
    if !d.example.is_empty() {
        md.push_str(&format!("\n\n**Example**\n```rhai\n{}\n```", d.example));
    }
    md
}

fn split_params(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' | '[' | '{' | '<' => depth += 1,
            ')' | ']' | '}' | '>' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_convert_between_utf16_and_bytes() {
        let t = "ab\nλx = 1";
        assert_eq!(offset_of(t, 1, 1), 5);
        assert_eq!(offset_of(t, 1, 2), 6);
        assert_eq!(chars_to_utf16("😀a", 1), 2);
        assert_eq!(
            split_params("a: int, b: Map<K, V>"),
            vec!["a: int", "b: Map<K, V>"]
        );
        assert_eq!(
            path_of_uri("file:///tmp/a%20b/x.rhai"),
            PathBuf::from("/tmp/a b/x.rhai")
        );
    }
}
