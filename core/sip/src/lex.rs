//! Small lexical helpers shared by the header parsers (RFC 3261 §25.1).

/// `token` characters: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" /
/// "`" / "'" / "~".
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

pub(crate) fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Trims SP and HTAB (not other Unicode whitespace: SIP's LWS is ASCII only).
pub(crate) fn trim_wsp(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// Control characters that must never appear in a header value. HTAB is
/// allowed (it is whitespace); CR/LF are consumed by the line splitter.
pub(crate) fn has_forbidden_ctl(s: &str) -> bool {
    s.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
}

/// Splits `s` on `sep` wherever the separator is outside a quoted-string and
/// outside `<...>` (a URI in angle brackets may carry `;` and `,`).
/// Returns `None` when a quote or bracket is left open.
pub(crate) fn split_outside(s: &str, sep: u8) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_quote = false;
    let mut escaped = false;
    let mut angle = false;
    for (i, b) in s.bytes().enumerate() {
        if in_quote {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_quote = false;
            }
            continue;
        }
        match b {
            b'"' => in_quote = true,
            b'<' if !angle => angle = true,
            b'>' if angle => angle = false,
            _ if b == sep && !angle => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if in_quote || angle {
        return None;
    }
    parts.push(&s[start..]);
    Some(parts)
}

/// Index of the first `sep` outside quotes and angle brackets.
pub(crate) fn find_outside(s: &str, sep: u8) -> Option<usize> {
    let mut in_quote = false;
    let mut escaped = false;
    let mut angle = false;
    for (i, b) in s.bytes().enumerate() {
        if in_quote {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_quote = false;
            }
            continue;
        }
        match b {
            b'"' => in_quote = true,
            b'<' if !angle => angle = true,
            b'>' if angle => angle = false,
            _ if b == sep && !angle => return Some(i),
            _ => {}
        }
    }
    None
}

/// Parses `1*DIGIT` into a u32, rejecting signs, blanks and overflow.
pub(crate) fn parse_u32(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_respects_quotes_and_angles() {
        let parts = split_outside(r#""a,b" <sip:x;y=1,2>;p=1, sip:z"#, b',');
        assert_eq!(parts, Some(vec![r#""a,b" <sip:x;y=1,2>;p=1"#, " sip:z"]));
        assert_eq!(split_outside("\"open", b','), None);
        assert_eq!(split_outside("<open", b','), None);
        assert_eq!(
            split_outside(r#""a\"b",c"#, b','),
            Some(vec![r#""a\"b""#, "c"])
        );
    }

    #[test]
    fn u32_parse_is_strict() {
        assert_eq!(parse_u32("42"), Some(42));
        assert_eq!(parse_u32("+1"), None);
        assert_eq!(parse_u32(""), None);
        assert_eq!(parse_u32("4294967296"), None);
    }
}
