//! Text renderings of the registry for `plugins list` and `plugins info`.

use std::fmt::Write;

use super::ComponentRow;

/// The `plugins list` table, one row per component, reasons listed below it.
pub fn render_table(rows: &[ComponentRow]) -> String {
    let headers = [
        "NAME",
        "KIND",
        "VERSION",
        "ABI",
        "STATUS",
        "SOURCE",
        "CAPABILITIES",
    ];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|row| {
            [
                row.name.clone(),
                row.kind.to_string(),
                row.version.clone(),
                row.abi.clone(),
                row.status.to_string(),
                if row.source.as_os_str().is_empty() {
                    "-".into()
                } else {
                    row.source.display().to_string()
                },
                if row.capabilities.is_empty() {
                    "-".into()
                } else {
                    row.capabilities.join(",")
                },
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for line in &cells {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = String::new();
    let mut push_line = |fields: [&str; 7]| {
        let line: Vec<String> = fields
            .iter()
            .zip(widths)
            .map(|(f, w)| format!("{f:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    };
    push_line(headers);
    for line in &cells {
        push_line(line.each_ref().map(String::as_str));
    }
    if rows.iter().all(|row| {
        row.source.as_os_str().is_empty()
            || row.source == std::path::Path::new(crate::builtin::SOURCE)
    }) {
        let _ = writeln!(
            out,
            "(no plugins found; use --plugins DIR or set DL_DRIVER_PLUGIN_PATH)"
        );
    }
    for row in rows.iter().filter(|row| row.reason.is_some()) {
        let _ = writeln!(
            out,
            "{} ({}): {}",
            if row.source.as_os_str().is_empty() {
                row.name.clone()
            } else {
                row.source.display().to_string()
            },
            row.status,
            row.reason.as_deref().unwrap_or("")
        );
    }
    out
}

/// `plugins info NAME`: description, source and accepted options.
pub fn render_info(row: &ComponentRow) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({} {}, plugin ABI {})",
        row.name, row.kind, row.version, row.abi
    );
    if !row.description.is_empty() {
        let _ = writeln!(out, "  {}", row.description);
    }
    let _ = writeln!(out, "  source:       {}", row.source.display());
    let _ = writeln!(out, "  status:       {}", row.status);
    if let Some(reason) = &row.reason {
        let _ = writeln!(out, "  reason:       {reason}");
    }
    if !row.extension.is_empty() {
        let _ = writeln!(out, "  extension:    .{}", row.extension);
    }
    let _ = writeln!(out, "  capabilities: {}", row.capabilities.join(", "));
    let options = row.options.as_array().cloned().unwrap_or_default();
    if options.is_empty() {
        let _ = writeln!(out, "  options:      none");
    } else {
        let _ = writeln!(out, "  options:");
        for option in options {
            let text = |key: &str| {
                option
                    .get(key)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string()
            };
            let default = match option.get("default") {
                Some(serde_json::Value::String(d)) => format!(" (default {d})"),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "    {} <{}>{}: {}",
                text("name"),
                text("type"),
                default,
                text("description")
            );
        }
    }
    out
}
