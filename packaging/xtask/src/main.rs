//! `tocsin-xtask`: renders the man pages and shell completions that the
//! Debian package ships, from the same clap definitions the binaries parse
//! (`tocsind::cli::Args`, `tocsinctl::cli::Cli`), so they never drift.
//!
//! ```text
//! tocsin-xtask assets --out DIR [--date YYYY-MM-DD] [--help-page NAME=BINARY]...
//! ```
//!
//! writes
//!
//! ```text
//! DIR/man/tocsind.8  DIR/man/tocsinctl.1  DIR/man/tocsinctl-<sub>[-<sub>].1 ...
//! DIR/completions/bash/{tocsind,tocsinctl}
//! DIR/completions/zsh/{_tocsind,_tocsinctl}
//! DIR/completions/fish/{tocsind,tocsinctl}.fish
//! ```
//!
//! `--help-page NAME=BINARY` covers a program whose clap type is not
//! exported by a library (today: `tocsin-send`): its page is built from the
//! `--help` text clap prints, so the package still has a man page for it.
//! See docs/packaging.md.

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "tocsin-xtask",
    about = "Build helper for the tocsin Debian package"
)]
struct Xtask {
    #[command(subcommand)]
    command: XtaskCommand,
}

#[derive(Debug, Subcommand)]
enum XtaskCommand {
    /// Render man pages and shell completions into DIR
    Assets {
        /// Output directory (created; existing files are overwritten)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Date printed in the man pages' footer (the changelog's date,
        /// so that builds are reproducible)
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
        /// A section-1 page for a program whose clap type is not exported:
        /// rendered from `BINARY --help`
        #[arg(long = "help-page", value_name = "NAME=BINARY")]
        help_pages: Vec<String>,
    },
}

/// Footer of every page: "tocsin <version>".
const MANUAL: &str = "tocsin manual";

fn main() -> ExitCode {
    let xtask = Xtask::parse();
    let result = match xtask.command {
        XtaskCommand::Assets {
            out,
            date,
            help_pages,
        } => assets(&out, date.as_deref().unwrap_or(""), &help_pages),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tocsin-xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn assets(out: &Path, date: &str, help_pages: &[String]) -> Result<(), String> {
    let man = out.join("man");
    mkdir(&man)?;

    // `tocsind::cli::Args` sets `long_about = None` (its --help stays one
    // line); the page gets the paragraph a daemon's man page needs.
    let tocsind = tocsind::cli::Args::command().long_about(TOCSIND_DESCRIPTION);
    write_page(&man, tocsind.clone(), "8", date, TOCSIND_EXTRA)?;

    let tocsinctl = tocsinctl::cli::Cli::command();
    write_pages_recursively(&man, tocsinctl.clone(), date)?;

    for spec in help_pages {
        let (name, binary) = spec
            .split_once('=')
            .ok_or_else(|| format!("--help-page {spec:?}: expected NAME=BINARY"))?;
        let page = help_page(name, Path::new(binary), date)?;
        write_file(&man.join(format!("{name}.1")), page.as_bytes())?;
    }

    for (shell, dir, file) in [
        (Shell::Bash, "bash", "{}"),
        (Shell::Zsh, "zsh", "_{}"),
        (Shell::Fish, "fish", "{}.fish"),
    ] {
        let dir = out.join("completions").join(dir);
        mkdir(&dir)?;
        for cmd in [tocsind.clone(), tocsinctl.clone()] {
            let name = cmd.get_name().to_string();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd.clone(), &name, &mut buf);
            write_file(&dir.join(file.replace("{}", &name)), &buf)?;
        }
    }
    Ok(())
}

/// The top page plus one page per (nested) subcommand, named
/// `tocsinctl-events-list.1` etc., as `git` and `clap_mangen::generate_to`
/// do. The top page gets the FILES/EXIT STATUS/SEE ALSO sections.
fn write_pages_recursively(dir: &Path, cmd: clap::Command, date: &str) -> Result<(), String> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let extra = if cmd.get_name() == "tocsinctl" {
        TOCSINCTL_EXTRA
    } else {
        SUBCOMMAND_EXTRA
    };
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages_recursively(dir, sub.clone(), date)?;
    }
    write_page(dir, cmd, "1", date, extra)
}

fn write_page(
    dir: &Path,
    cmd: clap::Command,
    section: &str,
    date: &str,
    extra: &str,
) -> Result<(), String> {
    let version = cmd.get_version().unwrap_or_default().to_string();
    let man = clap_mangen::Man::new(cmd)
        .section(section)
        .date(date)
        .source(format!("tocsin {version}"))
        .manual(MANUAL);
    let mut buf = Vec::new();
    man.render(&mut buf)
        .map_err(|e| format!("rendering {}: {e}", man.get_filename()))?;
    buf.extend_from_slice(extra.as_bytes());
    write_file(&dir.join(man.get_filename()), &buf)
}

