//! `{field}` templates for notification text. Fields are checked when the
//! subscription is created, so an unknown field is a configuration error,
//! never a runtime surprise. `{{` and `}}` stand for literal braces.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "unknown field {{{0}}} (known: source, source_event_id, kind, user, origin_host, summary, body, priority, occurred_at, attr.NAME)"
    )]
    UnknownField(String),
    #[error("unclosed '{{' at byte {0}")]
    Unclosed(usize),
    #[error("stray '}}' at byte {0} (write '}}}}' for a literal brace)")]
    StrayClose(usize),
    #[error("template longer than {0} bytes")]
    TooLong(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Field(Field),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Source,
    SourceEventId,
    Kind,
    User,
    OriginHost,
    Summary,
    Body,
    Priority,
    OccurredAt,
    Attr(String),
}

impl Field {
    fn parse(name: &str) -> Option<Field> {
        Some(match name {
            "source" => Field::Source,
            "source_event_id" => Field::SourceEventId,
            "kind" => Field::Kind,
            "user" => Field::User,
            "origin_host" => Field::OriginHost,
            "summary" => Field::Summary,
            "body" => Field::Body,
            "priority" => Field::Priority,
            "occurred_at" => Field::OccurredAt,
            _ => {
                let a = name.strip_prefix("attr.")?;
                if a.is_empty()
                    || !a
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
                {
                    return None;
                }
                Field::Attr(a.to_string())
            }
        })
    }
}

/// The values a template can use, borrowed from the event.
#[derive(Debug, Clone, Copy)]
pub struct Values<'a> {
    pub source: &'a str,
    pub source_event_id: &'a str,
    pub kind: &'a str,
    pub user: &'a str,
    pub origin_host: &'a str,
    pub summary: &'a str,
    pub body: &'a str,
    pub priority: &'a str,
    pub occurred_at: &'a str,
    pub attributes: &'a BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

pub const MAX_TEMPLATE: usize = 4096;

impl Template {
    pub fn parse(s: &str) -> Result<Template, TemplateError> {
        if s.len() > MAX_TEMPLATE {
            return Err(TemplateError::TooLong(MAX_TEMPLATE));
        }
        let mut parts = Vec::new();
        let mut lit = String::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'{' if b.get(i + 1) == Some(&b'{') => {
                    lit.push('{');
                    i += 2;
                }
                b'}' if b.get(i + 1) == Some(&b'}') => {
                    lit.push('}');
                    i += 2;
                }
                b'{' => {
                    let end = s[i + 1..]
                        .find('}')
                        .map(|e| i + 1 + e)
                        .ok_or(TemplateError::Unclosed(i))?;
                    let name = &s[i + 1..end];
                    let f = Field::parse(name)
                        .ok_or_else(|| TemplateError::UnknownField(name.to_string()))?;
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Field(f));
                    i = end + 1;
                }
                b'}' => return Err(TemplateError::StrayClose(i)),
                _ => {
                    // Copy one UTF-8 character.
                    let ch_len = s[i..].chars().next().map_or(1, char::len_utf8);
                    lit.push_str(&s[i..i + ch_len]);
                    i += ch_len;
                }
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template { parts })
    }

    pub fn render(&self, v: &Values<'_>) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Field(f) => match f {
                    Field::Source => out.push_str(v.source),
                    Field::SourceEventId => out.push_str(v.source_event_id),
                    Field::Kind => out.push_str(v.kind),
                    Field::User => out.push_str(v.user),
                    Field::OriginHost => out.push_str(v.origin_host),
                    Field::Summary => out.push_str(v.summary),
                    Field::Body => out.push_str(v.body),
                    Field::Priority => out.push_str(v.priority),
                    Field::OccurredAt => out.push_str(v.occurred_at),
                    Field::Attr(a) => out.push_str(v.attributes.get(a).map_or("", String::as_str)),
                },
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn values(attrs: &BTreeMap<String, String>) -> Values<'_> {
        Values {
            source: "dovecot",
            source_event_id: "x",
            kind: "mail.MessageNew",
            user: "alice",
            origin_host: "mx",
            summary: "New mail",
            body: "hello",
            priority: "high",
            occurred_at: "2026-11-22T07:05:00Z",
            attributes: attrs,
        }
    }

    #[test]
    fn renders_fields_and_escapes() {
        let attrs = [("from".to_string(), "Bob".to_string())].into();
        let t = Template::parse("{{{kind}}} for {user}: {summary} (from {attr.from}{attr.nope})")
            .unwrap();
        assert_eq!(
            t.render(&values(&attrs)),
            "{mail.MessageNew} for alice: New mail (from Bob)"
        );
        assert!(
            Template::parse("{id}").is_err(),
            "the event id is not known when routing"
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            Template::parse("hi {usr}"),
            Err(TemplateError::UnknownField("usr".into()))
        );
        assert_eq!(Template::parse("hi {user"), Err(TemplateError::Unclosed(3)));
        assert_eq!(Template::parse("a } b"), Err(TemplateError::StrayClose(2)));
        assert!(Template::parse("{attr.}").is_err());
        assert!(Template::parse("{attr.a b}").is_err());
        assert!(Template::parse("ünïcödé {user}").is_ok());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,200}") {
            if let Ok(t) = Template::parse(&s) {
                let attrs = BTreeMap::new();
                let _ = t.render(&values(&attrs));
            }
        }
    }
}
