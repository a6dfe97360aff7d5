//! One function per subcommand.

mod config;
mod db;
mod deliveries;
mod duration;
mod events;
mod plugins;
mod send;
mod status;
mod subs;
pub mod watch;

use crate::CtlError;
use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> Result<(), CtlError> {
    match &cli.command {
        Command::Status => status::run(&cli),
        Command::Config { command } => config::run(&cli, command),
        Command::Events { command } => events::run(&cli, command),
        Command::Send(args) => send::run(&cli, args),
        Command::Plugins { command } => plugins::run(&cli, command),
        Command::Subs { command } => subs::run(&cli, command),
        Command::Deliveries { command } => deliveries::run_deliveries(&cli, command),
        Command::Dlq { command } => deliveries::run_dlq(&cli, command),
        Command::Db { command } => db::run(&cli, command),
        Command::Watch(args) => watch::run(&cli, args),
    }
}
