//! Typed responses (section 12 for errors; per-method ok contents).

use crate::command::{Fields, Meta, write_meta};
use crate::encoder::{Counter, Sink, atomically, finish, header_checked, response_line};
use crate::error::{EncodeError, MessageError, SyntaxError};
use crate::error_type::ErrorType;
use crate::frame::{ResponseFrame, Status};
use crate::header::names;
use crate::id::Id;
use crate::method::Method;
use crate::origin::Origin;

/// `ok`: optionally `Unreliable` (send, change-notify) and a payload (PI
/// for fetch/subscribe, a "vacation" reply for send, SASL data for auth).
/// Method-specific headers (`Wpattern`, `Subscription` in start-wi) are in
/// `meta.extra`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OkReply {
    pub unreliable: Option<Origin>,
    pub content_type: Option<String>,
    pub payload: Option<Vec<u8>>,
    pub meta: Meta,
}

/// `error`: the type is required; a `sasl-challenge` carries a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReply {
    pub error_type: ErrorType,
    pub description: Option<String>,
    /// Added by the first relay, never by the originator (section 12).
    pub originator: Option<Origin>,
    pub content_type: Option<String>,
    pub payload: Option<Vec<u8>>,
    pub meta: Meta,
}

impl ErrorReply {
    pub fn new(error_type: ErrorType) -> ErrorReply {
        ErrorReply {
            error_type,
            description: None,
            originator: None,
            content_type: None,
            payload: None,
            meta: Meta::default(),
        }
    }

    pub fn with_description(mut self, d: impl Into<String>) -> ErrorReply {
        self.description = Some(d.into());
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok(OkReply),
    Error(ErrorReply),
}

impl Outcome {
    pub fn ok() -> Outcome {
        Outcome::Ok(OkReply::default())
    }

    pub fn error(t: ErrorType, description: impl Into<String>) -> Outcome {
        Outcome::Error(ErrorReply::new(t).with_description(description))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The method of the command answered.
    pub method: Method,
    pub outcome: Outcome,
}

impl Response {
    pub fn from_frame(frame: ResponseFrame) -> Result<(Id, Response), MessageError> {
        let ResponseFrame {
            id,
            status,
            method,
            headers,
            payload,
        } = frame;
        let mut f = Fields::new(headers);
        let outcome = match status {
            Status::Ok => Outcome::Ok(OkReply {
                unreliable: f.parsed(names::UNRELIABLE, Origin::parse)?,
                content_type: f.first(names::CONTENT_TYPE),
                payload,
                meta: f.meta()?,
            }),
            Status::Error => {
                let error_type = f
                    .first(names::ERROR_TYPE)
                    .filter(|v| !v.is_empty())
                    .map(|v| ErrorType::parse(&v))
                    .ok_or(MessageError::MissingErrorType)?;
                Outcome::Error(ErrorReply {
                    error_type,
                    description: f.first(names::ERROR_DESCRIPTION),
                    originator: f.parsed(names::ERROR_ORIGINATOR, Origin::parse)?,
                    content_type: f.first(names::CONTENT_TYPE),
                    payload,
                    meta: f.meta()?,
                })
            }
        };
        Ok((id, Response { method, outcome }))
    }

    pub fn encode(&self, id: &Id, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        atomically(out, |out| self.encode_to(id, out))
    }

    pub fn encoded_len(&self, id: &Id) -> Result<usize, EncodeError> {
        let mut c = Counter::default();
        self.encode_to(id, &mut c)?;
        Ok(c.0)
    }

    pub fn encode_to<S: Sink>(&self, id: &Id, s: &mut S) -> Result<(), EncodeError> {
        encode_outcome_to(s, id, &self.method, &self.outcome)
    }
}

/// Encodes a response from borrowed parts (the connection answers without
/// cloning the host's outcome).
pub(crate) fn encode_outcome_to<S: Sink>(
    s: &mut S,
    id: &Id,
    method: &Method,
    outcome: &Outcome,
) -> Result<(), EncodeError> {
    let origin = |s: &mut S, name: &str, o: &Origin| {
        s.put(name.as_bytes());
        s.put(b": ");
        o.write_to(s);
        s.put(b"\r\n");
    };
    match outcome {
        Outcome::Ok(r) => {
            response_line(s, id, Status::Ok, method)?;
            if let Some(o) = &r.unreliable {
                origin(s, names::UNRELIABLE, o);
            }
            if let Some(ct) = &r.content_type {
                header_checked(s, names::CONTENT_TYPE, ct)?;
            }
            write_meta(s, &r.meta)?;
            finish(s, r.payload.as_deref());
        }
        Outcome::Error(e) => {
            response_line(s, id, Status::Error, method)?;
            let t = e.error_type.as_str();
            if t.is_empty() || t.contains([' ', '\t']) {
                return Err(EncodeError::Syntax(SyntaxError::new(
                    "Error-Type",
                    "must be one token",
                )));
            }
            header_checked(s, names::ERROR_TYPE, t)?;
            if let Some(d) = &e.description {
                header_checked(s, names::ERROR_DESCRIPTION, d)?;
            }
            if let Some(o) = &e.originator {
                origin(s, names::ERROR_ORIGINATOR, o);
            }
            if let Some(ct) = &e.content_type {
                header_checked(s, names::CONTENT_TYPE, ct)?;
            }
            write_meta(s, &e.meta)?;
            finish(s, e.payload.as_deref());
        }
    }
    Ok(())
}
