//! What a reader finds out for itself: the encoding and delimiter of a file, and a read that
//! rejects too many rows, which fails naming the likely cause. Files are generated here, from
//! synthetic rows.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use khop::ErrorKind;
use khop::config::detect::detect_file;
use khop::config::{Config, InitInput, render_config};
use khop::read::{ReadOptions, ReadStats, Reader, TextColumn, TextEncoding};
use unicode_normalization::UnicodeNormalization;

const FAMILY: [&str; 6] = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Đặng"];
const MIDDLE: [&str; 4] = ["Văn", "Thị", "Hữu", "Ngọc"];
const GIVEN: [&str; 6] = ["An", "Bình", "Phúc", "Dũng", "Hương", "Đức"];

/// Synthetic rows: id, full name, address (with commas), national id.
fn rows(count: usize) -> Vec<[String; 4]> {
    (0..count)
        .map(|i| {
            let name = format!("{} {} {}", FAMILY[i % 6], MIDDLE[i % 4], GIVEN[(i / 6) % 6]);
            let address = format!("Thôn {}, xã Hòa Bình, huyện Phú Giáo", i % 9 + 1);
            [format!("{}", i + 1), name, address, format!("{:012}", 1_090_000_000 + i)]
        })
        .collect()
}

const HEADER: [&str; 4] = ["id", "ho_ten", "dia_chi", "so_cccd"];

/// A delimited text of `rows`, quoting the addresses when the delimiter is a comma.
fn delimited(rows: &[[String; 4]], delimiter: char) -> String {
    let mut text = HEADER.join(&delimiter.to_string());
    text.push_str("\r\n");
    for row in rows {
        let address = if delimiter == ',' { format!("\"{}\"", row[2]) } else { row[2].clone() };
        let fields = [row[0].clone(), row[1].clone(), address, row[3].clone()];
        text.push_str(&fields.join(&delimiter.to_string()));
        text.push_str("\r\n");
    }
    text
}

/// Vowel marks composed (â, ơ...), tone marks apart, as Windows-1258 writes Vietnamese.
fn windows_1258(text: &str) -> Vec<u8> {
    const TONES: [char; 5] = ['\u{300}', '\u{301}', '\u{303}', '\u{309}', '\u{323}'];
    let mut apart = String::new();
    for c in text.chars() {
        let parts: Vec<char> = c.to_string().nfd().collect();
        let base: String = parts.iter().filter(|p| !TONES.contains(p)).collect::<String>().nfc().collect();
        apart.push_str(&base);
        apart.extend(parts.iter().filter(|p| TONES.contains(p)));
    }
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1258.encode(&apart);
    assert!(!unmappable, "every letter has a Windows-1258 form");
    bytes.into_owned()
}

fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
    text.encode_utf16().flat_map(|u| if little_endian { u.to_le_bytes() } else { u.to_be_bytes() }).collect()
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Everything read: column names, rows (NFC), stats; or the error.
struct Read {
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    stats: ReadStats,
    detected: khop::read::Detected,
}

