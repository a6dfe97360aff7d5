use crate::CtlError;
use crate::cli::{Cli, DeliveriesCommand, DlqCommand};
use crate::output::{print_json, truncate};
use crate::socket::{call, decode};
use tocsin_admin::time::rfc3339_ms;
use tocsin_admin::{CountResult, DeliveryDetail, DeliveryInfo, Request};

fn table(list: &[DeliveryInfo]) {
    println!(
        "{:>8}  {:>8}  {:<10}  {:>4}  {:<24}  {:<28}  SUMMARY",
        "ID", "EVENT", "STATE", "TRY", "USER", "TARGET"
    );
    for d in list {
        println!(
            "{:>8}  {:>8}  {:<10}  {:>4}  {:<24}  {:<28}  {}",
            d.id,
            d.event_id,
            d.state,
            d.attempts,
            truncate(&d.user, 24),
            truncate(&format!("{}:{}", d.target_instance, d.target_address), 28),
            truncate(&d.summary, 50)
        );
    }
}

fn show(cli: &Cli, id: i64) -> Result<(), CtlError> {
    let data = call(cli, &Request::DeliveriesShow { id })?;
    if cli.json {
        return print_json(&data);
    }
    let d: DeliveryDetail = decode(data)?;
    let x = &d.delivery;
    println!("delivery     {}", x.id);
    println!("state        {} (attempt {})", x.state, x.attempts);
    println!("target       {}:{}", x.target_instance, x.target_address);
    println!("user         {}", x.user);
    println!("message id   {}", x.message_id);
    println!("summary      {}", x.summary);
    if let Some(n) = x.next_attempt_at {
        println!("next attempt {}", rfc3339_ms(n));
    }
    if let Some(t) = x.expires_at {
        println!("expires      {}", rfc3339_ms(t));
    }
    if let Some(t) = x.escalate_at {
        println!("escalates    {}", rfc3339_ms(t));
    }
    if let Some(e) = &x.last_error {
        println!("last error   {e}");
    }
    if let Some(f) = x.escalated_from {
        println!("escalation of delivery {f}");
    }
    for e in &d.escalations {
        println!("escalated to delivery {e}");
    }
    if let Some(ev) = &d.event {
        println!(
            "event        {} {} from {} ({})",
            ev.id, ev.kind, ev.source, ev.source_event_id
        );
    }
    println!("history");
    for h in &d.history {
        println!(
            "  {}  {:>10} -> {:<10} {}",
            rfc3339_ms(h.at),
            h.from_state.as_deref().unwrap_or("-"),
            h.to_state,
            h.detail
        );
    }
    Ok(())
}

pub fn run_deliveries(cli: &Cli, cmd: &DeliveriesCommand) -> Result<(), CtlError> {
    match cmd {
        DeliveriesCommand::List {
            state,
            user,
            limit,
            before,
        } => {
            let data = call(
                cli,
                &Request::DeliveriesList {
                    state: state.clone(),
                    user: user.clone(),
                    limit: *limit,
                    before_id: *before,
                },
            )?;
            if cli.json {
                return print_json(&data);
            }
            table(&decode::<Vec<DeliveryInfo>>(data)?);
            Ok(())
        }
        DeliveriesCommand::Show { id } => show(cli, *id),
    }
}

pub fn run_dlq(cli: &Cli, cmd: &DlqCommand) -> Result<(), CtlError> {
    let count = |cli: &Cli, req: Request, what: &str| -> Result<(), CtlError> {
        let data = call(cli, &req)?;
        if cli.json {
            return print_json(&data);
        }
        let c: CountResult = decode(data)?;
        println!("{} dead letter(s) {what}", c.count);
        Ok(())
    };
    match cmd {
        DlqCommand::List { limit } => {
            let data = call(cli, &Request::DlqList { limit: *limit })?;
            if cli.json {
                return print_json(&data);
            }
            table(&decode::<Vec<DeliveryInfo>>(data)?);
            Ok(())
        }
        DlqCommand::Show { id } => show(cli, *id),
        DlqCommand::Replay { id, all } => count(
            cli,
            Request::DlqReplay {
                id: if *all { None } else { *id },
            },
            "queued again",
        ),
        DlqCommand::Purge { id, all } => count(
            cli,
            Request::DlqPurge {
                id: if *all { None } else { *id },
            },
            "deleted",
        ),
    }
}
