//! tocsinctl: the administrator's command line for tocsind.

pub mod cli;
mod commands;
mod output;
mod socket;

/// `tocsinctl watch`, the IMTP client, as a library (its tests drive it).
pub use commands::watch;

use clap::Parser;
use std::process::ExitCode;

/// Exit codes (documented in the man page).
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_UNREACHABLE: u8 = 3;

#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    #[error("{0}")]
    Unreachable(String),
    #[error("{code}: {message}")]
    Server { code: String, message: String },
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    Usage(String),
    /// Already reported on stderr (`watch` keeps stdout for notifications,
    /// so its errors never go there, even with --json); only the exit status
    /// is left.
    #[error("exit status {0}")]
    Reported(u8),
}

impl CtlError {
    fn exit_code(&self) -> u8 {
        match self {
            CtlError::Unreachable(_) => EXIT_UNREACHABLE,
            CtlError::Usage(_) => EXIT_USAGE,
            CtlError::Reported(code) => *code,
            _ => EXIT_FAILURE,
        }
    }
}

pub fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    let json = cli.json;
    match commands::run(cli) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(CtlError::Reported(code)) => ExitCode::from(code),
        Err(e) => {
            if json {
                let (code, message) = match &e {
                    CtlError::Server { code, message } => (code.clone(), message.clone()),
                    CtlError::Unreachable(m) => ("unreachable".to_string(), m.clone()),
                    CtlError::Usage(m) => ("usage".to_string(), m.clone()),
                    CtlError::Failed(m) => ("failed".to_string(), m.clone()),
                    CtlError::Reported(_) => ("failed".to_string(), e.to_string()),
                };
                println!(
                    "{}",
                    serde_json::json!({"ok": false, "error": {"code": code, "message": message}})
                );
            } else {
                eprintln!("tocsinctl: {e}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}
