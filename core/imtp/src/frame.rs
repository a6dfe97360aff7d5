//! Untyped protocol messages: what the framing layer produces and consumes.

use crate::header::Headers;
use crate::id::Id;
use crate::mech::MechName;
use crate::method::Method;

/// `status = "ok" / "error"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Ok,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Error => "error",
        }
    }
}

/// `>id method` + headers + optional payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandFrame {
    pub id: Id,
    pub method: Method,
    /// Every header except `Content-Length`, which the payload represents.
    pub headers: Headers,
    /// `None`: no `Content-Length`. `Some(empty)`: `Content-Length: 0`.
    pub payload: Option<Vec<u8>>,
}

/// `<id status (method)` + headers + optional payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseFrame {
    pub id: Id,
    pub status: Status,
    pub method: Method,
    pub headers: Headers,
    pub payload: Option<Vec<u8>>,
}

/// `pmessage = mech / nop / command / response`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Mech(Vec<MechName>),
    Nop,
    Command(CommandFrame),
    Response(ResponseFrame),
}

/// The start line of a command or response, known before its headers are:
/// lets a command be answered even if the rest of it is unacceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    Command {
        id: Id,
        method: Method,
    },
    Response {
        id: Id,
        status: Status,
        method: Method,
    },
}

impl StartLine {
    pub fn id(&self) -> &Id {
        match self {
            StartLine::Command { id, .. } | StartLine::Response { id, .. } => id,
        }
    }

    pub fn method(&self) -> &Method {
        match self {
            StartLine::Command { method, .. } | StartLine::Response { method, .. } => method,
        }
    }
}
