//! Rule text: parsing and checking never panic, and whatever parses prints to text
//! that parses back to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster_domain::rule::{compile_text, parse, Catalog};

fuzz_target!(|text: &str| {
    if let Ok(rule) = parse(text) {
        assert_eq!(parse(&rule.to_string()), Ok(rule));
    }
    let catalog = Catalog {
        courses: vec!["DRV-101".into()],
        branches: vec!["EMEA".into()],
        groups: vec![(1, "Drivers".into())],
        ..Catalog::default()
    };
    let _ = compile_text(text, &catalog);
});
