//! `tocsin-bench`: reproducible figures for BENCHMARKS.md. Every figure is
//! printed next to a baseline measured in the same run, because these
//! machines are shared and noisy. Build with `--release`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod commit;
mod daemon;
mod imtp;
mod mail_http;
mod mwi;
mod pipeline;
mod s2s;
mod s2s_client;
mod util;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "tocsin-bench", about = "tocsin benchmarks")]
struct Cli {
    /// Directory for temporary databases (default: a temp dir under /var/tmp,
    /// i.e. a real disk, not tmpfs)
    #[arg(long, global = true)]
    dir: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Group-commit throughput (batch 1, 10, 100, 1000) vs a plain
    /// rusqlite insert loop of the same rows, both synchronous=FULL
    Commit {
        /// Events per batch size
        #[arg(long, default_value_t = 20_000)]
        events: usize,
        /// Alternating rounds; the best of each is reported
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// Time from exec to READY=1, empty database and N events stored
    Ready {
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Resident memory of an idle tocsind
    Rss,
    /// Events/s through a source plugin vs the admin socket; ABI share
    PluginIngest {
        #[arg(long, default_value_t = 50_000)]
        events: usize,
    },
    /// Routed deliveries/s (1 → 1 and 1 → 100 targets)
    Deliveries {
        #[arg(long, default_value_t = 20_000)]
        deliveries: usize,
    },
    /// The due-delivery lookup with 1k..1M waiting rows
    DueLookup,
    /// The mail plugin's HTTP endpoint: PUT events/s over keep-alive on loopback, then
    /// response times at a steady rate; every event must be stored
    MailHttp {
        /// Requests in the throughput runs
        #[arg(long, default_value_t = 20_000)]
        events: u32,
        /// Connections in the concurrent throughput run
        #[arg(long, default_value_t = 4)]
        conns: u32,
        /// Requests in flight per connection (pipelining) in that run
        #[arg(long, default_value_t = 16)]
        depth: u32,
        /// Offered rate of the steady run, requests/s
        #[arg(long, default_value_t = 1000)]
        rate: u64,
        /// Duration of the steady run, seconds
        #[arg(long, default_value_t = 10)]
        secs: u64,
        /// Connections of the steady run, one request at a time each (Dovecot: one
        /// connection per delivering process)
        #[arg(long, default_value_t = 32)]
        steady_conns: u64,
    },
    /// MWI NOTIFYs/s accepted over UDP by tocsind with the voicemail
    /// plugin (each stored before its 200) vs the plain insert loop
    MwiUdp {
        /// NOTIFYs per round
        #[arg(long, default_value_t = 20_000)]
        notifies: usize,
        /// Unanswered NOTIFYs in flight at most (beyond ~160 the first
        /// burst overflows the daemon's default UDP receive buffer and the
        /// lost ones are resent after 500 ms, as SIP would)
        #[arg(long, default_value_t = 128)]
        window: usize,
        /// Rounds; the best is reported
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// S2S ingest into a release tocsind on loopback, plaintext and TLS:
    /// sustained acked events/s vs the plain batched insert loop, ACK
    /// latency at a steady rate, daemon RSS
    S2s {
        /// Events of the sustained run (and of the baseline)
        #[arg(long, default_value_t = 200_000)]
        events: usize,
        /// Events/s of the latency run
        #[arg(long, default_value_t = 5000)]
        rate: u32,
        /// Length of the latency run
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// The daemon's ingest.max_undecided
        #[arg(long, default_value_t = 2048)]
        max_undecided: usize,
    },
    /// Notifications/s from the queue to listening IMTP clients
    /// (plaintext and TLS) beside the recorder plugin and the plain insert
    /// loop; `tocsinctl send` -> `tocsinctl watch` latency at a steady rate
    Imtp {
        #[arg(long, default_value_t = 20_000)]
        deliveries: usize,
        /// Users, each with one listening client and one subscription
        #[arg(long, default_value_t = 100)]
        users: usize,
        /// `delivery.max_in_flight_per_recipient` of the pipelined runs
        /// (each IMTP run is also made with 1, the strict-order default)
        #[arg(long, default_value_t = 16)]
        window: u32,
        /// Instead: the held-backlog drain (subscriptions that hold while
        /// the recipient is absent; the queue fills, then every client
        /// connects)
        #[arg(long)]
        drain: bool,
        /// Events/s of the latency run
        #[arg(long, default_value_t = 100)]
        rate: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

fn main() {
    let cli = Cli::parse();
    let base = cli.dir.unwrap_or_else(|| PathBuf::from("/var/tmp"));
    let tmp = tempfile::Builder::new()
        .prefix("tocsin-bench-")
        .tempdir_in(&base)
        .expect("temp dir");
    match cli.cmd {
        Cmd::Commit { events, rounds } => commit::run(tmp.path(), events, rounds),
        Cmd::Ready { events, runs } => daemon::ready(tmp.path(), events, runs),
        Cmd::Rss => daemon::rss(tmp.path()),
        Cmd::Imtp {
            deliveries,
            users,
            window,
            drain: true,
            ..
        } => imtp::drain(tmp.path(), deliveries, users, window),
        Cmd::Imtp {
            deliveries,
            users,
            window,
            rate,
            seconds,
            drain: false,
        } => imtp::run(tmp.path(), deliveries, users, window, rate, seconds),
        Cmd::PluginIngest { events } => pipeline::plugin_ingest(tmp.path(), events),
        Cmd::Deliveries { deliveries } => pipeline::deliveries(tmp.path(), deliveries),
        Cmd::DueLookup => pipeline::due_lookup(tmp.path()),
        Cmd::MailHttp {
            events,
            conns,
            depth,
            rate,
            secs,
            steady_conns,
        } => mail_http::run(
            tmp.path(),
            &mail_http::Params {
                events,
                conns,
                depth,
                rate,
                secs,
                steady_conns,
            },
        ),
        Cmd::MwiUdp {
            notifies,
            window,
            rounds,
        } => mwi::run(tmp.path(), notifies, window, rounds),
        Cmd::S2s {
            events,
            rate,
            seconds,
            max_undecided,
        } => s2s::run(tmp.path(), events, rate, seconds, max_undecided),
    }
}
