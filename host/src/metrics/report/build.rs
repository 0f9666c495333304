//! Building the [`Report`] from what [`read`](super::read) found: DLIO's postprocessor
//! arithmetic over the ranks' step timings, the phase times and the iostat trace.

use std::path::Path;

use serde_json::Value;

use super::{
    inputs::{Inputs, PhaseSteps, RankOutput},
    iostat::{parse_phase_time, Collected, Trace},
    stats::{fixed2, Stats},
    EpochReport, Overall, PhaseKind, PhaseReport, Report,
};

/// Builds the report from what [`read`](super::read) found; `report_file` is only named in it.
pub fn build(inputs: &Inputs, report_file: &Path) -> Report {
    let mut notes = inputs.notes.clone();
    let config = &inputs.config;
    let num_proc = inputs.ranks.len();
    let trace = inputs
        .iostat
        .as_ref()
        .and_then(|value| Trace::parse(value, &mut notes));
    let mut io_overall = trace.as_ref().map(Collected::empty);
    let epoch_stats = inputs.epoch_stats.as_ref().and_then(Value::as_object);
    if trace.is_some() && epoch_stats.is_none() {
        notes.push("iostat.json is not split by phase: there are no phase times".into());
    }

    let mut per_epoch = Vec::new();
    for epoch in epoch_keys(inputs) {
        let times = epoch_stats.and_then(|s| s.get(&epoch));
        let text = |key: &str| times.and_then(|t| t.get(key)).and_then(value_text);
        let mut phases = Vec::new();
        for phase in phase_names(inputs, &epoch, times) {
            let entry = times.and_then(|t| t.get(&phase)).filter(|v| v.is_object());
            let field = |key: &str| entry.and_then(|e| e.get(key)).and_then(value_text);
            let kind = PhaseKind::of(&phase);
            let recorded: Vec<&PhaseSteps> = inputs
                .ranks
                .iter()
                .filter_map(|rank| rank_phase(rank, &epoch, &phase))
                .collect();
            let mut report = PhaseReport {
                phase: phase.clone(),
                kind,
                start: field("start"),
                end: field("end"),
                duration: field("duration"),
                steps: None,
                avg_process_loading_time: None,
                avg_process_processing_time: None,
                samples_per_second: None,
                mb_per_second: None,
                throughput_gb_per_second: entry
                    .and_then(|e| e.get("throughput"))
                    .and_then(Value::as_f64),
                iostat: None,
            };
            if !recorded.is_empty() {
                let per_rank = |f: fn(&PhaseSteps) -> &Vec<f64>| {
                    fixed2(naive_sum(recorded.iter().flat_map(|s| f(s).iter())) / num_proc as f64)
                };
                report.avg_process_loading_time = Some(per_rank(|s| &s.load));
                report.avg_process_processing_time = Some(per_rank(|s| &s.proc));
                let batch = if kind == PhaseKind::Eval {
                    config.batch_size_eval
                } else {
                    config.batch_size
                };
                let series = per_step_throughput(&recorded, batch, config.record_size);
                if recorded.len() < num_proc {
                    notes.push(format!(
                        "epoch {epoch} {phase}: recorded by {} of {num_proc} ranks; its per-step sums \
                         cover those ranks only",
                        recorded.len()
                    ));
                }
                if series.shortest < series.longest {
                    notes.push(format!(
                        "epoch {epoch} {phase}: ranks recorded {}..{} steps; per-step sums cover the \
                         first {} steps",
                        series.shortest, series.longest, series.shortest
                    ));
                }
                if series.dropped > 0 {
                    notes.push(format!(
                        "epoch {epoch} {phase}: {} steps with a processing time of 0 s were left out \
                         of samples/s",
                        series.dropped
                    ));
                }
                report.steps = Some(series.samples.len());
                report.samples_per_second = Some(Stats::of(&series.samples));
                report.mb_per_second = Some(Stats::of(&series.mb));
            }
            if let (Some(trace), Some(overall)) = (&trace, &mut io_overall) {
                let window = report
                    .start
                    .as_deref()
                    .and_then(parse_phase_time)
                    .zip(report.end.as_deref().and_then(parse_phase_time));
                if let Some((start, end)) = window {
                    let collected = trace.collect(start, end);
                    overall.extend(&collected);
                    report.iostat = Some(collected.stats(trace));
                }
            }
            phases.push(report);
        }
        per_epoch.push(EpochReport {
            epoch,
            start: text("start"),
            end: text("end"),
            duration: text("duration"),
            phases,
        });
    }

    let overall = overall(inputs, &mut notes, io_overall, trace.as_ref());
    let summary_text = |key: &str| inputs.summary.get(key).and_then(value_text);
    let start = per_epoch
        .first()
        .and_then(|e| e.start.clone())
        .or_else(|| summary_text("start"));
    let end = per_epoch
        .last()
        .and_then(|e| e.end.clone())
        .or_else(|| summary_text("end"));
    let duration = start
        .as_deref()
        .and_then(parse_phase_time)
        .zip(end.as_deref().and_then(parse_phase_time))
        .and_then(|(s, e)| (e - s).to_std().ok())
        .map(|d| fixed2(d.as_secs_f64()));
    Report {
        name: config.name.clone(),
        output_folder: inputs.folder.display().to_string(),
        config_file: inputs.config_path.display().to_string(),
        report_file: report_file.display().to_string(),
        num_proc,
        epochs: per_epoch.len(),
        batch_size: config.batch_size,
        batch_size_eval: config.batch_size_eval,
        record_size: config.record_size,
        start,
        end,
        duration,
        overall,
        per_epoch,
        notes,
    }
}

