//! Inputs larger than one chunk: binary refusal, chunk boundaries, late encoding news,
//! and cells that never end.

use std::io::{self, Read};

use roster_csv::{CsvError, CsvReader, CsvWriter, Encoding};

use crate::{cells, encode, read_table, OneByteAtATime, Table};

const MIB: u64 = 1024 * 1024;

/// Pseudo-random bytes (xorshift), counting how many were read.
struct RandomBytes {
    state: u64,
    remaining: u64,
    read: u64,
}

impl Read for RandomBytes {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len().min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        for byte in &mut buf[..len] {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            *byte = self.state.to_le_bytes()[0];
        }
        self.remaining -= len as u64;
        self.read += len as u64;
        Ok(len)
    }
}

#[test]
fn random_bytes_are_refused_from_the_first_chunk() {
    let mut input = RandomBytes { state: 0x9E37_79B9_7F4A_7C15, remaining: 100 * MIB, read: 0 };
    let error = CsvReader::new(&mut input).map(|_| ()).unwrap_err();
    assert!(error.to_string().starts_with("the file is not a CSV text file ("), "{error}");
    assert!(input.read <= 64 * 1024, "read {} bytes", input.read);
}

/// A file of several chunks, as `CsvWriter` writes it, and the table it holds.
fn large_file() -> (String, Table) {
    let header = cells(&["username", "name", "note"]);
    let mut writer = CsvWriter::new(Vec::new()).unwrap();
    writer.write_row(&header).unwrap();
    let mut records = Vec::new();
    for i in 0..4000 {
        let note = if i % 7 == 0 { format!("said \"hi\", twice\r\non line {i}") } else { format!("note {i}") };
        let row = vec![format!("user{i}"), format!("Zoë Müller-José {i}"), note];
        writer.write_row(&row).unwrap();
        records.push((i + 2, row));
    }
    let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
    (text, Table { header, records })
}

#[test]
fn every_chunk_boundary_reads_the_same_in_every_encoding() {
    let (text, expected) = large_file();
    let without_bom = text.trim_start_matches('\u{feff}');
    for (text, encoding) in [
        (text.as_str(), Encoding::Utf8),
        (without_bom, Encoding::Utf8),
        (without_bom, Encoding::Utf16Le),
        (without_bom, Encoding::Utf16Be),
        (without_bom, Encoding::Windows1252),
    ] {
        let bytes = encode(text, encoding);
        assert!(bytes.len() > 2 * 64 * 1024);
        assert_eq!(read_table(bytes.as_slice()).unwrap(), expected, "{encoding}");
        assert_eq!(read_table(OneByteAtATime(&bytes)).unwrap(), expected, "{encoding} byte by byte");
    }
}

/// `count` identical plain ASCII rows, for pushing something past the first chunk.
fn ascii_rows(count: usize) -> Vec<u8> {
    b"ann,Lyon\r\n".repeat(count)
}

#[test]
fn windows_1252_accents_after_the_first_chunk_are_read() {
    let mut bytes = b"name,city\r\n".to_vec();
    bytes.extend(ascii_rows(8000));
    bytes.extend_from_slice(b"Zo\xEB,M\xFCnchen\r\n");
    let mut reader = CsvReader::from_bytes(&bytes).unwrap();
    assert_eq!(reader.encoding(), Encoding::Utf8);
    let last = reader.by_ref().last().unwrap().unwrap();
    assert_eq!((last.row(), last.cells()), (8002, &cells(&["Zoë", "München"])[..]));
    assert_eq!(reader.encoding(), Encoding::Windows1252);
}

#[test]
fn invalid_utf8_after_the_first_chunk_names_the_row_and_ends_reading() {
    let mut bytes = "name,city\r\nZoë,Paris\r\n".as_bytes().to_vec();
    bytes.extend(ascii_rows(8000));
    bytes.extend_from_slice(b"bad\xFF,Nice\r\nlast,Lille\r\n");
    let results: Vec<_> = CsvReader::from_bytes(&bytes).unwrap().collect();
    assert_eq!(results.len(), 8002);
    assert!(results[..8001].iter().all(Result::is_ok));
    let error = results[8001].as_ref().unwrap_err();
    assert!(matches!(error, CsvError::InvalidEncoding { row: 8003, encoding: Encoding::Utf8 }));
    assert_eq!(
        error.to_string(),
        "row 8003 contains bytes that are not valid UTF-8 text; save the file as \"CSV UTF-8\" and try again"
    );
}

#[test]
fn a_quote_that_never_closes_is_cut_at_the_cell_limit() {
    let input = io::Cursor::new(b"username,note\r\nann,\"".to_vec()).chain(io::repeat(b'y').take(8 * MIB));
    let results: Vec<_> = CsvReader::new(input).unwrap().collect();
    assert_eq!(results.len(), 1);
    match &results[0] {
        Err(CsvError::CellTooLong { row: 2, column }) => {
            assert_eq!((column.number, column.name.as_deref()), (2, Some("note")));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_first_accent_split_across_reads_is_decided_once_whole() {
    let cases: [(&[u8], Encoding); 2] = [(b"Zo\xC3\xAB", Encoding::Utf8), (b"Zo\xEB", Encoding::Windows1252)];
    for (name, encoding) in cases {
        let mut bytes = b"name,city\r\n".to_vec();
        bytes.extend(ascii_rows(8000));
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(b",Nice\r\n");
        let mut reader = CsvReader::new(OneByteAtATime(&bytes)).unwrap();
        let last = reader.by_ref().last().unwrap().unwrap();
        assert_eq!(last.cells(), cells(&["Zoë", "Nice"]), "{encoding}");
        assert_eq!(reader.encoding(), encoding);
    }
}
