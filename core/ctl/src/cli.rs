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
    /// Show version, uptime, role, database and queue figures, plugins and S2S ingest connections
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
    /// Subscriptions: who gets which events where
    Subs {
        #[command(subcommand)]
        command: SubsCommand,
    },
    /// The delivery queue and its history
    Deliveries {
        #[command(subcommand)]
        command: DeliveriesCommand,
    },
    /// Dead letters: deliveries that gave up
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
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
    /// Print the notifications sent to an IM inbox as they arrive
    ///
    /// An IMTP client (docs/imtp.md): connects to the IMTP server, signs in,
    /// listens on INBOX and prints every message delivered to it, one block
    /// per notification, flushing stdout after each; each message is
    /// acknowledged only after it has been printed. It does not need the
    /// admin socket.
    ///
    /// Human output: a line `TIME SENDER → INBOX` (TIME is RFC 3339, UTC),
    /// then the text indented by two spaces. With --json, one JSON object per
    /// line: {"received_at": "2024-05-01T12:00:00.123Z", "sender":
    /// "im:...", "inbox": "im:...", "content_type": "text/plain",
    /// "text": "...", "headers": {"Tocsin-Kind": "..."}}; headers are the
    /// send's extra headers, the last value per name. message/cpim payloads
    /// show their inner text; other non-text payloads show as "[TYPE, N
    /// bytes]".
    ///
    /// Sign-in: --user NAME uses SASL PLAIN with the password from
    /// --password-file (its first line) or $TOCSIN_IMTP_PASSWORD, never from
    /// the command line; otherwise --cert/--key use SASL EXTERNAL with the
    /// certificate's identity. With --plaintext and no --user, EXTERNAL asks
    /// the server for the identity it gives the connection itself.
    ///
    /// A lost connection (or a failed connect; --timeout bounds each
    /// attempt) is reported on stderr and retried after 1 s, doubling up to
    /// 30 s (reset once listening again); --once exits instead.
    ///
    /// Exit status: 0 after --count notifications; 1 the server refused the
    /// sign-in or the listen, the TLS setup failed, or the connection was
    /// lost with --once; 2 usage error.
    #[command(
        after_help = "Example: tocsinctl watch im:alice@example.org --server imtp.example.org:61227 \\\n    --ca ca.pem --user alice --password-file ~/.imtp-password"
    )]
    Watch(Box<WatchArgs>),
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

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The inbox: im:LOCAL@DOMAIN (a bare LOCAL@DOMAIN means im:)
    #[arg(value_name = "INBOX")]
    pub inbox: String,
    /// IMTP server HOST:PORT (TLS from the first octet unless --plaintext)
    #[arg(long, value_name = "HOST:PORT", default_value = "localhost:61227")]
    pub server: String,
    /// CA certificate(s) (PEM) to trust for the server's certificate;
    /// required unless --plaintext
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub ca: Option<PathBuf>,
    /// Name the server's certificate must show [default: the host of
    /// --server]
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
    /// Client certificate chain (PEM); signs in with SASL EXTERNAL unless
    /// --user is given
    #[arg(long, value_name = "FILE", requires = "key",
          value_hint = clap::ValueHint::FilePath)]
    pub cert: Option<PathBuf>,
    /// Private key (PEM) of --cert
    #[arg(long, value_name = "FILE", requires = "cert",
          value_hint = clap::ValueHint::FilePath)]
    pub key: Option<PathBuf>,
    /// Sign in with SASL PLAIN as NAME (needs TLS)
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// File whose first line is the password of --user [default:
    /// $TOCSIN_IMTP_PASSWORD]
    #[arg(long, value_name = "FILE", requires = "user",
          value_hint = clap::ValueHint::FilePath)]
    pub password_file: Option<PathBuf>,
    /// Connect without TLS (servers allow this only where configured, e.g.
    /// on loopback)
    #[arg(long, conflicts_with_all = ["ca", "server_name", "cert", "key"])]
    pub plaintext: bool,
    /// Deliver only messages from senders matching PATTERN (repeatable):
    /// '*', 'im:*', 'im:*@example.org', 'im:*@*.example.org' or an address
    #[arg(long, value_name = "PATTERN")]
    pub only: Vec<String>,
    /// Never deliver messages from senders matching PATTERN (repeatable)
    #[arg(long, value_name = "PATTERN")]
    pub except: Vec<String>,
    /// Exit (status 0) once N notifications are printed and acknowledged
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Exit (status 1) when the connection is lost instead of reconnecting
    #[arg(long)]
    pub once: bool,
}

