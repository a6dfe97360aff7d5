//! Typed commands: the methods tocsin acts on, plus a raw form for the
//! other methods the draft defines.

mod auth;
mod fields;
mod listen;
mod presence;
mod send;

pub use auth::{Auth, AuthStep};
pub use fields::Meta;
pub use listen::Listen;
pub use presence::{ChangeNotify, Fetch, Subscribe, TerminateNotify};
pub use send::SendMessage;

pub(crate) use fields::{Fields, no_payload, write_meta};

use crate::encoder::{Counter, Sink, atomically, command_line, finish};
use crate::error::{EncodeError, MessageError};
use crate::frame::CommandFrame;
use crate::header::Headers;
use crate::id::Id;
use crate::method::Method;

/// A method we pass through without interpreting (PITP `change`,
/// `get-class`, ...): what a relay forwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandBody {
    pub method: Method,
    pub headers: Headers,
    pub payload: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Auth(Auth),
    /// Server to client: reconnect elsewhere (section 14.2).
    Shutdown(Meta),
    Send(SendMessage),
    Listen(Listen),
    Fetch(Fetch),
    Subscribe(Subscribe),
    Unsubscribe(Subscribe),
    ChangeNotify(ChangeNotify),
    TerminateNotify(TerminateNotify),
    Other(CommandBody),
}

impl Command {
    pub fn method(&self) -> Method {
        match self {
            Command::Auth(_) => Method::Auth,
            Command::Shutdown(_) => Method::Shutdown,
            Command::Send(_) => Method::Send,
            Command::Listen(_) => Method::Listen,
            Command::Fetch(_) => Method::Fetch,
            Command::Subscribe(_) => Method::Subscribe,
            Command::Unsubscribe(_) => Method::Unsubscribe,
            Command::ChangeNotify(_) => Method::ChangeNotify,
            Command::TerminateNotify(_) => Method::TerminateNotify,
            Command::Other(b) => b.method.clone(),
        }
    }

    /// Interprets a decoded command. Missing required headers, unparsable
    /// values and payload rule violations are `malformed`.
    pub fn from_frame(frame: CommandFrame) -> Result<(Id, Command), MessageError> {
        let CommandFrame {
            id,
            method,
            headers,
            payload,
        } = frame;
        let f = Fields::new(headers);
        let cmd = match method {
            Method::Auth => Command::Auth(Auth::parse(f, payload)?),
            Method::Shutdown => {
                no_payload(payload)?;
                Command::Shutdown(f.meta()?)
            }
            Method::Send => Command::Send(SendMessage::parse(f, payload)?),
            Method::Listen => {
                no_payload(payload)?;
                Command::Listen(Listen::parse(f)?)
            }
            Method::Fetch => {
                no_payload(payload)?;
                Command::Fetch(Fetch::parse(f)?)
            }
            Method::Subscribe => {
                no_payload(payload)?;
                Command::Subscribe(Subscribe::parse(f)?)
            }
            Method::Unsubscribe => {
                no_payload(payload)?;
                Command::Unsubscribe(Subscribe::parse(f)?)
            }
            Method::ChangeNotify => Command::ChangeNotify(ChangeNotify::parse(f, payload)?),
            Method::TerminateNotify => {
                no_payload(payload)?;
                Command::TerminateNotify(TerminateNotify::parse(f)?)
            }
            method => {
                // Raw bodies keep every header exactly as received.
                Command::Other(CommandBody {
                    method,
                    headers: f.into_headers(),
                    payload,
                })
            }
        };
        Ok((id, cmd))
    }

    /// Appends `>id method` + headers + payload to `out`. On error `out`
    /// is unchanged. No allocation once `out` has room (see
    /// [`Command::encoded_len`]).
    pub fn encode(&self, id: &Id, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        atomically(out, |out| self.encode_to(id, out))
    }

    /// Exact size of [`Command::encode`]'s output.
    pub fn encoded_len(&self, id: &Id) -> Result<usize, EncodeError> {
        let mut c = Counter::default();
        self.encode_to(id, &mut c)?;
        Ok(c.0)
    }

    pub fn encode_to<S: Sink>(&self, id: &Id, s: &mut S) -> Result<(), EncodeError> {
        command_line(s, id, &self.method())?;
        match self {
            Command::Auth(a) => a.write(s),
            Command::Shutdown(m) => {
                write_meta(s, m)?;
                finish(s, None);
                Ok(())
            }
            Command::Send(m) => m.write(s),
            Command::Listen(l) => l.write(s),
            Command::Fetch(f) => f.write(s),
            Command::Subscribe(x) | Command::Unsubscribe(x) => x.write(s),
            Command::ChangeNotify(c) => c.write(s),
            Command::TerminateNotify(t) => t.write(s),
            Command::Other(b) => {
                for h in b.headers.iter() {
                    crate::encoder::header_checked(s, &h.name, &h.value)?;
                }
                finish(s, b.payload.as_deref());
                Ok(())
            }
        }
    }
}
