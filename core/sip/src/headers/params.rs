//! `*( SEMI generic-param )` lists (RFC 3261 §25.1), iterated lazily so a
//! header view allocates nothing.

use crate::lex::{find_outside, is_token, trim_wsp};

/// A validated parameter list. `raw` is the text after the first `;`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Params<'a> {
    raw: &'a str,
}

impl<'a> Params<'a> {
    /// Validates `raw` (the text after the first `;`): every parameter is
    /// `token [ EQUAL ( token-ish / quoted-string ) ]`.
    pub(crate) fn parse(raw: &'a str) -> Result<Params<'a>, &'static str> {
        let p = Params { raw };
        let mut rest = Some(raw);
        while let Some(s) = rest {
            let (item, next) = split_first(s);
            rest = next;
            let (name, value) = split_param(item);
            if !is_token(name) {
                return Err("parameter name is not a token");
            }
            if let Some(v) = value {
                check_value(v)?;
            }
        }
        Ok(p)
    }

    /// The raw text after the first `;`.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// `(name, value)` pairs in order; quoted values come without quotes.
    pub fn iter(&self) -> ParamIter<'a> {
        ParamIter {
            rest: (!self.raw.is_empty()).then_some(self.raw),
        }
    }

    /// Each parameter's text as received (`name=value`, quotes kept),
    /// whitespace-trimmed; used to re-emit parameters verbatim.
    pub fn raw_items(&self) -> impl Iterator<Item = &'a str> {
        let mut rest = (!self.raw.is_empty()).then_some(self.raw);
        std::iter::from_fn(move || {
            let (item, next) = split_first(rest?);
            rest = next;
            Some(trim_wsp(item))
        })
    }

    /// `None`: absent; `Some(None)`: present without value (`;rport`);
    /// `Some(Some(v))`: `;name=v`. Names compare case-insensitively.
    pub fn get(&self, name: &str) -> Option<Option<&'a str>> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Value of `name`, `None` when absent or valueless.
    pub fn value(&self, name: &str) -> Option<&'a str> {
        self.get(name).flatten()
    }
}

#[derive(Debug, Clone)]
pub struct ParamIter<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for ParamIter<'a> {
    type Item = (&'a str, Option<&'a str>);

    fn next(&mut self) -> Option<Self::Item> {
        let (item, next) = split_first(self.rest?);
        self.rest = next;
        let (name, value) = split_param(item);
        Some((name, value.map(unquote)))
    }
}

fn split_first(s: &str) -> (&str, Option<&str>) {
    match find_outside(s, b';') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

fn split_param(item: &str) -> (&str, Option<&str>) {
    match item.split_once('=') {
        // EQUAL = SWS "=" SWS
        Some((n, v)) => (trim_wsp(n), Some(trim_wsp(v))),
        None => (trim_wsp(item), None),
    }
}

fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v)
}

fn check_value(v: &str) -> Result<(), &'static str> {
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        return Ok(());
    }
    // token, host (IPv6 reference), or the few extra characters URI-ish
    // parameter values carry in the wild.
    let ok = !v.is_empty()
        && v.bytes().all(|b| {
            crate::lex::is_token_byte(b)
                || matches!(b, b':' | b'[' | b']' | b'/' | b'@' | b'?' | b'&')
        });
    if ok {
        Ok(())
    } else {
        Err("malformed parameter value")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_iterate_and_lookup() {
        let p = Params::parse("branch=z9hG4bK1; RPORT ;received = 10.0.0.1;x=\"a;b\"");
        let p = p.unwrap_or_default();
        assert_eq!(p.get("rport"), Some(None));
        assert_eq!(p.value("Branch"), Some("z9hG4bK1"));
        assert_eq!(p.value("received"), Some("10.0.0.1"));
        assert_eq!(p.value("x"), Some("a;b"));
        assert_eq!(p.get("maddr"), None);
        assert_eq!(p.iter().count(), 4);
    }

    #[test]
    fn params_reject_garbage() {
        assert!(Params::parse("").is_err());
        assert!(Params::parse("a=b;;c").is_err());
        assert!(Params::parse("a b=c").is_err());
        assert!(Params::parse("a=<x>").is_err());
    }
}
