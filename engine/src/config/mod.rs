//! Configuration in TOML: the inputs to read, with their columns and roles.
//!
//! ```toml
//! rejects = "rejects.csv"          # where rejected rows go (optional)
//!
//! [[input]]
//! name = "national"                # optional; defaults to the file name
//! path = "national.csv"            # relative to this file
//! format = "csv"                   # csv | ndjson | parquet; default from the extension
//! id = "so_dinh_danh"              # the record id column; without it, rows are numbered
//! encoding = "auto"                # auto | utf-8 | utf-16le | utf-16be | windows-1258 ...
//! delimiter = ","
//! quote = "\""
//! header = true
//! null_values = ["", "NULL"]
//! batch_size = 65536
//! max_field_bytes = 1048576
//!
//! [input.columns]
//! ho_ten = "full_name"
//! so_dien_thoai = { role = "phone", null_values = ["0000000000"] }
//! ```
//!
//! The optional `[link]` section sets blocking rules, comparisons and decision thresholds (see
//! [`LinkConfig`]).
//!
//! Validation reports every problem at once, each with its line and column in the file. An
//! unknown section or setting is reported, never silently ignored.

pub mod detect;
mod init;
mod link;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use toml_edit::{Item, TableLike, Value};

pub use self::init::{InitInput, render_config};
pub use self::link::LinkConfig;
pub use crate::error::{Diagnostic, Diagnostics, Position};
use crate::error::{Error, ErrorKind, Result};
use crate::read::{Format, ReadOptions, Reader, TextEncoding};
use crate::record::{ColumnSpec, DatasetSpec, Role};

/// A validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The inputs, in the order given.
    pub inputs: Vec<InputConfig>,
    /// Where rejected rows go.
    pub rejects: Option<PathBuf>,
    /// Blocking, comparisons and decisions (`[link]`).
    pub link: LinkConfig,
    /// Where each configured column is in the configuration text, for later diagnostics.
    positions: Vec<Vec<(String, Position)>>,
    source: Option<PathBuf>,
}

/// One input file and how to read it.
#[derive(Clone, Debug)]
pub struct InputConfig {
    /// A short name for reports ("national", "bhxh"...).
    pub name: String,
    /// The file, resolved against the configuration's directory.
    pub path: PathBuf,
    /// The id column and the columns with roles.
    pub dataset: DatasetSpec,
    /// How to read it; `columns` and `id_column` follow `dataset`.
    pub read: ReadOptions,
}

