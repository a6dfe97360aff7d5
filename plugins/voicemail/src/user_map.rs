//! Which tocsin user a mailbox account belongs to.
//!
//! Rules are tried in order; the first that matches names the user:
//!
//! * `{ account = "sip:*97@pbx.example.org", user = "alice@example.org" }`
//!   matches that account exactly;
//! * `{ pattern = "sip:{user}@pbx.example.org", user = "{user}@example.org" }`
//!   matches a shape: `{user}` captures a user part (one or more
//!   characters, none of `@ : ; ? /`), `{any}` matches any text, possibly
//!   empty. Everything else is literal — including `*`, which Asterisk uses
//!   in voicemail extensions such as `*97`.
//!
//! Comparison ignores ASCII letter case (scheme and host are
//! case-insensitive in SIP URIs; mailbox users that differ only by case are
//! not worth a surprise). Before matching, URI parameters and headers after
//! the host (`;user=phone`, `?x=y`) are removed, so rules need not spell
//! them. The captured text keeps its original case.

use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("user_map rule {index}: give exactly one of `account` and `pattern`")]
    Shape { index: usize },
    #[error("user_map rule {index}: {what}")]
    Invalid { index: usize, what: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    User,
    Any,
}

#[derive(Debug, Clone)]
struct Rule {
    segments: Vec<Segment>,
    user: String,
}

/// The ordered rules of one instance.
#[derive(Debug, Clone, Default)]
pub struct UserMap {
    rules: Vec<Rule>,
}

/// Longest user name the event model accepts (`tocsin_abi` MAX_USER).
const MAX_USER: usize = 256;
/// Placeholders per pattern: keeps matching cheap (see `Matcher`).
const MAX_PLACEHOLDERS: usize = 4;

fn is_user_char(c: char) -> bool {
    !matches!(c, '@' | ':' | ';' | '?' | '/')
}

/// The account with URI parameters and headers after the host removed:
/// `sip:1000@pbx:5060;transport=udp` → `sip:1000@pbx:5060`.
pub fn normalise_account(account: &str) -> &str {
    let host_start = account
        .rfind('@')
        .or_else(|| account.find(':'))
        .map_or(0, |i| i + 1);
    match account[host_start..].find([';', '?']) {
        Some(i) => &account[..host_start + i],
        None => account,
    }
}

fn parse_pattern(p: &str, index: usize) -> Result<Vec<Segment>, RuleError> {
    let mut out = Vec::new();
    let mut rest = p;
    let mut placeholders = 0;
    let mut users = 0;
    while !rest.is_empty() {
        let (seg, len) = if let Some(r) = rest.strip_prefix("{user}") {
            users += 1;
            (Segment::User, rest.len() - r.len())
        } else if let Some(r) = rest.strip_prefix("{any}") {
            (Segment::Any, rest.len() - r.len())
        } else if rest.starts_with('{') {
            return Err(RuleError::Invalid {
                index,
                what: format!("pattern {p:?}: only {{user}} and {{any}} are placeholders"),
            });
        } else {
            let end = rest.find('{').unwrap_or(rest.len());
            (Segment::Literal(rest[..end].to_ascii_lowercase()), end)
        };
        if !matches!(seg, Segment::Literal(_)) {
            placeholders += 1;
            // Two placeholders side by side have no boundary to find.
            if matches!(out.last(), Some(Segment::User | Segment::Any)) {
                return Err(RuleError::Invalid {
                    index,
                    what: format!("pattern {p:?}: placeholders need literal text between them"),
                });
            }
        }
        out.push(seg);
        rest = &rest[len..];
    }
    if users > 1 {
        return Err(RuleError::Invalid {
            index,
            what: format!("pattern {p:?}: {{user}} may appear once"),
        });
    }
    if placeholders > MAX_PLACEHOLDERS {
        return Err(RuleError::Invalid {
            index,
            what: format!("pattern {p:?}: at most {MAX_PLACEHOLDERS} placeholders"),
        });
    }
    Ok(out)
}

