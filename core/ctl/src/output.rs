//! Shared bits of human and JSON output.

use crate::CtlError;

pub fn print_json(v: &serde_json::Value) -> Result<(), CtlError> {
    let s = serde_json::to_string_pretty(v).map_err(|e| CtlError::Failed(e.to_string()))?;
    println!("{s}");
    Ok(())
}

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Cuts on a char boundary and marks the cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
