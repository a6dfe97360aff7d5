//! The command line (also rendered into the man page and completions).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use tocsin_abi::Priority;

/// Administer a running tocsind over its admin socket.
///
/// Exit status: 0 success, 1 failure (the daemon refused or the command
/// failed), 2 usage error, 3 the daemon could not be reached.
#[derive(Debug, Parser)]
#[command(name = "tocsinctl", version, about, long_about)]
pub struct Cli {
    /// Admin socket of the daemon [default: the one named in the config file]
    #[arg(long, global = true, env = "TOCSIN_SOCKET", value_name = "PATH",
          value_hint = clap::ValueHint::FilePath)]
    pub socket: Option<PathBuf>,

    /// Configuration file, used to find the admin socket
    #[arg(long, short, global = true, value_name = "FILE",
          value_hint = clap::ValueHint::FilePath)]
    pub config: Option<PathBuf>,

    /// Machine-readable JSON output
    #[arg(long, global = true)]
    pub json: bool,

    /// Seconds to wait for the daemon
    #[arg(long, global = true, default_value_t = 30, value_name = "SECONDS")]
    pub timeout: u64,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show version, uptime, role, database and queue figures
    Status,
    /// Check a configuration file (works without a running daemon)
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Inspect stored events
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Send a test event through the normal ingest path
    Send(SendArgs),
    /// Plugin instances: state, counters, reload
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
    /// Database maintenance
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Parse and validate FILE (default: --config, else /etc/tocsin/tocsin.toml)
    Check {
        #[arg(value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List events, newest first
    List {
        /// How many events to show
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Only events with an id below this one (next page)
        #[arg(long, value_name = "ID")]
        before: Option<i64>,
        /// Only events for this user
        #[arg(long)]
        user: Option<String>,
        /// Only events of this kind (e.g. mail.MessageNew)
        #[arg(long)]
        kind: Option<String>,
    },
    /// Show one event in full
    Show {
        #[arg(value_name = "ID")]
        id: i64,
    },
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The user the event concerns
    #[arg(long)]
    pub user: String,
    /// Namespaced kind, e.g. mail.MessageNew
    #[arg(long)]
    pub kind: String,
    /// One-line summary
    #[arg(long)]
    pub summary: String,
    /// Longer text
    #[arg(long)]
    pub body: Option<String>,
    /// min, low, normal, high, urgent (or 1..5)
    #[arg(long)]
    pub priority: Option<Priority>,
    /// Source name to send as [default: admin]
    #[arg(long)]
    pub source: Option<String>,
    /// Source event id (idempotency key) [default: generated]
    #[arg(long)]
    pub id: Option<String>,
    /// Host the event originated on
    #[arg(long, value_name = "HOST")]
    pub origin_host: Option<String>,
    /// Attribute as KEY=VALUE (repeatable)
    #[arg(long = "attr", value_name = "KEY=VALUE")]
    pub attrs: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List instances with state (running, failed, refused, disabled)
    List,
    /// One instance in full: library, ABI, counters, sockets
    Show {
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Apply added, removed and changed plugins.d files now (like SIGHUP)
    Reload,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Write a consistent copy of the live database to PATH (absolute, on
    /// the daemon's host, must not exist)
    Backup {
        #[arg(value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
        path: PathBuf,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
