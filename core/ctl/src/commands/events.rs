use crate::CtlError;
use crate::cli::{Cli, EventsCommand};
use crate::output::{print_json, truncate};
use crate::socket::{call, decode};
use tocsin_admin::time::rfc3339_ms;
use tocsin_admin::{EventRecord, EventsPage, Request};

pub fn run(cli: &Cli, cmd: &EventsCommand) -> Result<(), CtlError> {
    match cmd {
        EventsCommand::List {
            limit,
            before,
            user,
            kind,
        } => {
            let data = call(
                cli,
                &Request::EventsList {
                    limit: *limit,
                    before_id: *before,
                    user: user.clone(),
                    kind: kind.clone(),
                },
            )?;
            if cli.json {
                return print_json(&data);
            }
            let page: EventsPage = decode(data)?;
            println!(
                "{:>8}  {:<24}  {:<22}  {:<24}  {:<7}  SUMMARY",
                "ID", "OCCURRED", "KIND", "USER", "PRIO"
            );
            for e in &page.events {
                println!(
                    "{:>8}  {:<24}  {:<22}  {:<24}  {:<7}  {}",
                    e.id,
                    rfc3339_ms(e.occurred_at_ms),
                    truncate(&e.kind, 22),
                    truncate(&e.user, 24),
                    e.priority.name(),
                    truncate(&e.summary, 60)
                );
            }
            if let Some(next) = page.next_before_id {
                println!("(more: --before {next})");
            }
            Ok(())
        }
        EventsCommand::Show { id } => {
            let data = call(cli, &Request::EventsShow { id: *id })?;
            if cli.json {
                return print_json(&data);
            }
            let e: EventRecord = decode(data)?;
            println!("id           {}", e.id);
            println!("source       {}", e.source);
            println!("source id    {}", e.source_event_id);
            println!("kind         {}", e.kind);
            println!("user         {}", e.user);
            println!("origin host  {}", e.origin_host);
            println!("occurred     {}", rfc3339_ms(e.occurred_at_ms));
            println!("received     {}", rfc3339_ms(e.received_at_ms));
            println!("priority     {}", e.priority);
            println!("summary      {}", e.summary);
            for (k, v) in &e.attributes {
                println!("attr         {k} = {v}");
            }
            if !e.body.is_empty() {
                println!("\n{}", e.body);
            }
            Ok(())
        }
    }
}