/// A page for a program we can only run: NAME from the first line of its
/// `--help`, the whole help text verbatim as DESCRIPTION.
fn help_page(name: &str, binary: &Path, date: &str) -> Result<String, String> {
    let output = std::process::Command::new(binary)
        .arg("--help")
        .env("NO_COLOR", "1")
        .env("COLUMNS", "78")
        .output()
        .map_err(|e| format!("running {} --help: {e}", binary.display()))?;
    let help = String::from_utf8_lossy(&output.stdout).into_owned();
    let summary = help
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("part of the tocsin notification appliance")
        .trim_end_matches('.');
    let version = std::process::Command::new(binary)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .and_then(|v| v.split_whitespace().last().map(str::to_string))
        .unwrap_or_default();
    let mut page = String::new();
    let _ = writeln!(
        page,
        ".TH {} 1 \"{}\" \"tocsin {}\" \"{}\"",
        name.replace('-', "\\-"),
        date,
        version,
        MANUAL
    );
    let _ = writeln!(page, ".SH NAME");
    let _ = writeln!(page, "{} \\- {}", roff_escape(name), roff_escape(summary));
    let _ = writeln!(page, ".SH DESCRIPTION");
    let _ = writeln!(
        page,
        "The text \\fB{} \\-\\-help\\fR prints:",
        roff_escape(name)
    );
    let _ = writeln!(page, ".PP\n.nf");
    for line in help.lines() {
        let _ = writeln!(page, "{}", roff_escape(line));
    }
    let _ = writeln!(page, ".fi");
    page.push_str(SUBCOMMAND_EXTRA);
    Ok(page)
}

/// Escapes text for a roff body line: backslashes, minus signs, and a
/// leading control character.
fn roff_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    if s.starts_with('.') || s.starts_with('\'') {
        out.push_str("\\&");
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            c => out.push(c),
        }
    }
    out
}

fn mkdir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut f =
        std::fs::File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.flush())
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

const TOCSIND_DESCRIPTION: &str = "The tocsin notification daemon. It takes events from \
mail, voicemail and calendar servers (source plugins and the S2S pipeline), stores every \
accepted event durably in SQLite before acknowledging it, works out who should hear about \
it, and delivers notifications over instant messaging (delivery plugins).

It is normally run by systemd as tocsin.service (Type=notify, user tocsin) and administered \
with tocsinctl(1) over its admin socket.";

const TOCSIND_EXTRA: &str = r#".SH FILES
.TP
\fI/etc/tocsin/tocsin.toml\fR
The configuration file (\fBtocsinctl config check\fR validates it).
.TP
\fI/etc/tocsin/plugins.d/*.toml\fR
One file per plugin instance.
.TP
\fI/usr/lib/tocsin/plugins/\fR
Plugin shared objects.
.TP
\fI/var/lib/tocsin/tocsin.db\fR
The SQLite database (with its \fI\-wal\fR and \fI\-shm\fR files).
.TP
\fI/run/tocsin/admin.sock\fR
The admin socket \fBtocsinctl\fR(1) talks to.
.SH SIGNALS
\fBSIGTERM\fR and \fBSIGINT\fR shut down gracefully: the current batch is
committed, pending requests are answered and the WAL is checkpointed.
\fBSIGHUP\fR re\-reads the configuration file.
.SH NOTES
Under systemd (\fItocsin.service\fR, \fBType=notify\fR) the daemon reports
READY=1 once the store is open and the admin socket is bound, STOPPING=1 on
shutdown, and WATCHDOG=1 at half of \fBWatchdogSec=\fR.
.SH SEE ALSO
\fBtocsinctl\fR(1), \fBsystemctl\fR(1), \fBsystemd.service\fR(5)
"#;

const TOCSINCTL_EXTRA: &str = r#".SH ENVIRONMENT
.TP
\fBTOCSIN_SOCKET\fR
The admin socket, unless \fB\-\-socket\fR is given.
.SH FILES
.TP
\fI/etc/tocsin/tocsin.toml\fR
Names the admin socket when neither \fB\-\-socket\fR, \fBTOCSIN_SOCKET\fR
nor \fB\-\-config\fR does.
.TP
\fI/run/tocsin/admin.sock\fR
The default admin socket. Root, the daemon's user and members of the group
named by \fBadmin.group\fR (\fBtocsin\fR in the shipped file) may use it.
.SH SEE ALSO
\fBtocsind\fR(8)
"#;

const SUBCOMMAND_EXTRA: &str = r#".SH SEE ALSO
\fBtocsinctl\fR(1), \fBtocsind\fR(8)
"#;
