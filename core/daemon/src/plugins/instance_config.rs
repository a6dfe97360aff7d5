//! `plugins.d/*.toml`: one file per plugin instance. The file name (without
//! `.toml`) is the instance name and its source name in the store.

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstanceFile {
    /// Plugin name: loads `{plugins.dir}/libtocsin_plugin_{plugin}.so`.
    #[serde(default)]
    plugin: Option<String>,
    /// Explicit library path instead of `plugin`.
    #[serde(default)]
    library: Option<PathBuf>,
    #[serde(default = "yes")]
    enabled: bool,
    /// Largest event this instance may emit, in bytes.
    #[serde(default = "default_max_event")]
    max_event_bytes: usize,
    /// Handed to the plugin as TOML text.
    #[serde(default)]
    config: Option<toml::Table>,
}

fn yes() -> bool {
    true
}

fn default_max_event() -> usize {
    64 * 1024
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConfig {
    pub name: String,
    pub file: PathBuf,
    pub library: PathBuf,
    pub enabled: bool,
    pub max_event_bytes: usize,
    pub config_toml: String,
}

/// Why one file could not be used; reported per instance, the others
/// still load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub name: String,
    pub file: PathBuf,
    pub reason: String,
}

pub fn valid_instance_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Reads every `*.toml` in `dir` (sorted by name, so load order is
/// deterministic).
pub fn read_dir(
    dir: &Path,
    plugin_dir: &Path,
) -> Result<(Vec<InstanceConfig>, Vec<ConfigProblem>), std::io::Error> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    files.sort();
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for f in files {
        let name = f
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string();
        match parse_file(&f, &name, plugin_dir) {
            Ok(c) => ok.push(c),
            Err(reason) => bad.push(ConfigProblem {
                name,
                file: f,
                reason,
            }),
        }
    }
    Ok((ok, bad))
}

pub fn parse_file(f: &Path, name: &str, plugin_dir: &Path) -> Result<InstanceConfig, String> {
    if !valid_instance_name(name) {
        return Err(format!(
            "{}: instance name {name:?} must be 1..64 of a-z, 0-9, '-', '_'",
            f.display()
        ));
    }
    let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
    let parsed: InstanceFile = toml::from_str(&text).map_err(|e| {
        let (line, col) = e
            .span()
            .map(|s| {
                let before = &text[..s.start.min(text.len())];
                (
                    before.matches('\n').count() + 1,
                    before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1,
                )
            })
            .unwrap_or((1, 1));
        format!("{}:{line}:{col}: {}", f.display(), e.message().trim())
    })?;
    let library = match (parsed.plugin, parsed.library) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "{}: set either plugin or library, not both",
                f.display()
            ));
        }
        (None, None) => return Err(format!("{}: missing key plugin", f.display())),
        (Some(p), None) => {
            if !valid_instance_name(&p) {
                return Err(format!("{}: plugin name {p:?} is invalid", f.display()));
            }
            plugin_dir.join(format!("libtocsin_plugin_{}.so", p.replace('-', "_")))
        }
        (None, Some(l)) => {
            if l.is_relative() {
                f.parent().unwrap_or(Path::new(".")).join(l)
            } else {
                l
            }
        }
    };
    if parsed.max_event_bytes == 0 || parsed.max_event_bytes > 16 * 1024 * 1024 {
        return Err(format!(
            "{}: max_event_bytes must be 1..16777216",
            f.display()
        ));
    }
    let config_toml = match parsed.config {
        Some(t) => toml::to_string(&t).map_err(|e| format!("{}: {e}", f.display()))?,
        None => String::new(),
    };
    Ok(InstanceConfig {
        name: name.to_string(),
        file: f.to_path_buf(),
        library,
        enabled: parsed.enabled,
        max_event_bytes: parsed.max_event_bytes,
        config_toml,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reports() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("mail.toml"),
            "plugin = \"mail\"\n[config]\nlisten = \"127.0.0.1:0\"\n",
        )
        .unwrap();
        std::fs::write(d.path().join("bad.toml"), "plugin = \"x\"\nbogus = 1\n").unwrap();
        std::fs::write(d.path().join("Bad Name.toml"), "plugin = \"x\"\n").unwrap();
        std::fs::write(d.path().join("notes.txt"), "ignored").unwrap();
        let (ok, bad) = read_dir(d.path(), Path::new("/usr/lib/tocsin/plugins")).unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(
            ok[0].library,
            Path::new("/usr/lib/tocsin/plugins/libtocsin_plugin_mail.so")
        );
        assert!(ok[0].config_toml.contains("listen = \"127.0.0.1:0\""));
        assert_eq!(bad.len(), 2);
        assert!(
            bad.iter()
                .any(|b| b.reason.contains(":2:") && b.reason.contains("bogus"))
        );
    }
}
