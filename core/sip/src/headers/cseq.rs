//! CSeq (RFC 3261 §20.16).

use crate::Method;
use crate::lex::{is_token, trim_wsp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CSeq<'a> {
    pub number: u32,
    pub method: Method<'a>,
}

impl<'a> CSeq<'a> {
    /// `1*DIGIT LWS Method`; the number must be below 2^31.
    pub fn parse(raw: &'a str) -> Result<CSeq<'a>, &'static str> {
        let raw = trim_wsp(raw);
        let split = raw.find([' ', '\t']).ok_or("needs a number and a method")?;
        let (num, method) = (&raw[..split], trim_wsp(&raw[split..]));
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
            return Err("number is not 1*DIGIT");
        }
        let number: u32 = num.parse().map_err(|_| "number too large")?;
        if number >= 1 << 31 {
            return Err("number not below 2^31");
        }
        if !is_token(method) {
            return Err("method is not a token");
        }
        Ok(CSeq {
            number,
            method: Method::from_token(method),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cseq() {
        assert_eq!(
            CSeq::parse(" 42  NOTIFY "),
            Ok(CSeq {
                number: 42,
                method: Method::Notify
            })
        );
        assert!(CSeq::parse("42").is_err());
        assert!(CSeq::parse("x NOTIFY").is_err());
        assert!(CSeq::parse("2147483648 NOTIFY").is_err());
        assert!(CSeq::parse("1 NO TIFY").is_err());
    }
}
