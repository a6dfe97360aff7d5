//! User mapping: turn the mail store's user name into the tocsin user.
//!
//! Rules run in order, each on the previous rule's output:
//!
//! | rule (text form)               | effect                                                   |
//! |--------------------------------|----------------------------------------------------------|
//! | `strip-domain`                 | `alice@example.org` → `alice` (cut at the last `@`)       |
//! | `rewrite-domain OLD NEW`       | `alice@OLD` → `alice@NEW` (domain compared ignoring case) |
//! | `map PATTERN TEMPLATE`         | if PATTERN matches, the user becomes TEMPLATE             |
//! | `lowercase`                    | Unicode lowercase                                          |
//!
//! PATTERN is a glob where `*` matches any run of characters (no regular expressions);
//! matching ignores ASCII case. TEMPLATE may use `{user}` (the whole input), `{local}`
//! (before the last `@`), `{domain}` (after it) and `{1}`..`{9}` (what each `*` matched).
//! Example: `map *@example.org {local}` maps `Alice@Example.org` to `Alice`; a user that
//! does not match is left unchanged. The result must be non-empty and free of control
//! characters.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// A rule that could not be parsed, or a user the rules could not map.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UserMapError {
    /// Unknown rule keyword or wrong number of arguments.
    #[error("invalid user mapping rule {0:?}")]
    BadRule(String),
    /// A template placeholder that does not exist or a stray brace.
    #[error("invalid template {0:?}")]
    BadTemplate(String),
    /// The rules produced an empty user.
    #[error("user {0:?} maps to an empty name")]
    Empty(String),
    /// The rules produced a user with control characters.
    #[error("mapped user contains control characters")]
    ControlCharacter,
    /// The mapped user is longer than allowed.
    #[error("mapped user is {0} bytes long (limit {1})")]
    TooLong(usize, usize),
}

/// One mapping rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRule {
    /// Remove `@domain`.
    StripDomain,
    /// Replace the domain `from` (ASCII case-insensitive) with `to`.
    RewriteDomain {
        /// Domain to replace.
        from: String,
        /// Replacement domain.
        to: String,
    },
    /// Glob pattern with `*`, and a template.
    Map {
        /// Glob, e.g. `*@example.org`.
        pattern: String,
        /// Template, e.g. `{local}`.
        template: String,
    },
    /// Lowercase the whole user.
    Lowercase,
}

impl UserRule {
    /// A `map` rule, with its template checked.
    pub fn map(pattern: &str, template: &str) -> Result<UserRule, UserMapError> {
        let stars = pattern.matches('*').count();
        validate_template(template, stars)?;
        Ok(UserRule::Map {
            pattern: pattern.to_owned(),
            template: template.to_owned(),
        })
    }

    fn apply(&self, user: &str) -> String {
        match self {
            UserRule::StripDomain => split_at_domain(user).0.to_owned(),
            UserRule::RewriteDomain { from, to } => match split_at_domain(user) {
                (local, Some(domain)) if domain.eq_ignore_ascii_case(from) => {
                    format!("{local}@{to}")
                }
                _ => user.to_owned(),
            },
            UserRule::Map { pattern, template } => match glob_captures(pattern, user) {
                Some(caps) => expand(template, user, &caps),
                None => user.to_owned(),
            },
            UserRule::Lowercase => user.to_lowercase(),
        }
    }
}

impl FromStr for UserRule {
    type Err = UserMapError;

    /// Parse the text form shown in the module documentation.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let words: Vec<&str> = s.split_whitespace().collect();
        match words.as_slice() {
            ["strip-domain"] => Ok(UserRule::StripDomain),
            ["lowercase"] => Ok(UserRule::Lowercase),
            ["rewrite-domain", from, to] => Ok(UserRule::RewriteDomain {
                from: (*from).to_owned(),
                to: (*to).to_owned(),
            }),
            ["map", pattern, template] => UserRule::map(pattern, template),
            _ => Err(UserMapError::BadRule(s.to_owned())),
        }
    }
}

