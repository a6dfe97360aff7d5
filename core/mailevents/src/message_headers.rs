//! From and Subject out of a raw RFC 5322 message (Cyrus `messageContent`).

/// Raw (still encoded) From and Subject from the header section of `message`. Only the
/// first `max_scan` bytes are examined; folded lines are unfolded; the first occurrence of
/// each header wins.
pub fn from_and_subject(message: &str, max_scan: usize) -> (Option<String>, Option<String>) {
    let head = crate::text::truncate_utf8(message, max_scan);
    let mut from = None;
    let mut subject = None;
    let mut current: Option<(String, String)> = None;
    let mut finish = |field: Option<(String, String)>| {
        if let Some((name, value)) = field {
            let value = value.trim().to_owned();
            if name.eq_ignore_ascii_case("from") && from.is_none() {
                from = Some(value);
            } else if name.eq_ignore_ascii_case("subject") && subject.is_none() {
                subject = Some(value);
            }
        }
    };
    for line in head.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break; // end of header section
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.as_mut() {
                value.push_str(line);
            }
            continue;
        }
        finish(current.take());
        current = line
            .split_once(':')
            .filter(|(name, _)| !name.is_empty() && !name.contains([' ', '\t']))
            .map(|(name, value)| (name.to_owned(), value.to_owned()));
    }
    finish(current.take());
    (from, subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_and_unfolds() {
        let msg = "Received: from x\r\n\tby y\r\nFrom: =?UTF-8?Q?J=C3=B6rg?=\r\n <j@x.de>\r\nSubject: Hello\r\n  world\r\nSubject: second\r\n\r\nFrom: body line\r\n";
        let (from, subject) = from_and_subject(msg, 4096);
        assert_eq!(from.as_deref(), Some("=?UTF-8?Q?J=C3=B6rg?= <j@x.de>"));
        assert_eq!(subject.as_deref(), Some("Hello  world"));
    }

    #[test]
    fn bounded_scan_and_garbage() {
        assert_eq!(from_and_subject("", 100), (None, None));
        assert_eq!(from_and_subject("no headers here", 100), (None, None));
        let msg = format!("X-Pad: {}\r\nSubject: late\r\n\r\n", "a".repeat(200));
        assert_eq!(from_and_subject(&msg, 100).1, None);
        assert_eq!(from_and_subject(&msg, 1000).1.as_deref(), Some("late"));
    }
}
