//! Small text helpers: bounded truncation and display sanitising.

/// Truncate `s` to at most `max` bytes without splitting a UTF-8 character.
pub fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// In-place variant of [`truncate_utf8`].
pub(crate) fn truncate_string(s: &mut String, max: usize) {
    let keep = truncate_utf8(s, max).len();
    s.truncate(keep);
}

/// Make header-ish text safe to show in a notification: unfold (CR/LF followed by
/// whitespace disappear, other CR/LF become a space), tabs become spaces, other control
/// characters become U+FFFD, surrounding whitespace is trimmed; the result is at most `max`
/// bytes. Control characters would otherwise reach logs and chat messages verbatim.
pub fn sanitize_display(s: &str, max: usize) -> String {
    // Leading whitespace must not eat the output budget.
    let s = s.trim_start();
    let mut out = String::with_capacity(s.len().min(max));
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if out.len() > max.saturating_add(4) {
            break;
        }
        match c {
            '\r' | '\n' => {
                let folded = matches!(chars.peek(), Some(' ' | '\t'))
                    || (c == '\r' && chars.peek() == Some(&'\n'));
                if !folded {
                    out.push(' ');
                }
            }
            '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    let trimmed = out.trim();
    truncate_utf8(trimmed, max).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_utf8("héllo", 2), "h");
        assert_eq!(truncate_utf8("héllo", 3), "hé");
        assert_eq!(truncate_utf8("héllo", 100), "héllo");
        assert_eq!(truncate_utf8("€", 2), "");
        assert_eq!(truncate_utf8("", 0), "");
        let mut s = String::from("日本語");
        truncate_string(&mut s, 7);
        assert_eq!(s, "日本");
    }

    #[test]
    fn sanitize_unfolds_and_replaces_controls() {
        assert_eq!(sanitize_display("a\r\n b", 100), "a b");
        assert_eq!(sanitize_display("a\nb", 100), "a b");
        assert_eq!(sanitize_display("a\r\nb", 100), "a b");
        assert_eq!(sanitize_display("\ta\tb ", 100), "a b");
        assert_eq!(
            sanitize_display("a\u{0}b\u{7f}c\u{85}", 100),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}"
        );
        assert_eq!(sanitize_display("héllo wörld", 4), "hél");
        assert_eq!(sanitize_display("héllo wörld", 2), "h");
    }
}
