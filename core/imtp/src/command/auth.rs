//! `auth` (section 14.1): one step of a SASL exchange. SASL data travels as
//! raw payload octets (no base64: payloads are binary-safe).

use super::fields::{Fields, Meta, write_meta};
use crate::encoder::{Sink, finish, header_trusted};
use crate::error::{EncodeError, MessageError};
use crate::header::names;
use crate::mech::MechName;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthStep {
    /// `Mechanism:` plus the optional initial response.
    Start {
        mechanism: MechName,
        initial_response: Option<Vec<u8>>,
    },
    /// The response to the last `sasl-challenge`.
    Continue(Vec<u8>),
    /// `Abort:` ends the exchange (answered with ok).
    Abort,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    pub step: AuthStep,
    pub meta: Meta,
}

impl Auth {
    pub fn start(mechanism: MechName, initial_response: Option<Vec<u8>>) -> Auth {
        Auth {
            step: AuthStep::Start {
                mechanism,
                initial_response,
            },
            meta: Meta::default(),
        }
    }

    pub(crate) fn parse(mut f: Fields, payload: Option<Vec<u8>>) -> Result<Auth, MessageError> {
        if let Some(ct) = f.first(names::CONTENT_TYPE) {
            // "All payloads ... MUST have the content type application/octet-stream".
            if !ct.eq_ignore_ascii_case("application/octet-stream") {
                return Err(MessageError::BadAuthContentType);
            }
        }
        let mechanism = f.parsed(names::MECHANISM, MechName::parse)?;
        let abort = f.flag(names::ABORT);
        let step = match (mechanism, abort) {
            (Some(_), true) => {
                return Err(MessageError::BadAuthStep(
                    "Abort only applies to a continuation",
                ));
            }
            (Some(mechanism), false) => AuthStep::Start {
                mechanism,
                initial_response: payload,
            },
            (None, true) => AuthStep::Abort,
            (None, false) => AuthStep::Continue(payload.ok_or(MessageError::MissingPayload)?),
        };
        Ok(Auth {
            step,
            meta: f.meta()?,
        })
    }

    pub(crate) fn write<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        let payload = match &self.step {
            AuthStep::Start {
                mechanism,
                initial_response,
            } => {
                header_trusted(s, names::MECHANISM, mechanism.as_str().as_bytes());
                initial_response.as_deref()
            }
            AuthStep::Continue(p) => Some(p.as_slice()),
            AuthStep::Abort => {
                header_trusted(s, names::ABORT, b"");
                None
            }
        };
        write_meta(s, &self.meta)?;
        finish(s, payload);
        Ok(())
    }
}
