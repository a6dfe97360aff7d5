use crate::CtlError;
use crate::cli::{Cli, ConfigCommand};
use std::path::PathBuf;

pub fn run(cli: &Cli, cmd: &ConfigCommand) -> Result<(), CtlError> {
    match cmd {
        ConfigCommand::Check { file } => {
            let path = file
                .clone()
                .or_else(|| cli.config.clone())
                .unwrap_or_else(|| PathBuf::from(tocsin_config::DEFAULT_CONFIG_PATH));
            let cfg = tocsin_config::load(&path).map_err(|e| CtlError::Failed(e.to_string()))?;
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "ok": true,
                        "file": path.display().to_string(),
                        "admin_socket": cfg.admin.socket.display().to_string(),
                        "database": cfg.store.path.display().to_string(),
                        "plugin_dir": cfg.plugins.dir.display().to_string(),
                        "plugin_config_dir": cfg.plugins.config_dir.display().to_string(),
                    })
                );
            } else {
                println!("{}: ok", path.display());
            }
            Ok(())
        }
    }
}
