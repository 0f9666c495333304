//! `dl-driver report`: DLIO's postprocessor (`dlio_postprocessor`, reference/dlio-spec.md §5.4).
//!
//! It reads a finished run's output folder and writes `DLIO_<model>_report.txt` beside the
//! other files: overall throughput from `summary.json`, per-rank loading and processing time
//! from every `<rank>_output.json`, the same per epoch and phase with per-step throughput
//! statistics, and `iostat.json`'s device and CPU columns cut into the phases' time windows.
//! Every statistic is `{mean, std, min, median, p90, p99, max}` as in [`stats`].
//!
//! Where DLIO's postprocessor fails on current output this one accepts both forms: the
//! legacy `dataset.record_length` beside `record_length_bytes`, and the legacy single
//! `per_epoch_stats.json` beside `<rank>_per_epoch_stats.json`.
//!
//! Unlike DLIO's, it takes no `-np/-e/-bs/-de/-c` options and does not scan `overrides.yaml`:
//! the rank count is the number of `<rank>_output.json` files, the model, record size and batch
//! sizes come from the composed `config.yaml` (every override already applied), and epochs,
//! evaluation and checkpoints from what the output files recorded.

mod build;
mod exact;
mod inputs;
pub mod iostat;
mod render;
pub mod stats;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

pub use build::{build, per_step_throughput, StepSeries};
pub use inputs::{read, read_json, Inputs, PhaseSteps, RankOutput, RunConfig};
use iostat::IoStats;
use stats::Stats;

/// The report: what the text file shows, and what `--json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The model name (`model.name` of the composed config).
    pub name: String,
    /// The output folder read.
    pub output_folder: String,
    /// The composed config read.
    pub config_file: String,
    /// The report file written.
    pub report_file: String,
    /// Ranks: the number of `<rank>_output.json` files.
    pub num_proc: usize,
    /// Epochs found in the output files.
    pub epochs: usize,
    /// Per-rank training batch.
    pub batch_size: u64,
    /// Per-rank evaluation batch.
    pub batch_size_eval: u64,
    /// Nominal bytes per sample used for MB/s.
    pub record_size: f64,
    /// Start of the first epoch (else the run's start in `summary.json`).
    pub start: Option<String>,
    /// End of the last epoch (else the run's end in `summary.json`).
    pub end: Option<String>,
    /// `end − start`, seconds with 2 decimals.
    pub duration: Option<String>,
    /// Run-wide figures.
    pub overall: Overall,
    /// Per epoch, in epoch order.
    pub per_epoch: Vec<EpochReport>,
    /// Files skipped and oddities found.
    pub notes: Vec<String>,
}

/// Run-wide figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overall {
    /// `summary.metric.train_throughput_samples_per_second` (one value per epoch, all ranks).
    #[serde(rename = "samples/s")]
    pub samples_per_second: Stats,
    /// The same × record size / 2²⁰.
    #[serde(rename = "MB/s")]
    pub mb_per_second: Stats,
    /// Σ of every `load` value (all ranks, epochs and phases, eval included as in DLIO) /
    /// ranks, seconds with 2 decimals.
    pub avg_process_loading_time: String,
    /// The same for `proc`.
    pub avg_process_processing_time: String,
    /// iostat over all phase windows together (DLIO concatenates them), if iostat ran.
    pub iostat: Option<IoStats>,
}

/// One epoch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochReport {
    /// The epoch number as written in the files.
    pub epoch: String,
    /// Epoch start.
    pub start: Option<String>,
    /// Epoch end (after its evaluation, as DLIO records it).
    pub end: Option<String>,
    /// Training duration as recorded (DLIO's epoch duration leaves evaluation out).
    pub duration: Option<String>,
    /// Blocks, evaluation and checkpoints in recorded order.
    pub phases: Vec<PhaseReport>,
}

/// What a phase is, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PhaseKind {
    /// `blockN`: training.
    Block,
    /// `eval` or `evalN`.
    Eval,
    /// `save_ckptN`, `load_ckptN` or the older `ckptN`.
    Checkpoint,
    /// Anything else.
    Other,
}

