//! `.npy` arrays (`load_npy`, `load_npy_images`, coupling matrices): any bytes give values or
//! an error, never a panic or an allocation beyond the file.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::small_budget();
    let path = common::input_file("input.npy", data);
    if let Ok((values, shape)) = telescope::tensor_io::read_npy(&path) {
        assert_eq!(values.len(), shape.iter().product::<usize>());
    }
});