fn read_file(path: &Path, options: &ReadOptions) -> (khop::Result<Read>, ReadStats) {
    let mut reader = match Reader::open(path, options) {
        Ok(reader) => reader,
        Err(e) => return (Err(e), ReadStats::default()),
    };
    let columns = reader.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut out = Vec::new();
    let mut failure = None;
    for batch in &mut reader {
        match batch {
            Ok(batch) => {
                for row in 0..batch.records.num_rows() {
                    out.push(
                        batch
                            .records
                            .columns()
                            .iter()
                            .map(|a| {
                                TextColumn::new(a.as_ref()).unwrap().get(row).unwrap_or("").nfc().collect()
                            })
                            .collect(),
                    );
                }
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let stats = reader.stats();
    assert_eq!(stats.rows_read, stats.rows_passed + stats.rows_rejected, "every row is accounted for");
    match failure {
        Some(e) => (Err(e), stats),
        None => (Ok(Read { columns, rows: out, stats, detected: reader.detected() }), stats),
    }
}

fn expected(rows: &[[String; 4]]) -> Vec<Vec<String>> {
    rows.iter().map(|r| r.to_vec()).collect()
}

#[test]
fn utf16_without_a_byte_order_mark_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let data = rows(40);
    for (little_endian, label) in [(true, "utf-16le"), (false, "utf-16be")] {
        let path = write(dir.path(), &format!("{label}.csv"), utf16(&delimited(&data, ','), little_endian));
        let (result, _) = read_file(&path, &ReadOptions::default());
        let read = result.unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(read.columns, HEADER, "{label}: no zero bytes in the column names");
        assert_eq!(read.rows, expected(&data), "{label}");
        assert_eq!(read.detected.encoding.map(|e| e.to_string()).as_deref(), Some(label));

        // NDJSON too.
        let mut ndjson = String::new();
        for row in &data {
            ndjson.push_str(&format!("{{\"id\":\"{}\",\"ho_ten\":\"{}\"}}\n", row[0], row[1]));
        }
        let path = write(dir.path(), &format!("{label}.ndjson"), utf16(&ndjson, little_endian));
        let read = read_file(&path, &ReadOptions::default()).0.unwrap();
        assert_eq!(read.columns, ["id", "ho_ten"], "{label}");
        assert_eq!(read.stats.rows_passed, 40, "{label}");
    }
}

#[test]
fn windows_1258_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let data = rows(811);
    let path = write(dir.path(), "cp1258.csv", windows_1258(&delimited(&data, ',')));
    let read = read_file(&path, &ReadOptions::default()).0.unwrap();
    assert_eq!(read.rows, expected(&data));
    assert_eq!(read.stats.rows_rejected, 0);
    assert_eq!(read.detected.encoding, Some(TextEncoding::Named(encoding_rs::WINDOWS_1258)));

    // A UTF-8 file stays UTF-8.
    let path = write(dir.path(), "utf8.csv", delimited(&data, ','));
    let read = read_file(&path, &ReadOptions::default()).0.unwrap();
    assert_eq!(read.detected.encoding, Some(TextEncoding::Named(encoding_rs::UTF_8)));
    assert_eq!(read.rows, expected(&data));
}

#[test]
fn the_delimiter_is_detected_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let data = rows(30);
    for delimiter in [';', '\t', '|', ','] {
        let path = write(dir.path(), "x.txt", delimited(&data, delimiter));
        let read = read_file(&path, &ReadOptions::default()).0.unwrap();
        assert_eq!(read.detected.delimiter, Some(delimiter as u8), "{delimiter:?}");
        assert_eq!(read.columns, HEADER, "{delimiter:?}");
        assert_eq!(read.rows, expected(&data), "{delimiter:?}");
    }
    // Windows-1258 and semicolons at once.
    let path = write(dir.path(), "both.csv", windows_1258(&delimited(&data, ';')));
    let read = read_file(&path, &ReadOptions::default()).0.unwrap();
    assert_eq!(read.detected.delimiter, Some(b';'));
    assert_eq!(read.rows, expected(&data));
    // A delimiter given is used as given.
    let path = write(dir.path(), "semi.csv", delimited(&data, ';'));
    let options = ReadOptions { delimiter: Some(b','), ..ReadOptions::default() };
    let (message, cause, _, _, _) = too_many(read_file(&path, &options).0);
    assert!(
        cause.starts_with("delimiter: the header has a single field where 30 rows have more"),
        "{message}"
    );
}

/// The error of a read, with its kind's fields.
fn too_many(result: khop::Result<Read>) -> (String, String, Vec<String>, u64, u64) {
    let error = match result {
        Ok(read) => panic!("expected too many rejected rows, read {:?}", read.stats),
        Err(e) => e,
    };
    let message = error.to_string();
    match error.kind() {
        ErrorKind::TooManyRejected { likely_cause, first_reasons, rows_read, rows_rejected, .. } => {
            (message, likely_cause.clone(), first_reasons.clone(), *rows_read, *rows_rejected)
        }
        other => panic!("expected TooManyRejected, got {other:?}: {message}"),
    }
}

