//! `khop config init`: a commented configuration written from role detection, for a person to
//! check and edit.

use std::fmt::Write;

use super::detect::Detection;
use crate::read::{Format, TextEncoding};
use crate::record::Role;

/// What `render_config` needs to know of one file.
#[derive(Clone, Debug)]
pub struct InitInput {
    /// The path as it should be written in the configuration.
    pub path: String,
    /// The file's format.
    pub format: Format,
    /// What detection found.
    pub detection: Detection,
    /// The text encoding asked for; the one detection read the file in wins
    /// ([`Detection::encoding`]).
    pub encoding: TextEncoding,
    /// The CSV delimiter asked for, `None` to detect; the one detection read the file with wins
    /// ([`Detection::delimiter`]).
    pub delimiter: Option<u8>,
}

/// Renders a commented TOML configuration for `inputs`.
pub fn render_config(inputs: &[InitInput]) -> String {
    let mut out = String::new();
    out.push_str(
        "# khop configuration, written by `khop config init` from the files' headers and values.\n\
         # Check every role below: detection is a guess. Columns without a role are not read.\n\
         # Roles: ",
    );
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    out.push_str(&roles.join(", "));
    out.push_str("\n\n# Rejected rows (bad encoding, ragged lines, missing ids) are written here.\nrejects = \"rejects.csv\"\n");

    for input in inputs {
        let stem = std::path::Path::new(&input.path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "input".into());
        let _ = writeln!(out, "\n[[input]]");
        let _ = writeln!(out, "name = {}", quote(&stem));
        let _ = writeln!(out, "path = {}", quote(&input.path));
        let _ = writeln!(out, "format = \"{}\"", input.format);
        match &input.detection.id_column {
            Some(id) => {
                let _ = writeln!(out, "# The column that identifies each record.");
                let _ = writeln!(out, "id = {}", quote(id));
            }
            None => {
                let _ = writeln!(
                    out,
                    "# No id column found: records are numbered by row. Name one if the file has it.\n# id = \"...\""
                );
            }
        }
        if input.format != Format::Parquet {
            let encoding = input.detection.encoding.unwrap_or(input.encoding);
            let _ = writeln!(out, "encoding = \"{encoding}\"");
            if input.format == Format::Csv {
                let delimiter = input.detection.delimiter.or(input.delimiter).unwrap_or(b',');
                let delimiter = match delimiter {
                    b'\t' => "\\t".to_owned(),
                    b => (b as char).to_string(),
                };
                let _ = writeln!(out, "delimiter = {}", quote(&delimiter));
            }
        }
        let _ = writeln!(out, "null_values = [\"\"]");
        let _ = writeln!(out, "\n[input.columns]");
        let mut taken: Vec<(Role, &str)> = Vec::new();
        for column in &input.detection.columns {
            let key = toml_key(&column.name);
            let first = column.role.and_then(|role| {
                taken.iter().find(|(r, _)| *r == role && !super::role_repeats(role)).map(|(_, name)| *name)
            });
            match (column.role, first) {
                // One column per input may have this role: the later one is left for a person.
                (Some(role), Some(first)) => {
                    let _ = writeln!(
                        out,
                        "# {key} = \"{role}\"  # also detected as {} ({}), which `{}` has: only one column may",
                        role.description(),
                        column.evidence,
                        first
                    );
                }
                (Some(role), None) => {
                    taken.push((role, &column.name));
                    let _ = writeln!(
                        out,
                        "{key} = \"{role}\"  # {}; detected from {}",
                        role.description(),
                        column.evidence
                    );
                }
                (None, _) if input.detection.id_column.as_deref() == Some(&column.name) => {
                    let _ = writeln!(out, "# {key}: the id column (above)");
                }
                (None, _) => {
                    let _ = writeln!(out, "# {key} = \"text\"  # {}", column.evidence);
                }
            }
        }
    }
    out
}

/// A TOML basic string.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key: bare when it can be, quoted otherwise.
fn toml_key(name: &str) -> String {
    let bare = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { name.to_owned() } else { quote(name) }
}
