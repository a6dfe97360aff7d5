//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod strategies;

use std::time::Instant;
use tocsin_imtp::{
    Config, Connection, DecodeError, Decoded, Decoder, Event, Limits, MechName, Role, Transport,
};

/// Decodes a whole stream, offering it in `chunks`.
pub fn decode_chunks(limits: &Limits, chunks: &[&[u8]]) -> (Vec<Decoded>, Option<DecodeError>) {
    let mut d = Decoder::new(limits.clone());
    let mut out = Vec::new();
    for chunk in chunks {
        let mut data = *chunk;
        loop {
            let n = d.feed(data);
            data = &data[n..];
            loop {
                match d.decode() {
                    Ok(Some(x)) => out.push(x),
                    Ok(None) => break,
                    Err(e) => return (out, Some(e)),
                }
            }
            assert!(
                d.buffered() <= limits.max_message_bytes(),
                "input buffer exceeded its bound"
            );
            if data.is_empty() {
                break;
            }
            assert!(n > 0, "decoder stalled");
        }
    }
    (out, None)
}

pub fn decode_all(bytes: &[u8]) -> (Vec<Decoded>, Option<DecodeError>) {
    decode_chunks(&Limits::default(), &[bytes])
}

pub fn tls(peer: Option<&str>) -> Transport {
    Transport {
        tls: true,
        peer_identity: peer.map(str::to_owned),
    }
}

pub fn plaintext() -> Transport {
    Transport {
        tls: false,
        peer_identity: None,
    }
}

pub fn server(config: Config, transport: Transport, now: Instant) -> Connection {
    Connection::new(Role::Server, config, transport, now)
}

pub fn client(config: Config, transport: Transport, now: Instant) -> Connection {
    Connection::new(Role::Client, config, transport, now)
}

/// Moves output between the two ends until both are quiet.
pub fn pump(a: &mut Connection, b: &mut Connection, now: Instant) {
    for _ in 0..100 {
        let (oa, ob) = (a.output().to_vec(), b.output().to_vec());
        if oa.is_empty() && ob.is_empty() {
            return;
        }
        a.consume_output(oa.len());
        b.consume_output(ob.len());
        b.feed(&oa, now).expect("b accepts a's output");
        a.feed(&ob, now).expect("a accepts b's output");
    }
    panic!("pump did not settle");
}

pub fn events(c: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

/// Everything queued for the peer, as text (tests only send text).
pub fn take_output(c: &mut Connection) -> String {
    let out = String::from_utf8_lossy(c.output()).into_owned();
    c.consume_output(c.output_len());
    out
}

/// A client and server that completed EXTERNAL over TLS.
pub fn authenticated_pair(config: Config, now: Instant) -> (Connection, Connection) {
    let mut s = server(config.clone(), tls(Some("alice@example.net")), now);
    let mut c = client(config, tls(None), now);
    pump(&mut s, &mut c, now);
    c.authenticate(
        tocsin_imtp::ClientSasl::External {
            authzid: String::new(),
        },
        now,
    )
    .expect("auth starts");
    pump(&mut c, &mut s, now);
    assert!(s.is_authenticated() && c.is_authenticated());
    assert_eq!(c.auth_mechanism(), Some(&MechName::external()));
    events(&mut s);
    events(&mut c);
    (c, s)
}
