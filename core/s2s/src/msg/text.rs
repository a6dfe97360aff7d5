//! Text field rules: UTF-8 (D-13), lengths in bytes, no control characters,
//! and the grammars of identifiers (kind, prefix, namespace, language tag,
//! address). Shared by encoders (reject before sending) and decoders.

use super::error::{Field, MsgError};

/// Limits, in bytes of UTF-8.
pub mod limits {
    pub const SOURCE_EVENT_ID: usize = 256;
    pub const KIND: usize = 128;
    pub const USER: usize = 512;
    pub const HOST: usize = 255;
    pub const SUMMARY: usize = 1024;
    pub const BODY: usize = u16::MAX as usize;
    pub const ATTR_KEY: usize = 128;
    pub const ATTR_VALUE: usize = 16 * 1024;
    pub const ATTRS: usize = 64;
    pub const LANG: usize = 35;
    pub const SOURCE: usize = 128;
    pub const SOFTWARE: usize = 128;
    pub const PREFIX: usize = 16;
    pub const NAMESPACE: usize = 64;
    pub const BINDINGS: usize = 32;
    pub const APPLIANCE_ID: usize = 128;
    pub const ADDRESS: usize = 261;
    pub const ADDRESSES: usize = 16;
    pub const TEXT: usize = 1024;
    /// Latest accepted occurred-at: 9999-12-31T23:59:59.999Z in unix ms.
    pub const MAX_TIME_MS: i64 = 253_402_300_799_999;
}

/// Which control characters a field tolerates.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Controls {
    /// None at all (identifiers, one-line text).
    None,
    /// TAB, LF and CR (multi-line text such as a body or an SMTP envelope).
    Lines,
}

/// Bytes -> validated &str.
pub(crate) fn text(
    field: Field,
    v: &[u8],
    min: usize,
    max: usize,
    controls: Controls,
) -> Result<&str, MsgError> {
    let s = std::str::from_utf8(v).map_err(|_| MsgError::InvalidUtf8 { field })?;
    check(field, s, min, max, controls)?;
    Ok(s)
}

/// Validate an already-UTF-8 string (the encoder's side).
pub(crate) fn check(
    field: Field,
    s: &str,
    min: usize,
    max: usize,
    controls: Controls,
) -> Result<(), MsgError> {
    if s.len() < min {
        return Err(MsgError::Empty { field });
    }
    if s.len() > max {
        return Err(MsgError::TooLong {
            field,
            len: s.len(),
            max,
        });
    }
    // Bytes below 0x80 in UTF-8 are always whole ASCII characters, so a
    // byte scan finds every C0 control and DEL.
    let bad = s.bytes().any(|b| match b {
        b'\t' | b'\n' | b'\r' => controls == Controls::None,
        0..=0x1f | 0x7f => true,
        _ => false,
    });
    if bad {
        return Err(MsgError::InvalidValue {
            field,
            reason: "control character",
        });
    }
    Ok(())
}

fn invalid(field: Field, reason: &'static str) -> MsgError {
    MsgError::InvalidValue { field, reason }
}

/// `[a-z][a-z0-9]{0,15}`: a namespace prefix.
pub(crate) fn check_prefix(field: Field, s: &str) -> Result<(), MsgError> {
    check(field, s, 1, limits::PREFIX, Controls::None)?;
    let mut b = s.bytes();
    let ok = b.next().is_some_and(|c| c.is_ascii_lowercase())
        && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(invalid(field, "prefix must match [a-z][a-z0-9]*"))
    }
}

/// `label ("." label)*`, label = `[a-z][a-z0-9-]*`: a namespace.
pub(crate) fn check_namespace(field: Field, s: &str) -> Result<(), MsgError> {
    check(field, s, 1, limits::NAMESPACE, Controls::None)?;
    let ok = s.split('.').all(|label| {
        let mut b = label.bytes();
        b.next().is_some_and(|c| c.is_ascii_lowercase())
            && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    });
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            "namespace must be dot-separated labels matching [a-z][a-z0-9-]*",
        ))
    }
}

/// `[A-Za-z][A-Za-z0-9_-]*`: the local name of a kind.
fn is_kind_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic())
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// How a kind was written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindForm<'a> {
    /// `namespace.Name`
    Full { namespace: &'a str, name: &'a str },
    /// `prefix:Name`, expanded with the HELLO's namespace bindings.
    Prefixed { prefix: &'a str, name: &'a str },
}

/// Parse a kind: `namespace "." Name` or `prefix ":" Name`.
pub fn parse_kind(s: &str) -> Result<KindForm<'_>, MsgError> {
    const F: Field = Field::Kind;
    check(F, s, 1, limits::KIND, Controls::None)?;
    if let Some((prefix, name)) = s.split_once(':') {
        check_prefix(F, prefix)?;
        if !is_kind_name(name) {
            return Err(invalid(F, "name must match [A-Za-z][A-Za-z0-9_-]*"));
        }
        return Ok(KindForm::Prefixed { prefix, name });
    }
    let Some((namespace, name)) = s.rsplit_once('.') else {
        return Err(invalid(F, "kind must be namespace.Name or prefix:Name"));
    };
    check_namespace(F, namespace)?;
    if !is_kind_name(name) {
        return Err(invalid(F, "name must match [A-Za-z][A-Za-z0-9_-]*"));
    }
    Ok(KindForm::Full { namespace, name })
}

