//! Deciding what a received message is and how to answer it.

use std::fmt;

use crate::headers::SubscriptionState;
use crate::{
    DropReason, EchoHeaders, HeaderError, MessageSummary, Method, ParseError, Request,
    RequestError, SipMessage, StatusCode, SummaryError, SummaryLimits, TransactionKey,
};

/// What to do with a received message.
#[derive(Debug, Clone)]
pub enum Classified<'m> {
    /// An MWI NOTIFY: store its state, then answer 200 OK.
    Notify(Notify<'m>),
    /// OPTIONS: answer with [`crate::Responder::options_ok`].
    Options(Request<'m>),
    /// Answer with `status` ([`crate::Responder::reject`]).
    Reject(Rejection<'m>),
    /// A response: hand it to the subscription client.
    Response,
    /// No answer.
    Drop(DropReason),
}

/// An accepted message-summary NOTIFY.
#[derive(Debug, Clone)]
pub struct Notify<'m> {
    pub request: Request<'m>,
    /// `None` when the body was empty.
    pub summary: Option<MessageSummary>,
}

impl<'m> Notify<'m> {
    /// In-dialog NOTIFY (To carries a tag): match it against the
    /// subscription ([`crate::Subscription::on_notify`]); answer 481 when
    /// no subscription claims it.
    pub fn is_in_dialog(&self) -> bool {
        self.request.to_tag().is_some()
    }

    pub fn subscription_state(&self) -> Option<SubscriptionState<'m>> {
        // Validated by classify(): cannot fail here.
        self.request.subscription_state().ok().flatten()
    }

    pub fn transaction_key(&self) -> TransactionKey {
        TransactionKey::of(&self.request)
    }
}

/// A request to answer with an error status.
#[derive(Debug, Clone)]
pub struct Rejection<'m> {
    pub status: StatusCode,
    pub reason: RejectReason,
    pub echo: EchoHeaders<'m>,
    /// Option tags for the `Unsupported` header of a 420.
    pub unsupported: Vec<&'m str>,
}

/// Why a request was rejected, for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectReason {
    Parse(ParseError),
    Header(HeaderError),
    MethodNotAllowed,
    UnknownMethod,
    NoSuchTransaction,
    RequiredExtension,
    MissingEvent,
    WrongEvent,
    ContentEncoding,
    MissingContentType,
    WrongContentType,
    Body(SummaryError),
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::Parse(e) => write!(f, "unparsable message: {e}"),
            RejectReason::Header(e) => write!(f, "{e}"),
            RejectReason::MethodNotAllowed => f.write_str("method not allowed"),
            RejectReason::UnknownMethod => f.write_str("unknown method"),
            RejectReason::NoSuchTransaction => f.write_str("no matching transaction or dialog"),
            RejectReason::RequiredExtension => {
                f.write_str("Require names an unsupported extension")
            }
            RejectReason::MissingEvent => f.write_str("Event header missing"),
            RejectReason::WrongEvent => f.write_str("event package is not message-summary"),
            RejectReason::ContentEncoding => f.write_str("unsupported Content-Encoding"),
            RejectReason::MissingContentType => f.write_str("body without Content-Type"),
            RejectReason::WrongContentType => {
                f.write_str("Content-Type is not application/simple-message-summary")
            }
            RejectReason::Body(e) => write!(f, "bad message-summary body: {e}"),
        }
    }
}

impl<'m> Rejection<'m> {
    fn new(status: StatusCode, reason: RejectReason, echo: EchoHeaders<'m>) -> Self {
        Rejection {
            status,
            reason,
            echo,
            unsupported: Vec::new(),
        }
    }

    /// The answer to a message the parser refused, addressed with headers
    /// salvaged by [`crate::recover_request`]. `Err` when nothing should or
    /// can be answered.
    pub fn for_parse_error(
        recovered: &'m SipMessage<'m>,
        error: &ParseError,
    ) -> Result<Rejection<'m>, DropReason> {
        let status = error.status().ok_or(DropReason::Keepalive)?;
        let echo = EchoHeaders::from_message(recovered)?;
        Ok(Rejection::new(
            status,
            RejectReason::Parse(error.clone()),
            echo,
        ))
    }
}

