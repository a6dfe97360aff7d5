//! What the connection reports to the host, and what the host tells it.

use crate::command::Command;
use crate::id::Id;
use crate::mech::MechName;
use crate::response::{ErrorReply, Response};
use crate::sasl::PlainCredentials;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Client: the server's mechanism list (first one only; the repeat
    /// after authentication is checked, not reported).
    Mechanisms(Vec<MechName>),
    /// Both sides: authentication succeeded (client: after the repeated
    /// mechanism list matched). `identity` is what the server authorised;
    /// a client knows it only if it asked for one.
    Authenticated {
        identity: Option<String>,
        mechanism: MechName,
    },
    /// Client: the server refused. Server: we refused (for logging and
    /// rate limiting; the client has been answered).
    AuthFailed(ErrorReply),
    /// Server: check these PLAIN credentials and call
    /// [`super::Connection::complete_plain`].
    VerifyPlain(PlainCredentials),
    /// A valid command the host must answer with
    /// [`super::Connection::respond`].
    Command { id: Id, command: Command },
    /// The answer to a command we sent.
    Response { id: Id, response: Response },
}

/// The host's decision on [`Event::VerifyPlain`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlainVerdict {
    /// Authenticated as `identity` (normally the authzid if the authcid may
    /// act for it, else the authcid).
    Accept {
        identity: String,
    },
    Reject {
        description: String,
    },
}

/// Client-side SASL request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientSasl {
    Plain(PlainCredentials),
    /// Identity from our TLS client certificate; `authzid` empty = "as the
    /// certificate says".
    External {
        authzid: String,
    },
}
