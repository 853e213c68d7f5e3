//! Text encodings of CSV and NDJSON input.
//!
//! Files exported from Excel in Vietnam arrive as UTF-16 (with a byte-order mark) or as
//! Windows-1258. Both are transcoded to UTF-8 while streaming. UTF-8 input passes through
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
    /// UTF-8, unless a byte-order mark says UTF-16.
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

    let target = match (bom, encoding) {
        (Some(found), _) => found,
        (None, TextEncoding::Auto) => encoding_rs::UTF_8,
        (None, TextEncoding::Named(named)) => named,
    };
    if target == encoding_rs::UTF_8 {
        // Pass UTF-8 through untouched, invalid bytes included: the parser rejects a bad row and
        // says where, instead of a decoder silently replacing its bytes.
        if head.starts_with(b"\xEF\xBB\xBF") {
            buffered.consume(3);
        }
        return Ok(TextStream { reader: Box::new(buffered), transcoded_from: None, position, total, crlf });
    }
    let decoder = DecodeReaderBytesBuilder::new()
        .encoding(Some(target))
        .bom_override(true)
        .strip_bom(true)
        .build(buffered);
    let transcoded_from = Some(target);
    Ok(TextStream { reader: Box::new(decoder), transcoded_from, position, total, crlf })
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
}
