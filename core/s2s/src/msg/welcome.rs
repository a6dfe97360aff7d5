//! WELCOME (PPID `PPID_WELCOME`): the server accepts a HELLO.
//!
//! | tag | field | type | |
//! |---|---|---|---|
//! | 0x01 | version | u16 BE | required |
//! | 0x02 | appliance-id | one-line text 1..=128 | required |
//! | 0x03 | role | u8: 1 active, 2 standby | required |
//! | 0x04 | address | `host:port`, repeatable <= 16, preference order | optional |
//! | 0x05 | resume | source-event-id rules | optional |
//! | 0x06 | max-event-bytes | u32 BE | optional |

use super::error::{Field, MsgError};
use super::text::{self, Controls, limits};
use super::tlv::{self, Reader};

const T_VERSION: u8 = 0x01;
const T_APPLIANCE: u8 = 0x02;
const T_ROLE: u8 = 0x03;
const T_ADDRESS: u8 = 0x04;
const T_RESUME: u8 = 0x05;
const T_MAX: u8 = 0x06;

/// The server's role in its pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// 1: accepts events.
    Active,
    /// 2: replica; follows its WELCOME with GOODBYE `not-active`.
    Standby,
}

impl Role {
    fn to_u8(self) -> u8 {
        match self {
            Role::Active => 1,
            Role::Standby => 2,
        }
    }
}

/// A WELCOME message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Welcome<'a> {
    /// Protocol version the server will speak (1).
    pub version: u16,
    /// Which appliance answered.
    pub appliance_id: &'a str,
    /// Active or standby.
    pub role: Role,
    /// The pool's addresses, most preferred first.
    pub addresses: Vec<&'a str>,
    /// source-event-id of the event of this source that the server committed
    /// last (see `docs/s2s-protocol.md`, "Resume point").
    pub resume: Option<&'a str>,
    /// Largest EVENT message (bytes) the server accepts.
    pub max_event_bytes: Option<u32>,
}

impl<'a> Welcome<'a> {
    /// Decode and validate.
    pub fn decode(buf: &'a [u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(buf);
        let (mut version, mut appliance, mut role, mut resume, mut max) =
            (None, None, None, None, None);
        let mut addresses = Vec::new();
        while let Some((tag, v)) = r.next_field()? {
            match tag {
                T_VERSION => tlv::set_once(&mut version, Field::Version, v)?,
                T_APPLIANCE => tlv::set_once(&mut appliance, Field::ApplianceId, v)?,
                T_ROLE => tlv::set_once(&mut role, Field::Role, v)?,
                T_ADDRESS => {
                    if addresses.len() == limits::ADDRESSES {
                        return Err(MsgError::TooMany {
                            field: Field::Address,
                            max: limits::ADDRESSES,
                        });
                    }
                    addresses.push(text::text(
                        Field::Address,
                        v,
                        1,
                        limits::ADDRESS,
                        Controls::None,
                    )?);
                }
                T_RESUME => tlv::set_once(&mut resume, Field::Resume, v)?,
                T_MAX => tlv::set_once(&mut max, Field::MaxEventBytes, v)?,
                other => tlv::unknown(other)?,
            }
        }
        let [role] = tlv::fixed::<1>(Field::Role, tlv::required(role, Field::Role)?)?;
        let w = Welcome {
            version: tlv::u16_of(Field::Version, tlv::required(version, Field::Version)?)?,
            appliance_id: text::text(
                Field::ApplianceId,
                tlv::required(appliance, Field::ApplianceId)?,
                1,
                limits::APPLIANCE_ID,
                Controls::None,
            )?,
            role: match role {
                1 => Role::Active,
                2 => Role::Standby,
                _ => {
                    return Err(MsgError::InvalidValue {
                        field: Field::Role,
                        reason: "role must be 1 (active) or 2 (standby)",
                    });
                }
            },
            addresses,
            resume: resume
                .map(|v| text::text(Field::Resume, v, 1, limits::SOURCE_EVENT_ID, Controls::None))
                .transpose()?,
            max_event_bytes: max
                .map(|v| tlv::u32_of(Field::MaxEventBytes, v))
                .transpose()?,
        };
        w.check()?;
        Ok(w)
    }

    /// Apply every field rule.
    pub fn check(&self) -> Result<(), MsgError> {
        text::check(
            Field::ApplianceId,
            self.appliance_id,
            1,
            limits::APPLIANCE_ID,
            Controls::None,
        )?;
        if self.addresses.len() > limits::ADDRESSES {
            return Err(MsgError::TooMany {
                field: Field::Address,
                max: limits::ADDRESSES,
            });
        }
        for a in &self.addresses {
            text::check_address(Field::Address, a)?;
        }
        if let Some(r) = self.resume {
            text::check(Field::Resume, r, 1, limits::SOURCE_EVENT_ID, Controls::None)?;
        }
        Ok(())
    }

    /// Validate, then append the encoding.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), MsgError> {
        self.check()?;
        tlv::put(out, T_VERSION, &self.version.to_be_bytes());
        tlv::put(out, T_APPLIANCE, self.appliance_id.as_bytes());
        tlv::put(out, T_ROLE, &[self.role.to_u8()]);
        for a in &self.addresses {
            tlv::put(out, T_ADDRESS, a.as_bytes());
        }
        if let Some(r) = self.resume {
            tlv::put(out, T_RESUME, r.as_bytes());
        }
        if let Some(m) = self.max_event_bytes {
            tlv::put(out, T_MAX, &m.to_be_bytes());
        }
        Ok(())
    }
}
