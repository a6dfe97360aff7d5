//! The IMTP `Visited` header (section 11.8) and our loop rule.

use crate::encoder::Sink;
use crate::error::SyntaxError;
use crate::url::Domain;

/// Domains a `send` has passed through, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Visited(pub Vec<Domain>);

impl Visited {
    /// `*([fws] domain) *WSP`: whitespace-separated (folding already
    /// undone by the decoder).
    pub fn parse(s: &str) -> Result<Visited, SyntaxError> {
        s.split([' ', '\t'])
            .filter(|t| !t.is_empty())
            .map(Domain::parse)
            .collect::<Result<_, _>>()
            .map(Visited)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, domain: &Domain) -> bool {
        self.0.iter().any(|d| d.same_as(domain))
    }

    /// Our loop rule (docs/imtp.md): a `send` is a loop if any domain that
    /// names this relay is already listed, or if it has crossed more than
    /// `max_hops` relays. Answer it with `loop`.
    pub fn is_loop(&self, own: &[Domain], max_hops: usize) -> bool {
        self.0.len() > max_hops || own.iter().any(|d| self.contains(d))
    }

    /// What a relay forwards: the received list followed by itself.
    pub fn appended(&self, relay: Domain) -> Visited {
        let mut v = self.0.clone();
        v.push(relay);
        Visited(v)
    }

    pub(crate) fn write_to<S: Sink>(&self, s: &mut S) {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                s.put(b" ");
            }
            s.put(d.as_str().as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loop_rule() {
        let v = Visited::parse(" a.example\tB.example ").unwrap();
        let own = [Domain::parse("b.EXAMPLE").unwrap()];
        assert!(v.is_loop(&own, 16));
        assert!(!v.is_loop(&[Domain::parse("c.example").unwrap()], 16));
        assert!(v.is_loop(&[], 1));
        assert!(Visited::parse("a..b").is_err());
    }
}
