use crate::error::ConfigError;
use crate::file::Config;
use std::path::{Path, PathBuf};

pub const DEFAULT_CONFIG_PATH: &str = "/etc/tocsin/tocsin.toml";

/// Reads, parses and validates a config file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Parses config text; `path` names the file in errors and anchors
/// relative paths (they are relative to the file's directory, so a config
/// means the same thing whatever the working directory).
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let mut cfg: Config = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
        ConfigError::Syntax {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().trim().to_string(),
        }
    })?;
    cfg.path = path.to_path_buf();
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let base = std::path::absolute(&base).unwrap_or(base);
    for p in [
        &mut cfg.admin.socket,
        &mut cfg.store.path,
        &mut cfg.plugins.dir,
        &mut cfg.plugins.config_dir,
    ] {
        if p.is_relative() {
            *p = normalize(&base.join(&*p));
        }
    }
    validate(&cfg)?;
    Ok(cfg)
}

/// Removes `.` and `..` lexically so paths in logs and status read
/// cleanly (config paths are not expected to traverse symlinks upwards).
fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, col)
}

fn invalid(cfg: &Config, key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        path: cfg.path.clone(),
        key: key.to_string(),
        message: message.into(),
    }
}

fn validate(cfg: &Config) -> Result<(), ConfigError> {
    // sun_path holds 108 bytes including the NUL.
    if cfg.admin.socket.as_os_str().len() > 107 {
        return Err(invalid(
            cfg,
            "admin.socket",
            "path is longer than a unix socket address allows (107 bytes)",
        ));
    }
    if cfg.admin.max_request_bytes < 1024 {
        return Err(invalid(
            cfg,
            "admin.max_request_bytes",
            "must be at least 1024",
        ));
    }
    if let Some(g) = &cfg.admin.group
        && g.is_empty()
    {
        return Err(invalid(cfg, "admin.group", "must not be empty"));
    }
    if let Some(id) = &cfg.daemon.appliance_id
        && (id.is_empty() || id.len() > 64 || id.chars().any(char::is_control))
    {
        return Err(invalid(
            cfg,
            "daemon.appliance_id",
            "must be 1..64 printable characters",
        ));
    }
    let d = &cfg.delivery;
    if d.retry_base_ms == 0 || d.retry_cap_ms < d.retry_base_ms {
        return Err(invalid(
            cfg,
            "delivery.retry_cap_ms",
            "must be at least delivery.retry_base_ms (> 0)",
        ));
    }
    if d.max_attempts == 0 || d.max_in_flight == 0 {
        return Err(invalid(
            cfg,
            "delivery.max_attempts",
            "max_attempts and max_in_flight must be > 0",
        ));
    }
    if cfg.retention.prune_interval_s == 0 {
        return Err(invalid(cfg, "retention.prune_interval_s", "must be > 0"));
    }
    if cfg.store.path.file_name().is_none() {
        return Err(invalid(cfg, "store.path", "must name a file"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> PathBuf {
        PathBuf::from("/etc/tocsin/tocsin.toml")
    }

    #[test]
    fn empty_file_gives_defaults() {
        let c = parse("", &p()).unwrap();
        assert_eq!(c.store.path, PathBuf::from("/var/lib/tocsin/tocsin.db"));
        assert_eq!(c.admin.socket, PathBuf::from("/run/tocsin/admin.sock"));
    }

    #[test]
    fn unknown_key_names_line() {
        let e = parse("[store]\npath = \"/x.db\"\nbogus = 1\n", &p()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("/etc/tocsin/tocsin.toml:3:"), "{msg}");
        assert!(msg.contains("bogus"), "{msg}");
    }

    #[test]
    fn wrong_type_names_line() {
        let e = parse("[daemon]\n\nlog_level = 5\n", &p()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("/etc/tocsin/tocsin.toml:3:"), "{msg}");
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let c = parse(
            "[store]\npath = \"data/t.db\"\n",
            Path::new("/srv/t/tocsin.toml"),
        )
        .unwrap();
        assert_eq!(c.store.path, PathBuf::from("/srv/t/data/t.db"));
        let c = parse(
            "[store]\npath = \"../x/./t.db\"\n",
            Path::new("/srv/t/tocsin.toml"),
        )
        .unwrap();
        assert_eq!(c.store.path, PathBuf::from("/srv/x/t.db"));
    }

    #[test]
    fn semantic_errors() {
        let long = format!("[admin]\nsocket = \"/{}\"\n", "a".repeat(200));
        assert!(matches!(
            parse(&long, &p()),
            Err(ConfigError::Invalid { .. })
        ));
        assert!(parse("[admin]\ngroup = \"\"\n", &p()).is_err());
    }

    #[test]
    fn shipped_configs_are_valid() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for f in ["etc/tocsin/tocsin.toml", "etc/dev/tocsin.toml"] {
            let path = root.join(f);
            load(&path).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
    }
}
