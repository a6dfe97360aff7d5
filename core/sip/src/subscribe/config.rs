//! Configuration of one outgoing message-summary subscription.

use std::time::Duration;

/// Transport named in our Via; only UDP needs retransmissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub(crate) fn via_name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    pub(crate) fn is_reliable(self) -> bool {
        self != Transport::Udp
    }
}

/// Everything needed to subscribe to one mailbox.
///
/// Route sets are not supported: requests go where the caller sends them
/// (normally straight to the PBX) and Record-Route in the 2xx is ignored.
/// Digest authentication is not supported either: a 401/407 ends the
/// attempt like any other failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionConfig {
    /// Request-URI of the initial SUBSCRIBE, e.g. `sip:*97@pbx.example.org`.
    pub request_uri: String,
    /// Our address-of-record for From, e.g. `sip:tocsin@appliance.example`.
    pub from_uri: String,
    /// The subscribed resource for To; usually the Request-URI.
    pub to_uri: String,
    /// Where NOTIFYs should reach us, e.g. `sip:tocsin@192.0.2.10:5060`.
    pub contact_uri: String,
    /// `host[:port]` for our Via.
    pub sent_by: String,
    pub transport: Transport,
    /// Requested duration in seconds; RFC 3842 §3.1 default 3600.
    pub expires: u32,
    /// Wait before subscribing again after a failure (at least the peer's
    /// Retry-After, when larger).
    pub retry_interval: Duration,
    pub user_agent: Option<String>,
}

impl SubscriptionConfig {
    pub fn new(
        request_uri: &str,
        from_uri: &str,
        contact_uri: &str,
        sent_by: &str,
        transport: Transport,
    ) -> SubscriptionConfig {
        SubscriptionConfig {
            request_uri: request_uri.to_owned(),
            from_uri: from_uri.to_owned(),
            to_uri: request_uri.to_owned(),
            contact_uri: contact_uri.to_owned(),
            sent_by: sent_by.to_owned(),
            transport,
            expires: 3600,
            retry_interval: Duration::from_secs(60),
            user_agent: None,
        }
    }

    /// Rejects values that would produce a malformed request (whitespace or
    /// control characters in URIs, a zero Expires).
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        for (field, uri) in [
            ("request_uri", &self.request_uri),
            ("from_uri", &self.from_uri),
            ("to_uri", &self.to_uri),
            ("contact_uri", &self.contact_uri),
        ] {
            if !uri.contains(':')
                || !uri.bytes().all(|b| b.is_ascii_graphic())
                || uri.contains(['<', '>'])
            {
                return Err(ConfigError(field));
            }
        }
        if self.sent_by.is_empty() || !self.sent_by.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError("sent_by"));
        }
        if self.expires == 0 {
            return Err(ConfigError("expires"));
        }
        if self
            .user_agent
            .as_deref()
            .is_some_and(|u| u.chars().any(char::is_control))
        {
            return Err(ConfigError("user_agent"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid subscription setting `{0}`")]
pub struct ConfigError(pub &'static str);
