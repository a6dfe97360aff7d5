//! HELLO (PPID `PPID_HELLO`): the first message of a source, set once per
//! connection so that events need not repeat it (D-4).
//!
//! | tag | field | type | |
//! |---|---|---|---|
//! | 0x01 | version | u16 BE | required |
//! | 0x02 | source | `[A-Za-z0-9._-]{1,128}` | required |
//! | 0x03 | software | one-line text 1..=128 | required |
//! | 0x04 | namespace | pair prefix/namespace, repeatable <= 32 | optional |
//! | 0x05 | default-origin-host | host | optional |
//! | 0x06 | default-lang | BCP 47 tag | optional |

use super::error::{Field, MsgError};
use super::text::{self, Controls, limits};
use super::tlv::{self, Reader};

const T_VERSION: u8 = 0x01;
const T_SOURCE: u8 = 0x02;
const T_SOFTWARE: u8 = 0x03;
const T_NS: u8 = 0x04;
const T_ORIGIN: u8 = 0x05;
const T_LANG: u8 = 0x06;

/// A namespace binding: events may write `prefix:Name` for `namespace.Name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding<'a> {
    /// `[a-z][a-z0-9]{0,15}`
    pub prefix: &'a str,
    /// Dot-separated lower-case labels.
    pub namespace: &'a str,
}

/// A HELLO message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello<'a> {
    /// Protocol version the source speaks (1).
    pub version: u16,
    /// Source identity; must be provisioned on the server for the
    /// presented client certificate.
    pub source: &'a str,
    /// Source software and version, e.g. `dovecot-tocsin/1.2`.
    pub software: &'a str,
    /// Namespace bindings.
    pub namespaces: Vec<Binding<'a>>,
    /// Origin host for events that carry none.
    pub default_origin_host: Option<&'a str>,
    /// Language for events that carry none.
    pub default_lang: Option<&'a str>,
}

impl<'a> Hello<'a> {
    /// Decode and validate.
    pub fn decode(buf: &'a [u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(buf);
        let (mut version, mut source, mut software, mut origin, mut lang) =
            (None, None, None, None, None);
        let mut namespaces = Vec::new();
        while let Some((tag, v)) = r.next_field()? {
            match tag {
                T_VERSION => tlv::set_once(&mut version, Field::Version, v)?,
                T_SOURCE => tlv::set_once(&mut source, Field::Source, v)?,
                T_SOFTWARE => tlv::set_once(&mut software, Field::Software, v)?,
                T_NS => {
                    if namespaces.len() == limits::BINDINGS {
                        return Err(MsgError::TooMany {
                            field: Field::Namespace,
                            max: limits::BINDINGS,
                        });
                    }
                    let (p, n) = tlv::pair(Field::Namespace, v)?;
                    namespaces.push(Binding {
                        prefix: text::text(Field::Namespace, p, 1, limits::PREFIX, Controls::None)?,
                        namespace: text::text(
                            Field::Namespace,
                            n,
                            1,
                            limits::NAMESPACE,
                            Controls::None,
                        )?,
                    });
                }
                T_ORIGIN => tlv::set_once(&mut origin, Field::DefaultOriginHost, v)?,
                T_LANG => tlv::set_once(&mut lang, Field::DefaultLang, v)?,
                other => tlv::unknown(other)?,
            }
        }
        let hello = Hello {
            version: tlv::u16_of(Field::Version, tlv::required(version, Field::Version)?)?,
            source: text::text(
                Field::Source,
                tlv::required(source, Field::Source)?,
                1,
                limits::SOURCE,
                Controls::None,
            )?,
            software: text::text(
                Field::Software,
                tlv::required(software, Field::Software)?,
                1,
                limits::SOFTWARE,
                Controls::None,
            )?,
            namespaces,
            default_origin_host: origin
                .map(|v| text::text(Field::DefaultOriginHost, v, 1, limits::HOST, Controls::None))
                .transpose()?,
            default_lang: lang
                .map(|v| text::text(Field::DefaultLang, v, 1, limits::LANG, Controls::None))
                .transpose()?,
        };
        hello.check()?;
        Ok(hello)
    }

    /// Apply every field rule.
    pub fn check(&self) -> Result<(), MsgError> {
        text::check_source_name(Field::Source, self.source)?;
        text::check(
            Field::Software,
            self.software,
            1,
            limits::SOFTWARE,
            Controls::None,
        )?;
        if self.namespaces.len() > limits::BINDINGS {
            return Err(MsgError::TooMany {
                field: Field::Namespace,
                max: limits::BINDINGS,
            });
        }
        for (i, b) in self.namespaces.iter().enumerate() {
            text::check_prefix(Field::Namespace, b.prefix)?;
            text::check_namespace(Field::Namespace, b.namespace)?;
            if self.namespaces[..i].iter().any(|p| p.prefix == b.prefix) {
                return Err(MsgError::DuplicateKey {
                    field: Field::Namespace,
                    key: b.prefix.to_owned(),
                });
            }
        }
        if let Some(h) = self.default_origin_host {
            text::check_host(Field::DefaultOriginHost, h)?;
        }
        if let Some(l) = self.default_lang {
            text::check_lang(Field::DefaultLang, l)?;
        }
        Ok(())
    }

    /// Validate, then append the encoding.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), MsgError> {
        self.check()?;
        tlv::put(out, T_VERSION, &self.version.to_be_bytes());
        tlv::put(out, T_SOURCE, self.source.as_bytes());
        tlv::put(out, T_SOFTWARE, self.software.as_bytes());
        for b in &self.namespaces {
            tlv::put_pair(out, T_NS, b.prefix.as_bytes(), b.namespace.as_bytes());
        }
        if let Some(h) = self.default_origin_host {
            tlv::put(out, T_ORIGIN, h.as_bytes());
        }
        if let Some(l) = self.default_lang {
            tlv::put(out, T_LANG, l.as_bytes());
        }
        Ok(())
    }

    /// The namespace bound to `prefix`.
    #[must_use]
    pub fn namespace_for(&self, prefix: &str) -> Option<&'a str> {
        self.namespaces
            .iter()
            .find(|b| b.prefix == prefix)
            .map(|b| b.namespace)
    }
}