fn overall(
    inputs: &Inputs,
    notes: &mut Vec<String>,
    io: Option<Collected>,
    trace: Option<&Trace>,
) -> Overall {
    let metric = inputs.summary.get("metric");
    // `train_throughput` is the key of the oldest summary.json DLIO's tests carry.
    let throughput: Option<Vec<f64>> = ["train_throughput_samples_per_second", "train_throughput"]
        .iter()
        .find_map(|key| metric.and_then(|m| m.get(key)).and_then(Value::as_array))
        .map(|list| list.iter().filter_map(Value::as_f64).collect());
    let throughput = throughput.unwrap_or_else(|| {
        notes.push(
            "summary.json has no metric.train_throughput_samples_per_second (no training?): overall \
             samples/s are n/a"
                .into(),
        );
        Vec::new()
    });
    let record_size = inputs.config.record_size;
    let mb: Vec<f64> = throughput
        .iter()
        .map(|v| v * record_size / 1024.0 / 1024.0)
        .collect();
    let all_steps = || {
        inputs
            .ranks
            .iter()
            .flat_map(|r| r.epochs.iter())
            .flat_map(|(_, phases)| phases.iter().map(|(_, steps)| steps))
    };
    let ranks = inputs.ranks.len().max(1) as f64;
    Overall {
        samples_per_second: Stats::of(&throughput),
        mb_per_second: Stats::of(&mb),
        avg_process_loading_time: fixed2(naive_sum(all_steps().flat_map(|s| &s.load)) / ranks),
        avg_process_processing_time: fixed2(naive_sum(all_steps().flat_map(|s| &s.proc)) / ranks),
        iostat: io.zip(trace).map(|(io, trace)| io.stats(trace)),
    }
}

/// Per-step throughput of one phase summed across ranks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepSeries {
    /// Samples/s of each step, summed over ranks.
    pub samples: Vec<f64>,
    /// MB/s of each step, summed over ranks.
    pub mb: Vec<f64>,
    /// Fewest steps a rank recorded.
    pub shortest: usize,
    /// Most steps a rank recorded.
    pub longest: usize,
    /// Steps left out because a rank's processing time was 0.
    pub dropped: usize,
}

/// DLIO's per-phase throughput series: each rank's step i contributes `batch / proc_i`
/// samples/s (and that × record size / 2²⁰ MB/s), and step i of the series is the sum over
/// ranks, in rank order — the step-by-step sum DLIO's `get_stats(num_procs=P)` makes of the
/// concatenated per-rank lists. Where ranks recorded different step counts DLIO's fold
/// misaligns; here only the steps every recording rank completed are summed. A step with a
/// processing time of 0 (DLIO would divide by zero) is left out.
pub fn per_step_throughput(ranks: &[&PhaseSteps], batch: u64, record_size: f64) -> StepSeries {
    let shortest = ranks.iter().map(|s| s.proc.len()).min().unwrap_or(0);
    let longest = ranks.iter().map(|s| s.proc.len()).max().unwrap_or(0);
    let mut series = StepSeries {
        shortest,
        longest,
        ..StepSeries::default()
    };
    for step in 0..shortest {
        let mut samples = 0.0;
        let mut mb = 0.0;
        for rank in ranks {
            let rate = batch as f64 / rank.proc[step];
            samples += rate;
            mb += rate * record_size / 1024.0 / 1024.0;
        }
        if samples.is_finite() {
            series.samples.push(samples);
            series.mb.push(mb);
        } else {
            series.dropped += 1;
        }
    }
    series
}

/// Left-to-right addition, as Python's `sum()` of a list (3.11) adds.
fn naive_sum<'a>(values: impl Iterator<Item = &'a f64>) -> f64 {
    values.fold(0.0, |acc, v| acc + v)
}

/// Epoch keys in the output files and the per-epoch stats, in numeric order.
fn epoch_keys(inputs: &Inputs) -> Vec<String> {
    let mut keys: Vec<(u64, String)> = Vec::new();
    let from_stats = inputs
        .epoch_stats
        .as_ref()
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|s| s.keys());
    let from_ranks = inputs
        .ranks
        .iter()
        .flat_map(|r| r.epochs.iter().map(|(k, _)| k));
    for key in from_stats.chain(from_ranks) {
        if let Ok(number) = key.parse::<u64>() {
            if !keys.iter().any(|(_, k)| k == key) {
                keys.push((number, key.clone()));
            }
        }
    }
    keys.sort();
    keys.into_iter().map(|(_, k)| k).collect()
}

/// Phases of `epoch`: those with times in recorded order, then any only the output files
/// know (in the order the ranks list them).
fn phase_names(inputs: &Inputs, epoch: &str, times: Option<&Value>) -> Vec<String> {
    let mut names: Vec<String> = times
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, v)| v.is_object())
        .map(|(k, _)| k.clone())
        .collect();
    for rank in &inputs.ranks {
        for (_, phases) in rank.epochs.iter().filter(|(k, _)| k == epoch) {
            for (name, _) in phases {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
    }
    names
}

fn rank_phase<'a>(rank: &'a RankOutput, epoch: &str, phase: &str) -> Option<&'a PhaseSteps> {
    rank.epochs
        .iter()
        .find(|(k, _)| k == epoch)?
        .1
        .iter()
        .find(|(name, _)| name == phase)
        .map(|(_, steps)| steps)
}

/// A recorded scalar as text: strings as written (DLIO's durations are `"0.80"`), numbers in
/// their JSON spelling.
fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
