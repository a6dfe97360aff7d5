//! The handful of charsets mail headers use in practice, hand-tabled.
//!
//! Labels follow the WHATWG Encoding Standard, which is what mail clients implement:
//! `iso-8859-1` and `us-ascii` are decoded as windows-1252. The only difference from a
//! literal ISO-8859-1 reading is 0x80–0x9F, which would otherwise become C1 control
//! characters (useless in a notification, and they are almost always mislabelled cp1252
//! quotes and dashes).

/// A supported charset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// UTF-8 (invalid sequences become U+FFFD).
    Utf8,
    /// windows-1252, also used for the `iso-8859-1` and `us-ascii` labels.
    Windows1252,
    /// ISO-8859-15 (Latin-9: Latin-1 with the euro sign and 7 other changes).
    Iso8859_15,
}

impl Charset {
    /// Look a charset label up (case-insensitive; an RFC 2231 `*lang` suffix is ignored).
    pub fn from_label(label: &str) -> Option<Charset> {
        let label = label.split('*').next().unwrap_or(label).trim();
        let l = label.to_ascii_lowercase();
        match l.as_str() {
            "utf-8" | "utf8" | "unicode-1-1-utf-8" | "x-unicode20utf8" => Some(Charset::Utf8),
            "us-ascii" | "ascii" | "ansi_x3.4-1968" | "iso646-us" | "iso-ir-6" | "cp367"
            | "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "iso88591" | "latin1" | "l1"
            | "cp819" | "ibm819" | "iso-ir-100" | "windows-1252" | "cp1252" | "x-cp1252" => {
                Some(Charset::Windows1252)
            }
            "iso-8859-15" | "iso8859-15" | "iso_8859-15" | "iso885915" | "latin-9" | "latin9"
            | "l9" | "csisolatin9" => Some(Charset::Iso8859_15),
            _ => None,
        }
    }

    /// Decode bytes in this charset.
    pub fn decode(self, bytes: &[u8]) -> String {
        match self {
            Charset::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            Charset::Windows1252 => bytes.iter().map(|&b| cp1252(b)).collect(),
            Charset::Iso8859_15 => bytes.iter().map(|&b| latin9(b)).collect(),
        }
    }
}

/// windows-1252 0x80..=0x9F; the five unassigned bytes map to the C1 code point as WHATWG
/// does.
const CP1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{0081}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{008D}', '\u{017D}', '\u{008F}',
    '\u{0090}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{009D}', '\u{017E}', '\u{0178}',
];

fn cp1252(b: u8) -> char {
    if (0x80..=0x9f).contains(&b) {
        CP1252_HIGH[usize::from(b - 0x80)]
    } else {
        char::from(b)
    }
}

fn latin9(b: u8) -> char {
    match b {
        0xa4 => '\u{20AC}',
        0xa6 => '\u{0160}',
        0xa8 => '\u{0161}',
        0xb4 => '\u{017D}',
        0xb8 => '\u{017E}',
        0xbc => '\u{0152}',
        0xbd => '\u{0153}',
        0xbe => '\u{0178}',
        b => char::from(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(Charset::from_label("UTF-8"), Some(Charset::Utf8));
        assert_eq!(Charset::from_label("utf-8*en"), Some(Charset::Utf8));
        assert_eq!(
            Charset::from_label("ISO-8859-1"),
            Some(Charset::Windows1252)
        );
        assert_eq!(Charset::from_label("us-ascii"), Some(Charset::Windows1252));
        assert_eq!(
            Charset::from_label("Windows-1252"),
            Some(Charset::Windows1252)
        );
        assert_eq!(
            Charset::from_label("iso-8859-15"),
            Some(Charset::Iso8859_15)
        );
        assert_eq!(Charset::from_label("koi8-r"), None);
        assert_eq!(Charset::from_label(""), None);
    }

    #[test]
    fn latin1_range_is_identity() {
        let all: Vec<u8> = (0xa0..=0xff).collect();
        let s = Charset::Windows1252.decode(&all);
        assert!(s.chars().zip(0xa0u32..).all(|(c, n)| u32::from(c) == n));
        assert_eq!(Charset::Windows1252.decode(b"Gr\xfc\xdfe"), "Grüße");
    }

    #[test]
    fn cp1252_specials() {
        assert_eq!(
            Charset::Windows1252.decode(b"\x80 \x93quoted\x94 \x96 \x85"),
            "€ \u{201C}quoted\u{201D} – …"
        );
    }

    #[test]
    fn latin9_differences() {
        assert_eq!(
            Charset::Iso8859_15.decode(b"\xa4\xa6\xa8\xb4\xb8\xbc\xbd\xbe"),
            "€ŠšŽžŒœŸ"
        );
        assert_eq!(Charset::Iso8859_15.decode(b"caf\xe9"), "café");
    }

    #[test]
    fn utf8_lossy() {
        assert_eq!(Charset::Utf8.decode("Jörg".as_bytes()), "Jörg");
        assert_eq!(Charset::Utf8.decode(b"a\xffb"), "a\u{FFFD}b");
    }
}
