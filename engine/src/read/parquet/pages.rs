//! Page headers checked before the decoder sees them.
//!
//! A Parquet page header states how many bytes its page decompresses to, and the `parquet` crate
//! allocates that many bytes (and fills them with zeros) before it decompresses a byte
//! (apache/arrow-rs#10734). A 700-byte file whose header declares 2 GiB therefore costs 2 GiB of
//! memory and seconds of zeroing before it fails. This module walks the page headers of every
//! column chunk that will be read, without decompressing anything, and refuses a file whose
//! declared sizes cannot be right:
//!
//! - a page must lie inside its column chunk;
//! - a page cannot decompress to more than its whole column chunk does
//!   (`total_uncompressed_size`, which by the format counts every page of the chunk, headers
//!   included);
//! - a column chunk cannot declare more than [`MAX_EXPANSION`] times its compressed size plus
//!   [`EXPANSION_ALLOWANCE`]: no codec expands real pages that far, and the bound keeps what a
//!   small file can make the reader allocate small.
//!
//! The headers are Thrift structures in the compact protocol. Only fields 2 and 3 of `PageHeader`
//! (uncompressed and compressed size) are needed; every other field is skipped without being
//! allocated, nested structures to a fixed depth. The `thrift` crate would allocate a binary
//! field's declared length before reading it, the very thing this check is for, so the few
//! rules of the compact protocol that skipping needs are written out here.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

use parquet::file::metadata::{ColumnChunkMetaData, ParquetMetaData};

use crate::error::{Error, Result};

/// The largest expansion a column chunk may declare: uncompressed bytes per compressed byte.
pub(super) const MAX_EXPANSION: u64 = 4096;
/// Uncompressed bytes any column chunk may declare beyond [`MAX_EXPANSION`].
pub(super) const EXPANSION_ALLOWANCE: u64 = 256 << 20;
/// How deep structures inside a page header may nest before the header is refused.
const MAX_DEPTH: u32 = 16;

/// Checks the page headers of the given leaf columns in every row group of the file.
pub(super) fn check(path: &Path, file: &File, metadata: &ParquetMetaData, leaves: &[usize]) -> Result<()> {
    let file_len = file.metadata().map_err(|e| Error::io(path, "read the size of", e))?.len();
    let mut reader = BufReader::with_capacity(16 << 10, file);
    for (group, row_group) in metadata.row_groups().iter().enumerate() {
        for &leaf in leaves {
            let Some(chunk) = row_group.columns().get(leaf) else { continue };
            check_chunk(&mut reader, file_len, chunk).map_err(|message| {
                Error::format(
                    path,
                    Some(format!("row group {group}, column `{}`", chunk.column_path().string())),
                    message,
                )
            })?;
        }
    }
    Ok(())
}

fn check_chunk(
    reader: &mut BufReader<&File>,
    file_len: u64,
    chunk: &ColumnChunkMetaData,
) -> Result<(), String> {
    // `ColumnChunkMetaData::byte_range` panics on negative values; a damaged footer has them.
    let start = chunk.dictionary_page_offset().unwrap_or_else(|| chunk.data_page_offset());
    let (start, len) = match (u64::try_from(start), u64::try_from(chunk.compressed_size())) {
        (Ok(start), Ok(len)) => (start, len),
        _ => {
            return Err(format!(
                "the column chunk has a negative offset ({start}) or size ({})",
                chunk.compressed_size()
            ));
        }
    };
    let end = start.checked_add(len).filter(|&end| end <= file_len).ok_or_else(|| {
        format!("the column chunk (bytes {start} to {start}+{len}) runs past the end of the file ({file_len} bytes)")
    })?;
    let total = u64::try_from(chunk.uncompressed_size())
        .map_err(|_| format!("the column chunk declares a negative size ({})", chunk.uncompressed_size()))?;
    let bound = len.saturating_mul(MAX_EXPANSION).saturating_add(EXPANSION_ALLOWANCE);
    if total > bound {
        return Err(format!(
            "the column chunk declares {total} bytes uncompressed from {len} compressed, \
             more than any codec expands ({MAX_EXPANSION}x plus {EXPANSION_ALLOWANCE} bytes)"
        ));
    }
    reader.seek(SeekFrom::Start(start)).map_err(|e| format!("cannot seek to the column chunk ({e})"))?;
    let mut header = Header { reader, position: start, end };
    while header.position < end {
        let page_start = header.position;
        let (uncompressed, compressed) =
            header.page_sizes().map_err(|e| format!("page at byte {page_start}: {e}"))?;
        let body_end =
            header.position.checked_add(compressed).filter(|&body_end| body_end <= end).ok_or_else(|| {
                format!(
                    "page at byte {page_start}: its {compressed} bytes run past the end of the column chunk"
                )
            })?;
        if uncompressed > total {
            return Err(format!(
                "page at byte {page_start}: it declares {uncompressed} bytes uncompressed, \
                 more than the {total} of its whole column chunk"
            ));
        }
        header.skip(body_end - header.position)?;
    }
    Ok(())
}

/// A Thrift compact-protocol reader over the bytes of one column chunk.
struct Header<'a, 'f> {
    reader: &'a mut BufReader<&'f File>,
    position: u64,
    end: u64,
}

