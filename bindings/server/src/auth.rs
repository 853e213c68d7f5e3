//! Bearer tokens with scopes, read from a TOML file named on the command line:
//!
//! ```toml
//! [[tokens]]
//! name = "registration-form"      # in the audit log and metrics, never the token itself
//! token = "a long random secret"  # 32 characters at least
//! scopes = ["read"]               # "read": lookups and explanations; "write": upserts, deletes
//! ```

use std::path::Path;

use serde::Deserialize;

/// What a token allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Lookups and explanations.
    Read,
    /// Upserts and deletes.
    Write,
}

/// One token of the file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    /// A name for the audit log.
    pub name: String,
    /// The secret the client sends as `Authorization: Bearer ...`.
    token: String,
    /// What it allows.
    pub scopes: Vec<Scope>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    tokens: Vec<Token>,
}

/// Shortest token accepted.
pub const MIN_TOKEN_CHARS: usize = 32;

/// The tokens a service accepts; `None` when it runs without authentication (loopback only).
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    tokens: Option<Vec<Token>>,
}

/// Why a request is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No token, or one the service does not know: 401.
    Unauthenticated,
    /// A known token without the scope: 403.
    Forbidden,
}

impl Tokens {
    /// No authentication: every request may do everything.
    pub fn none() -> Tokens {
        Tokens { tokens: None }
    }

    /// Reads and checks the token file: at least one token, unique names and secrets, secrets of
    /// at least [`MIN_TOKEN_CHARS`] characters, at least one scope each.
    pub fn from_file(path: &Path) -> Result<Tokens, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: TokenFile = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut problems = Vec::new();
        if file.tokens.is_empty() {
            problems.push("no token".to_owned());
        }
        for (i, token) in file.tokens.iter().enumerate() {
            if token.name.trim().is_empty() {
                problems.push(format!("token {}: empty name", i + 1));
            }
            if token.token.chars().count() < MIN_TOKEN_CHARS {
                problems.push(format!("token `{}`: shorter than {MIN_TOKEN_CHARS} characters", token.name));
            }
            if token.scopes.is_empty() {
                problems.push(format!("token `{}`: no scope", token.name));
            }
            for other in &file.tokens[..i] {
                if other.name == token.name {
                    problems.push(format!("token `{}`: name given twice", token.name));
                }
                if other.token == token.token {
                    problems.push(format!("tokens `{}` and `{}`: the same secret", other.name, token.name));
                }
            }
        }
        if problems.is_empty() {
            Ok(Tokens { tokens: Some(file.tokens) })
        } else {
            Err(format!("{}: {}", path.display(), problems.join("; ")))
        }
    }

    /// Whether requests are checked at all.
    pub fn required(&self) -> bool {
        self.tokens.is_some()
    }

    /// The name of the token in the `Authorization` header value `header`, when it has `scope`.
    pub fn check(&self, header: Option<&str>, scope: Scope) -> Result<String, Refusal> {
        let Some(tokens) = &self.tokens else { return Ok("anonymous".to_owned()) };
        let secret =
            header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim).ok_or(Refusal::Unauthenticated)?;
        // Every token is compared whole, so that the time taken does not tell how much matched.
        let mut found = None;
        for token in tokens {
            if same_secret(token.token.as_bytes(), secret.as_bytes()) {
                found = Some(token);
            }
        }
        let token = found.ok_or(Refusal::Unauthenticated)?;
        if token.scopes.contains(&scope) { Ok(token.name.clone()) } else { Err(Refusal::Forbidden) }
    }
}

/// Compares two secrets in time that depends on their lengths only.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let mut differ = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        differ |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0xff);
    }
    differ == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Result<Tokens, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.toml");
        std::fs::write(&path, text).unwrap();
        Tokens::from_file(&path)
    }

    const READER: &str = "r-0123456789abcdef0123456789abcdef";
    const WRITER: &str = "w-0123456789abcdef0123456789abcdef";

    #[test]
    fn scopes_are_checked() {
        let tokens = file(&format!(
            "[[tokens]]\nname = \"form\"\ntoken = \"{READER}\"\nscopes = [\"read\"]\n\n\
             [[tokens]]\nname = \"sync\"\ntoken = \"{WRITER}\"\nscopes = [\"read\", \"write\"]\n"
        ))
        .unwrap();
        assert_eq!(tokens.check(Some(&format!("Bearer {READER}")), Scope::Read), Ok("form".into()));
        assert_eq!(tokens.check(Some(&format!("Bearer {READER}")), Scope::Write), Err(Refusal::Forbidden));
        assert_eq!(tokens.check(Some(&format!("Bearer {WRITER}")), Scope::Write), Ok("sync".into()));
        assert_eq!(tokens.check(None, Scope::Read), Err(Refusal::Unauthenticated));
        assert_eq!(tokens.check(Some("Bearer nope"), Scope::Read), Err(Refusal::Unauthenticated));
        assert_eq!(tokens.check(Some(READER), Scope::Read), Err(Refusal::Unauthenticated));
        let prefix = &READER[..READER.len() - 1];
        assert_eq!(
            tokens.check(Some(&format!("Bearer {prefix}")), Scope::Read),
            Err(Refusal::Unauthenticated)
        );
    }

    #[test]
    fn bad_files_are_refused_with_every_problem() {
        let error = file("[[tokens]]\nname = \"a\"\ntoken = \"short\"\nscopes = []\n").unwrap_err();
        assert!(error.contains("shorter than 32") && error.contains("no scope"), "{error}");
        let error = file(&format!(
            "[[tokens]]\nname = \"a\"\ntoken = \"{READER}\"\nscopes = [\"read\"]\n\
             [[tokens]]\nname = \"a\"\ntoken = \"{READER}\"\nscopes = [\"read\"]\n"
        ))
        .unwrap_err();
        assert!(error.contains("name given twice") && error.contains("the same secret"), "{error}");
        assert!(file("tokens = []").unwrap_err().contains("no token"));
        assert!(file("[[tokens]]\nname = \"a\"\ntoken = \"x\"\nscopes = [\"admin\"]\n").is_err());
    }
}
