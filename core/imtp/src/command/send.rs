//! IMTP `send` (section 16.2).

use super::fields::{Fields, Meta, content_type, url_header, write_meta};
use crate::encoder::{Sink, finish};
use crate::error::{EncodeError, MessageError};
use crate::header::names;
use crate::url::{Scheme, Url};
use crate::visited::Visited;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendMessage {
    pub sender: Url,
    pub inbox: Url,
    pub orig_sender: Option<Url>,
    /// Repeatable; when present lists *all* original recipients.
    pub orig_inbox: Vec<Url>,
    /// Added by relays; empty (header omitted) from an originating client.
    pub visited: Visited,
    /// `None`: the IMTP default `text/plain; charset=UTF-8`.
    pub content_type: Option<String>,
    /// Required by the draft; binary-safe.
    pub payload: Vec<u8>,
    pub meta: Meta,
}

impl SendMessage {
    /// A plain-text notification from `sender` to `inbox`.
    pub fn new(sender: Url, inbox: Url, payload: impl Into<Vec<u8>>) -> SendMessage {
        SendMessage {
            sender,
            inbox,
            orig_sender: None,
            orig_inbox: Vec::new(),
            visited: Visited::default(),
            content_type: None,
            payload: payload.into(),
            meta: Meta::default(),
        }
    }

    pub(crate) fn parse(
        mut f: Fields,
        payload: Option<Vec<u8>>,
    ) -> Result<SendMessage, MessageError> {
        let im = Scheme::Im;
        Ok(SendMessage {
            sender: f.url(names::SENDER, im)?,
            inbox: f.url(names::INBOX, im)?,
            orig_sender: f.opt_url(names::ORIG_SENDER, im)?,
            orig_inbox: f.urls(names::ORIG_INBOX, im)?,
            visited: f
                .parsed(names::VISITED, Visited::parse)?
                .unwrap_or_default(),
            content_type: f.first(names::CONTENT_TYPE),
            payload: payload.ok_or(MessageError::MissingPayload)?,
            meta: f.meta()?,
        })
    }

    pub(crate) fn write<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        url_header(s, names::SENDER, &self.sender);
        url_header(s, names::INBOX, &self.inbox);
        if let Some(u) = &self.orig_sender {
            url_header(s, names::ORIG_SENDER, u);
        }
        for u in &self.orig_inbox {
            url_header(s, names::ORIG_INBOX, u);
        }
        if !self.visited.is_empty() {
            s.put(names::VISITED.as_bytes());
            s.put(b": ");
            self.visited.write_to(s);
            s.put(b"\r\n");
        }
        content_type(s, self.content_type.as_deref())?;
        write_meta(s, &self.meta)?;
        finish(s, Some(&self.payload));
        Ok(())
    }
}
