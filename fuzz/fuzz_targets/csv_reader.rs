//! The CSV reader, on any bytes: it never panics, every record it yields has the
//! header's width, and it reads a whole file (errors included) without looping.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster_csv::CsvReader;

fuzz_target!(|bytes: &[u8]| {
    let Ok(reader) = CsvReader::from_bytes(bytes) else { return };
    let width = reader.header().names().len();
    let mut rows = 0_usize;
    for record in reader {
        rows += 1;
        assert!(rows <= bytes.len() + 1, "more records than bytes");
        if let Ok(record) = record {
            assert_eq!(record.cells().len(), width);
            for (index, _) in record.cells().iter().enumerate() {
                let cell = record.get(index).unwrap_or_default();
                assert_eq!(roster_csv::restore(&roster_csv::neutralize(cell)), cell);
            }
        }
    }
});
