//! TLS for sockets the daemon owns on behalf of plugins: rustls configs
//! from PEM files, a non-blocking TLS stream, client identities.

pub mod identity;
mod stream;

pub use stream::TlsStream;

use rustls::server::WebPkiClientVerifier;
use std::path::Path;
use std::sync::Arc;
use tocsin_s2s::tls::{load_certs, load_key, load_roots, provider};

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Server side: our certificate; client certificates checked against
/// `ca` when given (required when `require_client_cert`).
pub fn server_config(
    cert: &Path,
    key: &Path,
    ca: Option<&Path>,
    require_client_cert: bool,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(err)?;
    let builder = match ca {
        Some(ca) => {
            let roots = load_roots(ca).map_err(err)?;
            let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
            let v = if require_client_cert {
                v.build()
            } else {
                v.allow_unauthenticated().build()
            }
            .map_err(err)?;
            builder.with_client_cert_verifier(v)
        }
        None if require_client_cert => {
            return Err("client certificates are required but no CA file was given".into());
        }
        None => builder.with_no_client_auth(),
    };
    let cfg = builder
        .with_single_cert(load_certs(cert).map_err(err)?, load_key(key).map_err(err)?)
        .map_err(err)?;
    Ok(Arc::new(cfg))
}

/// Client side: trust `ca`; present `identity` (cert, key) when given.
pub fn client_config(
    ca: &Path,
    identity: Option<(&Path, &Path)>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    tocsin_s2s::tls::client_config(ca, identity).map_err(err)
}
