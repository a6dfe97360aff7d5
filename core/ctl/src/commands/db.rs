use crate::CtlError;
use crate::cli::{Cli, DbCommand};
use crate::output::{bytes, print_json};
use crate::socket::{call, decode};
use tocsin_admin::{BackupResult, Request};

pub fn run(cli: &Cli, cmd: &DbCommand) -> Result<(), CtlError> {
    match cmd {
        DbCommand::Backup { path } => {
            let path = std::path::absolute(path)
                .map_err(|e| CtlError::Usage(format!("{}: {e}", path.display())))?;
            let data = call(
                cli,
                &Request::DbBackup {
                    path: path.display().to_string(),
                },
            )?;
            if cli.json {
                return print_json(&data);
            }
            let r: BackupResult = decode(data)?;
            println!("backup written to {} ({})", r.path, bytes(r.bytes));
            Ok(())
        }
    }
}
