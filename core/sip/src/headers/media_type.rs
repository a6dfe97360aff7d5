//! Content-Type / Accept media types (RFC 3261 §20.15).

use super::params::Params;
use crate::lex::{is_token, trim_wsp};

/// The body type of RFC 3842.
pub const SIMPLE_MESSAGE_SUMMARY: &str = "application/simple-message-summary";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaType<'a> {
    pub type_: &'a str,
    pub subtype: &'a str,
    params: Params<'a>,
}

impl<'a> MediaType<'a> {
    /// `m-type SLASH m-subtype *(SEMI m-parameter)`, SLASH allowing
    /// whitespace around it.
    pub fn parse(raw: &'a str) -> Result<MediaType<'a>, &'static str> {
        let (essence, params) = match raw.split_once(';') {
            Some((e, p)) => (e, Params::parse(p)?),
            None => (raw, Params::default()),
        };
        let (t, s) = essence.split_once('/').ok_or("missing '/'")?;
        let (type_, subtype) = (trim_wsp(t), trim_wsp(s));
        if !is_token(type_) || !is_token(subtype) {
            return Err("type or subtype is not a token");
        }
        Ok(MediaType {
            type_,
            subtype,
            params,
        })
    }

    pub fn params(&self) -> Params<'a> {
        self.params
    }

    /// Case-insensitive comparison of type and subtype, parameters ignored.
    pub fn is(&self, type_: &str, subtype: &str) -> bool {
        self.type_.eq_ignore_ascii_case(type_) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    pub fn is_simple_message_summary(&self) -> bool {
        self.is("application", "simple-message-summary")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        let m = MediaType::parse("Application / Simple-Message-Summary ; charset=utf-8");
        let Ok(m) = m else { panic!("{m:?}") };
        assert!(m.is_simple_message_summary());
        assert_eq!(m.params().value("charset"), Some("utf-8"));
        assert!(MediaType::parse("text").is_err());
        assert!(MediaType::parse("text/").is_err());
    }
}
