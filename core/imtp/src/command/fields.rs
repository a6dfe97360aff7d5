//! Pulling typed fields out of a header list (and writing them back), with
//! the draft's rules: first occurrence wins for single-valued headers,
//! everything not consumed is kept in order for relays (section 10).

use crate::astrength::Astrength;
use crate::encoder::{Sink, extra_headers, header_checked, header_trusted};
use crate::error::{EncodeError, MessageError, SyntaxError};
use crate::header::{Header, Headers, names};
use crate::subscription::Subscription;
use crate::url::{Scheme, Url};

/// Headers common to every typed message: the path's authentication
/// strength and whatever we did not interpret (unknown headers and repeats
/// of single-valued ones), which a relay must forward unmodified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    pub astrength: Option<Astrength>,
    pub extra: Vec<Header>,
}

pub(crate) struct Fields {
    list: Vec<Header>,
    taken: Vec<bool>,
}

fn invalid(name: &'static str) -> impl FnOnce(SyntaxError) -> MessageError {
    move |error| MessageError::InvalidHeader { name, error }
}

impl Fields {
    pub(crate) fn new(headers: Headers) -> Fields {
        let list = headers.into_vec();
        let taken = vec![false; list.len()];
        Fields { list, taken }
    }

    /// All headers, untouched (nothing has been taken yet).
    pub(crate) fn into_headers(self) -> Headers {
        Headers::from(self.list)
    }

    /// Takes the first occurrence; later ones stay for `extra`.
    pub(crate) fn first(&mut self, name: &str) -> Option<String> {
        let i = self
            .list
            .iter()
            .enumerate()
            .position(|(i, h)| !self.taken[i] && h.name == name)?;
        self.taken[i] = true;
        Some(std::mem::take(&mut self.list[i].value))
    }

    /// Takes every occurrence (repeatable headers).
    pub(crate) fn all(&mut self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (i, h) in self.list.iter_mut().enumerate() {
            if !self.taken[i] && h.name == name {
                self.taken[i] = true;
                out.push(std::mem::take(&mut h.value));
            }
        }
        out
    }

    /// Whether a flag header such as `Abort:` is present (all taken).
    pub(crate) fn flag(&mut self, name: &str) -> bool {
        !self.all(name).is_empty()
    }

    pub(crate) fn url(&mut self, name: &'static str, scheme: Scheme) -> Result<Url, MessageError> {
        self.opt_url(name, scheme)?
            .ok_or(MessageError::MissingHeader(name))
    }

    pub(crate) fn opt_url(
        &mut self,
        name: &'static str,
        scheme: Scheme,
    ) -> Result<Option<Url>, MessageError> {
        self.first(name)
            .map(|v| Url::parse_or(&v, scheme).map_err(invalid(name)))
            .transpose()
    }

    pub(crate) fn urls(
        &mut self,
        name: &'static str,
        scheme: Scheme,
    ) -> Result<Vec<Url>, MessageError> {
        self.all(name)
            .iter()
            .map(|v| Url::parse_or(v, scheme).map_err(invalid(name)))
            .collect()
    }

    pub(crate) fn parsed<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, SyntaxError>,
    ) -> Result<Option<T>, MessageError> {
        self.first(name)
            .map(|v| parse(&v).map_err(invalid(name)))
            .transpose()
    }

    pub(crate) fn subscription(&mut self) -> Result<Subscription, MessageError> {
        self.parsed(names::SUBSCRIPTION, Subscription::parse)?
            .ok_or(MessageError::MissingHeader(names::SUBSCRIPTION))
    }

    /// Astrength, then everything left over.
    pub(crate) fn meta(mut self) -> Result<Meta, MessageError> {
        let astrength = self.parsed(names::ASTRENGTH, Astrength::parse)?;
        let extra = self
            .list
            .into_iter()
            .zip(self.taken)
            .filter(|(_, taken)| !taken)
            .map(|(h, _)| h)
            .collect();
        Ok(Meta { astrength, extra })
    }
}

pub(crate) fn url_header<S: Sink>(s: &mut S, name: &str, url: &Url) {
    s.put(name.as_bytes());
    s.put(b": ");
    url.write_to(s);
    s.put(b"\r\n");
}

pub(crate) fn subscription_header<S: Sink>(
    s: &mut S,
    sub: &Subscription,
) -> Result<(), EncodeError> {
    s.put(names::SUBSCRIPTION.as_bytes());
    s.put(b": ");
    sub.write_to(s)?;
    s.put(b"\r\n");
    Ok(())
}

pub(crate) fn content_type<S: Sink>(s: &mut S, ct: Option<&str>) -> Result<(), EncodeError> {
    match ct {
        Some(ct) => header_checked(s, names::CONTENT_TYPE, ct),
        None => Ok(()),
    }
}

pub(crate) fn write_meta<S: Sink>(s: &mut S, meta: &Meta) -> Result<(), EncodeError> {
    if let Some(a) = meta.astrength {
        header_trusted(s, names::ASTRENGTH, a.as_str().as_bytes());
    }
    extra_headers(s, &meta.extra)
}

/// Methods that take no payload: an absent one or `Content-Length: 0`.
pub(crate) fn no_payload(payload: Option<Vec<u8>>) -> Result<(), MessageError> {
    match payload {
        Some(p) if !p.is_empty() => Err(MessageError::UnexpectedPayload),
        _ => Ok(()),
    }
}
