//! The parts of an RFC 5092 IMAP URL that identify a message:
//! `imap://[user[;AUTH=x]@]host[:port]/mailbox[;UIDVALIDITY=n][/;UID=m][...]`.
//!
//! Cyrus writes the user unescaped even when it holds an `@`
//! (`imap://john.doe@example.org@kolab.example.org/INBOX;UIDVALIDITY=1411487714/;UID=6`),
//! so the authority is split at its last `@`.

use std::fmt;

/// The identifying parts of an IMAP URL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImapUrl {
    /// User from the authority, percent-decoded.
    pub user: Option<String>,
    /// Host (without port).
    pub host: String,
    /// Port, when given.
    pub port: Option<u16>,
    /// Mailbox name, percent-decoded (empty for a server-only URL).
    pub mailbox: Option<String>,
    /// `;UIDVALIDITY=`.
    pub uidvalidity: Option<u32>,
    /// `/;UID=`.
    pub uid: Option<u32>,
}

/// Why an IMAP URL was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapUrlError(pub &'static str);

impl fmt::Display for ImapUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ImapUrlError {}

/// Parse an IMAP URL.
pub fn parse_imap_url(url: &str) -> Result<ImapUrl, ImapUrlError> {
    let rest = strip_prefix_ci(url, "imap://").ok_or(ImapUrlError("not an imap:// URL"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let user = userinfo
        .map(|u| {
            // Drop ";AUTH=..." (RFC 5092 iauth).
            let u = match find_ci(u, ";auth=") {
                Some(i) => &u[..i],
                None => u,
            };
            percent_decode(u)
        })
        .transpose()?
        .filter(|u| !u.is_empty());
    let (host, port) = split_host_port(hostport)?;
    if host.is_empty() {
        return Err(ImapUrlError("empty host"));
    }

    // Anything after "?" is a search; anything after "/;" past the UID is a section.
    let path = path.split('?').next().unwrap_or("");
    let (mailbox_ref, uid_part) = match find_ci(path, "/;uid=") {
        Some(i) => (&path[..i], Some(&path[i + "/;uid=".len()..])),
        None => (path, None),
    };
    let (enc_mailbox, uidvalidity) = match find_ci(mailbox_ref, ";uidvalidity=") {
        Some(i) => {
            let v = &mailbox_ref[i + ";uidvalidity=".len()..];
            (&mailbox_ref[..i], Some(nz_number(v, "bad UIDVALIDITY")?))
        }
        None => (mailbox_ref, None),
    };
    let uid = uid_part
        .map(|u| nz_number(u.split(['/', ';']).next().unwrap_or(""), "bad UID"))
        .transpose()?;
    let mailbox = Some(percent_decode(enc_mailbox)?).filter(|m| !m.is_empty());
    Ok(ImapUrl {
        user,
        host: host.to_owned(),
        port,
        mailbox,
        uidvalidity,
        uid,
    })
}

fn split_host_port(hostport: &str) -> Result<(&str, Option<u16>), ImapUrlError> {
    // IPv6 literal "[::1]:143".
    if let Some(rest) = hostport.strip_prefix('[') {
        let close = rest
            .find(']')
            .ok_or(ImapUrlError("unterminated IPv6 literal"))?;
        let host = &hostport[..close + 2];
        let after = &rest[close + 1..];
        return match after.strip_prefix(':') {
            Some(p) => Ok((host, Some(port(p)?))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(ImapUrlError("garbage after IPv6 literal")),
        };
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) => Ok((h, Some(port(p)?))),
        None => Ok((hostport, None)),
    }
}

fn port(p: &str) -> Result<u16, ImapUrlError> {
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ImapUrlError("bad port"));
    }
    p.parse().map_err(|_| ImapUrlError("bad port"))
}

