//! Text encodings of CSV and NDJSON input.
//!
//! Files exported from Excel in Vietnam arrive as UTF-16 (with a byte-order mark or without) or
//! as Windows-1258. Both are transcoded to UTF-8 while streaming. With [`TextEncoding::Auto`],
//! the first 64 KiB decide: a byte-order mark, the zero bytes of UTF-16 text, or bytes that are
//! not UTF-8 but read as Vietnamese letters in Windows-1258. UTF-8 input passes through
//! untouched, invalid bytes included, so that a bad row is rejected by the parser with its
//! position instead of being silently repaired.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use encoding_rs::Encoding;
use encoding_rs_io::DecodeReaderBytesBuilder;

use crate::error::{Error, Result};

/// How the bytes of a text file are to be decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TextEncoding {
    /// Detected from the file's first bytes: a byte-order mark, UTF-16 without one (its zero
    /// bytes), Windows-1258 (bytes that are not UTF-8 but read as Vietnamese letters), or else
    /// UTF-8.
    #[default]
    Auto,
    /// A named encoding (`utf-8`, `utf-16le`, `utf-16be`, `windows-1258`...). A byte-order mark,
    /// when present, still wins.
    Named(&'static Encoding),
}

impl TextEncoding {
    /// Parses an encoding label as the WHATWG Encoding Standard knows them (`utf-8`, `utf-16`,
    /// `utf-16le`, `utf-16be`, `windows-1258`, `cp1258`, `latin1`...), or `auto`.
    pub fn from_label(label: &str) -> Option<TextEncoding> {
        if label.eq_ignore_ascii_case("auto") {
            return Some(TextEncoding::Auto);
        }
        Encoding::for_label(label.trim().as_bytes()).map(TextEncoding::Named)
    }
}

impl fmt::Display for TextEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextEncoding::Auto => f.write_str("auto"),
            TextEncoding::Named(encoding) => f.write_str(&encoding.name().to_ascii_lowercase()),
        }
    }
}

/// A byte stream of UTF-8 text (or of what claims to be), with what it was decoded from.
pub(crate) struct TextStream {
    pub reader: Box<dyn Read + Send>,
    /// The encoding transcoded from, when the file was not read as UTF-8.
    pub transcoded_from: Option<&'static Encoding>,
    /// Bytes of the file consumed so far, for progress reporting.
    pub position: Arc<AtomicU64>,
    /// The file's size in bytes.
    pub total: u64,
    /// Whether its first line ends with CR LF.
    pub crlf: bool,
    /// The encoding the file is read in, detected or given.
    pub encoding: &'static Encoding,
}

/// Opens a text file and sets up decoding to UTF-8.
pub(crate) fn open_text(path: &Path, encoding: TextEncoding) -> Result<TextStream> {
    let file = File::open(path).map_err(|e| Error::io(path, "open", e))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let position = Arc::new(AtomicU64::new(0));
    let counted = Counted { inner: file, position: Arc::clone(&position) };
    let mut buffered = BufReader::with_capacity(1 << 16, counted);
    let head = buffered.fill_buf().map_err(|e| Error::io(path, "read", e))?;
    let bom = Encoding::for_bom(head).map(|(encoding, _)| encoding);
    // The byte before the first line feed, skipping the zero bytes of UTF-16.
    let crlf = head
        .iter()
        .position(|&b| b == b'\n')
        .is_some_and(|newline| head[..newline].iter().rev().find(|&&b| b != 0) == Some(&b'\r'));

    let complete = (head.len() as u64) >= total;
    let target = match (bom, encoding) {
        (Some(found), _) => found,
        (None, TextEncoding::Auto) => sniff(head, complete),
        (None, TextEncoding::Named(named)) => named,
    };
    if target == encoding_rs::UTF_8 {
        // Pass UTF-8 through untouched, invalid bytes included: the parser rejects a bad row and
        // says where, instead of a decoder silently replacing its bytes.
        if head.starts_with(b"\xEF\xBB\xBF") {
            buffered.consume(3);
        }
        let reader = Box::new(buffered);
        return Ok(TextStream { reader, transcoded_from: None, position, total, crlf, encoding: target });
    }
    let decoder = DecodeReaderBytesBuilder::new()
        .encoding(Some(target))
        .bom_override(true)
        .strip_bom(true)
        .build(buffered);
    let transcoded_from = Some(target);
    Ok(TextStream { reader: Box::new(decoder), transcoded_from, position, total, crlf, encoding: target })
}

/// The encoding of a file without a byte-order mark, from its first bytes (`complete` when they
/// are the whole file).
pub(crate) fn sniff(head: &[u8], complete: bool) -> &'static Encoding {
    if let Some(utf16) = utf16_by_zero_bytes(head) {
        return utf16;
    }
    match std::str::from_utf8(head) {
        Ok(_) => encoding_rs::UTF_8,
        // Cut in the middle of a character at the end of the sample.
        Err(e) if e.error_len().is_none() && !complete => encoding_rs::UTF_8,
        Err(_) if reads_as_windows_1258(head) => encoding_rs::WINDOWS_1258,
        Err(_) => encoding_rs::UTF_8,
    }
}

