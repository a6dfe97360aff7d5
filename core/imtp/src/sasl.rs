//! The two SASL mechanisms we implement: PLAIN (RFC 4616) and EXTERNAL
//! (RFC 4422 appendix A). Their messages go as raw `auth` payloads.

use std::fmt;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SaslError {
    #[error("PLAIN message must be authzid NUL authcid NUL password")]
    PlainShape,
    #[error("PLAIN fields must be UTF-8")]
    PlainUtf8,
    #[error("PLAIN {0} must be 1 to 255 octets without NUL")]
    PlainField(&'static str),
    #[error("EXTERNAL authorization identity must be UTF-8 without NUL")]
    ExternalAuthzid,
}

/// RFC 4616 credentials. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainCredentials {
    /// Empty: act as `authcid`.
    pub authzid: String,
    pub authcid: String,
    pub password: String,
}

impl fmt::Debug for PlainCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainCredentials")
            .field("authzid", &self.authzid)
            .field("authcid", &self.authcid)
            .field("password", &"<redacted>")
            .finish()
    }
}

fn check(field: &'static str, s: &str, allow_empty: bool) -> Result<(), SaslError> {
    if (s.is_empty() && !allow_empty) || s.len() > 255 || s.contains('\0') {
        return Err(SaslError::PlainField(field));
    }
    Ok(())
}

impl PlainCredentials {
    pub fn new(authcid: impl Into<String>, password: impl Into<String>) -> PlainCredentials {
        PlainCredentials {
            authzid: String::new(),
            authcid: authcid.into(),
            password: password.into(),
        }
    }

    /// `[authzid] NUL authcid NUL passwd`.
    pub fn encode(&self) -> Result<Vec<u8>, SaslError> {
        check("authzid", &self.authzid, true)?;
        check("authcid", &self.authcid, false)?;
        check("password", &self.password, false)?;
        let mut out =
            Vec::with_capacity(self.authzid.len() + self.authcid.len() + self.password.len() + 2);
        out.extend_from_slice(self.authzid.as_bytes());
        out.push(0);
        out.extend_from_slice(self.authcid.as_bytes());
        out.push(0);
        out.extend_from_slice(self.password.as_bytes());
        Ok(out)
    }

    pub fn decode(msg: &[u8]) -> Result<PlainCredentials, SaslError> {
        let mut parts = msg.split(|&b| b == 0);
        let (Some(z), Some(c), Some(p), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SaslError::PlainShape);
        };
        let text = |b: &[u8]| {
            std::str::from_utf8(b)
                .map(str::to_owned)
                .map_err(|_| SaslError::PlainUtf8)
        };
        let creds = PlainCredentials {
            authzid: text(z)?,
            authcid: text(c)?,
            password: text(p)?,
        };
        check("authzid", &creds.authzid, true)?;
        check("authcid", &creds.authcid, false)?;
        check("password", &creds.password, false)?;
        Ok(creds)
    }

    /// The identity the client asks to act as.
    pub fn requested_identity(&self) -> &str {
        if self.authzid.is_empty() {
            &self.authcid
        } else {
            &self.authzid
        }
    }
}

/// EXTERNAL's only message: the authorization identity (empty = "whatever
/// my certificate says").
pub fn external_decode(msg: &[u8]) -> Result<String, SaslError> {
    match std::str::from_utf8(msg) {
        Ok(s) if !s.contains('\0') => Ok(s.to_owned()),
        _ => Err(SaslError::ExternalAuthzid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_round_trip_and_rejections() {
        let c = PlainCredentials {
            authzid: "".into(),
            authcid: "tim".into(),
            password: "tanstaaftanstaaf".into(),
        };
        let m = c.encode().unwrap();
        assert_eq!(m, b"\0tim\0tanstaaftanstaaf");
        assert_eq!(PlainCredentials::decode(&m).unwrap(), c);
        assert!(PlainCredentials::decode(b"a\0b").is_err());
        assert!(PlainCredentials::decode(b"a\0\0pw").is_err());
        assert!(PlainCredentials::decode(b"a\0b\0c\0d").is_err());
        assert!(PlainCredentials::decode(b"\0\xff\0pw").is_err());
        assert!(!format!("{c:?}").contains("tanstaaf"));
    }
}