fn check_user_template(user: &str, has_capture: bool, index: usize) -> Result<(), RuleError> {
    let bad = |what: String| Err(RuleError::Invalid { index, what });
    if user.trim().is_empty() {
        return bad("`user` is empty".into());
    }
    if user.chars().any(char::is_control) || user.len() > MAX_USER {
        return bad(format!(
            "`user` {user:?} has control characters or is longer than {MAX_USER} bytes"
        ));
    }
    let stripped = user.replace("{user}", "");
    if stripped.contains(['{', '}']) {
        return bad(format!("`user` {user:?}: only {{user}} may be substituted"));
    }
    if user.contains("{user}") && !has_capture {
        return bad(format!(
            "`user` {user:?} uses {{user}} but the rule captures nothing"
        ));
    }
    Ok(())
}

impl UserMap {
    /// Builds the map from `(account, pattern, user)` triples as the config
    /// file gives them.
    pub fn new<'a>(
        rules: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>, &'a str)>,
    ) -> Result<UserMap, RuleError> {
        let mut out = Vec::new();
        for (index, (account, pattern, user)) in rules.into_iter().enumerate() {
            let segments = match (account, pattern) {
                (Some(a), None) => {
                    let a = normalise_account(a.trim());
                    if a.is_empty() {
                        return Err(RuleError::Invalid {
                            index,
                            what: "`account` is empty".into(),
                        });
                    }
                    vec![Segment::Literal(a.to_ascii_lowercase())]
                }
                (None, Some(p)) => parse_pattern(p.trim(), index)?,
                _ => return Err(RuleError::Shape { index }),
            };
            check_user_template(user, segments.contains(&Segment::User), index)?;
            out.push(Rule {
                segments,
                user: user.to_owned(),
            });
        }
        Ok(UserMap { rules: out })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// The user for `account`, or `None` when no rule matches.
    pub fn user_for(&self, account: &str) -> Option<String> {
        let account = normalise_account(account);
        self.rules.iter().find_map(|r| {
            let captured = Matcher::new(&r.segments, account).run()?;
            let user = match captured {
                Some(u) => r.user.replace("{user}", u),
                None => r.user.clone(),
            };
            (user.len() <= MAX_USER).then_some(user)
        })
    }
}

/// Backtracking matcher with a memo of failed `(segment, position)` states,
/// so each state is explored once: O(segments × len²) at worst, and
/// patterns have at most `MAX_PLACEHOLDERS` wildcards.
struct Matcher<'a> {
    segments: &'a [Segment],
    text: &'a str,
    failed: HashSet<(usize, usize)>,
}

impl<'a> Matcher<'a> {
    fn new(segments: &'a [Segment], text: &'a str) -> Self {
        Matcher {
            segments,
            text,
            failed: HashSet::new(),
        }
    }

