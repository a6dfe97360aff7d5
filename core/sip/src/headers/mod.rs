//! Typed views of individual header fields, and typed accessors on
//! [`SipMessage`]. Every accessor returns `Ok(None)` when the header is
//! absent and a [`HeaderError`] when it is present but unusable.

mod cseq;
mod event;
mod media_type;
mod name_addr;
mod params;
mod via;

pub use cseq::CSeq;
pub use event::{Event, MESSAGE_SUMMARY, SubState, SubscriptionState};
pub use media_type::{MediaType, SIMPLE_MESSAGE_SUMMARY};
pub use name_addr::NameAddr;
pub use params::{ParamIter, Params};
pub use via::{MAGIC_COOKIE, Rport, Via};

use crate::lex::{split_outside, trim_wsp};
use crate::{HeaderError, HeaderKind, SipMessage};

impl<'a> SipMessage<'a> {
    /// The one value of a header RFC 3261 allows once. A repeated header is
    /// an error even when the copies agree: peers never do this by accident.
    pub fn single(&self, kind: HeaderKind) -> Result<Option<&str>, HeaderError> {
        let mut all = self.get_all(kind);
        let first = all.next();
        if all.next().is_some() {
            return Err(HeaderError::new(
                kind.canonical_name(),
                "appears more than once",
            ));
        }
        Ok(first)
    }

    fn typed<'s, T>(
        &'s self,
        kind: HeaderKind,
        parse: impl FnOnce(&'s str) -> Result<T, &'static str>,
    ) -> Result<Option<T>, HeaderError> {
        self.single(kind)?
            .map(|v| parse(v).map_err(|p| HeaderError::new(kind.canonical_name(), p)))
            .transpose()
    }

    pub fn call_id(&self) -> Result<Option<&str>, HeaderError> {
        self.typed(HeaderKind::CallId, |v| {
            // Call-ID = word [ "@" word ]: no whitespace, not empty.
            if v.is_empty() || v.contains([' ', '\t']) {
                Err("is empty or contains whitespace")
            } else {
                Ok(v)
            }
        })
    }

    pub fn cseq(&self) -> Result<Option<CSeq<'_>>, HeaderError> {
        self.typed(HeaderKind::CSeq, CSeq::parse)
    }

    pub fn from_header(&self) -> Result<Option<NameAddr<'_>>, HeaderError> {
        self.typed(HeaderKind::From, NameAddr::parse)
    }

    pub fn to_header(&self) -> Result<Option<NameAddr<'_>>, HeaderError> {
        self.typed(HeaderKind::To, NameAddr::parse)
    }

    /// Every via-parm of every Via header, top first.
    pub fn vias(&self) -> Result<Vec<Via<'_>>, HeaderError> {
        let mut out = Vec::with_capacity(2);
        for v in self.get_all(HeaderKind::Via) {
            out.extend(Via::parse_list(v).map_err(|p| HeaderError::new("Via", p))?);
        }
        Ok(out)
    }

    /// The topmost via-parm (the one describing the previous hop).
    pub fn top_via(&self) -> Result<Option<Via<'_>>, HeaderError> {
        let Some(first) = self.get(HeaderKind::Via) else {
            return Ok(None);
        };
        let parts =
            split_outside(first, b',').ok_or(HeaderError::new("Via", "unbalanced quotes"))?;
        let top = parts.first().copied().unwrap_or(first);
        Via::parse(top)
            .map(Some)
            .map_err(|p| HeaderError::new("Via", p))
    }

    pub fn event(&self) -> Result<Option<Event<'_>>, HeaderError> {
        self.typed(HeaderKind::Event, Event::parse)
    }

    pub fn subscription_state(&self) -> Result<Option<SubscriptionState<'_>>, HeaderError> {
        self.typed(HeaderKind::SubscriptionState, SubscriptionState::parse)
    }

    pub fn content_type(&self) -> Result<Option<MediaType<'_>>, HeaderError> {
        self.typed(HeaderKind::ContentType, MediaType::parse)
    }

    /// Expires as delta-seconds; values above 2^32-1 saturate (RFC 3261
    /// §20.19 lets receivers treat huge values as the maximum).
    pub fn expires(&self) -> Result<Option<u32>, HeaderError> {
        self.typed(HeaderKind::Expires, delta_seconds)
    }

    pub fn min_expires(&self) -> Result<Option<u32>, HeaderError> {
        self.typed(HeaderKind::MinExpires, delta_seconds)
    }

    /// Retry-After delta-seconds; a trailing comment or parameters are
    /// ignored.
    pub fn retry_after(&self) -> Result<Option<u32>, HeaderError> {
        self.typed(HeaderKind::RetryAfter, |v| {
            let end = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
            delta_seconds(&v[..end])
        })
    }

    pub fn max_forwards(&self) -> Result<Option<u32>, HeaderError> {
        self.typed(HeaderKind::MaxForwards, |v| {
            crate::lex::parse_u32(v).ok_or("is not 1*DIGIT")
        })
    }

    /// The first Contact address. `*` (only meaningful in REGISTER) is an
    /// error here.
    pub fn contact(&self) -> Result<Option<NameAddr<'_>>, HeaderError> {
        let Some(first) = self.get(HeaderKind::Contact) else {
            return Ok(None);
        };
        let parts =
            split_outside(first, b',').ok_or(HeaderError::new("Contact", "unbalanced quotes"))?;
        let top = parts.first().copied().unwrap_or(first);
        NameAddr::parse(top)
            .map(Some)
            .map_err(|p| HeaderError::new("Contact", p))
    }

    /// Option tags of every Require header.
    pub fn require(&self) -> Result<Vec<&str>, HeaderError> {
        let mut tags = Vec::new();
        for v in self.get_all(HeaderKind::Require) {
            for t in v.split(',').map(trim_wsp).filter(|t| !t.is_empty()) {
                if !crate::lex::is_token(t) {
                    return Err(HeaderError::new("Require", "option tag is not a token"));
                }
                tags.push(t);
            }
        }
        Ok(tags)
    }
}

/// delta-seconds = 1*DIGIT, saturating at 2^32-1.
fn delta_seconds(v: &str) -> Result<u32, &'static str> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err("is not 1*DIGIT");
    }
    Ok(v.bytes().fold(0u32, |acc, b| {
        acc.saturating_mul(10).saturating_add(u32::from(b - b'0'))
    }))
}
