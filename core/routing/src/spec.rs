//! A subscription as the administrator writes it (`tocsinctl subs add`,
//! or config), and its validation.

use crate::backoff::RetryPolicy;
use crate::quiet::QuietHours;
use crate::template::Template;
use serde::{Deserialize, Serialize};
use tocsin_abi::Priority;

/// A delivery plugin instance and an address it understands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub instance: String,
    pub address: String,
}

impl Target {
    /// "instance:address", split at the first colon
    /// (`imtp:im:alice@example.org`).
    pub fn parse(s: &str) -> Result<Target, SpecError> {
        let (i, a) = s
            .split_once(':')
            .ok_or_else(|| SpecError::Invalid(format!("target {s:?} is not INSTANCE:ADDRESS")))?;
        let t = Target {
            instance: i.to_string(),
            address: a.to_string(),
        };
        t.validate()?;
        Ok(t)
    }

    fn validate(&self) -> Result<(), SpecError> {
        if self.instance.is_empty()
            || !self
                .instance
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(SpecError::Invalid(format!(
                "target instance {:?} is not a plugin instance name",
                self.instance
            )));
        }
        if self.address.is_empty()
            || self.address.len() > 512
            || self.address.chars().any(char::is_control)
        {
            return Err(SpecError::Invalid(format!(
                "target address {:?} must be 1..512 printable characters",
                self.address
            )));
        }
        Ok(())
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.instance, self.address)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Receipts {
    #[default]
    None,
    Delivery,
    Display,
}

/// What to do when the target is not present (IM presence).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PresencePolicy {
    /// Deliver regardless; the plugin decides.
    #[default]
    Ignore,
    /// Wait until the target is present.
    Hold,
    /// Send to the escalation target instead.
    Escalate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// At most `count` deliveries per user per `window_s`; more wait.
    pub count: u32,
    pub window_s: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Template for the coalescing key; when absent, the event's
    /// `coalesce_key` attribute (if any) is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coalesce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_s: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_template: Option<String>,
    #[serde(default)]
    pub receipts: Receipts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_after_s: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_to: Option<Target>,
    #[serde(default)]
    pub presence: PresencePolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionSpec {
    pub name: String,
    /// Exact user or glob (`*@example.org`), case-insensitive.
    pub user: String,
    /// Glob over the namespaced kind (`mail.*`).
    pub kind: String,
    #[serde(default = "min_priority")]
    pub min_priority: Priority,
    pub target: Target,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub options: Options,
}

fn min_priority() -> Priority {
    Priority::Min
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("{0}")]
    Invalid(String),
    #[error("{field}: {source}")]
    Template {
        field: &'static str,
        #[source]
        source: crate::template::TemplateError,
    },
    #[error("quiet_hours: {0}")]
    Quiet(#[from] crate::quiet::QuietError),
}

