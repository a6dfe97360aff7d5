use super::duration::seconds;
use crate::CtlError;
use crate::cli::{Cli, SubsAddArgs, SubsCommand};
use crate::output::print_json;
use crate::socket::{call, decode};
use tocsin_admin::{IdResult, Request, SubscriptionInfo};
use tocsin_routing::{
    Options, PresencePolicy, QuietAction, QuietHours, RateLimit, Receipts, RetryPolicy,
    SubscriptionSpec, Target,
};

fn usage(e: impl std::fmt::Display) -> CtlError {
    CtlError::Usage(e.to_string())
}

fn spec(a: &SubsAddArgs) -> Result<SubscriptionSpec, CtlError> {
    let quiet_hours = match &a.quiet_hours {
        Some(q) => {
            let (start, end) = q
                .split_once('-')
                .ok_or_else(|| usage(format!("--quiet-hours {q:?}: expected HH:MM-HH:MM")))?;
            Some(QuietHours {
                start: start.to_string(),
                end: end.to_string(),
                tz: a.tz.clone().unwrap_or_default(),
                action: match a.quiet_action.as_str() {
                    "hold" => QuietAction::Hold,
                    "drop" => QuietAction::Drop,
                    other => return Err(usage(format!("--quiet-action {other:?}: hold or drop"))),
                },
                bypass_priority: a.quiet_bypass,
            })
        }
        None => None,
    };
    let rate_limit = match &a.rate_limit {
        Some(r) => {
            let (n, d) = r
                .split_once('/')
                .ok_or_else(|| usage(format!("--rate-limit {r:?}: expected N/DURATION")))?;
            Some(RateLimit {
                count: n
                    .parse()
                    .map_err(|_| usage(format!("--rate-limit {r:?}: bad count")))?,
                window_s: seconds(d).map_err(usage)?,
            })
        }
        None => None,
    };
    let retry = match (&a.retry_base, &a.retry_cap, a.max_attempts) {
        (Some(b), Some(c), Some(m)) => Some(RetryPolicy {
            base_ms: seconds(b).map_err(usage)? * 1000,
            cap_ms: seconds(c).map_err(usage)? * 1000,
            max_attempts: m,
        }),
        _ => None,
    };
    let s = SubscriptionSpec {
        name: a.name.clone(),
        user: a.user.clone(),
        kind: a.kind.clone(),
        min_priority: a.min_priority.unwrap_or(tocsin_abi::Priority::Min),
        target: Target::parse(&a.target).map_err(usage)?,
        enabled: !a.disabled,
        options: Options {
            quiet_hours,
            rate_limit,
            coalesce: a.coalesce.clone(),
            ttl_s: a.ttl.as_deref().map(seconds).transpose().map_err(usage)?,
            summary_template: a.summary.clone(),
            body_template: a.body.clone(),
            receipts: match a.receipts.as_str() {
                "none" => Receipts::None,
                "delivery" => Receipts::Delivery,
                "display" => Receipts::Display,
                other => {
                    return Err(usage(format!(
                        "--receipts {other:?}: none, delivery or display"
                    )));
                }
            },
            escalate_after_s: a
                .escalate_after
                .as_deref()
                .map(seconds)
                .transpose()
                .map_err(usage)?,
            escalate_to: a
                .escalate_to
                .as_deref()
                .map(Target::parse)
                .transpose()
                .map_err(usage)?,
            presence: match a.presence.as_str() {
                "ignore" => PresencePolicy::Ignore,
                "hold" => PresencePolicy::Hold,
                "escalate" => PresencePolicy::Escalate,
                other => {
                    return Err(usage(format!(
                        "--presence {other:?}: ignore, hold or escalate"
                    )));
                }
            },
            retry,
        },
    };
    // The daemon validates again; checking here gives the error without a
    // round trip and with exit status 2.
    s.validate().map_err(usage)?;
    Ok(s)
}

fn describe(s: &SubscriptionInfo) -> String {
    let o = &s.spec.options;
    let mut extra = Vec::new();
    if let Some(q) = &o.quiet_hours {
        extra.push(format!("quiet {}-{} {} ({:?})", q.start, q.end, q.tz, q.action).to_lowercase());
    }
    if let Some(r) = &o.rate_limit {
        extra.push(format!("rate {}/{}s", r.count, r.window_s));
    }
    if let Some(c) = &o.coalesce {
        extra.push(format!("coalesce {c}"));
    }
    if let Some(t) = o.ttl_s {
        extra.push(format!("ttl {t}s"));
    }
    if o.receipts != Receipts::None {
        extra.push(format!("receipts {:?}", o.receipts).to_lowercase());
    }
    if let (Some(a), Some(t)) = (o.escalate_after_s, &o.escalate_to) {
        extra.push(format!("escalate after {a}s to {t}"));
    }
    extra.join(", ")
}

pub fn run(cli: &Cli, cmd: &SubsCommand) -> Result<(), CtlError> {
    match cmd {
        SubsCommand::Add(a) => {
            let s = spec(a)?;
            let data = call(cli, &Request::SubsAdd { spec: Box::new(s) })?;
            if cli.json {
                return print_json(&data);
            }
            let r: IdResult = decode(data)?;
            println!("subscription {} added (id {})", a.name, r.id);
            Ok(())
        }
        SubsCommand::List => {
            let data = call(cli, &Request::SubsList {})?;
            if cli.json {
                return print_json(&data);
            }
            let list: Vec<SubscriptionInfo> = decode(data)?;
            println!(
                "{:<20} {:<8} {:<24} {:<16} {:<30} OPTIONS",
                "NAME", "ENABLED", "USER", "KIND", "TARGET"
            );
            for s in &list {
                println!(
                    "{:<20} {:<8} {:<24} {:<16} {:<30} {}",
                    s.spec.name,
                    if s.spec.enabled { "yes" } else { "no" },
                    s.spec.user,
                    s.spec.kind,
                    s.spec.target,
                    describe(s)
                );
            }
            Ok(())
        }
        SubsCommand::Show { name } => {
            let data = call(cli, &Request::SubsShow { name: name.clone() })?;
            if cli.json {
                return print_json(&data);
            }
            let s: SubscriptionInfo = decode(data)?;
            let text = serde_json::to_string_pretty(&s.spec)
                .map_err(|e| CtlError::Failed(e.to_string()))?;
            println!("id {}\n{text}", s.id);
            Ok(())
        }
        SubsCommand::Rm { name } => simple(cli, Request::SubsRm { name: name.clone() }, "removed"),
        SubsCommand::Enable { name } => simple(
            cli,
            Request::SubsEnable {
                name: name.clone(),
                enabled: true,
            },
            "enabled",
        ),
        SubsCommand::Disable { name } => simple(
            cli,
            Request::SubsEnable {
                name: name.clone(),
                enabled: false,
            },
            "disabled",
        ),
    }
}

fn simple(cli: &Cli, req: Request, what: &str) -> Result<(), CtlError> {
    let data = call(cli, &req)?;
    if cli.json {
        return print_json(&data);
    }
    println!("{what}");
    Ok(())
}
