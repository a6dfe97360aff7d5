//! A configured parser: limits plus user mapping, for the source plugin to hold.

use crate::cyrus_notify::parse_cyrus_notify;
use crate::dovecot_ox::parse_dovecot_ox;
use crate::error::ParseError;
use crate::event::{MailEvent, SourceFormat};
use crate::generic::parse_generic;
use crate::limits::ParseLimits;
use crate::user_map::UserMap;

/// Parses any supported format and applies the user mapping to the result.
#[derive(Debug, Clone, Default)]
pub struct MailEventParser {
    /// Size limits.
    pub limits: ParseLimits,
    /// User mapping rules.
    pub user_map: UserMap,
}

impl MailEventParser {
    /// A parser with these limits and rules.
    pub fn new(limits: ParseLimits, user_map: UserMap) -> Self {
        MailEventParser { limits, user_map }
    }

    /// Parse `bytes` in the given format, then map the user.
    pub fn parse(&self, format: SourceFormat, bytes: &[u8]) -> Result<MailEvent, ParseError> {
        let mut event = match format {
            SourceFormat::DovecotOx => parse_dovecot_ox(bytes, &self.limits)?,
            SourceFormat::CyrusNotify => parse_cyrus_notify(bytes, &self.limits)?,
            SourceFormat::Generic => parse_generic(bytes, &self.limits)?,
        };
        event.user = self
            .user_map
            .apply(&event.user, self.limits.max_user_bytes)?;
        Ok(event)
    }

    /// A Dovecot ox body.
    pub fn dovecot_ox(&self, body: &[u8]) -> Result<MailEvent, ParseError> {
        self.parse(SourceFormat::DovecotOx, body)
    }

    /// A Cyrus notifyd datagram.
    pub fn cyrus_notify(&self, datagram: &[u8]) -> Result<MailEvent, ParseError> {
        self.parse(SourceFormat::CyrusNotify, datagram)
    }

    /// A generic JSON event.
    pub fn generic(&self, body: &[u8]) -> Result<MailEvent, ParseError> {
        self.parse(SourceFormat::Generic, body)
    }
}