/// Classifies a parsed message.
///
/// Status choices (RFC 3261 unless noted):
/// * NOTIFY with `Event: message-summary` and a good body → 200 (after the
///   caller stored it).
/// * OPTIONS → 200 with Allow/Accept/Allow-Events (§11.2). Asterisk's
///   `qualify` sends OPTIONS to contacts; a 200 keeps them "reachable".
/// * ACK → no answer (§17.2.1).
/// * CANCEL, BYE → 481: every NOTIFY is answered at once, so no transaction
///   or INVITE dialog is ever left for them to match (§9.2, §15.1.2).
/// * Other methods RFC 3261 and its extensions define → 405 with Allow
///   (§8.2.1); SUBSCRIBE too: we are no notifier.
/// * Unknown methods → 501 (§8.2.1: 501 for "not understood", 405 for
///   "understood but not allowed"). Methods are case-sensitive, so
///   `notify` is unknown.
/// * `Require` with any option tag → 420 with Unsupported (§8.2.2.3): we
///   support no extensions.
/// * Missing Event → 489. RFC 6665 §8.2.1 makes Event mandatory in NOTIFY
///   and §4.2.1.1 answers a package the recipient does not understand with
///   489; an absent package is one we cannot understand, and 489 carries
///   `Allow-Events: message-summary`, which tells a misconfigured sender
///   what to send. (A 400 would be defensible; 489 is more useful.)
/// * Event other than message-summary → 489.
/// * Content-Encoding other than identity, or a Content-Type other than
///   application/simple-message-summary → 415 with Accept (§8.2.3).
/// * A body without Content-Type → 400 (§7.4.1 requires it).
/// * A body that does not parse → 400. An empty body is accepted as a NOTIFY
///   without state (e.g. `Subscription-State: terminated`).
/// * Malformed mandatory headers → 400.
pub fn classify<'m>(msg: &'m SipMessage<'m>, limits: &SummaryLimits) -> Classified<'m> {
    if !msg.is_request() {
        return Classified::Response;
    }
    let req = match Request::new(msg) {
        Ok(r) => r,
        Err(RequestError::Drop(d)) => return Classified::Drop(d),
        Err(RequestError::Invalid { error, echo }) => {
            return Classified::Reject(Rejection::new(
                StatusCode::BAD_REQUEST,
                RejectReason::Header(error),
                *echo,
            ));
        }
    };
    let reject =
        |status, reason| Classified::Reject(Rejection::new(status, reason, req.echo().clone()));
    match req.method() {
        Method::Notify => {}
        Method::Options => return Classified::Options(req),
        Method::Ack => return Classified::Drop(DropReason::Ack),
        Method::Cancel | Method::Bye => {
            return reject(
                StatusCode::CALL_DOES_NOT_EXIST,
                RejectReason::NoSuchTransaction,
            );
        }
        Method::Extension(_) => {
            return reject(StatusCode::NOT_IMPLEMENTED, RejectReason::UnknownMethod);
        }
        _ => {
            return reject(
                StatusCode::METHOD_NOT_ALLOWED,
                RejectReason::MethodNotAllowed,
            );
        }
    }
    match notify_checks(&req, limits) {
        Ok(summary) => Classified::Notify(Notify {
            request: req,
            summary,
        }),
        Err(Failure::Plain(status, reason)) => reject(status, reason),
        Err(Failure::Require(tags)) => Classified::Reject(Rejection {
            status: StatusCode::BAD_EXTENSION,
            reason: RejectReason::RequiredExtension,
            echo: req.echo().clone(),
            unsupported: tags,
        }),
    }
}

enum Failure<'m> {
    Plain(StatusCode, RejectReason),
    Require(Vec<&'m str>),
}

fn notify_checks<'m>(
    req: &Request<'m>,
    limits: &SummaryLimits,
) -> Result<Option<MessageSummary>, Failure<'m>> {
    let bad = |e| Failure::Plain(StatusCode::BAD_REQUEST, RejectReason::Header(e));
    let msg = req.message();
    let required = msg.require().map_err(bad)?;
    if !required.is_empty() {
        return Err(Failure::Require(required));
    }
    let event = msg.event().map_err(bad)?.ok_or(Failure::Plain(
        StatusCode::BAD_EVENT,
        RejectReason::MissingEvent,
    ))?;
    if !event.is_message_summary() {
        return Err(Failure::Plain(
            StatusCode::BAD_EVENT,
            RejectReason::WrongEvent,
        ));
    }
    msg.subscription_state().map_err(bad)?;
    let unsupported_media = |r| Failure::Plain(StatusCode::UNSUPPORTED_MEDIA_TYPE, r);
    for enc in msg.get_all(crate::HeaderKind::ContentEncoding) {
        if enc
            .split(',')
            .any(|e| !crate::lex::trim_wsp(e).eq_ignore_ascii_case("identity"))
        {
            return Err(unsupported_media(RejectReason::ContentEncoding));
        }
    }
    let content_type = msg.content_type().map_err(bad)?;
    let body = msg.body();
    if body.is_empty() {
        // An empty body carries no state whatever its declared type.
        return Ok(None);
    }
    let content_type = content_type.ok_or(Failure::Plain(
        StatusCode::BAD_REQUEST,
        RejectReason::MissingContentType,
    ))?;
    if !content_type.is_simple_message_summary() {
        return Err(unsupported_media(RejectReason::WrongContentType));
    }
    MessageSummary::parse(body, limits)
        .map(Some)
        .map_err(|e| Failure::Plain(StatusCode::BAD_REQUEST, RejectReason::Body(e)))
}
