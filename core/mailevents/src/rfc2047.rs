//! RFC 2047 encoded-word decoding for From and Subject values.
//!
//! Dovecot passes From/Subject raw (`=?UTF-8?Q?J=C3=B6rg?=`), so decoding is ours.
//! Behaviour, chosen to match what mail clients display:
//! - `=?charset?B|Q?text?=` with the charsets of [`crate::charset`]; the charset label may
//!   carry an RFC 2231 language (`utf-8*de`).
//! - Whitespace between two encoded words is dropped, and consecutive words in the same
//!   charset are joined *before* charset decoding, so a UTF-8 character split across two
//!   words survives.
//! - Encoded words are recognised anywhere (like Thunderbird), not only between spaces.
//! - A malformed word (bad base64, bad `=XX`, unknown charset, missing `?=`) is kept as
//!   literal text.
//! - Never panics; the output is capped at `max_bytes` on a character boundary.

use crate::charset::Charset;
use crate::text::truncate_string;

/// Longest charset label considered.
const MAX_CHARSET_LEN: usize = 64;
/// Longest encoded text considered. RFC 2047 allows 75 bytes per word; broken mailers
/// write whole subjects into one word, so be generous but bounded.
const MAX_TEXT_LEN: usize = 4096;

/// Decode every encoded word in `input`; the result is at most `max_bytes` long.
pub fn decode_rfc2047(input: &str, max_bytes: usize) -> String {
    let mut out = String::with_capacity(input.len().min(max_bytes));
    let mut run: Option<(Charset, Vec<u8>)> = None;
    let mut i = 0;
    let mut after_word = false;
    while i < input.len() && out.len() <= max_bytes {
        if let Some((charset, bytes, end)) = parse_word(input, i) {
            match &mut run {
                Some((cs, buf)) if *cs == charset => buf.extend_from_slice(&bytes),
                _ => {
                    flush(&mut run, &mut out);
                    run = Some((charset, bytes));
                }
            }
            i = end;
            after_word = true;
            continue;
        }
        let rest = &input[i..];
        if after_word {
            let ws_len = rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
            if ws_len > 0 {
                if parse_word(input, i + ws_len).is_some() {
                    // Only whitespace between two encoded words: it disappears.
                    i += ws_len;
                    continue;
                }
                flush(&mut run, &mut out);
                out.push_str(&rest[..ws_len]);
                i += ws_len;
                after_word = false;
                continue;
            }
        }
        flush(&mut run, &mut out);
        after_word = false;
        let Some(c) = rest.chars().next() else {
            break;
        };
        out.push(c);
        i += c.len_utf8();
    }
    flush(&mut run, &mut out);
    truncate_string(&mut out, max_bytes);
    out
}

fn flush(run: &mut Option<(Charset, Vec<u8>)>, out: &mut String) {
    if let Some((charset, bytes)) = run.take() {
        out.push_str(&charset.decode(&bytes));
    }
}

/// Parse an encoded word starting at byte `start`: (charset, decoded bytes, end offset).
fn parse_word(s: &str, start: usize) -> Option<(Charset, Vec<u8>, usize)> {
    let b = s.as_bytes();
    if b.get(start..start + 2)? != b"=?" {
        return None;
    }
    // Scans are bounded so a long run of "=?" cannot make decoding quadratic.
    let cs_start = start + 2;
    let cs_window = &b[cs_start..b.len().min(cs_start + MAX_CHARSET_LEN + 1)];
    let cs_len = cs_window.iter().position(|&c| c == b'?')?;
    if cs_len == 0 {
        return None;
    }
    let label = &b[cs_start..cs_start + cs_len];
    if !label.iter().all(|&c| c.is_ascii_graphic() && c != b'=') {
        return None;
    }
    let enc_at = cs_start + cs_len + 1;
    let encoding = *b.get(enc_at)?;
    if *b.get(enc_at + 1)? != b'?' {
        return None;
    }
    let text_start = enc_at + 2;
    let text_window = &b[text_start.min(b.len())..b.len().min(text_start + MAX_TEXT_LEN + 1)];
    let text_len = text_window.iter().position(|&c| c == b'?')?;
    let text = &b[text_start..text_start + text_len];
    let end = text_start + text_len;
    if b.get(end + 1) != Some(&b'=') {
        return None;
    }
    if !text.iter().all(|c| c.is_ascii_graphic()) {
        return None;
    }
    let bytes = match encoding {
        b'B' | b'b' => decode_b(text)?,
        b'Q' | b'q' => decode_q(text)?,
        _ => return None,
    };
    // The label is ASCII graphic, so this conversion cannot fail.
    let charset = Charset::from_label(std::str::from_utf8(label).ok()?)?;
    Some((charset, bytes, end + 2))
}

