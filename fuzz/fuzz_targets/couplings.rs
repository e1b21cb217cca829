//! SK coupling files (`sk_load`, JSON `{"n", "J"}`): a model with finite couplings or an error.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::small_budget();
    let path = common::input_file("couplings.json", data);
    let _ = telescope::energy::sk_load(&path, 1.0);
});
