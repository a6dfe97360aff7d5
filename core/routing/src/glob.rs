//! `*` (any run, possibly empty) and `?` (one character) globs, used for
//! user patterns (`*@example.org`) and event kinds (`mail.*`).

/// Iterative matcher with single-star backtracking: linear in practice,
/// no recursion, so hostile patterns cannot blow the stack. Routing calls
/// it for every (event, subscription) pair, so ASCII input (the usual
/// case) is matched on bytes without allocating.
pub fn matches(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        let eq = |a: u8, b: u8| {
            if case_insensitive {
                a.eq_ignore_ascii_case(&b)
            } else {
                a == b
            }
        };
        return match_units(pattern.as_bytes(), text.as_bytes(), b'*', b'?', eq);
    }
    matches_chars(pattern, text, case_insensitive)
}

/// The general path: Unicode case folding per character.
fn matches_chars(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| {
        if case_insensitive {
            a.to_lowercase().eq(b.to_lowercase())
        } else {
            a == b
        }
    };
    match_units(&p, &t, '*', '?', eq)
}

fn match_units<T: Copy + PartialEq>(
    p: &[T],
    t: &[T],
    any_run: T,
    any_one: T,
    eq: impl Fn(T, T) -> bool,
) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == any_one || (p[pi] != any_run && eq(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == any_run {
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
    while pi < p.len() && p[pi] == any_run {
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
        // Non-ASCII text takes the Unicode path: the Kelvin sign folds to k.
        assert!(matches("k*", "\u{212a}elvin", true));
        assert!(matches("*@bücher.example", "Anna@BÜCHER.example", true));
    }

    proptest! {
        #[test]
        fn star_matches_everything(t in ".{0,40}") {
            prop_assert!(matches("*", &t, false));
            prop_assert!(matches(&t.replace(['*', '?'], "x"), &t.replace(['*', '?'], "x"), false));
        }

        /// The ASCII byte path decides exactly as the Unicode path.
        #[test]
        fn byte_path_agrees_with_char_path(
            p in "[a-cA-C*?@.]{0,12}", t in "[a-cA-C@.]{0,16}", ci in any::<bool>(),
        ) {
            prop_assert_eq!(matches(&p, &t, ci), matches_chars(&p, &t, ci));
        }

        #[test]
        fn hostile_patterns_terminate(p in "[*?a]{0,60}", t in "a{0,60}") {
            let _ = matches(&p, &t, false);
        }
    }
}