impl SubscriptionSpec {
    /// Everything checked up front: a bad subscription is refused when it
    /// is added, never discovered while routing.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.name.is_empty()
            || self.name.len() > 64
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(SpecError::Invalid(format!(
                "name {:?} must be 1..64 of letters, digits, '-', '_', '.'",
                self.name
            )));
        }
        for (what, v) in [("user", &self.user), ("kind", &self.kind)] {
            if v.is_empty() || v.len() > 256 || v.chars().any(char::is_control) {
                return Err(SpecError::Invalid(format!(
                    "{what} pattern must be 1..256 printable characters"
                )));
            }
        }
        self.target.validate()?;
        let o = &self.options;
        for (field, t) in [
            ("summary_template", &o.summary_template),
            ("body_template", &o.body_template),
            ("coalesce", &o.coalesce),
        ] {
            if let Some(t) = t {
                Template::parse(t).map_err(|source| SpecError::Template { field, source })?;
            }
        }
        if let Some(q) = &o.quiet_hours {
            q.validate()?;
        }
        if let Some(r) = &o.rate_limit
            && (r.count == 0 || r.window_s == 0)
        {
            return Err(SpecError::Invalid(
                "rate_limit needs count > 0 and window_s > 0".into(),
            ));
        }
        if o.ttl_s == Some(0) {
            return Err(SpecError::Invalid("ttl_s must be > 0".into()));
        }
        match (&o.escalate_after_s, &o.escalate_to) {
            (Some(_), None) => {
                return Err(SpecError::Invalid(
                    "escalate_after_s needs escalate_to".into(),
                ));
            }
            (Some(0), _) => return Err(SpecError::Invalid("escalate_after_s must be > 0".into())),
            (Some(_), Some(_)) if o.receipts != Receipts::Display => {
                return Err(SpecError::Invalid(
                    "escalation waits for a display receipt: set receipts = display".into(),
                ));
            }
            (None, Some(_)) if o.presence != PresencePolicy::Escalate => {
                return Err(SpecError::Invalid(
                    "escalate_to needs escalate_after_s (or presence = escalate)".into(),
                ));
            }
            _ => {}
        }
        if let Some(t) = &o.escalate_to {
            t.validate()?;
        }
        if o.presence == PresencePolicy::Escalate && o.escalate_to.is_none() {
            return Err(SpecError::Invalid(
                "presence = escalate needs escalate_to".into(),
            ));
        }
        if let Some(r) = &o.retry {
            r.validate().map_err(SpecError::Invalid)?;
        }
        Ok(())
    }

    pub fn matches(&self, user: &str, kind: &str, priority: Priority) -> bool {
        self.enabled
            && priority >= self.min_priority
            && crate::glob::matches(&self.user, user, true)
            && crate::glob::matches(&self.kind, kind, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SubscriptionSpec {
        SubscriptionSpec {
            name: "alice-mail".into(),
            user: "alice@example.org".into(),
            kind: "mail.*".into(),
            min_priority: Priority::Low,
            target: Target::parse("imtp:im:alice@example.org").unwrap(),
            enabled: true,
            options: Options::default(),
        }
    }

    #[test]
    fn target_parse() {
        let t = Target::parse("imtp:im:alice@example.org").unwrap();
        assert_eq!(t.instance, "imtp");
        assert_eq!(t.address, "im:alice@example.org");
        assert!(Target::parse("noaddress").is_err());
        assert!(Target::parse("Bad Name:x").is_err());
    }

    #[test]
    fn matching() {
        let s = spec();
        assert!(s.matches("Alice@example.org", "mail.MessageNew", Priority::Normal));
        assert!(!s.matches("alice@example.org", "mail.MessageNew", Priority::Min));
        assert!(!s.matches("bob@example.org", "mail.MessageNew", Priority::Normal));
        assert!(!s.matches(
            "alice@example.org",
            "voicemail.MessageWaiting",
            Priority::Urgent
        ));
    }

    #[test]
    fn validation_catches_config_errors() {
        let mut s = spec();
        s.options.summary_template = Some("New {kind} for {usr}".into());
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("summary_template") && e.contains("usr"), "{e}");
        let mut s = spec();
        s.options.escalate_after_s = Some(60);
        assert!(s.validate().is_err());
        s.options.escalate_to = Some(Target::parse("sms:+491234").unwrap());
        assert!(s.validate().is_err(), "needs display receipts");
        s.options.receipts = Receipts::Display;
        assert!(s.validate().is_ok());
        let mut s = spec();
        s.name = "has space".into();
        assert!(s.validate().is_err());
    }

    #[test]
    fn json_shape_rejects_unknown_options() {
        let j = r#"{"name":"n","user":"*","kind":"*","target":{"instance":"r","address":"a"},"options":{"ttl":5}}"#;
        assert!(serde_json::from_str::<SubscriptionSpec>(j).is_err());
        let j = r#"{"name":"n","user":"*","kind":"*","target":{"instance":"r","address":"a"},"options":{"ttl_s":5,"receipts":"delivery"}}"#;
        let s: SubscriptionSpec = serde_json::from_str(j).unwrap();
        assert_eq!(s.options.receipts, Receipts::Delivery);
        assert!(s.validate().is_ok());
    }
}