impl PhaseKind {
    /// DLIO's classification: `block\d+`, `eval\d*`, and checkpoints by `ckpt` in the name.
    pub fn of(name: &str) -> PhaseKind {
        let digits = |rest: &str| rest.chars().all(|c| c.is_ascii_digit());
        if name
            .strip_prefix("block")
            .is_some_and(|r| !r.is_empty() && digits(r))
        {
            PhaseKind::Block
        } else if name.strip_prefix("eval").is_some_and(digits) {
            PhaseKind::Eval
        } else if name.contains("ckpt") {
            PhaseKind::Checkpoint
        } else {
            PhaseKind::Other
        }
    }
}

/// One phase of an epoch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseReport {
    /// Its name in the files (`block1`, `eval`, `save_ckpt1`, …).
    pub phase: String,
    /// Its kind.
    pub kind: PhaseKind,
    /// Start, from the per-epoch stats.
    pub start: Option<String>,
    /// End, from the per-epoch stats.
    pub end: Option<String>,
    /// Duration as recorded (seconds).
    pub duration: Option<String>,
    /// Points in the per-step series (steps every recording rank completed).
    pub steps: Option<usize>,
    /// Σ of this phase's `load` values over ranks / ranks.
    pub avg_process_loading_time: Option<String>,
    /// Σ of this phase's `proc` values over ranks / ranks.
    pub avg_process_processing_time: Option<String>,
    /// Per step i: Σ over ranks of `batch / proc_i` (see [`per_step_throughput`]).
    #[serde(rename = "samples/s")]
    pub samples_per_second: Option<Stats>,
    /// The same in MB/s (× record size / 2²⁰ per rank, then summed).
    #[serde(rename = "MB/s")]
    pub mb_per_second: Option<Stats>,
    /// A checkpoint's recorded throughput (GB/s, GB = 2³⁰ bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throughput_gb_per_second: Option<f64>,
    /// iostat inside `[start, end)`, if iostat ran and the phase has times.
    pub iostat: Option<IoStats>,
}

/// Where the report is read from.
#[derive(Debug, Clone)]
pub struct Options {
    /// The run's output folder.
    pub output_folder: PathBuf,
    /// The Hydra folder inside it (`None`: `dlio_config`, then `.hydra`). An absolute path is
    /// used as is, as DLIO's `os.path.join` does.
    pub hydra_folder: Option<PathBuf>,
}

/// A report built and written.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The statistics.
    pub report: Report,
    /// The text written to [`Generated::path`].
    pub text: String,
    /// The report file.
    pub path: PathBuf,
}

/// `dl-driver report`: builds the report, writes the file, prints the text (or the JSON).
pub fn command(output_folder: &Path, hydra_folder: Option<&Path>, json: bool) -> Result<()> {
    let generated = generate(&Options {
        output_folder: output_folder.to_path_buf(),
        hydra_folder: hydra_folder.map(Path::to_path_buf),
    })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&generated.report)?);
    } else {
        print!("{}", generated.text);
    }
    Ok(())
}

/// Reads the folder, builds the report and writes `DLIO_<name>_report.txt` into the folder
/// through a temporary file renamed into place (a reader never sees half a report).
pub fn generate(options: &Options) -> Result<Generated> {
    let inputs = read(&options.output_folder, options.hydra_folder.as_deref())?;
    let path = inputs.folder.join(report_file_name(&inputs.config.name));
    let report = build(&inputs, &path);
    let text = render::text(&report);
    write_atomically(&path, &text)?;
    Ok(Generated { report, text, path })
}

/// DLIO's file name: `DLIO_<name>_report.txt`, `DLIO_report.txt` without a name. A `/` in the
/// name would point outside the folder, so it becomes `_`.
pub fn report_file_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect();
    if safe.is_empty() {
        "DLIO_report.txt".to_string()
    } else {
        format!("DLIO_{safe}_report.txt")
    }
}

fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("report");
    let partial = path.with_file_name(format!(".{name}.partial"));
    let written = std::fs::write(&partial, text).and_then(|()| std::fs::rename(&partial, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written.with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests;