/// UTF-16 without a byte-order mark: text that is mostly ASCII (digits, delimiters, unaccented
/// letters) has a zero byte in every other position, odd ones in little-endian, even ones in
/// big-endian. UTF-8 and Windows-1258 text has no zero bytes at all.
fn utf16_by_zero_bytes(head: &[u8]) -> Option<&'static Encoding> {
    let sample = &head[..head.len().min(4096) & !1];
    let pairs = sample.len() / 2;
    if pairs < 2 {
        return None;
    }
    let even = sample.iter().step_by(2).filter(|&&b| b == 0).count();
    let odd = sample.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
    let many = |count: usize| count * 10 >= pairs * 3;
    let few = |count: usize| count * 20 <= pairs;
    if many(odd) && few(even) {
        Some(encoding_rs::UTF_16LE)
    } else if many(even) && few(odd) {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    }
}

/// Whether bytes that are not valid UTF-8 are better read as Windows-1258: fewer of their
/// non-ASCII bytes form UTF-8 characters than fail to, and nearly every non-ASCII character that
/// Windows-1258 makes of them is a letter or a Vietnamese tone mark.
fn reads_as_windows_1258(head: &[u8]) -> bool {
    // Non-ASCII bytes inside valid UTF-8 characters, and bytes that are not UTF-8.
    let (mut valid, mut invalid) = (0usize, 0usize);
    let mut rest = head;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(text) => {
                valid += text.bytes().filter(|b| !b.is_ascii()).count();
                break;
            }
            Err(e) => {
                let good = &rest[..e.valid_up_to()];
                valid += good.iter().filter(|b| !b.is_ascii()).count();
                let bad = e.error_len().unwrap_or(rest.len() - e.valid_up_to());
                invalid += bad;
                rest = &rest[e.valid_up_to() + bad..];
            }
        }
    }
    if invalid <= valid {
        return false;
    }
    let (text, _) = encoding_rs::WINDOWS_1258.decode_without_bom_handling(head);
    let (mut letters, mut others) = (0usize, 0usize);
    for c in text.chars().filter(|c| !c.is_ascii()) {
        // Windows-1258 writes five tone marks as combining characters.
        let tone = matches!(c, '\u{300}' | '\u{301}' | '\u{303}' | '\u{309}' | '\u{323}');
        if c.is_alphabetic() || tone {
            letters += 1;
        } else {
            others += 1;
        }
    }
    letters >= 9 * others
}

/// Counts bytes read from the file, so that progress bars can show how far a read has come.
struct Counted<R> {
    inner: R,
    position: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.position.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(TextEncoding::from_label("AUTO"), Some(TextEncoding::Auto));
        assert_eq!(TextEncoding::from_label("cp1258"), Some(TextEncoding::Named(encoding_rs::WINDOWS_1258)));
        assert_eq!(TextEncoding::from_label("utf-16le"), Some(TextEncoding::Named(encoding_rs::UTF_16LE)));
        assert_eq!(TextEncoding::from_label("klingon"), None);
        assert_eq!(TextEncoding::Named(encoding_rs::WINDOWS_1258).to_string(), "windows-1258");
    }

    #[test]
    fn sniffing() {
        let text = "id,ho_ten,dia_chi\n1,Nguyễn Văn Đức,Thôn 2 xã Hòa Bình\n2,Trần Thị Ánh,Phường Bến Nghé\n";
        assert_eq!(sniff(text.as_bytes(), true), encoding_rs::UTF_8);
        // Windows-1258 keeps tone marks apart: ễ is ê (EA) and a combining tilde (DE).
        let cp1258 = b"id,ho_ten\r\n1,Nguy\xea\xden V\xe3n An\r\n2,Tr\xe2\xccn Thi\xf2 Bi\xccnh\r\n3,\xd0\xf4\xec Va\xecn\r\n";
        assert_eq!(sniff(cp1258, true), encoding_rs::WINDOWS_1258);
        // Bytes that are neither UTF-8 nor letters in Windows-1258 (C1 controls) stay UTF-8.
        assert_eq!(sniff(b"id,x\n1,\x81\x8d\x8f\x90\n", true), encoding_rs::UTF_8);
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(sniff(&le, true), encoding_rs::UTF_16LE);
        assert_eq!(sniff(&be, true), encoding_rs::UTF_16BE);
        // A UTF-8 file with one broken byte stays UTF-8: its bad row is rejected.
        let mut broken = text.as_bytes().to_vec();
        broken[25] = 0xFF;
        assert_eq!(sniff(&broken, true), encoding_rs::UTF_8);
        // A sample cut in the middle of a character.
        assert_eq!(sniff(&text.as_bytes()[..text.find('ễ').unwrap() + 1], false), encoding_rs::UTF_8);
        assert_eq!(sniff(b"", true), encoding_rs::UTF_8);
    }
}