/// Compact-protocol type codes (the low nibble of a field header).
mod kind {
    pub const STOP: u8 = 0;
    pub const TRUE: u8 = 1;
    pub const FALSE: u8 = 2;
    pub const BYTE: u8 = 3;
    pub const I16: u8 = 4;
    pub const I32: u8 = 5;
    pub const I64: u8 = 6;
    pub const DOUBLE: u8 = 7;
    pub const BINARY: u8 = 8;
    pub const LIST: u8 = 9;
    pub const SET: u8 = 10;
    pub const MAP: u8 = 11;
    pub const STRUCT: u8 = 12;
}

impl Header<'_, '_> {
    /// Reads one `PageHeader` and returns its uncompressed and compressed page sizes.
    fn page_sizes(&mut self) -> Result<(u64, u64), String> {
        let (mut uncompressed, mut compressed) = (None, None);
        let mut field = 0i16;
        while let Some((id, kind)) = self.next_field(field)? {
            field = id;
            match (field, kind) {
                (2, kind::I32) => uncompressed = Some(self.size("uncompressed size")?),
                (3, kind::I32) => compressed = Some(self.size("compressed size")?),
                _ => self.skip_value(kind, 0)?,
            }
        }
        match (uncompressed, compressed) {
            (Some(uncompressed), Some(compressed)) => Ok((uncompressed, compressed)),
            _ => Err("a page header without its sizes".to_owned()),
        }
    }

    /// The id and type of a structure's next field (its id a delta from `last`, or written out),
    /// `None` at the structure's end.
    fn next_field(&mut self, last: i16) -> Result<Option<(i16, u8)>, String> {
        let byte = self.byte()?;
        let kind = byte & 0x0f;
        if kind == kind::STOP {
            return Ok(None);
        }
        let id = match byte >> 4 {
            0 => i16::try_from(self.zigzag()?).map_err(|_| "a field id out of range".to_owned())?,
            delta => last.checked_add(i16::from(delta)).ok_or("a field id out of range")?,
        };
        Ok(Some((id, kind)))
    }

    fn size(&mut self, what: &str) -> Result<u64, String> {
        let value = self.zigzag()?;
        if !(0..=i64::from(i32::MAX)).contains(&value) {
            return Err(format!("a page header with {what} {value}"));
        }
        Ok(value as u64)
    }

    fn skip_value(&mut self, kind: u8, depth: u32) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("a page header nested deeper than {MAX_DEPTH} levels"));
        }
        match kind {
            kind::TRUE | kind::FALSE => {}
            kind::BYTE => self.skip(1)?,
            kind::I16 | kind::I32 | kind::I64 => {
                self.varint()?;
            }
            kind::DOUBLE => self.skip(8)?,
            kind::BINARY => {
                let len = self.varint()?;
                self.skip(len)?;
            }
            kind::LIST | kind::SET => {
                let byte = self.byte()?;
                let count = match byte >> 4 {
                    15 => self.varint()?,
                    count => u64::from(count),
                };
                for _ in 0..count {
                    self.skip_element(byte & 0x0f, depth + 1)?;
                }
            }
            kind::MAP => {
                let count = self.varint()?;
                if count > 0 {
                    let kinds = self.byte()?;
                    for _ in 0..count {
                        self.skip_element(kinds >> 4, depth + 1)?;
                        self.skip_element(kinds & 0x0f, depth + 1)?;
                    }
                }
            }
            kind::STRUCT => {
                let mut field = 0;
                while let Some((id, kind)) = self.next_field(field)? {
                    field = id;
                    self.skip_value(kind, depth + 1)?;
                }
            }
            other => return Err(format!("a page header with an unknown Thrift type {other}")),
        }
        Ok(())
    }

    /// Skips an element of a list, set or map: as a value, but a boolean takes a byte there.
    fn skip_element(&mut self, kind: u8, depth: u32) -> Result<(), String> {
        match kind {
            kind::TRUE | kind::FALSE => self.skip(1),
            _ => self.skip_value(kind, depth),
        }
    }

    fn byte(&mut self) -> Result<u8, String> {
        if self.position >= self.end {
            return Err("a page header cut off by the end of its column chunk".to_owned());
        }
        let buffer = self.reader.fill_buf().map_err(|e| format!("cannot read a page header ({e})"))?;
        let &byte = buffer.first().ok_or("a page header cut off by the end of the file")?;
        self.reader.consume(1);
        self.position += 1;
        Ok(byte)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a page header with a malformed number".to_owned())
    }

    fn zigzag(&mut self) -> Result<i64, String> {
        let value = self.varint()?;
        Ok((value >> 1) as i64 ^ -((value & 1) as i64))
    }

    /// Moves `len` bytes on, within the column chunk, without reading them.
    fn skip(&mut self, len: u64) -> Result<(), String> {
        if len > self.end - self.position {
            return Err("a page header cut off by the end of its column chunk".to_owned());
        }
        let offset = i64::try_from(len).map_err(|_| "a page header with a length out of range".to_owned())?;
        self.reader
            .seek_relative(offset)
            .map_err(|e| format!("cannot seek within the column chunk ({e})"))?;
        self.position += len;
        Ok(())
    }
}
