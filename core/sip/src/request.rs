//! A validated request view: the mandatory headers are checked once and
//! kept parsed; the optional ones parse on access.

use crate::headers::{CSeq, Event, MediaType, NameAddr, SubscriptionState, Via};
use crate::{DropReason, EchoHeaders, HeaderError, Method, SipMessage};

/// A request whose Via, From, To, Call-ID and CSeq are present, single
/// (where RFC 3261 says so) and well-formed, and whose CSeq method matches
/// the request method.
#[derive(Debug, Clone)]
pub struct Request<'m> {
    msg: &'m SipMessage<'m>,
    method: Method<'m>,
    uri: &'m str,
    echo: EchoHeaders<'m>,
    vias: Vec<Via<'m>>,
    from: NameAddr<'m>,
    to: NameAddr<'m>,
    call_id: &'m str,
    cseq: CSeq<'m>,
}

/// Why [`Request::new`] refused a message.
#[derive(Debug, Clone)]
pub enum RequestError<'m> {
    /// Not to be answered at all.
    Drop(DropReason),
    /// To be answered 400 with these headers (boxed: the error path is
    /// rare and the headers are large).
    Invalid {
        error: HeaderError,
        echo: Box<EchoHeaders<'m>>,
    },
}

impl<'m> Request<'m> {
    pub fn new(msg: &'m SipMessage<'m>) -> Result<Request<'m>, RequestError<'m>> {
        let echo = EchoHeaders::from_message(msg).map_err(RequestError::Drop)?;
        let (method, uri) = match (msg.method(), msg.request_uri()) {
            (Some(m), Some(u)) => (m, u),
            _ => return Err(RequestError::Drop(DropReason::NotARequest)),
        };
        let checked = (|| {
            let missing = |h| HeaderError::new(h, "is missing");
            let vias = msg.vias()?;
            let from = msg.from_header()?.ok_or(missing("From"))?;
            let to = msg.to_header()?.ok_or(missing("To"))?;
            let call_id = msg.call_id()?.ok_or(missing("Call-ID"))?;
            let cseq = msg.cseq()?.ok_or(missing("CSeq"))?;
            if cseq.method != method {
                return Err(HeaderError::new(
                    "CSeq",
                    "method differs from the request method",
                ));
            }
            msg.max_forwards()?;
            Ok((vias, from, to, call_id, cseq))
        })();
        match checked {
            Ok((vias, from, to, call_id, cseq)) => Ok(Request {
                msg,
                method,
                uri,
                echo,
                vias,
                from,
                to,
                call_id,
                cseq,
            }),
            Err(error) => Err(RequestError::Invalid {
                error,
                echo: Box::new(echo),
            }),
        }
    }

    pub fn message(&self) -> &'m SipMessage<'m> {
        self.msg
    }

    pub fn method(&self) -> Method<'m> {
        self.method
    }

    pub fn request_uri(&self) -> &'m str {
        self.uri
    }

    /// What a response to this request echoes.
    pub fn echo(&self) -> &EchoHeaders<'m> {
        &self.echo
    }

    /// All via-parms, top first (never empty).
    pub fn vias(&self) -> &[Via<'m>] {
        &self.vias
    }

    pub fn top_via(&self) -> &Via<'m> {
        &self.echo.top_via
    }

    pub fn from(&self) -> &NameAddr<'m> {
        &self.from
    }

    pub fn to(&self) -> &NameAddr<'m> {
        &self.to
    }

    pub fn from_tag(&self) -> Option<&'m str> {
        self.from.tag()
    }

    /// `None` for an out-of-dialog request (unsolicited NOTIFY).
    pub fn to_tag(&self) -> Option<&'m str> {
        self.to.tag()
    }

    pub fn call_id(&self) -> &'m str {
        self.call_id
    }

    pub fn cseq(&self) -> CSeq<'m> {
        self.cseq
    }

    pub fn event(&self) -> Result<Option<Event<'m>>, HeaderError> {
        self.msg.event()
    }

    pub fn subscription_state(&self) -> Result<Option<SubscriptionState<'m>>, HeaderError> {
        self.msg.subscription_state()
    }

    pub fn content_type(&self) -> Result<Option<MediaType<'m>>, HeaderError> {
        self.msg.content_type()
    }

    pub fn expires(&self) -> Result<Option<u32>, HeaderError> {
        self.msg.expires()
    }

    pub fn contact(&self) -> Result<Option<NameAddr<'m>>, HeaderError> {
        self.msg.contact()
    }

    pub fn max_forwards(&self) -> Result<Option<u32>, HeaderError> {
        self.msg.max_forwards()
    }

    /// First value of any header, by long or compact name.
    pub fn header(&self, name: &str) -> Option<&'m str> {
        self.msg.header(name)
    }

    pub fn body(&self) -> &'m [u8] {
        self.msg.body()
    }
}
