//! The JSON sidecar of a saved network (`load_net`): a network within the memory budget or an
//! error, whatever the layer specs and shapes say (the weights file is absent or garbage).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::small_budget();
    // The sidecar JSON, a NUL byte, then the weights file.
    let cut = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (side, weights) = (&data[..cut], data.get(cut + 1..).unwrap_or(&[]));
    let path = common::input_file("net.json", side);
    common::input_file("net.safetensors", weights);
    let _ = telescope::models::Net::load(&path);
});
