//! The identity a TLS client certificate names: its first DNS or URI
//! subject alternative name, else its subject common name.

use x509_parser::extensions::GeneralName;

/// The identity of a DER certificate, or None when it has neither a DNS/URI
/// SAN nor a CN (or is not a certificate at all).
pub fn of_certificate(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for g in &san.value.general_names {
            match g {
                GeneralName::DNSName(d) => return Some(d.to_string()),
                GeneralName::URI(u) => return Some(u.to_string()),
                _ => {}
            }
        }
    }
    cert.subject()
        .iter_common_name()
        .find_map(|cn| cn.as_str().ok().map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_none_and_never_panics() {
        assert_eq!(of_certificate(b""), None);
        assert_eq!(of_certificate(b"\x30\x84\xff\xff\xff\xff"), None);
        for n in 0..64u8 {
            let v: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37) ^ n).collect();
            let _ = of_certificate(&v);
        }
    }
}