/// "Q" encoding (RFC 2047 4.2): `_` is a space, `=XX` a byte.
fn decode_q(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => {
                out.push(b' ');
                i += 1;
            }
            b'=' => {
                let hi = hex(*text.get(i + 1)?)?;
                let lo = hex(*text.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// "B" encoding: base64, lenient about missing padding and trailing bits (mailers are).
fn decode_b(text: &[u8]) -> Option<Vec<u8>> {
    let data = match text.iter().position(|&c| c == b'=') {
        Some(p) if text[p..].iter().all(|&c| c == b'=') => &text[..p],
        Some(_) => return None,
        None => text,
    };
    if data.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in data {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            // Keep the low 8 bits: the next whole byte.
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> String {
        decode_rfc2047(s, 1000)
    }

    #[test]
    fn rfc2047_section8_examples() {
        assert_eq!(d("=?ISO-8859-1?Q?a?="), "a");
        assert_eq!(d("=?ISO-8859-1?Q?a?= b"), "a b");
        assert_eq!(d("=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?="), "ab");
        assert_eq!(d("=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?="), "ab");
        assert_eq!(d("=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?="), "ab");
        assert_eq!(d("=?ISO-8859-1?Q?a_b?="), "a b");
        // ISO-8859-2 is not supported: that word stays literal, with its space.
        assert_eq!(
            d("=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?="),
            "a =?ISO-8859-2?Q?_b?="
        );
        assert_eq!(
            d("=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>"),
            "Keith Moore <moore@cs.utk.edu>"
        );
        assert_eq!(
            d("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>"),
            "Keld Jørn Simonsen <keld@dkuug.dk>"
        );
        assert_eq!(
            d(
                "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?="
            ),
            "If you can read this yo =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?="
        );
    }

    #[test]
    fn utf8_and_mixed() {
        assert_eq!(d("=?UTF-8?Q?J=C3=B6rg_M=C3=BCller?="), "Jörg Müller");
        assert_eq!(d("=?utf-8?b?R3LDvMOfZQ==?="), "Grüße");
        assert_eq!(
            d("Re: =?UTF-8?B?R3LDvMOfZQ?= aus Köln"),
            "Re: Grüße aus Köln"
        );
        assert_eq!(
            d("=?ISO-8859-1?Q?Gr=FC=DFe?= =?UTF-8?B?YXVzIEvDtmxu?="),
            "Grüßeaus Köln"
        );
        assert_eq!(d("=?iso-8859-15?q?=A4_5?="), "€ 5");
        assert_eq!(d("=?windows-1252?Q?=93hi=94?="), "\u{201C}hi\u{201D}");
        assert_eq!(d("=?utf-8*en?Q?hi?="), "hi");
    }

    #[test]
    fn split_multibyte_character_is_rejoined() {
        // "ö" = C3 B6 split across two words.
        assert_eq!(d("=?UTF-8?Q?J=C3?= =?UTF-8?Q?=B6rg?="), "Jörg");
        assert_eq!(d("=?UTF-8?B?SsM=?= =?UTF-8?B?tnJn?="), "Jörg");
    }

    #[test]
    fn invalid_words_stay_literal() {
        for s in [
            "=?UTF-8?Q?bad=ZZ?=",
            "=?UTF-8?B?!!!!?=",
            "=?UNKNOWN-CS?Q?x?=",
            "=?UTF-8?X?x?=",
            "=?UTF-8?Q?no end",
            "=??Q?x?=",
            "=?UTF-8?Q?a b?=",
            "=?",
            "=?UTF-8",
            "=?UTF-8?Q",
            "=?UTF-8?Q?",
            "=?UTF-8?Q?x?",
        ] {
            assert_eq!(d(s), s, "{s}");
        }
        assert_eq!(d("plain text, no words"), "plain text, no words");
        assert_eq!(d("a =?UTF-8?Q?b?=c"), "a bc");
    }

    #[test]
    fn output_is_bounded_on_char_boundary() {
        let s = "=?UTF-8?Q?=C3=A4=C3=A4=C3=A4?=";
        assert_eq!(decode_rfc2047(s, 3), "ä");
        assert_eq!(decode_rfc2047("äöü", 4), "äö");
        let long = "=?UTF-8?Q?x?= ".repeat(10_000);
        assert!(decode_rfc2047(&long, 100).len() <= 100);
    }
}