/// BCP 47 shape: `[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*`, at most 35 bytes.
pub(crate) fn check_lang(field: Field, s: &str) -> Result<(), MsgError> {
    check(field, s, 1, limits::LANG, Controls::None)?;
    let mut parts = s.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| (1..=8).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_alphabetic()));
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_alphanumeric()));
    if first_ok && rest_ok {
        Ok(())
    } else {
        Err(invalid(field, "not a BCP 47 language tag"))
    }
}

/// `[A-Za-z0-9._-]+`: a source name.
pub(crate) fn check_source_name(field: Field, s: &str) -> Result<(), MsgError> {
    check(field, s, 1, limits::SOURCE, Controls::None)?;
    if s.bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
    {
        Ok(())
    } else {
        Err(invalid(field, "source name must match [A-Za-z0-9._-]+"))
    }
}

/// `[A-Za-z0-9._:-]+`: an attribute key (RFC 5423 parameter names fit).
pub(crate) fn check_attr_key(s: &str) -> Result<(), MsgError> {
    check(Field::Attribute, s, 1, limits::ATTR_KEY, Controls::None)?;
    if s.bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-'))
    {
        Ok(())
    } else {
        Err(invalid(
            Field::Attribute,
            "attribute key must match [A-Za-z0-9._:-]+",
        ))
    }
}

/// A host name or address literal: no spaces, no controls, no '/'.
pub(crate) fn check_host(field: Field, s: &str) -> Result<(), MsgError> {
    check(field, s, 1, limits::HOST, Controls::None)?;
    if s.bytes().any(|c| c == b' ' || c == b'/') {
        return Err(invalid(field, "host contains a space or '/'"));
    }
    Ok(())
}

/// `host ":" port` or `"[" v6 "]:" port`, port 1..=65535.
pub(crate) fn check_address(field: Field, s: &str) -> Result<(), MsgError> {
    check(field, s, 3, limits::ADDRESS, Controls::None)?;
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err(invalid(field, "address must be host:port"));
    };
    let port_ok = !port.is_empty()
        && port.bytes().all(|c| c.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|p| p != 0);
    if !port_ok {
        return Err(invalid(field, "port must be 1..=65535"));
    }
    let host = match host.strip_prefix('[') {
        Some(inner) => inner
            .strip_suffix(']')
            .ok_or_else(|| invalid(field, "unbalanced '[' in address"))?,
        None if host.contains(':') => {
            return Err(invalid(field, "IPv6 addresses must be in brackets"));
        }
        None => host,
    };
    check_host(field, host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(
            parse_kind("mail.MessageNew"),
            Ok(KindForm::Full {
                namespace: "mail",
                name: "MessageNew"
            })
        );
        assert_eq!(
            parse_kind("vnd.cmu.MessageCopy"),
            Ok(KindForm::Full {
                namespace: "vnd.cmu",
                name: "MessageCopy"
            })
        );
        assert_eq!(
            parse_kind("m:MessageNew"),
            Ok(KindForm::Prefixed {
                prefix: "m",
                name: "MessageNew"
            })
        );
        for bad in [
            "",
            "MessageNew",
            "Mail.MessageNew",
            "mail.",
            ".X",
            "mail..X",
            "m:",
            "M:X",
            "mail.1X",
            "mail.Message New",
            "m:a:b",
        ] {
            assert!(parse_kind(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses() {
        for ok in [
            "tocsin-a.example:7117",
            "10.0.0.1:1",
            "[::1]:7117",
            "localhost:65535",
        ] {
            assert!(check_address(Field::Address, ok).is_ok(), "{ok}");
        }
        for bad in [
            "host",
            "host:0",
            "host:70000",
            "::1:7117",
            "[::1:7117",
            ":7117",
            "a b:1",
        ] {
            assert!(check_address(Field::Address, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn langs_and_controls() {
        for ok in ["en", "de-CH", "zh-Hant-TW", "sr-Latn-RS"] {
            assert!(check_lang(Field::Lang, ok).is_ok(), "{ok}");
        }
        for bad in ["", "e n", "toolonglang", "en-", "1en"] {
            assert!(check_lang(Field::Lang, bad).is_err(), "{bad}");
        }
        assert!(check(Field::Body, "a\r\nb\tc", 0, 10, Controls::Lines).is_ok());
        assert!(check(Field::Summary, "a\nb", 0, 10, Controls::None).is_err());
        assert!(check(Field::Body, "a\0b", 0, 10, Controls::Lines).is_err());
        assert!(check(Field::Summary, "Grüße 👋", 1, 20, Controls::None).is_ok());
    }
}
