//! Routing decoded messages: protocol checks the host never has to repeat.

use super::{AuthState, ConnError, Connection, Event, Phase, Role};
use crate::command::Command;
use crate::decoder::Decoded;
use crate::error::{DecodeError, MessageError};
use crate::error_type::ErrorType;
use crate::frame::{CommandFrame, Frame, ResponseFrame, StartLine};
use crate::id::Id;
use crate::mech::MechName;
use crate::method::Method;
use crate::response::{ErrorReply, Outcome, Response};
use std::time::Instant;

impl Connection {
    pub(super) fn on_decoded(&mut self, d: Decoded, now: Instant) -> Result<(), ConnError> {
        match d {
            Decoded::Frame(Frame::Nop) => Ok(()),
            Decoded::Frame(Frame::Mech(m)) => self.on_mech(m),
            Decoded::Frame(Frame::Command(c)) => self.on_command(c, now),
            Decoded::Frame(Frame::Response(r)) => self.on_response(r, now),
            Decoded::Rejected { start, error } => self.on_rejected(start, error, now),
        }
    }

    fn on_mech(&mut self, list: Vec<MechName>) -> Result<(), ConnError> {
        if self.role == Role::Server {
            // Only the accepting side sends mechanism lists.
            return Err(ConnError::UnexpectedMech);
        }
        match self.phase {
            Phase::AwaitMech => {
                self.mechanisms = list.clone();
                self.phase = Phase::Open;
                self.events.push_back(Event::Mechanisms(list));
                Ok(())
            }
            Phase::AwaitMechRepeat => {
                // Section 14.1: the list must be identical, else assume an
                // attacker tampered with the unprotected first one.
                if list != self.mechanisms {
                    return Err(ConnError::MechDowngrade {
                        before: self.mechanisms.clone(),
                        after: list,
                    });
                }
                self.phase = Phase::Open;
                let AuthState::ClientAwaitMech {
                    mechanism,
                    identity,
                } = std::mem::replace(&mut self.auth, AuthState::None)
                else {
                    return Err(ConnError::UnexpectedMech);
                };
                self.auth = AuthState::Done {
                    identity: identity.clone(),
                    mechanism: mechanism.clone(),
                };
                self.events.push_back(Event::Authenticated {
                    identity,
                    mechanism,
                });
                Ok(())
            }
            Phase::Open | Phase::Closed => Err(ConnError::UnexpectedMech),
        }
    }

    /// Client side: nothing but the mechanism list may come first, and
    /// nothing but its repetition may follow a successful auth.
    fn expect_open(&self, what: &'static str) -> Result<(), ConnError> {
        match (self.role, self.phase) {
            (Role::Client, Phase::AwaitMech | Phase::AwaitMechRepeat) => {
                Err(ConnError::MechMissing(what))
            }
            _ => Ok(()),
        }
    }

    /// Checks that hold for every command, valid or not. Returns false if
    /// the command has been answered already.
    fn admit(&mut self, id: &Id, method: &Method) -> Result<bool, ConnError> {
        if self.incoming.contains(id) {
            // Section 10: an id is not reused until answered.
            self.auto_error(
                id,
                method,
                ErrorType::Malformed,
                "id is still in use by an unanswered command",
            )?;
            return Ok(false);
        }
        if self.incoming.len() >= self.config.limits.max_outstanding {
            self.auto_error(
                id,
                method,
                ErrorType::Resources,
                "too many unanswered commands",
            )?;
            return Ok(false);
        }
        if !method.belongs_to(self.config.protocol) {
            self.auto_error(
                id,
                method,
                ErrorType::UnknownMethod,
                "method not supported on this connection",
            )?;
            return Ok(false);
        }
        Ok(true)
    }

    fn on_command(&mut self, frame: CommandFrame, now: Instant) -> Result<(), ConnError> {
        self.expect_open("a command")?;
        let (id, method) = (frame.id.clone(), frame.method.clone());
        if !self.admit(&id, &method)? {
            return Ok(());
        }
        if method == Method::Auth {
            if self.role == Role::Client {
                return self.auto_error(
                    &id,
                    &method,
                    ErrorType::Malformed,
                    "auth is sent by the connection initiator",
                );
            }
            return self.server_auth(frame, now);
        }
        if self.role == Role::Server && self.config.require_auth && !self.is_authenticated() {
            let (t, why) = match (&self.auth, &method) {
                (
                    AuthState::ServerAwaitContinuation { .. }
                    | AuthState::ServerAwaitVerdict { .. },
                    _,
                ) => (
                    ErrorType::Malformed,
                    "only auth commands until the exchange completes",
                ),
                // Section 14.2 names this answer for a stray shutdown.
                (_, Method::Shutdown) => (ErrorType::UnknownMethod, "shutdown is sent by servers"),
                _ => (ErrorType::SourceAuthorization, "authenticate first"),
            };
            return self.auto_error(&id, &method, t, why);
        }
        match Command::from_frame(frame) {
            Ok((id, command)) => {
                self.incoming.insert(id.clone(), method);
                self.events.push_back(Event::Command { id, command });
                Ok(())
            }
            Err(e) => self.auto_error(&id, &method, e.error_type(), &e.to_string()),
        }
    }

    fn on_rejected(
        &mut self,
        start: StartLine,
        error: MessageError,
        now: Instant,
    ) -> Result<(), ConnError> {
        match start {
            StartLine::Command { id, method } => {
                self.expect_open("a command")?;
                if self.admit(&id, &method)? {
                    self.auto_error(&id, &method, error.error_type(), &error.to_string())?;
                }
                Ok(())
            }
            StartLine::Response { id, method, .. } => {
                self.expect_open("a response")?;
                let outcome = malformed_response(&error);
                self.deliver(id, Response { method, outcome }, now)
            }
        }
    }

    fn on_response(&mut self, frame: ResponseFrame, now: Instant) -> Result<(), ConnError> {
        self.expect_open("a response")?;
        let (id, method) = (frame.id.clone(), frame.method.clone());
        let response = match Response::from_frame(frame) {
            Ok((_, r)) => r,
            Err(e) => Response {
                method,
                outcome: malformed_response(&e),
            },
        };
        self.deliver(id, response, now)
    }

    fn deliver(&mut self, id: Id, response: Response, now: Instant) -> Result<(), ConnError> {
        let Some(method) = self.outgoing.take(&id) else {
            // Not fatal: a peer that answered twice (e.g. after our
            // malformed reply to a reused id) should not cost the link.
            log::warn!("imtp: dropping response to unknown command {id}");
            return Ok(());
        };
        if method != response.method {
            log::warn!(
                "imtp: response to {id} names {} but the command was {method}",
                response.method
            );
        }
        if method == Method::Auth {
            return self.client_auth_response(id, response, now);
        }
        self.events.push_back(Event::Response { id, response });
        Ok(())
    }

    /// A fatal framing error inside a command whose start line we read:
    /// tell the peer why before the connection goes.
    pub(super) fn answer_framing_error(&mut self, e: &DecodeError) {
        if let Some(StartLine::Command { id, method }) = &e.start {
            if self.expect_open("a command").is_ok() && !self.incoming.contains(id) {
                let _ = self.auto_error(id, method, e.kind.error_type(), &e.kind.to_string());
            }
        }
    }
}

/// A response we could not interpret still answers its command; report it
/// as `malformed` (permanent) rather than leaving the command hanging.
fn malformed_response(e: &MessageError) -> Outcome {
    Outcome::Error(
        ErrorReply::new(ErrorType::Malformed).with_description(format!("unparsable response: {e}")),
    )
}
