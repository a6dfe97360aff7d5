//! Event (RFC 6665 §8.2.1) and Subscription-State (RFC 6665 §8.2.3).

use super::params::Params;
use crate::lex::{is_token, trim_wsp};

/// The event package this crate handles.
pub const MESSAGE_SUMMARY: &str = "message-summary";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    package: &'a str,
    params: Params<'a>,
}

impl<'a> Event<'a> {
    /// `event-type *( SEMI event-param )`.
    pub fn parse(raw: &'a str) -> Result<Event<'a>, &'static str> {
        let (package, params) = split_params(raw)?;
        Ok(Event { package, params })
    }

    /// The event type as written, e.g. `message-summary`.
    pub fn package(&self) -> &'a str {
        self.package
    }

    pub fn params(&self) -> Params<'a> {
        self.params
    }

    /// The RFC 6665 `id` parameter.
    pub fn id(&self) -> Option<&'a str> {
        self.params.value("id")
    }

    /// Event types are compared case-insensitively here: RFC 3261 §7.3.1
    /// makes tokens case-insensitive unless stated otherwise, and no real
    /// server sends `Message-Summary` for anything but MWI.
    pub fn is_message_summary(&self) -> bool {
        self.package.eq_ignore_ascii_case(MESSAGE_SUMMARY)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubState<'a> {
    Active,
    Pending,
    Terminated,
    Extension(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionState<'a> {
    pub state: SubState<'a>,
    params: Params<'a>,
}

impl<'a> SubscriptionState<'a> {
    pub fn parse(raw: &'a str) -> Result<SubscriptionState<'a>, &'static str> {
        let (value, params) = split_params(raw)?;
        let state = if value.eq_ignore_ascii_case("active") {
            SubState::Active
        } else if value.eq_ignore_ascii_case("pending") {
            SubState::Pending
        } else if value.eq_ignore_ascii_case("terminated") {
            SubState::Terminated
        } else {
            SubState::Extension(value)
        };
        for name in ["expires", "retry-after"] {
            if let Some(v) = params.get(name) {
                v.and_then(crate::lex::parse_u32)
                    .ok_or("malformed expires/retry-after")?;
            }
        }
        Ok(SubscriptionState { state, params })
    }

    pub fn params(&self) -> Params<'a> {
        self.params
    }

    pub fn expires(&self) -> Option<u32> {
        self.params.value("expires").and_then(crate::lex::parse_u32)
    }

    pub fn retry_after(&self) -> Option<u32> {
        self.params
            .value("retry-after")
            .and_then(crate::lex::parse_u32)
    }

    /// `reason` of a terminated state, e.g. `deactivated`, `timeout`.
    pub fn reason(&self) -> Option<&'a str> {
        self.params.value("reason")
    }
}

/// `token *( SEMI param )`.
fn split_params(raw: &str) -> Result<(&str, Params<'_>), &'static str> {
    let (value, params) = match raw.split_once(';') {
        Some((v, p)) => (trim_wsp(v), Params::parse(p)?),
        None => (trim_wsp(raw), Params::default()),
    };
    if !is_token(value) {
        return Err("value is not a token");
    }
    Ok((value, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_and_state() {
        let e = Event::parse("Message-Summary;id=7");
        assert_eq!(
            e.map(|e| (e.is_message_summary(), e.id())),
            Ok((true, Some("7")))
        );
        assert!(Event::parse("").is_err());
        assert!(Event::parse("message summary").is_err());
        let s = SubscriptionState::parse("terminated;reason=timeout;retry-after=30");
        let Ok(s) = s else { panic!("{s:?}") };
        assert_eq!(s.state, SubState::Terminated);
        assert_eq!(s.reason(), Some("timeout"));
        assert_eq!(s.retry_after(), Some(30));
        assert!(SubscriptionState::parse("active;expires=x").is_err());
    }
}