impl Config {
    /// Reads and validates a configuration file. Relative paths in it are taken from its folder.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read", e))?;
        let base = path.parent().unwrap_or(Path::new(""));
        Config::parse(&text, base)
            .map_err(|e| match e.kind() {
                ErrorKind::Config(d) => {
                    ErrorKind::Config(Diagnostics { file: Some(path.to_owned()), items: d.items.clone() })
                        .into()
                }
                _ => e,
            })
            .map(|mut config| {
                config.source = Some(path.to_owned());
                config
            })
    }

    /// Parses and validates configuration text; relative paths are resolved against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Config> {
        let mut checker =
            Checker { text, problems: Vec::new(), inputs: Vec::new(), link: Default::default() };
        let document = match toml_edit::Document::parse(text) {
            Ok(document) => document,
            Err(e) => {
                let position = checker.position(e.span().map(|s| s.start).unwrap_or(0));
                let message = format!("not valid TOML: {}", e.message().trim());
                return Err(diagnostics(vec![Diagnostic { position, message }]));
            }
        };
        let root = document.as_table();
        let mut config = Config {
            inputs: Vec::new(),
            rejects: None,
            link: LinkConfig::default(),
            positions: Vec::new(),
            source: None,
        };

        for (key, item) in root.iter() {
            match key {
                "rejects" => {
                    if let Some(path) = checker.string(item, "rejects") {
                        config.rejects = Some(base.join(path));
                    }
                }
                "input" => match item.as_array_of_tables() {
                    Some(inputs) => {
                        for (index, table) in inputs.iter().enumerate() {
                            let (input, positions) = checker.input(table, index, base);
                            if let Some(input) = input {
                                config.inputs.push(input);
                                config.positions.push(positions);
                            }
                        }
                    }
                    None => checker
                        .problem(item.span(), "`input` must be written `[[input]]`, one per file".into()),
                },
                "link" => config.link = checker.link(item),
                other => {
                    let span = root.key(other).and_then(|k| k.span());
                    checker.problem(
                        span,
                        format!("unknown setting `{other}` (expected `input`, `rejects` or `link`)"),
                    )
                }
            }
        }
        // What the `[link]` section names, against the columns of every input.
        checker.check_link_names();
        if root.get("input").is_none() {
            checker.problem(Some(0..0), "no `[[input]]` section: name at least one file".into());
        }
        let mut names = BTreeSet::new();
        for (input, positions) in config.inputs.iter().zip(&config.positions) {
            if !names.insert(input.name.clone()) {
                let at = positions.first().map(|p| p.1).unwrap_or_default();
                checker.problems.push(Diagnostic {
                    position: at,
                    message: format!("two inputs are named `{}`; give each its own `name`", input.name),
                });
            }
        }
        if checker.problems.is_empty() {
            Ok(config)
        } else {
            checker.problems.sort_by_key(|d| (d.position.line, d.position.column));
            Err(diagnostics(checker.problems))
        }
    }

    /// Opens every input and checks that the configured columns exist, reporting every missing
    /// column of every file at once, at its place in the configuration.
    pub fn check_files(&self) -> Result<()> {
        let mut problems = Vec::new();
        for (input, positions) in self.inputs.iter().zip(&self.positions) {
            let options = ReadOptions { columns: None, id_column: None, ..input.read.clone() };
            let reader = match Reader::open(&input.path, &options) {
                Ok(reader) => reader,
                Err(e) => {
                    let position = positions.first().map(|p| p.1).unwrap_or_default();
                    problems.push(Diagnostic { position, message: e.to_string() });
                    continue;
                }
            };
            let schema = reader.schema();
            let available: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            for (column, position) in positions {
                if !available.contains(&column.as_str()) {
                    problems.push(Diagnostic {
                        position: *position,
                        message: format!(
                            "{}: no column named `{column}` (the file has: {})",
                            input.path.display(),
                            available.join(", ")
                        ),
                    });
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            problems.sort_by_key(|d| (d.position.line, d.position.column));
            Err(ErrorKind::Config(Diagnostics { file: self.source.clone(), items: problems }).into())
        }
    }
}

fn diagnostics(items: Vec<Diagnostic>) -> Error {
    ErrorKind::Config(Diagnostics { file: None, items }).into()
}

/// Walks the document, collecting problems instead of stopping at the first.
struct Checker<'t> {
    text: &'t str,
    problems: Vec<Diagnostic>,
    /// The columns and roles of each `[[input]]`, broken ones included, for the checks of the
    /// `[link]` section's names.
    inputs: Vec<Vec<(String, Role)>>,
    /// What the `[link]` section names, checked once every input is read.
    link: link::LinkNames,
}

/// Roles that several columns of one input may have: each such column is compared (and may be
/// blocked on) on its own. Every other role takes one column per input.
pub(crate) fn role_repeats(role: Role) -> bool {
    matches!(
        role,
        Role::Text
            | Role::Number
            | Role::Email
            | Role::HouseNumber
            | Role::Street
            | Role::Hamlet
            | Role::Ward
            | Role::District
            | Role::Province
    )
}

const INPUT_KEYS: &[&str] = &[
    "name",
    "path",
    "format",
    "id",
    "encoding",
    "delimiter",
    "quote",
    "header",
    "null_values",
    "batch_size",
    "max_field_bytes",
    "max_rejected_share",
    "columns",
];

