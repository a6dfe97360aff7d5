//! A TCP relay that records what clients send, so a test can replay a real peer's exact
//! bytes (e.g. Dovecot's PUT, to play its retry).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

pub struct TcpRecorder {
    pub addr: String,
    recorded: Arc<Mutex<Vec<Vec<u8>>>>,
}

fn pipe(mut from: TcpStream, mut to: TcpStream, log: Option<Arc<Mutex<Vec<Vec<u8>>>>>, idx: usize) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Some(l) = &log {
                    l.lock().unwrap()[idx].extend_from_slice(&buf[..n]);
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

impl TcpRecorder {
    /// Relays every connection made to `addr` to `target`, recording client bytes.
    pub fn start(target: &str) -> TcpRecorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let recorded: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let rec = recorded.clone();
        let target = target.to_string();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let idx = {
                    let mut r = rec.lock().unwrap();
                    r.push(Vec::new());
                    r.len() - 1
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let log = rec.clone();
                std::thread::spawn(move || pipe(client, server, Some(log), idx));
                std::thread::spawn(move || pipe(s2, c2, None, 0));
            }
        });
        TcpRecorder { addr, recorded }
    }

    /// What each client connection sent, in connection order.
    pub fn connections(&self) -> Vec<Vec<u8>> {
        self.recorded.lock().unwrap().clone()
    }
}
