//! `Authorization: Basic` parsing (RFC 7617) and a constant-time comparison.

use crate::base64::{self, Base64Error};
use thiserror::Error;

/// Why an Authorization value is not usable Basic credentials.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    /// A scheme other than Basic, or no credentials after it.
    #[error("authorization scheme is not Basic")]
    NotBasic,
    /// The token68 is not valid base64.
    #[error("basic credentials are not valid base64: {0}")]
    Base64(#[from] Base64Error),
    /// Decoded credentials have no `:` between user and password.
    #[error("basic credentials have no ':' separator")]
    NoColon,
    /// Decoded credentials are not UTF-8 (RFC 7617 charset).
    #[error("basic credentials are not UTF-8")]
    NotUtf8,
    /// More than one Authorization field.
    #[error("several Authorization header fields")]
    Duplicate,
}

/// User and password from a Basic Authorization header. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// The user-id (everything before the first `:`).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The password (everything after the first `:`; may itself contain `:`).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// True when both user and password match. Both comparisons always run, each in time
    /// independent of where the bytes differ, so timing tells an attacker neither which
    /// half was wrong nor how much of it was right.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        let user_ok = constant_time_eq(self.user.as_bytes(), user.as_bytes());
        let pass_ok = constant_time_eq(self.password.as_bytes(), password.as_bytes());
        user_ok & pass_ok
    }
}

/// Parse an Authorization field value `Basic <token68>`. The scheme name is
/// case-insensitive; one or more spaces separate it from the credentials.
pub fn parse_basic_auth(value: &str) -> Result<Credentials, AuthError> {
    let value = value.trim_matches([' ', '\t']);
    let (scheme, rest) = value.split_once(' ').ok_or(AuthError::NotBasic)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(AuthError::NotBasic);
    }
    let token = rest.trim_start_matches(' ');
    if token.is_empty() {
        return Err(AuthError::NotBasic);
    }
    let decoded = base64::decode(token.as_bytes())?;
    let text = String::from_utf8(decoded).map_err(|_| AuthError::NotUtf8)?;
    let (user, password) = text.split_once(':').ok_or(AuthError::NoColon)?;
    Ok(Credentials {
        user: user.to_owned(),
        password: password.to_owned(),
    })
}

/// Compare two byte strings in time that depends only on the longer length, never on the
/// position of the first difference. Lengths are folded into the result rather than checked
/// first so that a length mismatch does not return early either.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().max(b.len());
    // usize difference folded to a non-zero byte when lengths differ.
    let len_diff = a.len() ^ b.len();
    let mut acc: u8 = u8::from(len_diff != 0);
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        acc |= std::hint::black_box(x ^ y);
    }
    std::hint::black_box(acc) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dovecot_style_header() {
        // "dovecot:s3cr:et" — the password may contain ':'
        let c = parse_basic_auth("Basic ZG92ZWNvdDpzM2NyOmV0").unwrap();
        assert_eq!(c.user(), "dovecot");
        assert_eq!(c.password(), "s3cr:et");
        assert!(c.verify("dovecot", "s3cr:et"));
        assert!(!c.verify("dovecot", "s3cr:eT"));
        assert!(!c.verify("Dovecot", "s3cr:et"));
        assert!(!c.verify("dovecot", "s3cr:et "));
    }

    #[test]
    fn scheme_is_case_insensitive_and_spaces_tolerated() {
        let c = parse_basic_auth("bAsIc   dXNlcjo=").unwrap();
        assert_eq!(c.user(), "user");
        assert_eq!(c.password(), "");
    }

    #[test]
    fn utf8_credentials() {
        // "jörg:pässwörd"
        let c = parse_basic_auth("Basic asO2cmc6cMOkc3N3w7ZyZA==").unwrap();
        assert_eq!(c.user(), "jörg");
        assert_eq!(c.password(), "pässwörd");
    }

    #[test]
    fn rejects_bad_values() {
        assert_eq!(parse_basic_auth("Bearer abc"), Err(AuthError::NotBasic));
        assert_eq!(parse_basic_auth("Basic"), Err(AuthError::NotBasic));
        assert_eq!(parse_basic_auth("Basic "), Err(AuthError::NotBasic));
        assert_eq!(
            parse_basic_auth("Basicx dXNlcjo="),
            Err(AuthError::NotBasic)
        );
        assert!(matches!(
            parse_basic_auth("Basic dXNlcjo=!"),
            Err(AuthError::Base64(_))
        ));
        // "user" without colon
        assert_eq!(parse_basic_auth("Basic dXNlcg=="), Err(AuthError::NoColon));
        // 0xff 0xfe 0x3a
        assert_eq!(parse_basic_auth("Basic //46"), Err(AuthError::NotUtf8));
    }

    #[test]
    fn debug_redacts_password() {
        let c = parse_basic_auth("Basic dXNlcjpodW50ZXIy").unwrap();
        let shown = format!("{c:?}");
        assert!(shown.contains("user"));
        assert!(!shown.contains("hunter2"));
    }

    #[test]
    fn constant_time_eq_semantics() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"", b"\0"));
        // Same length modulo 256 must still differ (length folded, not truncated).
        assert!(!constant_time_eq(&[0u8; 256], &[]));
    }
}