impl Checker<'_> {
    fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let before = &self.text[..self.text.floor_char_boundary(offset)];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
        Position { line, column }
    }

    fn problem(&mut self, span: Option<std::ops::Range<usize>>, message: String) {
        let position = self.position(span.map(|s| s.start).unwrap_or(0));
        self.problems.push(Diagnostic { position, message });
    }

    fn string<'a>(&mut self, item: &'a Item, what: &str) -> Option<&'a str> {
        match item.as_str() {
            Some(s) => Some(s),
            None => {
                self.problem(item.span(), format!("`{what}` must be a string"));
                None
            }
        }
    }

    fn strings(&mut self, item: &Item, what: &str) -> Option<Vec<String>> {
        let array = match item.as_array() {
            Some(array) => array,
            None => {
                self.problem(item.span(), format!("`{what}` must be a list of strings"));
                return None;
            }
        };
        let mut out = Vec::new();
        for value in array.iter() {
            match value.as_str() {
                Some(s) => out.push(s.to_owned()),
                None => self.problem(value.span(), format!("`{what}` must hold only strings")),
            }
        }
        Some(out)
    }

    fn byte(&mut self, item: &Item, what: &str) -> Option<u8> {
        let s = self.string(item, what)?;
        let value = match s {
            "\\t" | "tab" => "\t",
            other => other,
        };
        match value.as_bytes() {
            [b] if b.is_ascii() => Some(*b),
            _ => {
                self.problem(item.span(), format!("`{what}` must be one ASCII character, found {s:?}"));
                None
            }
        }
    }

    fn positive(&mut self, item: &Item, what: &str) -> Option<usize> {
        match item.as_integer() {
            Some(n) if n > 0 => Some(n as usize),
            _ => {
                self.problem(item.span(), format!("`{what}` must be a whole number above 0"));
                None
            }
        }
    }

    /// One `[[input]]` table; `None` when it is too broken to use.
    fn input(
        &mut self,
        table: &toml_edit::Table,
        index: usize,
        base: &Path,
    ) -> (Option<InputConfig>, Vec<(String, Position)>) {
        let before = self.problems.len();
        self.inputs.push(Vec::new());
        let here = table.span();
        let mut read = ReadOptions::default();
        let mut name = None;
        let mut path = None;
        let mut dataset = DatasetSpec::default();
        let mut positions = Vec::new();

        for (key, item) in table.iter() {
            match key {
                "name" => name = self.string(item, "name").map(str::to_owned),
                "path" => path = self.string(item, "path").map(|p| base.join(p)),
                "format" => {
                    if let Some(s) = self.string(item, "format") {
                        match s.parse::<Format>() {
                            Ok(format) => read.format = Some(format),
                            Err(e) => self.problem(item.span(), e.to_string()),
                        }
                    }
                }
                "id" => {
                    if let Some(id) = self.string(item, "id") {
                        dataset.id_column = Some(id.to_owned());
                        positions
                            .push((id.to_owned(), self.position(item.span().map(|s| s.start).unwrap_or(0))));
                    }
                }
                "encoding" => {
                    if let Some(label) = self.string(item, "encoding") {
                        match TextEncoding::from_label(label) {
                            Some(encoding) => read.encoding = encoding,
                            None => self.problem(
                                item.span(),
                                format!("unknown encoding `{label}` (try utf-8, utf-16le, utf-16be, windows-1258 or auto)"),
                            ),
                        }
                    }
                }
                "delimiter" => read.delimiter = self.byte(item, "delimiter").or(read.delimiter),
                "quote" => read.quote = self.byte(item, "quote").unwrap_or(read.quote),
                "header" => match item.as_bool() {
                    Some(header) => read.has_header = header,
                    None => self.problem(item.span(), "`header` must be true or false".into()),
                },
                "null_values" => {
                    if let Some(values) = self.strings(item, "null_values") {
                        read.null_values = values;
                    }
                }
                "batch_size" => {
                    read.batch_size = self.positive(item, "batch_size").unwrap_or(read.batch_size)
                }
                "max_field_bytes" => {
                    read.max_field_bytes =
                        self.positive(item, "max_field_bytes").unwrap_or(read.max_field_bytes)
                }
                "max_rejected_share" => match item.as_float().or(item.as_integer().map(|i| i as f64)) {
                    Some(share) if (0.0..=1.0).contains(&share) => read.max_rejected_share = Some(share),
                    _ => self.problem(
                        item.span(),
                        "`max_rejected_share` must be a share between 0 and 1 (1 accepts any)".into(),
                    ),
                },
                "columns" => match item.as_table_like() {
                    Some(columns) => self.columns(columns, &mut dataset, &mut read, &mut positions),
                    None => {
                        self.problem(item.span(), "`columns` must be a table of `column = \"role\"`".into())
                    }
                },
                other => {
                    let span = table.key(other).and_then(|k| k.span());
                    let hint = closest(other, INPUT_KEYS)
                        .map(|k| format!("; did you mean `{k}`?"))
                        .unwrap_or_default();
                    self.problem(span, format!("unknown setting `{other}` in [[input]]{hint}"));
                }
            }
        }
        if path.is_none() {
            self.problem(here.clone(), format!("input {} has no `path`", index + 1));
        }
        if dataset.columns.is_empty() && self.problems.len() == before {
            self.problem(
                here,
                format!("input {} has no `[input.columns]`: give each column to match a role", index + 1),
            );
        }
        if self.problems.len() > before {
            return (None, positions);
        }
        let path = path.expect("checked above");
        let name = name.unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| format!("input{}", index + 1))
        });
        read.columns = Some(dataset.column_names().iter().map(|s| (*s).to_owned()).collect());
        read.id_column = dataset.id_column.clone();
        (Some(InputConfig { name, path, dataset, read }), positions)
    }

    fn columns(
        &mut self,
        columns: &dyn TableLike,
        dataset: &mut DatasetSpec,
        read: &mut ReadOptions,
        positions: &mut Vec<(String, Position)>,
    ) {
        let mut roles: Vec<(Role, &str)> = Vec::new();
        for (column, item) in columns.iter() {
            let key_span = columns.key(column).and_then(|k| k.span());
            let position = self.position(key_span.clone().map(|s| s.start).unwrap_or(0));
            let (role_item, options): (Option<&Value>, Option<&dyn TableLike>) = match item {
                Item::Value(Value::String(_)) => (item.as_value(), None),
                _ => match item.as_table_like() {
                    Some(table) => (table.get("role").and_then(Item::as_value), Some(table)),
                    None => {
                        self.problem(
                            item.span(),
                            format!("column `{column}`: write a role name or {{ role = \"...\" }}"),
                        );
                        continue;
                    }
                },
            };
            let Some(role_value) = role_item else {
                self.problem(key_span, format!("column `{column}` has no `role`"));
                continue;
            };
            let Some(role_name) = role_value.as_str() else {
                self.problem(role_value.span(), format!("column `{column}`: the role must be a string"));
                continue;
            };
            let role = match role_name.parse::<Role>() {
                Ok(role) => role,
                Err(_) => {
                    let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                    let hint = closest(role_name, &names)
                        .map(|k| format!("did you mean `{k}`? "))
                        .unwrap_or_default();
                    self.problem(
                        role_value.span(),
                        format!(
                            "column `{column}`: unknown role `{role_name}` ({hint}roles: {})",
                            names.join(", ")
                        ),
                    );
                    continue;
                }
            };
            let mut spec = ColumnSpec::new(column, role);
            if let Some(options) = options {
                for (key, value) in options.iter() {
                    match key {
                        "role" => {}
                        "null_values" => {
                            if let Some(values) = self.strings(value, "null_values") {
                                read.column_null_values.push((column.to_owned(), values.clone()));
                                spec.null_values = values;
                            }
                        }
                        other => {
                            let span = options.key(other).and_then(|k| k.span());
                            self.problem(
                                span,
                                format!("column `{column}`: unknown option `{other}` (expected `role` or `null_values`)"),
                            );
                        }
                    }
                }
            }
            match roles.iter().find(|(r, _)| *r == role) {
                Some((_, first)) if !role_repeats(role) => {
                    let first = *first;
                    self.problem(
                        role_value.span(),
                        format!(
                            "columns `{first}` and `{column}` both have the role `{role_name}`; one column per input may have it"
                        ),
                    );
                }
                _ => roles.push((role, column)),
            }
            if let Some(input) = self.inputs.last_mut() {
                input.push((column.to_owned(), role));
            }
            positions.push((column.to_owned(), position));
            dataset.columns.push(spec);
        }
    }
}

/// The candidate nearest to `word` by edit distance, when it is near enough to be a typo.
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim_distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn strsim_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}
