//! SCIM filters: parsing never panics, and whatever parses prints to text that parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster_scim::Filter;

fuzz_target!(|text: &str| {
    if let Ok(filter) = Filter::parse(text) {
        let printed = filter.to_string();
        assert!(Filter::parse(&printed).is_ok(), "{text:?} printed as {printed:?}");
    }
});
