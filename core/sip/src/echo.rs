//! The request headers every response copies (RFC 3261 §8.2.6.2).

use crate::headers::{NameAddr, Via};
use crate::lex::split_outside;
use crate::{DropReason, HeaderKind, Method, SipMessage};

/// What a response needs from its request: all Via values in order, From,
/// To (and whether it had a tag), Call-ID and CSeq. Extracted leniently (the
/// first copy of each header wins) so that even a defective request can be
/// answered; the strict checks live in [`crate::Request::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EchoHeaders<'m> {
    pub(crate) top_via: Via<'m>,
    /// Every via-parm after the top one, as received.
    pub(crate) other_vias: Vec<&'m str>,
    pub(crate) from: &'m str,
    pub(crate) from_tag: Option<&'m str>,
    pub(crate) to: &'m str,
    pub(crate) to_tag: Option<&'m str>,
    pub(crate) call_id: &'m str,
    pub(crate) cseq: &'m str,
}

impl<'m> EchoHeaders<'m> {
    /// Fails when the message must not be answered (a response, ACK) or
    /// cannot be (a header needed to address the response is missing).
    pub fn from_message(msg: &'m SipMessage<'m>) -> Result<EchoHeaders<'m>, DropReason> {
        match msg.method() {
            None => return Err(DropReason::NotARequest),
            Some(Method::Ack) => return Err(DropReason::Ack),
            Some(_) => {}
        }
        let mut vias = Vec::new();
        for v in msg.get_all(HeaderKind::Via) {
            let parts = split_outside(v, b',').ok_or(DropReason::Malformed("Via"))?;
            vias.extend(parts.into_iter().map(crate::lex::trim_wsp));
        }
        let (&top, rest) = vias.split_first().ok_or(DropReason::Missing("Via"))?;
        let top_via = Via::parse(top).map_err(|_| DropReason::Malformed("Via"))?;
        let need = |kind: HeaderKind| {
            msg.get(kind)
                .filter(|v| !v.is_empty())
                .ok_or(DropReason::Missing(kind.canonical_name()))
        };
        let from = need(HeaderKind::From)?;
        let to = need(HeaderKind::To)?;
        let call_id = need(HeaderKind::CallId)?;
        let cseq = need(HeaderKind::CSeq)?;
        // The To-tag decides whether we add one: a To we cannot parse could
        // hide a tag, and a second tag would break the dialog, so drop.
        let to_tag = NameAddr::parse(to)
            .map_err(|_| DropReason::Malformed("To"))?
            .tag();
        let from_tag = NameAddr::parse(from).ok().and_then(|f| f.tag());
        Ok(EchoHeaders {
            top_via,
            other_vias: rest.to_vec(),
            from,
            from_tag,
            to,
            to_tag,
            call_id,
            cseq,
        })
    }

    pub fn top_via(&self) -> &Via<'m> {
        &self.top_via
    }

    pub fn call_id(&self) -> &'m str {
        self.call_id
    }

    pub fn cseq(&self) -> &'m str {
        self.cseq
    }

    pub fn from_tag(&self) -> Option<&'m str> {
        self.from_tag
    }

    /// The request's To-tag; `None` means out of dialog (and that responses
    /// get a derived tag).
    pub fn to_tag(&self) -> Option<&'m str> {
        self.to_tag
    }
}
