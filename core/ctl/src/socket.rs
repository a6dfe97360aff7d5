//! Finding and talking to the daemon.

use crate::CtlError;
use crate::cli::Cli;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tocsin_admin::{AdminClient, Request};

/// --socket, then TOCSIN_SOCKET (clap merges both into `cli.socket`), then
/// the socket named by --config, then the default config file if present,
/// then the built-in default.
pub fn resolve(cli: &Cli) -> Result<PathBuf, CtlError> {
    if let Some(s) = &cli.socket {
        return Ok(s.clone());
    }
    if let Some(c) = &cli.config {
        return tocsin_config::load(c)
            .map(|cfg| cfg.admin.socket)
            .map_err(|e| CtlError::Failed(e.to_string()));
    }
    let default = Path::new(tocsin_config::DEFAULT_CONFIG_PATH);
    if default.exists()
        && let Ok(cfg) = tocsin_config::load(default)
    {
        return Ok(cfg.admin.socket);
    }
    Ok(tocsin_config::AdminConfig::default().socket)
}

/// Sends one request; returns the `data` of a successful response.
pub fn call(cli: &Cli, req: &Request) -> Result<serde_json::Value, CtlError> {
    let path = resolve(cli)?;
    let mut client =
        AdminClient::connect(&path, Duration::from_secs(cli.timeout)).map_err(|e| {
            if e.is_unreachable() {
                CtlError::Unreachable(format!("{e} (is tocsind running? see --socket)"))
            } else {
                CtlError::Failed(e.to_string())
            }
        })?;
    let resp = client
        .request(req)
        .map_err(|e| CtlError::Failed(e.to_string()))?;
    if resp.ok {
        Ok(resp.data.unwrap_or(serde_json::Value::Null))
    } else {
        let err = resp.error.unwrap_or(tocsin_admin::ErrorBody {
            code: "internal".into(),
            message: "error response without details".into(),
        });
        Err(CtlError::Server {
            code: err.code,
            message: err.message,
        })
    }
}

pub fn decode<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, CtlError> {
    serde_json::from_value(v)
        .map_err(|e| CtlError::Failed(format!("unexpected response from the daemon: {e}")))
}
