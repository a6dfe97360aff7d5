//! `*` (any run, possibly empty) and `?` (one character) globs, used for
//! user patterns (`*@example.org`) and event kinds (`mail.*`).

/// Iterative matcher with single-star backtracking: linear in practice,
/// no recursion, so hostile patterns cannot blow the stack.
pub fn matches(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| {
        if case_insensitive {
            a.to_lowercase().eq(b.to_lowercase())
        } else {
            a == b
        }
    };
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && eq(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cases() {
        assert!(matches("mail.*", "mail.MessageNew", false));
        assert!(!matches("mail.*", "voicemail.MessageWaiting", false));
        assert!(matches("*", "", false));
        assert!(matches("*@example.org", "Alice@Example.ORG", true));
        assert!(!matches("*@example.org", "alice@example.org.evil", true));
        assert!(matches("a?c", "abc", false));
        assert!(!matches("a?c", "ac", false));
        assert!(matches("*.Message*", "mail.MessageRead", false));
        assert!(!matches("Mail.*", "mail.x", false));
        assert!(matches("alice@example.org", "alice@example.org", true));
    }

    proptest! {
        #[test]
        fn star_matches_everything(t in ".{0,40}") {
            prop_assert!(matches("*", &t, false));
            prop_assert!(matches(&t.replace(['*', '?'], "x"), &t.replace(['*', '?'], "x"), false));
        }

        #[test]
        fn hostile_patterns_terminate(p in "[*?a]{0,60}", t in "a{0,60}") {
            let _ = matches(&p, &t, false);
        }
    }
}