impl fmt::Display for UserRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserRule::StripDomain => f.write_str("strip-domain"),
            UserRule::Lowercase => f.write_str("lowercase"),
            UserRule::RewriteDomain { from, to } => write!(f, "rewrite-domain {from} {to}"),
            UserRule::Map { pattern, template } => write!(f, "map {pattern} {template}"),
        }
    }
}

/// An ordered list of rules. The default (no rules) keeps users unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserMap {
    rules: Vec<UserRule>,
}

impl UserMap {
    /// Rules applied in the given order.
    pub fn new(rules: Vec<UserRule>) -> Self {
        UserMap { rules }
    }

    /// Parse one rule per entry (text form).
    pub fn parse<'a>(lines: impl IntoIterator<Item = &'a str>) -> Result<Self, UserMapError> {
        let rules = lines
            .into_iter()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(UserMap { rules })
    }

    /// The rules.
    pub fn rules(&self) -> &[UserRule] {
        &self.rules
    }

    /// Map a user; the result is non-empty, has no control characters and is at most
    /// `max_bytes` long.
    pub fn apply(&self, user: &str, max_bytes: usize) -> Result<String, UserMapError> {
        let mut current = user.to_owned();
        for rule in &self.rules {
            current = rule.apply(&current);
        }
        if current.is_empty() {
            return Err(UserMapError::Empty(user.to_owned()));
        }
        if current.chars().any(char::is_control) {
            return Err(UserMapError::ControlCharacter);
        }
        if current.len() > max_bytes {
            return Err(UserMapError::TooLong(current.len(), max_bytes));
        }
        Ok(current)
    }
}

/// (local part, domain) split at the last `@`.
fn split_at_domain(user: &str) -> (&str, Option<&str>) {
    match user.rsplit_once('@') {
        Some((local, domain)) => (local, Some(domain)),
        None => (user, None),
    }
}

fn validate_template(template: &str, stars: usize) -> Result<(), UserMapError> {
    let bad = || UserMapError::BadTemplate(template.to_owned());
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(bad());
        }
        let close = rest[open..].find('}').ok_or_else(bad)? + open;
        let name = &rest[open + 1..close];
        let ok = match name {
            "user" | "local" | "domain" => true,
            n => n
                .parse::<usize>()
                .is_ok_and(|i| (1..=9).contains(&i) && i <= stars),
        };
        if !ok {
            return Err(bad());
        }
        rest = &rest[close + 1..];
    }
    Ok(())
}

