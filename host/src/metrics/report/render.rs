//! The text of `DLIO_<name>_report.txt`: run facts, overall figures, each epoch and phase,
//! then the iostat tables. Statistic rows share one column layout so they line up.

use std::fmt::Write;

use super::{
    iostat::{Columns, IoStats},
    stats::Stats,
    PhaseKind, PhaseReport, Report,
};

/// Width of the row labels in statistic tables.
const LABEL: usize = 40;
/// Width of the labels of `label: value` lines.
const PAIR_LABEL: usize = 34;
/// Width of each statistic column.
const COLUMN: usize = 10;

/// The report as text.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let title = format!("dl-driver report for model '{}'", report.name);
    line(&mut out, &title);
    line(&mut out, &"=".repeat(title.chars().count()));
    line(&mut out, "");
    line(
        &mut out,
        "Statistics are mean, sample std, min, median, p90, p99 and max with 2 decimals; a series \
         of fewer than 2 points shows n/a.",
    );
    line(&mut out, "");

    section(&mut out, "Inputs");
    pair(&mut out, 1, "Output folder", &report.output_folder);
    pair(&mut out, 1, "Config", &report.config_file);
    pair(&mut out, 1, "Report file", &report.report_file);
    line(&mut out, "");
    if !report.notes.is_empty() {
        section(&mut out, "Notes");
        for note in &report.notes {
            line(&mut out, &format!("  - {note}"));
        }
        line(&mut out, "");
    }

    section(&mut out, "Run");
    pair(&mut out, 1, "Model", &report.name);
    pair(&mut out, 1, "Ranks", &report.num_proc.to_string());
    pair(&mut out, 1, "Epochs", &report.epochs.to_string());
    let eval = if report
        .per_epoch
        .iter()
        .flat_map(|e| &e.phases)
        .any(|p| p.kind == PhaseKind::Eval)
    {
        format!(" (evaluation: {})", report.batch_size_eval)
    } else {
        String::new()
    };
    pair(
        &mut out,
        1,
        "Batch size per rank",
        &format!("{}{eval}", report.batch_size),
    );
    pair(
        &mut out,
        1,
        "Record size (bytes)",
        &report.record_size.to_string(),
    );
    pair(&mut out, 1, "Started", opt(&report.start));
    pair(&mut out, 1, "Ended", opt(&report.end));
    pair(&mut out, 1, "Duration (s)", opt(&report.duration));
    line(&mut out, "");

    section(&mut out, "Overall");
    let overall = &report.overall;
    pair(
        &mut out,
        1,
        "Loading time per rank (s)",
        &overall.avg_process_loading_time,
    );
    pair(
        &mut out,
        1,
        "Processing time per rank (s)",
        &overall.avg_process_processing_time,
    );
    header(&mut out, 1);
    row(
        &mut out,
        1,
        "Samples/s (one value per epoch)",
        &overall.samples_per_second,
    );
    row(&mut out, 1, "MB/s (from samples/s)", &overall.mb_per_second);
    line(&mut out, "");

    for epoch in &report.per_epoch {
        section(&mut out, &format!("Epoch {}", epoch.epoch));
        pair(&mut out, 1, "Started", opt(&epoch.start));
        pair(&mut out, 1, "Ended", opt(&epoch.end));
        pair(&mut out, 1, "Training duration (s)", opt(&epoch.duration));
        for phase in &epoch.phases {
            line(&mut out, "");
            phase_lines(&mut out, phase);
        }
        line(&mut out, "");
    }

    let has_iostat = overall.iostat.is_some();
    if has_iostat {
        section(&mut out, "I/O and CPU from iostat (one sample a second)");
        if let Some(io) = &overall.iostat {
            line(
                &mut out,
                &format!("  All phases together ({})", samples(io.samples)),
            );
            iostat_tables(&mut out, io);
        }
        for epoch in &report.per_epoch {
            for phase in &epoch.phases {
                if let Some(io) = &phase.iostat {
                    line(&mut out, "");
                    line(
                        &mut out,
                        &format!(
                            "  Epoch {} {}: {} to {} ({})",
                            epoch.epoch,
                            phase.phase,
                            opt(&phase.start),
                            opt(&phase.end),
                            samples(io.samples)
                        ),
                    );
                    iostat_tables(&mut out, io);
                }
            }
        }
    }
    out
}

fn phase_lines(out: &mut String, phase: &PhaseReport) {
    let what = match phase.kind {
        PhaseKind::Block => "training",
        PhaseKind::Eval => "evaluation",
        PhaseKind::Checkpoint => "checkpoint",
        PhaseKind::Other => "phase",
    };
    line(out, &format!("  {} ({what})", phase.phase));
    pair(out, 2, "Started", opt(&phase.start));
    pair(out, 2, "Ended", opt(&phase.end));
    pair(out, 2, "Duration (s)", opt(&phase.duration));
    if let Some(gb) = phase.throughput_gb_per_second {
        pair(out, 2, "Throughput (GB/s)", &format!("{gb:.4}"));
    }
    if let Some(steps) = phase.steps {
        pair(out, 2, "Steps", &steps.to_string());
    }
    if let Some(load) = &phase.avg_process_loading_time {
        pair(out, 2, "Loading time per rank (s)", load);
    }
    if let Some(proc) = &phase.avg_process_processing_time {
        pair(out, 2, "Processing time per rank (s)", proc);
    }
    if let (Some(samples), Some(mb)) = (&phase.samples_per_second, &phase.mb_per_second) {
        header(out, 2);
        row(out, 2, "Samples/s (per step, all ranks)", samples);
        row(out, 2, "MB/s (per step, all ranks)", mb);
    }
}

fn iostat_tables(out: &mut String, io: &IoStats) {
    // Every field of every row would read n/a: one line says so instead.
    if io.samples < 2 {
        line(out, "    too few samples for statistics");
        return;
    }
    header(out, 2);
    for (device, columns) in &io.disk.0 {
        line(out, &format!("    Device {device}"));
        column_rows(out, columns);
    }
    line(out, "    CPU (%)");
    column_rows(out, &io.cpu);
}

fn column_rows(out: &mut String, columns: &Columns) {
    for (name, stats) in &columns.0 {
        row(out, 3, name, stats);
    }
}

fn samples(count: usize) -> String {
    match count {
        1 => "1 sample".to_string(),
        n => format!("{n} samples"),
    }
}

fn section(out: &mut String, title: &str) {
    line(out, title);
}

fn pair(out: &mut String, depth: usize, label: &str, value: &str) {
    let indent = "  ".repeat(depth);
    // Values start in one column whatever the depth.
    let width = PAIR_LABEL - indent.len();
    line(
        out,
        &format!("{indent}{:<width$} {value}", format!("{label}:")),
    );
}

fn header(out: &mut String, depth: usize) {
    let indent = "  ".repeat(depth);
    let mut text = format!("{indent}{:<width$}", "", width = LABEL - indent.len());
    for name in Stats::COLUMNS {
        let _ = write!(text, "{name:>COLUMN$}");
    }
    line(out, &text);
}

fn row(out: &mut String, depth: usize, label: &str, stats: &Stats) {
    let indent = "  ".repeat(depth);
    let mut text = format!("{indent}{label:<width$}", width = LABEL - indent.len());
    for field in stats.fields() {
        let _ = write!(text, "{field:>COLUMN$}");
    }
    line(out, &text);
}

fn opt(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("unknown")
}

fn line(out: &mut String, text: &str) {
    out.push_str(text.trim_end());
    out.push('\n');
}
