use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = tocsind::cli::Args::parse();
    tocsind::run(args)
}