fn expand(template: &str, user: &str, caps: &[&str]) -> String {
    let (local, domain) = split_at_domain(user);
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}').map(|c| c + open) else {
            break;
        };
        match &rest[open + 1..close] {
            "user" => out.push_str(user),
            "local" => out.push_str(local),
            "domain" => out.push_str(domain.unwrap_or("")),
            n => {
                if let Some(c) = n
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| caps.get(i.wrapping_sub(1)))
                {
                    out.push_str(c);
                }
            }
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Match a `*` glob ignoring ASCII case; returns what each `*` matched. Segments between
/// stars are placed leftmost, which is always a valid placement for `*`-only globs, so the
/// match is linear rather than backtracking.
fn glob_captures<'a>(pattern: &str, input: &'a str) -> Option<Vec<&'a str>> {
    let segments: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = segments.split_first()?;
    if segments.len() == 1 {
        return input.eq_ignore_ascii_case(first).then(Vec::new);
    }
    let lower = input.to_ascii_lowercase();
    if !lower.starts_with(&first.to_ascii_lowercase()) {
        return None;
    }
    let (middle, last) = rest.split_at(rest.len() - 1);
    let last = last.first()?.to_ascii_lowercase();
    if input.len() < first.len() + last.len() || !lower.ends_with(&last) {
        return None;
    }
    let end_limit = input.len() - last.len();
    let mut pos = first.len();
    let mut caps = Vec::with_capacity(segments.len() - 1);
    for seg in middle {
        let seg = seg.to_ascii_lowercase();
        let found = lower.get(pos..end_limit)?.find(&seg)? + pos;
        caps.push(input.get(pos..found)?);
        pos = found + seg.len();
    }
    caps.push(input.get(pos..end_limit)?);
    Some(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(rules: &[&str], user: &str) -> Result<String, UserMapError> {
        UserMap::parse(rules.iter().copied())?.apply(user, 256)
    }

    #[test]
    fn each_rule() {
        assert_eq!(
            map(&["strip-domain"], "alice@example.org").unwrap(),
            "alice"
        );
        assert_eq!(map(&["strip-domain"], "alice").unwrap(), "alice");
        assert_eq!(map(&["strip-domain"], "a@b@c").unwrap(), "a@b");
        assert_eq!(
            map(&["rewrite-domain old.org new.org"], "bob@OLD.org").unwrap(),
            "bob@new.org"
        );
        assert_eq!(
            map(&["rewrite-domain old.org new.org"], "bob@other.org").unwrap(),
            "bob@other.org"
        );
        assert_eq!(
            map(&["map *@example.org {local}"], "Alice@Example.ORG").unwrap(),
            "Alice"
        );
        assert_eq!(
            map(&["map *@example.org {local}"], "alice@example.net").unwrap(),
            "alice@example.net"
        );
        assert_eq!(map(&["lowercase"], "ÄLICE@X.ORG").unwrap(), "älice@x.org");
    }

    #[test]
    fn rules_chain_in_order() {
        let rules = [
            "lowercase",
            "rewrite-domain legacy.example example.org",
            "map *@example.org {local}",
        ];
        assert_eq!(map(&rules, "Bob@LEGACY.example").unwrap(), "bob");
        // Order matters: strip first, and the domain rewrite never sees a domain.
        assert_eq!(
            map(&["strip-domain", "rewrite-domain a b"], "x@a").unwrap(),
            "x"
        );
    }

    #[test]
    fn captures_and_placeholders() {
        assert_eq!(
            map(&["map *.*@corp.example {2}.{1}"], "john.doe@corp.example").unwrap(),
            "doe.john"
        );
        assert_eq!(
            map(&["map user-*-x {user}/{domain}/{1}"], "user-42-x").unwrap(),
            "user-42-x//42"
        );
        assert_eq!(map(&["map * fixed"], "anything").unwrap(), "fixed");
        assert_eq!(map(&["map exact other"], "EXACT").unwrap(), "other");
        assert_eq!(
            map(&["map a*a x"], "a").unwrap(),
            "a",
            "overlap must not match"
        );
    }

    #[test]
    fn errors() {
        assert!(matches!(
            map(&["frobnicate"], "x"),
            Err(UserMapError::BadRule(_))
        ));
        assert!(matches!(
            map(&["strip-domain now"], "x"),
            Err(UserMapError::BadRule(_))
        ));
        assert!(matches!(
            map(&["map *@x {2}"], "a@x"),
            Err(UserMapError::BadTemplate(_))
        ));
        assert!(matches!(
            map(&["map *@x {nope}"], "a@x"),
            Err(UserMapError::BadTemplate(_))
        ));
        assert!(matches!(
            map(&["map *@x {local"], "a@x"),
            Err(UserMapError::BadTemplate(_))
        ));
        assert!(matches!(
            map(&["map *@x local}"], "a@x"),
            Err(UserMapError::BadTemplate(_))
        ));
        assert!(matches!(
            map(&["strip-domain"], "@example.org"),
            Err(UserMapError::Empty(_))
        ));
        assert!(matches!(
            UserMap::default().apply("a\u{1}b", 256),
            Err(UserMapError::ControlCharacter)
        ));
        assert!(matches!(
            UserMap::default().apply("abcdef", 3),
            Err(UserMapError::TooLong(6, 3))
        ));
    }

    #[test]
    fn display_round_trips() {
        for r in [
            "strip-domain",
            "lowercase",
            "rewrite-domain a b",
            "map *@x {local}",
        ] {
            assert_eq!(r.parse::<UserRule>().unwrap().to_string(), r);
        }
    }
}
