//! Summary templates: `New mail from {from}: {subject}`.
//!
//! Placeholders are checked when the configuration is loaded, so a typo is a config error
//! rather than a literal `{frmo}` in every notification. `{{` and `}}` write braces.

use std::str::FromStr;
use thiserror::Error;
use tocsin_abi::event::MAX_SUMMARY;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    #[error("unknown placeholder {{{0}}} (known: {known})", known = Var::names())]
    UnknownPlaceholder(String),
    #[error("unbalanced brace at byte {0} (write {{{{ or }}}} for a literal brace)")]
    UnbalancedBrace(usize),
    #[error("templates may not contain control characters")]
    ControlCharacter,
    #[error("template is {0} bytes long (limit {MAX_SUMMARY})")]
    TooLong(usize),
}

/// A value a template can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    /// RFC 5423 event name (`MessageNew`).
    Event,
    /// The tocsin user (after user mapping).
    User,
    /// The user as the mail store named it.
    StoreUser,
    Folder,
    /// Display name, else address, else the decoded From value; "unknown sender" if absent.
    From,
    FromAddress,
    /// Decoded subject; "(no subject)" if absent.
    Subject,
    Snippet,
    Uid,
    Uidset,
    Unseen,
    Messages,
    Server,
}

impl Var {
    const ALL: [(&'static str, Var); 13] = [
        ("event", Var::Event),
        ("user", Var::User),
        ("store_user", Var::StoreUser),
        ("folder", Var::Folder),
        ("from", Var::From),
        ("from_address", Var::FromAddress),
        ("subject", Var::Subject),
        ("snippet", Var::Snippet),
        ("uid", Var::Uid),
        ("uidset", Var::Uidset),
        ("unseen", Var::Unseen),
        ("messages", Var::Messages),
        ("server", Var::Server),
    ];
    fn names() -> String {
        let names: Vec<&str> = Var::ALL.iter().map(|(n, _)| *n).collect();
        names.join(", ")
    }

    fn parse(name: &str) -> Option<Var> {
        Var::ALL.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(Var),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(Vec<Part>);

impl FromStr for Template {
    type Err = TemplateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > MAX_SUMMARY {
            return Err(TemplateError::TooLong(s.len()));
        }
        if s.chars().any(char::is_control) {
            return Err(TemplateError::ControlCharacter);
        }
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = s;
        while let Some(i) = rest.find(['{', '}']) {
            let at = s.len() - rest.len() + i;
            text.push_str(&rest[..i]);
            let tail = &rest[i..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                text.push_str(&tail[..1]);
                rest = &tail[2..];
                continue;
            }
            if tail.starts_with('}') {
                return Err(TemplateError::UnbalancedBrace(at));
            }
            let close = tail.find('}').ok_or(TemplateError::UnbalancedBrace(at))?;
            let name = &tail[1..close];
            let var = Var::parse(name)
                .ok_or_else(|| TemplateError::UnknownPlaceholder(name.to_string()))?;
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(Part::Var(var));
            rest = &tail[close + 1..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template(parts))
    }
}

/// What a template is rendered from; `None` is "not in this notification".
pub trait Values {
    fn get(&self, var: Var) -> Option<String>;
}

impl Template {
    /// The rendered text. Absent values render empty, except `{from}` and `{subject}`,
    /// which read as "unknown sender" and "(no subject)".
    pub fn render(&self, values: &dyn Values) -> String {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) => match (values.get(*v), v) {
                    (Some(s), _) => out.push_str(&s),
                    (None, Var::From) => out.push_str("unknown sender"),
                    (None, Var::Subject) => out.push_str("(no subject)"),
                    (None, _) => {}
                },
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct V;
    impl Values for V {
        fn get(&self, var: Var) -> Option<String> {
            match var {
                Var::From => Some("Jörg".into()),
                Var::Unseen => Some("3".into()),
                _ => None,
            }
        }
    }

    fn t(s: &str) -> Template {
        s.parse().unwrap()
    }

    #[test]
    fn renders_with_fallbacks() {
        assert_eq!(
            t("New mail from {from}: {subject}").render(&V),
            "New mail from Jörg: (no subject)"
        );
        assert_eq!(t("{unseen} unread{folder}").render(&V), "3 unread");
        assert_eq!(t("{{literal}} }}").render(&V), "{literal} }");
        assert_eq!(t("").render(&V), "");
    }

    #[test]
    fn refuses_bad_templates() {
        assert_eq!(
            "x {frmo}".parse::<Template>(),
            Err(TemplateError::UnknownPlaceholder("frmo".into()))
        );
        assert_eq!(
            "x {from".parse::<Template>(),
            Err(TemplateError::UnbalancedBrace(2))
        );
        assert_eq!(
            "x } y".parse::<Template>(),
            Err(TemplateError::UnbalancedBrace(2))
        );
        assert_eq!(
            "a\nb".parse::<Template>(),
            Err(TemplateError::ControlCharacter)
        );
        assert!(matches!(
            "x".repeat(2000).parse::<Template>(),
            Err(TemplateError::TooLong(2000))
        ));
        let msg = TemplateError::UnknownPlaceholder("frmo".into()).to_string();
        assert!(msg.contains("{frmo}") && msg.contains("subject"), "{msg}");
    }
}
