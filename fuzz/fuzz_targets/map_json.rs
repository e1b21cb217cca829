//! Saved maps (`load_map`): any text loads a consistent map or gives an error.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::small_budget();
    let path = common::input_file("map.json", data);
    if let Ok(map) = telescope::landscape::map::LandscapeMap::load(&path) {
        map.check().expect("a loaded map is consistent");
    }
});
