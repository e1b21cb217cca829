//! The language server's framing: any byte stream yields frames until its end, never a panic,
//! a huge allocation or a loop that stops consuming input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = std::io::Cursor::new(data);
    let mut frames = 0usize;
    while let Ok(Some(_)) = telescope::repl::lsp::read_message(&mut input) {
        frames += 1;
        assert!(frames <= data.len() + 1, "frames without consuming input");
    }
});
