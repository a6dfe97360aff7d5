//! The identity a TLS client certificate names: its first DNS or URI
//! subject alternative name, else its subject common name. A small DER
//! walker: we only need to find two things in a certificate rustls has
//! already verified, which does not justify a full X.509 dependency.

/// One DER TLV: (tag, contents, rest).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, &x| (a << 8) | x as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

fn seq_items(mut b: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let (t, v, rest) = tlv(b)?;
        b = rest;
        Some((t, v))
    })
}

const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];

fn common_name(name: &[u8]) -> Option<String> {
    for (_, rdn) in seq_items(name) {
        for (_, atv) in seq_items(rdn) {
            let mut it = seq_items(atv);
            let (t, oid) = it.next()?;
            if t == 0x06 && oid == OID_CN {
                let (_, v) = it.next()?;
                return std::str::from_utf8(v).ok().map(str::to_string);
            }
        }
    }
    None
}

fn san(ext_octets: &[u8]) -> Option<String> {
    let (t, names, _) = tlv(ext_octets)?;
    if t != 0x30 {
        return None;
    }
    for (tag, v) in seq_items(names) {
        // [2] dNSName, [6] uniformResourceIdentifier (IMPLICIT IA5String)
        if tag == 0x82 || tag == 0x86 {
            return std::str::from_utf8(v).ok().map(str::to_string);
        }
    }
    None
}

/// The identity of a DER certificate, or None when it has neither a DNS/URI
/// SAN nor a CN (or is not a certificate at all).
pub fn of_certificate(der: &[u8]) -> Option<String> {
    let (t, cert, _) = tlv(der)?;
    if t != 0x30 {
        return None;
    }
    let (t, tbs, _) = tlv(cert)?;
    if t != 0x30 {
        return None;
    }
    let mut fields: Vec<(u8, &[u8])> = seq_items(tbs).collect();
    // The optional [0] version comes first.
    if fields.first().is_some_and(|(t, _)| *t == 0xa0) {
        fields.remove(0);
    }
    // serial, signature, issuer, validity, subject, spki, then optionals.
    let subject = fields.get(4).filter(|(t, _)| *t == 0x30).map(|(_, v)| *v);
    let mut from_san = None;
    for (t, v) in fields.iter().skip(6) {
        if *t != 0xa3 {
            continue;
        }
        let Some((0x30, exts, _)) = tlv(v) else {
            continue;
        };
        for (_, ext) in seq_items(exts) {
            let mut it = seq_items(ext);
            let Some((0x06, oid)) = it.next() else {
                continue;
            };
            if oid != OID_SAN {
                continue;
            }
            // extnID, [critical BOOLEAN], extnValue OCTET STRING
            for (t, v) in it {
                if t == 0x04 {
                    from_san = san(v);
                }
            }
        }
    }
    from_san.or_else(|| subject.and_then(common_name))
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
