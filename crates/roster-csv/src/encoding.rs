//! Text encodings: detection from the first bytes, and streaming decoding into UTF-8.
//!
//! A byte order mark decides UTF-8, UTF-16 LE or UTF-16 BE. Without one, plain ASCII
//! leaves the question open; the first chunk holding other bytes decides UTF-8 if they
//! are valid UTF-8 and Windows-1252 otherwise. As everything before was ASCII, which both
//! encodings read the same way, nothing decoded so far changes.

use std::fmt;
use std::io::{self, Read};

use encoding_rs::{Decoder, DecoderResult, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

use crate::error::CsvError;

/// How many bytes are read at a time; the first chunk also decides encoding and binary.
const CHUNK_BYTES: usize = 64 * 1024;

/// Above one control character in this many characters, the input is binary.
const CONTROL_CHARACTER_RATIO: usize = 20;

/// A text encoding this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8, with or without a byte order mark (also plain ASCII).
    Utf8,
    /// UTF-16 little endian, with a byte order mark (Excel's "Unicode text").
    Utf16Le,
    /// UTF-16 big endian, with a byte order mark.
    Utf16Be,
    /// Windows-1252 (Western European), for files that are not valid UTF-8.
    Windows1252,
}

impl Encoding {
    fn decoder(self) -> Decoder {
        let encoding = match self {
            Self::Utf8 => UTF_8,
            Self::Utf16Le => UTF_16LE,
            Self::Utf16Be => UTF_16BE,
            Self::Windows1252 => WINDOWS_1252,
        };
        encoding.new_decoder_with_bom_removal()
    }

    /// The encoding a byte order mark at the start of `bytes` announces.
    fn from_bom(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [0xEF, 0xBB, 0xBF, ..] => Some(Self::Utf8),
            [0xFF, 0xFE, ..] => Some(Self::Utf16Le),
            [0xFE, 0xFF, ..] => Some(Self::Utf16Be),
            _ => None,
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Utf8 => "UTF-8",
            Self::Utf16Le => "UTF-16 LE",
            Self::Utf16Be => "UTF-16 BE",
            Self::Windows1252 => "Windows-1252",
        })
    }
}

/// What a call to decode produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// Text was appended; there may be more.
    Text,
    /// The input is exhausted and fully decoded.
    End,
    /// The text before some invalid bytes was appended; decoding cannot go on.
    Malformed,
}

/// What the bytes seen so far say about an input without byte order mark.
enum Sniff {
    /// Only ASCII so far: still undecided.
    Ascii,
    /// The bytes end in the middle of what may be a UTF-8 sequence: read more.
    NeedMore,
    /// Decided.
    Is(Encoding),
}

fn sniff(bytes: &[u8], at_eof: bool) -> Sniff {
    match std::str::from_utf8(bytes) {
        Ok(_) if bytes.is_ascii() => Sniff::Ascii,
        Ok(_) => Sniff::Is(Encoding::Utf8),
        Err(error) if error.error_len().is_some() || at_eof => Sniff::Is(Encoding::Windows1252),
        Err(error) if bytes[..error.valid_up_to()].is_ascii() => Sniff::NeedMore,
        Err(_) => Sniff::Is(Encoding::Utf8),
    }
}

/// Whether decoded text looks like text: no NUL and few control characters.
fn looks_like_text(text: &str) -> bool {
    let mut characters = 0;
    let mut controls = 0;
    for c in text.chars() {
        if c == '\0' {
            return false;
        }
        characters += 1;
        if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
            controls += 1;
        }
    }
    controls * CONTROL_CHARACTER_RATIO <= characters
}

/// Reads bytes from `R` a chunk at a time and decodes them into UTF-8 text.
#[derive(Debug)]
pub(crate) struct TextDecoder<R> {
    input: R,
    raw: Vec<u8>,
    decoder: Decoder,
    encoding: Encoding,
    /// False while no byte order mark and only ASCII has been seen.
    settled: bool,
    at_eof: bool,
    finished: bool,
}

impl<R: Read> TextDecoder<R> {
    /// Reads the first chunk, detects its encoding, refuses binary input and appends
    /// the chunk's text to `text`.
    pub(crate) fn start(input: R, text: &mut String) -> Result<(Self, Decoded), CsvError> {
        let mut this = Self {
            input,
            raw: Vec::with_capacity(CHUNK_BYTES),
            decoder: UTF_8.new_decoder_without_bom_handling(),
            encoding: Encoding::Utf8,
            settled: false,
            at_eof: false,
            finished: false,
        };
        while this.raw.len() < CHUNK_BYTES && !this.at_eof {
            this.read_more(CHUNK_BYTES - this.raw.len())?;
        }
        if let Some(encoding) = Encoding::from_bom(&this.raw) {
            this.settle(encoding);
        }
        let decoded = this.decode_raw(text)?;
        if !looks_like_text(text) {
            return Err(CsvError::NotText);
        }
        Ok((this, decoded))
    }

    /// The encoding used so far (an ASCII start reads as UTF-8 until other bytes decide).
    pub(crate) fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Reads the next chunk and appends its text to `text`.
    pub(crate) fn fill(&mut self, text: &mut String) -> io::Result<Decoded> {
        if self.finished {
            return Ok(Decoded::End);
        }
        self.raw.clear();
        self.read_more(CHUNK_BYTES)?;
        self.decode_raw(text)
    }