#[test]
fn the_wrong_encoding_fails_the_read() {
    let dir = tempfile::tempdir().unwrap();
    // 811 rows, 748 of them with Vietnamese letters: Windows-1258 read as UTF-8.
    let mut data = rows(811);
    for row in data.iter_mut().skip(748) {
        row[1] = "Le Van An".into();
        row[2] = "Thon 1, xa Hoa Binh".into();
    }
    let path = write(dir.path(), "cp1258.csv", windows_1258(&delimited(&data, ',')));
    let options = ReadOptions {
        encoding: TextEncoding::Named(encoding_rs::UTF_8),
        batch_size: 100_000,
        ..ReadOptions::default()
    };
    let (message, cause, first, rows_read, rows_rejected) = too_many(read_file(&path, &options).0);
    assert_eq!((rows_read, rows_rejected), (811, 748), "{message}");
    assert!(cause.starts_with("encoding: 748 rows are not valid utf-8"), "{cause}");
    assert!(message.contains("748 of 811 rows rejected, more than the 5% allowed"), "{message}");
    assert_eq!(first.len(), 5);
    assert!(first[0].starts_with("row 1 (line 2), column `ho_ten`: invalid UTF-8 at byte"), "{first:?}");
    for value in ["Nguy", "Thôn", "1090000000"] {
        assert!(!message.contains(value), "the message holds no value: {message}");
    }
    // The same file read with the share check off reads, rejecting what it must.
    let options = ReadOptions { max_rejected_share: None, ..options };
    let (result, stats) = read_file(&path, &options);
    assert!(result.is_ok());
    assert_eq!((stats.rows_passed, stats.rows_rejected), (63, 748));
}

#[test]
fn a_trailing_delimiter_fails_the_read() {
    let dir = tempfile::tempdir().unwrap();
    let data = rows(50);
    let text: String = delimited(&data, ',')
        .lines()
        .enumerate()
        .map(|(i, line)| if i == 0 { format!("{line}\n") } else { format!("{line},\n") })
        .collect();
    let path = write(dir.path(), "trailing.csv", text);
    for options in [ReadOptions::default(), ReadOptions { delimiter: Some(b','), ..ReadOptions::default() }] {
        let (message, cause, first, _, rejected) = too_many(read_file(&path, &options).0);
        assert_eq!(rejected, 50);
        assert!(
            cause.starts_with("trailing delimiter: 50 rows have one field more than the header's 4"),
            "{cause}"
        );
        assert_eq!(first[0], "row 1 (line 2): expected 4 fields, found 5", "{message}");
    }
}

#[test]
fn rows_of_one_field_blame_the_delimiter() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = rows(50);
    for row in &mut data {
        row[2] = "Thôn 1 xã Hòa Bình".into();
    }
    // A header with commas over lines with semicolons.
    let text = delimited(&data, ';').replacen("id;ho_ten;dia_chi;so_cccd", "id,ho_ten,dia_chi,so_cccd", 1);
    let path = write(dir.path(), "mixed.csv", text);
    let options = ReadOptions { delimiter: Some(b','), ..ReadOptions::default() };
    let (message, cause, _, _, _) = too_many(read_file(&path, &options).0);
    assert!(cause.starts_with("delimiter: 50 rows have a single field where the header has 4"), "{message}");
}

#[test]
fn an_unclosed_quote_fails_the_read() {
    let dir = tempfile::tempdir().unwrap();
    let data = rows(800);
    let mut text = delimited(&data, ';');
    // Row 90 opens a quote that nothing closes: the 711 lines after it become one record.
    let at = text.match_indices("\r\n").nth(89).unwrap().0 + 2;
    text.insert(at + text[at..].find(';').unwrap() + 1, '"');
    let path = write(dir.path(), "quote.csv", text);
    let (message, cause, first, rows_read, rows_rejected) =
        too_many(read_file(&path, &ReadOptions::default()).0);
    assert_eq!((rows_read, rows_rejected), (90, 1), "{message}");
    assert!(
        cause.starts_with("quoting: a quote opened at line 91 and never closed swallowed 711 lines"),
        "{cause}"
    );
    assert!(message.contains("(711 of 800 lines)"), "{message}");
    assert_eq!(first, ["row 90 (line 91): one record runs over 711 lines: a quote opened and never closed?"]);
}

