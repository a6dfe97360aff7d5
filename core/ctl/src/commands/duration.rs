//! "90", "90s", "5m", "2h", "1d" → seconds.

pub fn seconds(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1),
        Some((i, 'm')) => (&t[..i], 60),
        Some((i, 'h')) => (&t[..i], 3600),
        Some((i, 'd')) => (&t[..i], 86_400),
        _ => (t, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{s:?} is not a duration like 90s, 5m, 2h, 1d"))
}

#[cfg(test)]
mod tests {
    use super::seconds;

    #[test]
    fn units() {
        assert_eq!(seconds("90"), Ok(90));
        assert_eq!(seconds("5m"), Ok(300));
        assert_eq!(seconds("2h"), Ok(7200));
        assert_eq!(seconds("1d"), Ok(86_400));
        assert!(seconds("0").is_err());
        assert!(seconds("5x").is_err());
        assert!(seconds("").is_err());
    }
}
