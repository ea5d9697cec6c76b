//! SCIM PATCH paths and attribute paths: parsing never panics, and a parsed PATCH path
//! prints to text that parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster_scim::{AttrPath, PatchPath};

fuzz_target!(|text: &str| {
    let _ = AttrPath::parse(text);
    if let Ok(path) = PatchPath::parse(text) {
        let printed = path.to_string();
        assert!(PatchPath::parse(&printed).is_ok(), "{text:?} printed as {printed:?}");
    }
});
