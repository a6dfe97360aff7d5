//! Who a connection is: identities from SASL (PLAIN authcid, certificate names for
//! EXTERNAL) compared with inbox addresses and configured peers.

use tocsin_imtp::Url;

/// The comparable form of an identity: no `im:`/`presence:` scheme, domain in lower
/// case (local parts stay case-sensitive, as the codec compares them).
pub fn normalise(s: &str) -> String {
    let s = s.trim();
    let s = s
        .strip_prefix("im:")
        .or_else(|| s.strip_prefix("presence:"))
        .unwrap_or(s);
    match s.rsplit_once('@') {
        Some((local, dom)) => format!("{local}@{}", dom.to_ascii_lowercase()),
        None => s.to_ascii_lowercase(),
    }
}

/// The identity an `im:`/`presence:` URL names (`None` for other schemes).
pub fn of_url(u: &Url) -> Option<String> {
    let a = u.address()?;
    Some(format!(
        "{}@{}",
        a.local_value(),
        a.domain().as_str().to_ascii_lowercase()
    ))
}

/// The canonical `im:` target string presence is reported under (what subscriptions
/// should name as their address).
pub fn im_address(identity: &str) -> String {
    format!("im:{identity}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_compare_equal() {
        assert_eq!(normalise("im:alice@Example.ORG"), "alice@example.org");
        assert_eq!(normalise("alice@example.org"), "alice@example.org");
        assert_eq!(normalise("A.Example"), "a.example");
        let u = Url::parse("im:alice@EXAMPLE.org").expect("url");
        assert_eq!(of_url(&u).as_deref(), Some("alice@example.org"));
        let q = Url::parse("im:\"alice\"@example.org").expect("url");
        assert_eq!(of_url(&q).as_deref(), Some("alice@example.org"));
    }
}