/// RFC 3501 nz-number: 1..=u32::MAX, digits only.
fn nz_number(s: &str, what: &'static str) -> Result<u32, ImapUrlError> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ImapUrlError(what));
    }
    match s.parse::<u32>() {
        Ok(0) | Err(_) => Err(ImapUrlError(what)),
        Ok(n) => Ok(n),
    }
}

fn percent_decode(s: &str) -> Result<String, ImapUrlError> {
    if !s.contains('%') {
        return Ok(s.to_owned());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .ok_or(ImapUrlError("truncated %-escape"))?;
            let digit = |c: u8| {
                char::from(c)
                    .to_digit(16)
                    .ok_or(ImapUrlError("bad %-escape"))
            };
            // to_digit(16) < 16, so the combination fits a byte.
            out.push((digit(hex[0])? * 16 + digit(hex[1])?) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    // RFC 5092 mailbox names are UTF-8 once unescaped.
    String::from_utf8(out).map_err(|_| ImapUrlError("escaped bytes are not UTF-8"))
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Byte offset of the first ASCII-case-insensitive occurrence of `needle` (ASCII).
fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    if n.is_empty() || h.len() < n.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrus_message_url() {
        let u = parse_imap_url(
            "imap://john.doe@example.org@kolab.example.org/INBOX;UIDVALIDITY=1411487714/;UID=6",
        )
        .unwrap();
        assert_eq!(u.user.as_deref(), Some("john.doe@example.org"));
        assert_eq!(u.host, "kolab.example.org");
        assert_eq!(u.port, None);
        assert_eq!(u.mailbox.as_deref(), Some("INBOX"));
        assert_eq!(u.uidvalidity, Some(1_411_487_714));
        assert_eq!(u.uid, Some(6));
    }

    #[test]
    fn brief_example_and_variants() {
        let u = parse_imap_url("imap://user@host/INBOX;UIDVALIDITY=1234/;UID=5").unwrap();
        assert_eq!(
            (
                u.user.as_deref(),
                u.host.as_str(),
                u.mailbox.as_deref(),
                u.uidvalidity,
                u.uid
            ),
            (Some("user"), "host", Some("INBOX"), Some(1234), Some(5))
        );
        let u = parse_imap_url("IMAP://mail.example.org:1143/user/bob/Sent%20Items;uidvalidity=7")
            .unwrap();
        assert_eq!(u.user, None);
        assert_eq!(u.port, Some(1143));
        assert_eq!(u.mailbox.as_deref(), Some("user/bob/Sent Items"));
        assert_eq!(u.uidvalidity, Some(7));
        assert_eq!(u.uid, None);
        let u = parse_imap_url("imap://bob;AUTH=*@[::1]:143/INBOX/;UID=20/;SECTION=1.2").unwrap();
        assert_eq!(u.user.as_deref(), Some("bob"));
        assert_eq!(u.host, "[::1]");
        assert_eq!(u.uid, Some(20));
        let u = parse_imap_url("imap://mail.example.org").unwrap();
        assert_eq!(u.mailbox, None);
        let u = parse_imap_url("imap://h/Entw%C3%BCrfe").unwrap();
        assert_eq!(u.mailbox.as_deref(), Some("Entwürfe"));
    }

    #[test]
    fn rejects() {
        for bad in [
            "http://h/INBOX",
            "imap://",
            "imap:///INBOX",
            "imap://h:99999/INBOX",
            "imap://h:x/INBOX",
            "imap://h/INBOX;UIDVALIDITY=0",
            "imap://h/INBOX;UIDVALIDITY=4294967296",
            "imap://h/INBOX;UIDVALIDITY=-1",
            "imap://h/INBOX/;UID=",
            "imap://h/INBOX/;UID=abc",
            "imap://h/IN%ZZBOX",
            "imap://h/IN%+1BOX",
            "imap://h/IN%FFBOX",
            "imap://h/INBOX%4",
            "imap://[::1/INBOX",
        ] {
            assert!(parse_imap_url(bad).is_err(), "{bad}");
        }
    }
}
