//! Accent folding and tokenization of address text.
//!
//! Matching works on folded text: lowercase, combining marks removed, `đ` written `d`, as
//! [`crate::normalize::text::fold_char`] folds letters.

use crate::normalize::text;

/// Folds one character for matching: lowercase, without diacritics (`đ`, `Đ` and the look-alike
/// `Ð` as `d`). Combining marks return `None`: decomposed text folds like composed text.
pub(crate) fn fold_char(c: char) -> Option<char> {
    if c.is_ascii() {
        return Some(c.to_ascii_lowercase());
    }
    if c == 'Ð' || c == 'ð' {
        return Some('d');
    }
    if unicode_normalization::char::is_combining_mark(c) {
        return None;
    }
    let folded = text::fold_char(c);
    Some(folded.to_lowercase().next().unwrap_or(folded))
}

/// A token of the input: its bytes in the original text and in the folded buffer.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Token {
    /// Byte range in the input.
    pub raw: (u32, u32),
    /// Byte range in the folded buffer.
    pub fold: (u32, u32),
    /// Comma-separated segment the token belongs to.
    pub seg: u32,
    /// Whether the token starts with a digit.
    pub digit: bool,
    /// Whether the token is made of digits only.
    pub numeric: bool,
}

/// Splits `input` into folded tokens. Letters and digits form tokens; a token
/// that starts with a digit may also hold `/` and `-` (house numbers such as
/// `123/45/6`); a one- or two-letter prefix glued to digits is split off
/// (`Q1`, `P12`, `F3`); commas, semicolons, pipes and line breaks separate
/// segments.
pub(crate) fn tokenize(input: &str, folded: &mut String, tokens: &mut Vec<Token>) {
    folded.clear();
    tokens.clear();
    let mut seg = 0u32;
    // The token under construction.
    let mut cur: Option<Token> = None;
    // Letters in the current token (for the glued-prefix split).
    let mut letters = 0usize;

    fn finish(cur: &mut Option<Token>, folded: &mut String, tokens: &mut Vec<Token>) {
        if let Some(mut t) = cur.take() {
            // Trailing separators kept tentatively inside house numbers.
            let mut end = t.fold.1 as usize;
            let start = t.fold.0 as usize;
            while end > start && matches!(folded.as_bytes()[end - 1], b'/' | b'-') {
                end -= 1;
            }
            let trimmed = t.fold.1 as usize - end;
            if trimmed > 0 {
                folded.truncate(end);
                t.fold.1 = end as u32;
                t.raw.1 = t.raw.1.saturating_sub(trimmed as u32).max(t.raw.0);
            }
            if end > start {
                let bytes = &folded.as_bytes()[start..end];
                t.numeric = bytes.iter().all(u8::is_ascii_digit);
                tokens.push(t);
            } else {
                folded.truncate(start);
            }
        }
    }

    for (i, c) in input.char_indices() {
        let next = i + c.len_utf8();
        let Some(f) = fold_char(c) else {
            // A combining mark extends the token it follows.
            if let Some(t) = cur.as_mut() {
                t.raw.1 = next as u32;
            }
            continue;
        };
        let alnum = f.is_ascii_alphanumeric() || (!f.is_ascii() && f.is_alphabetic());
        let joiner = matches!(f, '/' | '-') && cur.as_ref().is_some_and(|t| t.digit);
        if alnum || joiner {
            if let Some(t) = cur.as_ref()
                && f.is_ascii_digit()
                && !t.digit
                && letters > 0
                && letters <= 2
            {
                let len = t.fold.1 - t.fold.0;
                if len as usize == letters {
                    finish(&mut cur, folded, tokens);
                }
            }
            match cur.as_mut() {
                Some(t) => {
                    folded.push(f);
                    t.fold.1 = folded.len() as u32;
                    t.raw.1 = next as u32;
                }
                None => {
                    let start = folded.len() as u32;
                    folded.push(f);
                    cur = Some(Token {
                        raw: (i as u32, next as u32),
                        fold: (start, folded.len() as u32),
                        seg,
                        digit: f.is_ascii_digit(),
                        numeric: false,
                    });
                    letters = 0;
                }
            }
            if f.is_alphabetic() {
                letters += 1;
            }
        } else {
            finish(&mut cur, folded, tokens);
            if matches!(f, ',' | ';' | '|' | '\n' | '\r' | '(' | ')') {
                seg += 1;
            }
        }
    }
    finish(&mut cur, folded, tokens);
}

/// Appends the matching key of one folded token: digit runs lose their
/// leading zeros, so `01` and `1` agree.
pub(crate) fn push_key(key: &mut Vec<u8>, tok: &[u8]) {
    let mut i = 0;
    while i < tok.len() {
        if tok[i].is_ascii_digit() {
            let start = i;
            while i < tok.len() && tok[i].is_ascii_digit() {
                i += 1;
            }
            let run = &tok[start..i];
            let nz = run.iter().position(|&b| b != b'0').unwrap_or(run.len() - 1);
            key.extend_from_slice(&run[nz..]);
        } else {
            key.push(tok[i]);
            i += 1;
        }
    }
}

/// The matching key of a whole name (data side): folded tokens joined
/// without separators.
pub(crate) fn name_key(name: &str, folded: &mut String, tokens: &mut Vec<Token>, key: &mut Vec<u8>) {
    tokenize(name, folded, tokens);
    key.clear();
    for t in tokens.iter() {
        push_key(key, &folded.as_bytes()[t.fold.0 as usize..t.fold.1 as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        let mut f = String::new();
        let mut t = Vec::new();
        tokenize(s, &mut f, &mut t);
        t.iter().map(|t| f[t.fold.0 as usize..t.fold.1 as usize].to_string()).collect()
    }

    #[test]
    fn folds_vietnamese() {
        assert_eq!(toks("Thành phố Hồ Chí Minh"), ["thanh", "pho", "ho", "chi", "minh"]);
        assert_eq!(toks("ĐẮK LẮK"), ["dak", "lak"]);
        // Decomposed input.
        assert_eq!(toks("Ha\u{300} Nô\u{323}i"), ["ha", "noi"]);
    }

    #[test]
    fn splits_glued_prefixes_and_keeps_house_numbers() {
        assert_eq!(toks("Q1 P.12 F3"), ["q", "1", "p", "12", "f", "3"]);
        assert_eq!(toks("123/45/6 Lê Lợi"), ["123/45/6", "le", "loi"]);
        assert_eq!(toks("12-14/ TP.HCM"), ["12-14", "tp", "hcm"]);
        assert_eq!(toks("TPHCM"), ["tphcm"]);
    }

    #[test]
    fn keys_drop_leading_zeros() {
        let mut k = Vec::new();
        push_key(&mut k, b"01");
        push_key(&mut k, b"a007b0");
        assert_eq!(k, b"1a7b0");
    }
}
