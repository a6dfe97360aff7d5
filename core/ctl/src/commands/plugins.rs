use crate::CtlError;
use crate::cli::{Cli, PluginsCommand};
use crate::output::print_json;
use crate::socket::{call, decode};
use tocsin_admin::{PluginInfo, PluginsReloadResult, Request};

pub fn run(cli: &Cli, cmd: &PluginsCommand) -> Result<(), CtlError> {
    match cmd {
        PluginsCommand::List => {
            let data = call(cli, &Request::PluginsList {})?;
            if cli.json {
                return print_json(&data);
            }
            let list: Vec<PluginInfo> = decode(data)?;
            if list.is_empty() {
                println!("no plugin instances configured");
                return Ok(());
            }
            println!(
                "{:<20} {:<9} {:<14} {:<8} {:<9} {:>8} {:>8}  REASON",
                "INSTANCE", "KIND", "PLUGIN", "ABI", "STATE", "EVENTS", "DELIV"
            );
            for p in &list {
                println!(
                    "{:<20} {:<9} {:<14} {:<8} {:<9} {:>8} {:>8}  {}{}",
                    p.name,
                    p.kind,
                    p.plugin,
                    p.abi,
                    p.state,
                    p.events_stored,
                    p.deliveries_ok,
                    p.reason.as_deref().unwrap_or(""),
                    if p.stale {
                        " (library changed on disk: restart to load it)"
                    } else {
                        ""
                    }
                );
            }
            Ok(())
        }
        PluginsCommand::Show { name } => {
            let data = call(cli, &Request::PluginsShow { name: name.clone() })?;
            if cli.json {
                return print_json(&data);
            }
            let p: PluginInfo = decode(data)?;
            println!("instance     {}", p.name);
            println!("config       {}", p.config_file);
            println!("library      {}", p.library);
            println!(
                "plugin       {} {} ({}, ABI {})",
                p.plugin, p.version, p.kind, p.abi
            );
            println!("state        {}", p.state);
            if let Some(r) = &p.reason {
                println!("reason       {r}");
            }
            if p.stale {
                println!("note         the library changed on disk; restart tocsind to load it");
            }
            println!(
                "events       {} emitted, {} stored, {} duplicates, {} rejected",
                p.events_emitted, p.events_stored, p.events_duplicate, p.events_rejected
            );
            println!(
                "deliveries   {} ok, {} failed",
                p.deliveries_ok, p.deliveries_failed
            );
            for s in &p.sockets {
                println!(
                    "socket {:<5} {:<13} {} {} {}",
                    s.handle,
                    s.kind,
                    s.local,
                    if s.peer.is_empty() { "" } else { "<->" },
                    s.peer
                );
            }
            Ok(())
        }
        PluginsCommand::Reload => {
            let data = call(cli, &Request::PluginsReload {})?;
            let r: PluginsReloadResult = decode(data.clone())?;
            if cli.json {
                print_json(&data)?;
            } else {
                for (label, names) in [
                    ("added", &r.added),
                    ("removed", &r.removed),
                    ("restarted", &r.restarted),
                    ("unchanged", &r.unchanged),
                ] {
                    if !names.is_empty() {
                        println!("{label:<10} {}", names.join(", "));
                    }
                }
                for (n, why) in &r.refused {
                    println!("refused    {n}: {why}");
                }
            }
            if r.refused.is_empty() {
                Ok(())
            } else {
                Err(CtlError::Failed(format!(
                    "{} plugin instance(s) refused",
                    r.refused.len()
                )))
            }
        }
    }
}
