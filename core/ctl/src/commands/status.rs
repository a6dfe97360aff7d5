use crate::CtlError;
use crate::cli::Cli;
use crate::output::{bytes, print_json};
use crate::socket::{call, decode};
use tocsin_admin::{Request, StatusInfo};

pub fn run(cli: &Cli) -> Result<(), CtlError> {
    let data = call(cli, &Request::Status {})?;
    if cli.json {
        return print_json(&data);
    }
    let s: StatusInfo = decode(data)?;
    println!(
        "tocsind {} on {} (pid {})",
        s.version, s.appliance_id, s.pid
    );
    println!("  uptime     {}s", s.uptime_s);
    println!("  role       {}", s.role);
    println!(
        "  database   {} ({} + {} WAL, schema v{}, commit {})",
        s.db.path,
        bytes(s.db.size_bytes),
        bytes(s.db.wal_bytes),
        s.db.schema_version,
        s.db.commit_seq
    );
    println!("  integrity  {}", s.db.integrity);
    println!("  events     {}", s.db.events);
    println!(
        "  queue      {} pending, {} in flight, {} retrying, {} dead",
        s.queues.pending, s.queues.in_flight, s.queues.retrying, s.queues.dead
    );
    if s.ingest.listeners.is_empty() {
        println!("  ingest     off");
    } else {
        println!("  ingest");
        for l in &s.ingest.listeners {
            let kind = if l.tls { "TLS" } else { "plaintext" };
            println!("    listening on {} ({kind})", l.address);
        }
        for c in &s.ingest.connections {
            println!(
                "    {:<20} from {} via {}: {}s, {} received, {} accepted, {} rejected, {} awaiting ACK",
                c.source.as_deref().unwrap_or("(before HELLO)"),
                c.peer,
                c.listener,
                c.connected_s,
                c.events_received,
                c.events_accepted,
                c.events_rejected,
                c.awaiting_ack
            );
        }
    }
    if s.plugins.is_empty() {
        println!("  plugins    none");
    } else {
        println!("  plugins");
        for p in &s.plugins {
            let reason = p
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            println!(
                "    {:<20} {:<10} {:<9} {}{reason}",
                p.name, p.kind, p.plugin, p.state
            );
        }
    }
    Ok(())
}