#[derive(Debug, Subcommand)]
pub enum SubsCommand {
    /// Add a subscription
    Add(Box<SubsAddArgs>),
    /// List subscriptions
    List,
    /// Show one subscription in full
    Show {
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Remove a subscription (queued deliveries stay queued)
    Rm {
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Enable a subscription
    Enable {
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Disable a subscription (it stops matching new events)
    Disable {
        #[arg(value_name = "NAME")]
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct SubsAddArgs {
    /// Subscription name (letters, digits, '-', '_', '.')
    #[arg(value_name = "NAME")]
    pub name: String,
    /// User: exact or a glob such as '*@example.org' (case-insensitive)
    #[arg(long)]
    pub user: String,
    /// Event kind glob, e.g. 'mail.*'
    #[arg(long, default_value = "*")]
    pub kind: String,
    /// Delivery plugin instance and address: INSTANCE:ADDRESS
    /// (e.g. imtp:im:alice@example.org)
    #[arg(long, value_name = "INSTANCE:ADDRESS")]
    pub target: String,
    /// Only events at or above this priority
    #[arg(long, value_name = "P")]
    pub min_priority: Option<Priority>,
    /// Quiet hours HH:MM-HH:MM (may cross midnight); needs --tz
    #[arg(long, value_name = "HH:MM-HH:MM", requires = "tz")]
    pub quiet_hours: Option<String>,
    /// Time zone of the quiet hours, e.g. Europe/Berlin
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// During quiet hours: hold until they end, or drop
    #[arg(long, value_name = "hold|drop", default_value = "hold")]
    pub quiet_action: String,
    /// Events at or above this priority ignore quiet hours
    #[arg(long, value_name = "P", default_value = "urgent")]
    pub quiet_bypass: Priority,
    /// Per-user rate limit COUNT/DURATION (e.g. 10/1m); excess waits
    #[arg(long, value_name = "N/DURATION")]
    pub rate_limit: Option<String>,
    /// Coalescing key template, e.g. 'vm:{attr.account}'
    #[arg(long, value_name = "TEMPLATE")]
    pub coalesce: Option<String>,
    /// Give up on a delivery not made within this long (e.g. 1h)
    #[arg(long, value_name = "DURATION")]
    pub ttl: Option<String>,
    /// Summary template with {field} placeholders
    #[arg(long, value_name = "TEMPLATE")]
    pub summary: Option<String>,
    /// Body template with {field} placeholders
    #[arg(long, value_name = "TEMPLATE")]
    pub body: Option<String>,
    /// Receipts wanted: none, delivery, display
    #[arg(long, default_value = "none")]
    pub receipts: String,
    /// Escalate when no display receipt arrives within this long
    #[arg(long, value_name = "DURATION", requires = "escalate_to")]
    pub escalate_after: Option<String>,
    /// Escalation target INSTANCE:ADDRESS
    #[arg(long, value_name = "INSTANCE:ADDRESS")]
    pub escalate_to: Option<String>,
    /// When the recipient is not present: ignore, hold, escalate
    #[arg(long, default_value = "ignore")]
    pub presence: String,
    /// Retry policy override: first retry after about this long
    #[arg(long, value_name = "DURATION", requires_all = ["retry_cap", "max_attempts"])]
    pub retry_base: Option<String>,
    /// Retry policy override: longest wait between retries
    #[arg(long, value_name = "DURATION")]
    pub retry_cap: Option<String>,
    /// Retry policy override: attempts before dead-lettering
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,
    /// Create it disabled
    #[arg(long)]
    pub disabled: bool,
}

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// List deliveries, newest first
    List {
        /// pending, in-flight, sent, delivered, displayed, retrying, dead,
        /// expired, coalesced, dropped, failed
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        user: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long, value_name = "ID")]
        before: Option<i64>,
    },
    /// One delivery: its event, whole history and escalation chain
    Show {
        #[arg(value_name = "ID")]
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dead letters
    List {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One dead letter in full
    Show {
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Queue dead letters again (one ID, or --all)
    Replay {
        #[arg(value_name = "ID", required_unless_present = "all")]
        id: Option<i64>,
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
    /// Delete dead letters (one ID, or --all)
    Purge {
        #[arg(value_name = "ID", required_unless_present = "all")]
        id: Option<i64>,
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
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
