//! Subject and first From address out of an IMAP ENVELOPE (RFC 3501 7.4.2), as Cyrus sends
//! it in `vnd.cmu.envelope` when `event_extra_params` includes it.

/// Parts of an envelope useful for a notification (strings still RFC 2047-encoded).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope {
    /// env-subject.
    pub subject: Option<String>,
    /// addr-name of the first From address.
    pub from_name: Option<String>,
    /// `mailbox@host` of the first From address.
    pub from_address: Option<String>,
}

#[derive(Debug)]
enum Item {
    Nil,
    Str(String),
    List(Vec<Item>),
}

/// Nesting in an envelope is at most 3 deep (envelope, address list, address).
const MAX_DEPTH: usize = 4;
/// Bound on the number of items, against adversarial inputs.
const MAX_ITEMS: usize = 1024;

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
    items: usize,
}

impl Parser<'_> {
    fn skip_spaces(&mut self) {
        while self.b.get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
    }

    fn item(&mut self, depth: usize) -> Option<Item> {
        self.items += 1;
        if self.items > MAX_ITEMS || depth > MAX_DEPTH {
            return None;
        }
        self.skip_spaces();
        match *self.b.get(self.pos)? {
            b'(' => {
                self.pos += 1;
                let mut list = Vec::new();
                loop {
                    self.skip_spaces();
                    if *self.b.get(self.pos)? == b')' {
                        self.pos += 1;
                        return Some(Item::List(list));
                    }
                    list.push(self.item(depth + 1)?);
                }
            }
            b'"' => {
                self.pos += 1;
                let mut out = Vec::new();
                loop {
                    match *self.b.get(self.pos)? {
                        b'"' => {
                            self.pos += 1;
                            return Some(Item::Str(String::from_utf8_lossy(&out).into_owned()));
                        }
                        b'\\' => {
                            out.push(*self.b.get(self.pos + 1)?);
                            self.pos += 2;
                        }
                        c => {
                            out.push(c);
                            self.pos += 1;
                        }
                    }
                }
            }
            b'{' => {
                // Literal: {n}CRLF then n bytes.
                let close = self.pos + self.b[self.pos..].iter().position(|&c| c == b'}')?;
                let n: usize = std::str::from_utf8(&self.b[self.pos + 1..close])
                    .ok()?
                    .parse()
                    .ok()?;
                let start = close + 1 + 2;
                if self.b.get(close + 1..start)? != b"\r\n" {
                    return None;
                }
                let bytes = self.b.get(start..start.checked_add(n)?)?;
                self.pos = start + n;
                Some(Item::Str(String::from_utf8_lossy(bytes).into_owned()))
            }
            _ => {
                let start = self.pos;
                while let Some(&c) = self.b.get(self.pos) {
                    if matches!(c, b' ' | b'(' | b')' | b'"') {
                        break;
                    }
                    self.pos += 1;
                }
                let atom = &self.b[start..self.pos];
                if atom.eq_ignore_ascii_case(b"NIL") {
                    Some(Item::Nil)
                } else if atom.is_empty() {
                    None
                } else {
                    Some(Item::Str(String::from_utf8_lossy(atom).into_owned()))
                }
            }
        }
    }
}

fn string(item: Option<&Item>) -> Option<String> {
    match item? {
        Item::Str(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Parse an envelope; `None` when it is not one.
pub fn parse_envelope(text: &str) -> Option<Envelope> {
    let mut p = Parser {
        b: text.as_bytes(),
        pos: 0,
        items: 0,
    };
    let Item::List(fields) = p.item(0)? else {
        return None;
    };
    if fields.len() < 3 {
        return None;
    }
    let subject = string(fields.get(1));
    let (from_name, from_address) = match fields.get(2) {
        Some(Item::List(addrs)) => match addrs.first() {
            Some(Item::List(a)) => {
                let name = string(a.first());
                let mailbox = string(a.get(2));
                let host = string(a.get(3));
                let address = match (mailbox, host) {
                    (Some(m), Some(h)) => Some(format!("{m}@{h}")),
                    (Some(m), None) => Some(m),
                    _ => None,
                };
                (name, address)
            }
            _ => (None, None),
        },
        _ => (None, None),
    };
    Some(Envelope {
        subject,
        from_name,
        from_address,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kolab_sample() {
        let env = r#"("Mon, 20 Oct 2014 13:10:59 +0200" "253E800C-FCBB6C40" ((NIL NIL "john.doe" "example.org")) ((NIL NIL "john.doe" "example.org")) ((NIL NIL "john.doe" "example.org")) ((NIL NIL "john.doe" "example.org")) NIL NIL NIL NIL)"#;
        let e = parse_envelope(env).unwrap();
        assert_eq!(e.subject.as_deref(), Some("253E800C-FCBB6C40"));
        assert_eq!(e.from_name, None);
        assert_eq!(e.from_address.as_deref(), Some("john.doe@example.org"));
    }

    #[test]
    fn names_escapes_and_literals() {
        let env = "(NIL {12}\r\nHello \"you\"! ((\"=?UTF-8?Q?J=C3=B6rg?=\" NIL \"j\\\\x\" \"x.de\")) NIL NIL NIL NIL NIL NIL NIL)";
        let e = parse_envelope(env).unwrap();
        assert_eq!(e.subject.as_deref(), Some("Hello \"you\"!"));
        assert_eq!(e.from_name.as_deref(), Some("=?UTF-8?Q?J=C3=B6rg?="));
        assert_eq!(e.from_address.as_deref(), Some("j\\x@x.de"));
    }

    #[test]
    fn garbage_is_none() {
        for bad in [
            "",
            "(",
            "NIL",
            "(\"unterminated",
            "(NIL {99}\r\nshort)",
            "(NIL {x}\r\n)",
            "((((((((((((deep))))))))))))",
        ] {
            assert!(parse_envelope(bad).is_none(), "{bad:?}");
        }
        let wide = format!("({})", "NIL ".repeat(5000));
        assert!(parse_envelope(&wide).is_none());
    }
}