    /// `None`: no match; `Some(capture)`: matched, with the `{user}` text
    /// when the pattern has one.
    fn run(&mut self) -> Option<Option<&'a str>> {
        self.at(0, 0)
    }

    fn at(&mut self, seg: usize, pos: usize) -> Option<Option<&'a str>> {
        let Some(s) = self.segments.get(seg) else {
            return (pos == self.text.len()).then_some(None);
        };
        if self.failed.contains(&(seg, pos)) {
            return None;
        }
        let rest = &self.text[pos..];
        let found = match s {
            Segment::Literal(l) => {
                let head = rest.get(..l.len());
                if head.is_some_and(|h| h.eq_ignore_ascii_case(l)) {
                    self.at(seg + 1, pos + l.len())
                } else {
                    None
                }
            }
            Segment::Any => {
                let ends: Vec<usize> = rest
                    .char_indices()
                    .map(|(i, _)| i)
                    .chain(std::iter::once(rest.len()))
                    .collect();
                ends.into_iter().find_map(|i| self.at(seg + 1, pos + i))
            }
            Segment::User => {
                let run = rest.find(|c| !is_user_char(c)).unwrap_or(rest.len());
                let ends: Vec<usize> = rest[..run]
                    .char_indices()
                    .map(|(i, c)| i + c.len_utf8())
                    .collect();
                let mut hit = None;
                for end in ends {
                    if self.at(seg + 1, pos + end).is_some() {
                        hit = Some(Some(&self.text[pos..pos + end]));
                        break;
                    }
                }
                hit
            }
        };
        if found.is_none() {
            self.failed.insert((seg, pos));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(rules: &[(Option<&str>, Option<&str>, &str)]) -> UserMap {
        UserMap::new(rules.iter().copied()).unwrap()
    }

    #[test]
    fn exact_then_pattern_first_match_wins() {
        let m = map(&[
            (Some("sip:*97@pbx.example.org"), None, "alice@example.org"),
            (
                None,
                Some("sip:{user}@pbx.example.org"),
                "{user}@example.org",
            ),
            (None, Some("sip:{user}@{any}"), "{user}@other.example"),
        ]);
        assert_eq!(
            m.user_for("sip:*97@pbx.example.org").as_deref(),
            Some("alice@example.org")
        );
        assert_eq!(
            m.user_for("SIP:*97@PBX.example.org;user=phone").as_deref(),
            Some("alice@example.org"),
            "case and parameters do not matter"
        );
        assert_eq!(
            m.user_for("sip:Bob@pbx.example.org").as_deref(),
            Some("Bob@example.org"),
            "the capture keeps its case"
        );
        assert_eq!(
            m.user_for("sip:1000@192.0.2.20:5060").as_deref(),
            Some("1000@other.example")
        );
        assert_eq!(m.user_for("tel:+4930123"), None);
        assert_eq!(
            m.user_for("sip:@pbx.example.org").as_deref(),
            None,
            "{{user}} needs at least one character"
        );
    }

    #[test]
    fn user_never_crosses_delimiters() {
        let m = map(&[(None, Some("sip:{user}@b"), "{user}")]);
        assert_eq!(m.user_for("sip:a@b@b").as_deref(), None);
        assert_eq!(m.user_for("sip:a;x@b").as_deref(), None);
        let m = map(&[(None, Some("{any}:{user}@h"), "{user}")]);
        assert_eq!(m.user_for("sips:x@h").as_deref(), Some("x"));
    }

    #[test]
    fn normalising() {
        assert_eq!(
            normalise_account("sip:1000@pbx:5060;transport=udp"),
            "sip:1000@pbx:5060"
        );
        assert_eq!(normalise_account("sip:pbx?x=1"), "sip:pbx");
        assert_eq!(normalise_account("sip:a@b"), "sip:a@b");
    }

    #[test]
    fn refusals() {
        let bad: &[(Option<&str>, Option<&str>, &str)] = &[
            (Some("sip:a@b"), Some("sip:{user}@b"), "x"),
            (None, None, "x"),
            (None, Some("sip:{user}{any}"), "x"),
            (None, Some("sip:{user}@{user}"), "x"),
            (None, Some("sip:{name}@b"), "x"),
            (Some("sip:a@b"), None, "{user}"),
            (Some("sip:a@b"), None, ""),
            (Some("sip:a@b"), None, "a\nb"),
            (None, Some("sip:{user}@b"), "{other}"),
            (Some(""), None, "x"),
        ];
        for r in bad {
            assert!(UserMap::new([*r]).is_err(), "{r:?} accepted");
        }
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let m = map(&[(None, Some("{any}a{any}a{any}a{any}b"), "x")]);
        let text = "a".repeat(400);
        let t = std::time::Instant::now();
        assert_eq!(m.user_for(&text), None);
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
    }
}
