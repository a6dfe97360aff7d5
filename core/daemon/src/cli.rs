//! Command-line arguments (also rendered into the man page).

use clap::Parser;
use std::path::PathBuf;

/// The tocsin notification daemon: takes events from mail, voicemail and
/// calendar servers, stores them durably and delivers notifications over
/// instant messaging.
#[derive(Debug, Clone, Parser)]
#[command(name = "tocsind", version, about, long_about = None)]
pub struct Args {
    /// Configuration file.
    #[arg(
        short,
        long,
        value_name = "FILE",
        default_value = tocsin_config::DEFAULT_CONFIG_PATH,
        value_hint = clap::ValueHint::FilePath
    )]
    pub config: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Args::command().debug_assert();
    }
}
