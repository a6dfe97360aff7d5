//! Server side of `auth`: PLAIN (credentials checked by the host) and
//! EXTERNAL (identity from the TLS client certificate).

use super::{AuthState, ConnError, Connection, Event, PlainVerdict, Role, SendError};
use crate::command::{AuthStep, Command};
use crate::encoder::encode_mech;
use crate::error_type::ErrorType;
use crate::frame::CommandFrame;
use crate::id::Id;
use crate::mech::MechName;
use crate::method::Method;
use crate::response::{ErrorReply, OkReply, Outcome};
use crate::sasl::{PlainCredentials, external_decode};
use std::time::Instant;

impl Connection {
    pub(super) fn server_auth(
        &mut self,
        frame: CommandFrame,
        now: Instant,
    ) -> Result<(), ConnError> {
        let id = frame.id.clone();
        let step = match Command::from_frame(frame) {
            Ok((_, Command::Auth(a))) => a.step,
            Ok(_) => {
                return self.auto_error(
                    &id,
                    &Method::Auth,
                    ErrorType::Malformed,
                    "not an auth command",
                );
            }
            Err(e) => return self.auto_error(&id, &Method::Auth, e.error_type(), &e.to_string()),
        };
        match (std::mem::replace(&mut self.auth, AuthState::None), step) {
            (state @ AuthState::Done { .. }, _) => {
                self.auth = state;
                self.sasl_failure(&id, "already authenticated")
            }
            (state @ AuthState::ServerAwaitVerdict { .. }, _) => {
                self.auth = state;
                self.auto_error(
                    &id,
                    &Method::Auth,
                    ErrorType::Malformed,
                    "authentication exchange in progress",
                )
            }
            (
                AuthState::None,
                AuthStep::Start {
                    mechanism,
                    initial_response,
                },
            ) => self.server_start(&id, mechanism, initial_response, now),
            (AuthState::None, _) => self.auto_error(
                &id,
                &Method::Auth,
                ErrorType::Malformed,
                "no authentication exchange in progress",
            ),
            (AuthState::ServerAwaitContinuation { .. }, AuthStep::Abort) => {
                // "An ok response ... has been aborted if the command
                // included the Abort: header."
                self.auto_respond(&id, &Method::Auth, &Outcome::ok())
            }
            (AuthState::ServerAwaitContinuation { mechanism }, AuthStep::Continue(data)) => {
                self.server_step(&id, mechanism, data, now)
            }
            (AuthState::ServerAwaitContinuation { .. }, AuthStep::Start { .. }) => self.auto_error(
                &id,
                &Method::Auth,
                ErrorType::Malformed,
                "Mechanism is not allowed when continuing an exchange",
            ),
            (state, _) => {
                // Client-side states never exist on a server connection.
                self.auth = state;
                self.auto_error(
                    &id,
                    &Method::Auth,
                    ErrorType::Malformed,
                    "unexpected auth command",
                )
            }
        }
    }

    fn server_start(
        &mut self,
        id: &Id,
        mechanism: MechName,
        initial: Option<Vec<u8>>,
        now: Instant,
    ) -> Result<(), ConnError> {
        if !self.mechanisms.contains(&mechanism) {
            let why = if mechanism.as_str() == MechName::PLAIN && !self.transport.tls {
                "PLAIN is only accepted over TLS"
            } else {
                "mechanism not offered"
            };
            return self.sasl_failure(id, why);
        }
        match initial {
            Some(data) => self.server_step(id, mechanism, data, now),
            None => {
                // Both mechanisms are client-first: ask for the message
                // with an empty challenge.
                self.auth = AuthState::ServerAwaitContinuation { mechanism };
                let mut e = ErrorReply::new(ErrorType::SaslChallenge);
                e.payload = Some(Vec::new());
                self.auto_respond(id, &Method::Auth, &Outcome::Error(e))
            }
        }
    }

    fn server_step(
        &mut self,
        id: &Id,
        mechanism: MechName,
        data: Vec<u8>,
        now: Instant,
    ) -> Result<(), ConnError> {
        match mechanism.as_str() {
            MechName::PLAIN => match PlainCredentials::decode(&data) {
                Ok(creds) => {
                    self.incoming.insert(id.clone(), Method::Auth);
                    self.auth = AuthState::ServerAwaitVerdict { id: id.clone() };
                    self.events.push_back(Event::VerifyPlain(creds));
                    Ok(())
                }
                Err(e) => self.sasl_failure(id, &e.to_string()),
            },
            MechName::EXTERNAL => {
                let Some(cert) = self.transport.peer_identity.clone() else {
                    return self.sasl_failure(id, "no client certificate");
                };
                match external_decode(&data) {
                    Ok(authzid) if authzid.is_empty() || authzid == cert => {
                        self.server_success(id, cert, mechanism, now)
                    }
                    Ok(_) => self
                        .sasl_failure(id, "authorization identity does not match the certificate"),
                    Err(e) => self.sasl_failure(id, &e.to_string()),
                }
            }
            _ => self.sasl_failure(id, "mechanism not implemented"),
        }
    }

    fn server_success(
        &mut self,
        id: &Id,
        identity: String,
        mechanism: MechName,
        now: Instant,
    ) -> Result<(), ConnError> {
        self.auto_respond(id, &Method::Auth, &Outcome::Ok(OkReply::default()))?;
        // Section 14.1: repeat the identical list before anything else.
        encode_mech(self.out.vec(), &self.mechanisms);
        self.last_tx = now;
        self.auth = AuthState::Done {
            identity: Some(identity.clone()),
            mechanism: mechanism.clone(),
        };
        self.events.push_back(Event::Authenticated {
            identity: Some(identity),
            mechanism,
        });
        Ok(())
    }

    fn sasl_failure(&mut self, id: &Id, why: &str) -> Result<(), ConnError> {
        let reply = ErrorReply::new(ErrorType::SaslFailure).with_description(why);
        self.events.push_back(Event::AuthFailed(reply.clone()));
        self.auto_respond(id, &Method::Auth, &Outcome::Error(reply))
    }

    /// The host's answer to [`Event::VerifyPlain`].
    pub fn complete_plain(&mut self, verdict: PlainVerdict, now: Instant) -> Result<(), SendError> {
        if self.role != Role::Server {
            return Err(SendError::WrongRole(Role::Server));
        }
        let AuthState::ServerAwaitVerdict { id } = &self.auth else {
            return Err(SendError::NoPendingVerification);
        };
        let id = id.clone();
        self.incoming.remove(&id);
        self.auth = AuthState::None;
        let r = match verdict {
            PlainVerdict::Accept { identity } => {
                self.server_success(&id, identity, MechName::plain(), now)
            }
            PlainVerdict::Reject { description } => self.sasl_failure(&id, &description),
        };
        r.map_err(|e| {
            let e = self.fail(e);
            log::debug!("imtp: {e}");
            SendError::Closed
        })
    }
}
