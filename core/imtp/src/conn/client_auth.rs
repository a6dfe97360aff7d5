//! Client side of `auth` and the downgrade check.

use super::{AuthState, ClientSasl, ConnError, Connection, Event, Phase, Role, SendError};
use crate::command::{Auth, AuthStep, Command, Meta};
use crate::error_type::ErrorType;
use crate::id::Id;
use crate::mech::MechName;
use crate::response::{Outcome, Response};
use std::time::Instant;

impl Connection {
    /// Starts SASL. PLAIN is refused unless the host said the transport is
    /// TLS; the mechanism must be one the server offered.
    pub fn authenticate(&mut self, sasl: ClientSasl, now: Instant) -> Result<Id, SendError> {
        if self.role != Role::Client {
            return Err(SendError::WrongRole(Role::Client));
        }
        match self.phase {
            Phase::Closed => return Err(SendError::Closed),
            Phase::AwaitMech | Phase::AwaitMechRepeat => return Err(SendError::NotReady),
            Phase::Open => {}
        }
        match self.auth {
            AuthState::None => {}
            AuthState::Done { .. } => return Err(SendError::AlreadyAuthenticated),
            _ => return Err(SendError::AuthInProgress),
        }
        let (mechanism, initial, identity) = match sasl {
            ClientSasl::Plain(creds) => {
                if !self.transport.tls {
                    return Err(SendError::PlainRequiresTls);
                }
                let msg = creds.encode()?;
                (
                    MechName::plain(),
                    msg,
                    Some(creds.requested_identity().to_owned()),
                )
            }
            ClientSasl::External { authzid } => {
                let identity = (!authzid.is_empty()).then(|| authzid.clone());
                (MechName::external(), authzid.into_bytes(), identity)
            }
        };
        if !self.mechanisms.contains(&mechanism) {
            return Err(SendError::MechanismNotOffered(mechanism));
        }
        let cmd = Command::Auth(Auth::start(mechanism.clone(), Some(initial.clone())));
        let id = self.push_command(&cmd, now)?;
        self.auth = AuthState::ClientPending {
            id: id.clone(),
            mechanism,
            initial,
            resent: false,
            identity,
        };
        Ok(id)
    }

    pub(super) fn client_auth_response(
        &mut self,
        id: Id,
        response: Response,
        now: Instant,
    ) -> Result<(), ConnError> {
        match std::mem::replace(&mut self.auth, AuthState::None) {
            AuthState::ClientPending {
                id: pending,
                mechanism,
                initial,
                resent,
                identity,
            } if pending == id => {
                match response.outcome {
                    Outcome::Ok(_) => {
                        // Not authenticated until the mechanism list is
                        // repeated unchanged.
                        self.phase = Phase::AwaitMechRepeat;
                        self.auth = AuthState::ClientAwaitMech {
                            mechanism,
                            identity,
                        };
                    }
                    Outcome::Error(e) if e.error_type == ErrorType::SaslChallenge => {
                        let empty = e.payload.as_ref().is_none_or(Vec::is_empty);
                        if empty && !resent {
                            // The server wants the client-first message as a
                            // continuation: send it once more.
                            let step = AuthStep::Continue(initial.clone());
                            let id = self.internal_auth(step, now)?;
                            self.auth = AuthState::ClientPending {
                                id,
                                mechanism,
                                initial,
                                resent: true,
                                identity,
                            };
                        } else {
                            // PLAIN and EXTERNAL have no server challenges.
                            let id = self.internal_auth(AuthStep::Abort, now)?;
                            self.auth = AuthState::ClientAborting { id };
                            self.events.push_back(Event::AuthFailed(e));
                        }
                    }
                    Outcome::Error(e) => self.events.push_back(Event::AuthFailed(e)),
                }
            }
            AuthState::ClientAborting { id: aborting } if aborting == id => {}
            state => {
                self.auth = state;
                log::warn!("imtp: auth response {id} does not belong to the current exchange");
            }
        }
        Ok(())
    }

    fn internal_auth(&mut self, step: AuthStep, now: Instant) -> Result<Id, ConnError> {
        let limit = self.config.limits.output_hard_limit;
        if self.out.len() >= limit {
            return Err(ConnError::OutputOverflow { limit });
        }
        let cmd = Command::Auth(Auth {
            step,
            meta: Meta::default(),
        });
        self.push_command(&cmd, now).map_err(|e| {
            log::debug!("imtp: cannot continue auth: {e}");
            ConnError::OutputOverflow { limit }
        })
    }
}