#[test]
fn a_read_fails_early_and_small_files_do_not_fail() {
    let dir = tempfile::tempdir().unwrap();
    // Every row ragged: the read stops after the first batch of 1,000 rows.
    let mut text = String::from("id,ho_ten\n");
    for i in 0..20_000 {
        text.push_str(&format!("{i}\n"));
    }
    let path = write(dir.path(), "ragged.csv", text);
    let options = ReadOptions { batch_size: 1000, delimiter: Some(b','), ..ReadOptions::default() };
    let (result, stats) = read_file(&path, &options);
    let (_, cause, _, rows_read, _) = too_many(result);
    assert_eq!(rows_read, 1000, "failed at the first check");
    assert_eq!(stats.rows_read, 1000);
    assert!(cause.starts_with("delimiter: 1000 rows have a single field"), "{cause}");

    // 1,000 rows: 50 rejected (5%) pass, 51 fail.
    for (bad, fails) in [(50, false), (51, true)] {
        let mut text = String::from("id,ho_ten\n");
        for i in 0..1000 {
            if i < bad {
                text.push_str(&format!("{i},Le Van An,extra\n"));
            } else {
                text.push_str(&format!("{i},Le Van An\n"));
            }
        }
        let path = write(dir.path(), "share.csv", text);
        let (result, stats) = read_file(&path, &ReadOptions::default());
        assert_eq!(result.is_err(), fails, "{bad} rejected of 1000");
        assert_eq!(stats.rows_rejected, bad);
        let options = ReadOptions { max_rejected_share: None, ..ReadOptions::default() };
        assert!(read_file(&path, &options).0.is_ok(), "None never fails");
        let options = ReadOptions { max_rejected_share: Some(0.1), ..ReadOptions::default() };
        assert!(read_file(&path, &options).0.is_ok(), "a larger share allowed");
    }

    // A small file: 2 of 4 rows rejected is reported, not fatal; 3 of 3 rejected is.
    let path = write(dir.path(), "small.csv", "id,ho_ten\n1,An\n2\n3\n4,Binh\n");
    let (result, stats) = read_file(&path, &ReadOptions::default());
    assert!(result.is_ok());
    assert_eq!(stats.rows_rejected, 2);
    let path = write(dir.path(), "none.csv", "id,ho_ten\n1\n2\n3\n");
    let (message, _, _, _, _) = too_many(read_file(&path, &ReadOptions::default()).0);
    assert!(message.contains("3 of 3 rows rejected"), "{message}");

    let options = ReadOptions { max_rejected_share: Some(1.5), ..ReadOptions::default() };
    assert!(Reader::open(&path, &options).is_err(), "a share over 1 makes no sense");
}

#[test]
fn config_init_writes_the_detected_encoding_and_delimiter() {
    let dir = tempfile::tempdir().unwrap();
    let data = rows(20);
    let files = [
        ("utf16.csv", utf16(&delimited(&data, ';'), true), "utf-16le", ";"),
        ("cp1258.csv", windows_1258(&delimited(&data, '\t')), "windows-1258", r"\\t"),
        ("plain.csv", delimited(&data, ',').into_bytes(), "utf-8", ","),
    ];
    let mut inputs = Vec::new();
    for (name, bytes, _, _) in &files {
        let path = write(dir.path(), name, bytes);
        let (format, detection) = detect_file(&path, &ReadOptions::default()).unwrap();
        assert_eq!(detection.columns.len(), 4, "{name}: {detection:?}");
        inputs.push(InitInput {
            path: (*name).into(),
            format,
            detection,
            encoding: TextEncoding::Auto,
            delimiter: None,
        });
    }
    let text = render_config(&inputs);
    for (name, _, encoding, delimiter) in &files {
        let section = text.split("[[input]]").find(|s| s.contains(&format!("path = \"{name}\""))).unwrap();
        assert!(section.contains(&format!("encoding = \"{encoding}\"")), "{name}:\n{text}");
        assert!(section.contains(&format!("delimiter = \"{delimiter}\"")), "{name}:\n{text}");
    }
    let path = write(dir.path(), "khop.toml", &text);
    let config = Config::from_file(&path).unwrap_or_else(|e| panic!("{e}\n{text}"));
    config.check_files().unwrap();
    assert_eq!(config.inputs[0].read.delimiter, Some(b';'));
    assert_eq!(config.inputs[1].read.encoding, TextEncoding::Named(encoding_rs::WINDOWS_1258));
}