    /// Appends at most `limit` bytes from the input to `raw`, noting the end of input.
    fn read_more(&mut self, limit: usize) -> io::Result<()> {
        let start = self.raw.len();
        self.raw.resize(start + limit, 0);
        let read = loop {
            match self.input.read(&mut self.raw[start..]) {
                Ok(read) => break read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    self.raw.truncate(start);
                    return Err(error);
                }
            }
        };
        self.raw.truncate(start + read);
        self.at_eof = read == 0;
        Ok(())
    }

    fn settle(&mut self, encoding: Encoding) {
        self.encoding = encoding;
        self.decoder = encoding.decoder();
        self.settled = true;
    }

    /// Decodes `raw` (all of it, or up to invalid bytes) into `text`.
    fn decode_raw(&mut self, text: &mut String) -> io::Result<Decoded> {
        while !self.settled {
            match sniff(&self.raw, self.at_eof) {
                Sniff::Ascii => break,
                Sniff::NeedMore => self.read_more(CHUNK_BYTES)?,
                Sniff::Is(encoding) => self.settle(encoding),
            }
        }
        let last = self.at_eof;
        let mut src = self.raw.as_slice();
        loop {
            let room = self.decoder.max_utf8_buffer_length_without_replacement(src.len()).unwrap_or(src.len());
            text.reserve(room);
            let (result, read) = self.decoder.decode_to_string_without_replacement(src, text, last);
            src = &src[read..];
            match result {
                DecoderResult::OutputFull => {}
                DecoderResult::InputEmpty if last => {
                    self.finished = true;
                    return Ok(Decoded::End);
                }
                DecoderResult::InputEmpty => return Ok(Decoded::Text),
                DecoderResult::Malformed(..) => {
                    self.finished = true;
                    return Ok(Decoded::Malformed);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> Result<(Encoding, String, Decoded), CsvError> {
        let mut text = String::new();
        let (mut decoder, mut decoded) = TextDecoder::start(bytes, &mut text)?;
        while decoded == Decoded::Text {
            decoded = decoder.fill(&mut text)?;
        }
        Ok((decoder.encoding(), text, decoded))
    }

    #[test]
    fn byte_order_marks_decide_and_are_removed() {
        let cases: [(&[u8], Encoding); 3] = [
            (b"\xEF\xBB\xBFZo\xC3\xAB", Encoding::Utf8),
            (b"\xFF\xFEZ\0o\0\xEB\0", Encoding::Utf16Le),
            (b"\xFE\xFF\0Z\0o\0\xEB", Encoding::Utf16Be),
        ];
        for (bytes, expected) in cases {
            let (encoding, text, decoded) = decode_all(bytes).unwrap();
            assert_eq!((encoding, text.as_str(), decoded), (expected, "Zoë", Decoded::End));
        }
    }

    #[test]
    fn invalid_utf8_without_bom_is_windows_1252() {
        let (encoding, text, _) = decode_all(b"M\xFCller;Jos\xE9;\x80").unwrap();
        assert_eq!(encoding, Encoding::Windows1252);
        assert_eq!(text, "Müller;José;€");
    }

    #[test]
    fn valid_utf8_without_bom_is_utf8() {
        let (encoding, text, _) = decode_all("Müller".as_bytes()).unwrap();
        assert_eq!((encoding, text.as_str()), (Encoding::Utf8, "Müller"));
    }

    #[test]
    fn a_truncated_utf8_sequence_at_the_end_is_windows_1252() {
        let (encoding, text, _) = decode_all(b"abc\xC3").unwrap();
        assert_eq!((encoding, text.as_str()), (Encoding::Windows1252, "abcÃ"));
    }

    #[test]
    fn windows_1252_after_a_long_ascii_start_is_still_detected() {
        let mut bytes = vec![b'a'; CHUNK_BYTES * 2 + 7];
        bytes.extend_from_slice(b"Zo\xEB");
        let (encoding, text, decoded) = decode_all(&bytes).unwrap();
        assert_eq!((encoding, decoded), (Encoding::Windows1252, Decoded::End));
        assert!(text.ends_with("aZoë"));
    }

    #[test]
    fn invalid_bytes_after_utf8_was_decided_stop_decoding() {
        let mut bytes = "é".as_bytes().to_vec();
        bytes.extend(vec![b'a'; CHUNK_BYTES]);
        bytes.extend_from_slice(b"bc\xFFdef");
        let (encoding, text, decoded) = decode_all(&bytes).unwrap();
        assert_eq!((encoding, decoded), (Encoding::Utf8, Decoded::Malformed));
        assert!(text.ends_with("abc"));
    }

    #[test]
    fn nul_bytes_or_many_control_characters_are_not_text() {
        assert!(matches!(decode_all(b"a,b\0c"), Err(CsvError::NotText)));
        assert!(matches!(decode_all(b"ab\x01\x02\x03\x04"), Err(CsvError::NotText)));
        assert!(decode_all(b"one vertical\x0Btab in a long enough line of text").is_ok());
    }
}
