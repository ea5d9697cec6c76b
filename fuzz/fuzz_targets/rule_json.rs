//! Rule JSON: reading never panics or overflows the stack, and whatever is read can be
//! written and read again (not always to the same tree: serde_json's default float
//! parsing may be one unit in the last place off for numbers of 16 or more digits).
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster_domain::rule::Rule;

fuzz_target!(|json: &str| {
    if let Ok(rule) = Rule::from_json(json) {
        let written = serde_json::to_string(&rule).unwrap_or_default();
        let _ = Rule::from_json(&written);
    }
});