/// A Parquet file whose pages carry CRC-32 checksums (`good/page_checksums.parquet`, from the
/// Apache parquet-testing files: two columns of integers): read whole, it reads; with one byte
/// flipped in a page, the read fails instead of returning changed rows.
#[test]
fn a_flipped_byte_in_a_parquet_page_fails_the_read() {
    use parquet::file::reader::{FileReader, SerializedFileReader};

    let original = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/read/good/page_checksums.parquet");
    let (result, stats) = read_file(&original, &ReadOptions::default());
    let rows = result.unwrap().rows;
    assert!(stats.rows_read > 1000 && stats.rows_rejected == 0, "{stats:?}");

    let metadata =
        SerializedFileReader::new(std::fs::File::open(&original).unwrap()).unwrap().metadata().clone();
    let dir = tempfile::tempdir().unwrap();
    // Flip bytes at several places of each column chunk: a byte of a page header fails the
    // read whatever the checksums; a byte of page data fails it only by its checksum.
    let mut by_checksum = 0;
    for column in 0..metadata.row_group(0).num_columns() {
        let chunk = metadata.row_group(0).column(column);
        let (start, size) = (chunk.data_page_offset() as usize, chunk.compressed_size() as usize);
        for eighth in 1..8 {
            let at = start + size * eighth / 8 + 3;
            let mut bytes = std::fs::read(&original).unwrap();
            bytes[at] ^= 0x10;
            let path = write(dir.path(), &format!("flipped_{column}_{at}.parquet"), &bytes);
            match read_file(&path, &ReadOptions::default()).0 {
                Ok(read) => assert!(read.rows == rows, "byte {at} flipped read as changed rows"),
                Err(e) => {
                    let message = e.to_string();
                    assert!(message.contains(&format!("flipped_{column}_{at}")), "{message}");
                    by_checksum += usize::from(message.contains("CRC checksum mismatch"));
                }
            }
        }
    }
    assert!(by_checksum > 0, "no flipped byte was caught by its page checksum");
}

/// A damaged Parquet file on which the `parquet` crate's decoder panics (found by the `parquet`
/// fuzz target) is a format error naming the file, not a crash.
#[test]
fn a_parquet_file_that_panics_the_decoder_is_an_error() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/read/bad/parquet_decoder_panic.parquet");
    let result = khop::read::Reader::open(&path, &khop::read::ReadOptions::default())
        .and_then(|reader| reader.collect::<khop::Result<Vec<_>>>());
    let error = result.expect_err("a damaged file");
    assert!(matches!(error.kind(), khop::ErrorKind::Format { .. }), "{error:?}");
    assert!(error.to_string().contains("parquet_decoder_panic.parquet"), "{error}");
}

/// A page header that declares more bytes than its whole column chunk holds is refused before
/// the decoder allocates them, with the file, row group and column named.
#[test]
fn a_parquet_page_declaring_more_than_its_column_chunk_is_refused() {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("liar.parquet");
    let names: ArrayRef = Arc::new(StringArray::from(vec!["Nguyễn Văn An"; 100]));
    let batch = RecordBatch::try_from_iter([("ho_ten", names)]).unwrap();
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_dictionary_enabled(false)
        .build();
    let mut writer =
        ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), Some(properties))
            .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let (result, _) = read_file(&path, &ReadOptions::default());
    assert_eq!(result.unwrap().rows.len(), 100);

    let chunk = SerializedFileReader::new(std::fs::File::open(&path).unwrap())
        .unwrap()
        .metadata()
        .row_group(0)
        .column(0)
        .clone();
    assert!(chunk.uncompressed_size() < 8191, "{}", chunk.uncompressed_size());
    // The page header starts with field 1 (the page type, one byte) and field 2 (the
    // uncompressed size, a two-byte zigzag varint here). Declare 8191 bytes instead, the
    // largest two-byte value, so that nothing else moves.
    let mut bytes = std::fs::read(&path).unwrap();
    let at = chunk.data_page_offset() as usize;
    assert_eq!((bytes[at], bytes[at + 2]), (0x15, 0x15), "{:x?}", &bytes[at..at + 8]);
    assert!(bytes[at + 3] & 0x80 != 0 && bytes[at + 4] & 0x80 == 0, "{:x?}", &bytes[at..at + 8]);
    bytes[at + 3..at + 5].copy_from_slice(&[0xfe, 0x7f]);
    let path = write(dir.path(), "liar.parquet", &bytes);

    let error = Reader::open(&path, &ReadOptions::default()).err().expect("a refused file");
    assert!(matches!(error.kind(), ErrorKind::Format { .. }), "{error:?}");
    let message = error.to_string();
    for part in [
        "liar.parquet",
        "row group 0, column `ho_ten`",
        "declares 8191 bytes uncompressed",
        "whole column chunk",
    ] {
        assert!(message.contains(part), "{part:?} not in {message}");
    }
}
