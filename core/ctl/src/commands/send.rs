use crate::CtlError;
use crate::cli::{Cli, SendArgs};
use crate::output::print_json;
use crate::socket::{call, decode};
use std::collections::BTreeMap;
use tocsin_admin::{Request, SendResult};

pub fn run(cli: &Cli, a: &SendArgs) -> Result<(), CtlError> {
    let mut attributes = BTreeMap::new();
    for kv in &a.attrs {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(CtlError::Usage(format!(
                "--attr {kv:?}: expected KEY=VALUE"
            )));
        };
        attributes.insert(k.to_string(), v.to_string());
    }
    let req = Request::Send(tocsin_admin::SendArgs {
        user: a.user.clone(),
        kind: a.kind.clone(),
        summary: a.summary.clone(),
        body: a.body.clone(),
        priority: a.priority,
        source: a.source.clone(),
        id: a.id.clone(),
        origin_host: a.origin_host.clone(),
        occurred_at_ms: None,
        attributes,
    });
    let data = call(cli, &req)?;
    if cli.json {
        return print_json(&data);
    }
    let r: SendResult = decode(data)?;
    if r.duplicate {
        println!("duplicate of event {} (already stored)", r.id);
    } else {
        println!("stored as event {}", r.id);
    }
    Ok(())
}
