//! The output files DLIO writes (reference/dlio-spec.md §5.3): `summary.json` on rank 0,
//! `<rank>_output.json` and `<rank>_per_epoch_stats.json` on every rank, and the `[METRIC]`
//! block on the console. Keys keep DLIO's names and order.

use std::path::Path;

use chrono::{DateTime, Local};
use serde_json::{json, Map, Value};

use super::{host::HostFacts, mean_stdev};
use crate::{
    comm::{HostRow, World},
    config::Workload,
    engine::TrainingReport,
};

/// DLIO's timestamp format (local time, microseconds).
pub fn timestamp(at: &DateTime<Local>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// Run-wide metrics after the cross-rank reduction: AU averaged, throughput summed.
#[derive(Debug, Clone, Default)]
pub struct RunMetrics {
    /// Per-epoch training AU (%).
    pub train_au: Vec<f64>,
    /// Per-epoch training throughput (samples/s, all ranks).
    pub train_throughput: Vec<f64>,
    /// Per-eval-pass AU (%).
    pub eval_au: Vec<f64>,
    /// Per-eval-pass throughput (samples/s, all ranks).
    pub eval_throughput: Vec<f64>,
}

/// Reduces this rank's per-epoch values over all ranks (every rank must call it).
pub fn reduce(report: &TrainingReport, world: &dyn World) -> RunMetrics {
    let ranks = world.size().max(1) as f64;
    let reduce = |values: Vec<f64>, average: bool| {
        let mut values = values;
        world.all_reduce_sum(&mut values);
        if average {
            values.iter_mut().for_each(|v| *v /= ranks);
        }
        values
    };
    let evals: Vec<_> = report
        .epochs
        .iter()
        .filter_map(|e| e.eval.as_ref())
        .collect();
    RunMetrics {
        train_au: reduce(
            report.epochs.iter().map(|e| e.metrics.au_percent).collect(),
            true,
        ),
        train_throughput: reduce(
            report.epochs.iter().map(|e| e.metrics.throughput).collect(),
            false,
        ),
        eval_au: reduce(evals.iter().map(|e| e.metrics.au_percent).collect(), true),
        eval_throughput: reduce(evals.iter().map(|e| e.metrics.throughput).collect(), false),
    }
}

fn phase_metrics(
    prefix: &str,
    au: &[f64],
    throughput: &[f64],
    record_bytes: f64,
    au_target: f64,
) -> Map<String, Value> {
    let (au_mean, au_sd) = mean_stdev(au);
    let (tp_mean, tp_sd) = mean_stdev(throughput);
    let mb = |samples: f64| samples * record_bytes / (1u64 << 20) as f64;
    let mut m = Map::new();
    m.insert(format!("{prefix}_au_percentage"), json!(au));
    m.insert(format!("{prefix}_au_mean_percentage"), json!(au_mean));
    m.insert(
        format!("{prefix}_au_meet_expectation"),
        json!(if au_mean >= 100.0 * au_target {
            "success"
        } else {
            "fail"
        }),
    );
    m.insert(format!("{prefix}_au_stdev_percentage"), json!(au_sd));
    m.insert(
        format!("{prefix}_throughput_samples_per_second"),
        json!(throughput),
    );
    m.insert(
        format!("{prefix}_throughput_mean_samples_per_second"),
        json!(tp_mean),
    );
    m.insert(
        format!("{prefix}_throughput_stdev_samples_per_second"),
        json!(tp_sd),
    );
    m.insert(
        format!("{prefix}_io_mean_MB_per_second"),
        json!(mb(tp_mean)),
    );
    m.insert(format!("{prefix}_io_stdev_MB_per_second"), json!(mb(tp_sd)));
    m
}

/// The `metric` object of `summary.json`: training (and evaluation) keys when the run
/// trained, then the checkpoint keys when it checkpointed; a checkpoint-only run has only
/// the checkpoint keys.
pub fn metric_object(
    metrics: &RunMetrics,
    workload: &Workload,
    evaluation: bool,
    checkpoints: Option<&CheckpointMetrics>,
) -> Map<String, Value> {
    let record = workload.dataset.record_length_bytes;
    let mut m = Map::new();
    if workload.workflow.train {
        m.extend(phase_metrics(
            "train",
            &metrics.train_au,
            &metrics.train_throughput,
            record,
            workload.metric.au,
        ));
        if evaluation {
            m.extend(phase_metrics(
                "eval",
                &metrics.eval_au,
                &metrics.eval_throughput,
                record,
                workload.metric.au,
            ));
        }
    }
    if let Some(checkpoints) = checkpoints {
        m.extend(checkpoints.to_map());
    }
    m
}

/// Checkpoint durations and throughputs of rank 0 (DLIO reports rank 0's own timings, over
/// the whole job's checkpoint size).
#[derive(Debug, Clone, Default)]
pub struct CheckpointMetrics {
    /// Seconds of each save.
    pub save_seconds: Vec<f64>,
    /// GiB/s of each save.
    pub save_throughput: Vec<f64>,
    /// Seconds of each load.
    pub load_seconds: Vec<f64>,
    /// GiB/s of each load.
    pub load_throughput: Vec<f64>,
    /// The whole job's checkpoint size in GiB.
    pub size_gib: f64,
}

impl CheckpointMetrics {
    /// From this rank's records and the plan's reported size.
    pub fn new<'a>(
        records: impl Iterator<Item = &'a crate::engine::CheckpointRecord>,
        size_gib: f64,
    ) -> Self {
        let mut metrics = CheckpointMetrics {
            size_gib,
            ..Default::default()
        };
        for record in records {
            let (seconds, throughput) = if record.save {
                (&mut metrics.save_seconds, &mut metrics.save_throughput)
            } else {
                (&mut metrics.load_seconds, &mut metrics.load_throughput)
            };
            seconds.push(record.seconds);
            throughput.push(record.gib_per_second);
        }
        metrics
    }

    fn to_map(&self) -> Map<String, Value> {
        let mut m = Map::new();
        let mut put = |prefix: &str, seconds: &[f64], throughput: &[f64]| {
            let (io_mean, io_sd) = mean_stdev(throughput);
            let (dur_mean, dur_sd) = mean_stdev(seconds);
            m.insert(
                format!("{prefix}_checkpoint_io_mean_GB_per_second"),
                json!(io_mean),
            );
            m.insert(
                format!("{prefix}_checkpoint_io_stdev_GB_per_second"),
                json!(io_sd),
            );
            m.insert(
                format!("{prefix}_checkpoint_duration_mean_seconds"),
                json!(dur_mean),
            );
            m.insert(
                format!("{prefix}_checkpoint_duration_stdev_seconds"),
                json!(dur_sd),
            );
        };
        put("save", &self.save_seconds, &self.save_throughput);
        if !self.load_seconds.is_empty() {
            put("load", &self.load_seconds, &self.load_throughput);
        }
        m.insert("checkpoint_size_GB".into(), json!(self.size_gib));
        m
    }
}

/// Writes `summary.json` (rank 0).
pub fn write_summary(
    dir: &Path,
    run: &RunFacts,
    metric: &Map<String, Value>,
) -> std::io::Result<()> {
    let dataset = &run.workload.dataset;
    // Lists have one entry per host; with uneven ranks per host, each host caches what its
    // own ranks read, and the reported size is the largest host's.
    let per_host: Vec<f64> = run
        .hosts
        .iter()
        .map(|h| run.data_bytes_per_rank() * h.ranks as f64)
        .collect();
    let summary = json!({
        "start": timestamp(&run.start),
        "num_accelerators": run.ranks,
        "num_hosts": run.hosts.len(),
        "hostname": hostname(),
        "metric": metric,
        "num_files_train": dataset.num_files_train,
        "num_files_eval": dataset.num_files_eval,
        "num_samples_per_file": dataset.num_samples_per_file,
        "host_cpu_count": run.hosts.iter().map(|h| h.cpu_count).collect::<Vec<_>>(),
        "host_processor_name": run.host.processor_name,
        "potential_caching": run.hosts.iter().zip(&per_host)
            .map(|(h, bytes)| super::host::potential_caching(h.memory_gib, *bytes))
            .collect::<Vec<_>>(),
        "host_cpuinfo": run.host.cpuinfo,
        "host_meminfo": run.host.meminfo,
        "host_memory_GB": run.hosts.iter().map(|h| h.memory_gib).collect::<Vec<_>>(),
        "data_size_per_host_GB": per_host.iter().copied().fold(0.0, f64::max) / (1u64 << 30) as f64,
        "epochs": run.epochs,
        "end": timestamp(&run.end),
    });
    write_json(&dir.join("summary.json"), &summary)
}

/// What `summary.json` and the per-rank files say about the run besides its metrics.
pub struct RunFacts<'a> {
    /// The workload.
    pub workload: &'a Workload,
    /// Number of ranks.
    pub ranks: u64,
    /// Epochs recorded.
    pub epochs: u64,
    /// Wall-clock start.
    pub start: DateTime<Local>,
    /// Wall-clock end.
    pub end: DateTime<Local>,
    /// This machine.
    pub host: &'a HostFacts,
    /// Every host of the job.
    pub hosts: Vec<HostRow>,
}

impl RunFacts<'_> {
    /// The training bytes one rank owns: its share of the samples × the nominal sample size
    /// (DLIO's `data_size_per_host_GB` is this × the ranks of a host).
    pub fn data_bytes_per_rank(&self) -> f64 {
        let dataset = &self.workload.dataset;
        let samples = dataset.num_samples_per_file * dataset.num_files_train;
        (samples / self.ranks.max(1)) as f64 * dataset.record_length_bytes
    }

    /// The training bytes the ranks of the most loaded host own (every host, when even).
    pub fn data_bytes_per_host(&self) -> f64 {
        let on_this_host = self.hosts.iter().map(|h| h.ranks).max().unwrap_or(1);
        self.data_bytes_per_rank() * on_this_host as f64
    }
}

/// Writes `<rank>_output.json` and `<rank>_per_epoch_stats.json`.
pub fn write_rank_files(
    dir: &Path,
    rank: u64,
    report: &TrainingReport,
    run: &RunFacts,
) -> std::io::Result<()> {
    let mut output = Map::new();
    output.insert("host_memory_GB".into(), json!(run.host.memory_gib));
    output.insert("host_cpu_count".into(), json!(run.host.cpu_count));
    output.insert("host_processor_name".into(), json!(run.host.processor_name));
    output.insert(
        "potential_caching".into(),
        json!(run.host.potential_caching(run.data_bytes_per_host())),
    );
    output.insert("host_cpuinfo".into(), json!(run.host.cpuinfo));
    output.insert("host_meminfo".into(), json!(run.host.meminfo));
    let mut stats = Map::new();
    for epoch in &report.epochs {
        let mut load = Map::new();
        let mut proc = Map::new();
        let mut compute = Map::new();
        let mut throughput = Map::new();
        let mut au = Map::new();
        let mut phases = Map::new();
        phases.insert("start".into(), json!(timestamp(&epoch.start)));
        let blocks = epoch
            .blocks
            .iter()
            .enumerate()
            .map(|(i, b)| (format!("block{}", i + 1), b));
        for (name, phase) in blocks.chain(epoch.eval.iter().map(|e| ("eval".to_string(), e))) {
            load.insert(
                name.clone(),
                json!(phase.steps.iter().map(|s| s.load).collect::<Vec<_>>()),
            );
            proc.insert(
                name.clone(),
                json!(phase.steps.iter().map(|s| s.proc).collect::<Vec<_>>()),
            );
            compute.insert(
                name.clone(),
                json!(phase.steps.iter().map(|s| s.compute).collect::<Vec<_>>()),
            );
            throughput.insert(name.clone(), json!(phase.metrics.throughput));
            au.insert(name.clone(), json!(phase.metrics.au_percent));
            if name != "eval" {
                phases.insert(
                    name,
                    json!({"start": timestamp(&phase.start), "end": timestamp(&phase.end), "duration": format!("{:.2}", phase.seconds)}),
                );
            }
        }
        for record in &epoch.checkpoints {
            phases.insert(
                record.name.clone(),
                json!({
                    "start": timestamp(&record.start),
                    "end": timestamp(&record.end),
                    "duration": record.seconds,
                    "throughput": record.gib_per_second,
                }),
            );
        }
        phases.insert("end".into(), json!(timestamp(&epoch.end)));
        // Checkpoint-only runs have no training, and DLIO gives their epoch no duration.
        if !epoch.blocks.is_empty() {
            phases.insert("duration".into(), json!(format!("{:.2}", epoch.seconds)));
        }
        if let Some(eval) = &epoch.eval {
            phases.insert(
                "eval".into(),
                json!({"start": timestamp(&eval.start), "end": timestamp(&eval.end), "duration": format!("{:.2}", eval.seconds)}),
            );
        }
        output.insert(
            epoch.epoch.to_string(),
            json!({"load": load, "proc": proc, "throughput": throughput, "au": au, "compute": compute, "end": timestamp(&epoch.end)}),
        );
        stats.insert(epoch.epoch.to_string(), Value::Object(phases));
    }
    output.insert("hostname".into(), json!(hostname()));
    write_json(
        &dir.join(format!("{rank}_output.json")),
        &Value::Object(output),
    )?;
    write_json(
        &dir.join(format!("{rank}_per_epoch_stats.json")),
        &Value::Object(stats),
    )
}

/// The `[METRIC]` block DLIO prints at the end of a run, from the `metric` object of
/// `summary.json` (so the console and the file cannot disagree).
pub fn metric_block(metric: &Map<String, Value>, ranks: u64) -> String {
    let number = |key: &str| metric.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let text = |key: &str| {
        metric
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("fail")
            .to_string()
    };
    let pair = |prefix: &str, mean: &str, stdev: &str| {
        format!("{prefix}: {:.4} ({:.4})", number(mean), number(stdev))
    };
    let rule = "[METRIC] ==========================================================";
    let mut lines = vec![
        rule.to_string(),
        format!("Number of Simulated Accelerators: {ranks}"),
    ];
    for (phase, title, ratio) in [
        ("train", "Training", "Training I/O"),
        ("eval", "Eval", "Eval"),
    ] {
        if !metric.contains_key(&format!("{phase}_au_mean_percentage")) {
            continue;
        }
        lines.push(pair(
            &format!("{title} Accelerator Utilization [AU] (%)"),
            &format!("{phase}_au_mean_percentage"),
            &format!("{phase}_au_stdev_percentage"),
        ));
        lines.push(pair(
            &format!("{title} Throughput (samples/second)"),
            &format!("{phase}_throughput_mean_samples_per_second"),
            &format!("{phase}_throughput_stdev_samples_per_second"),
        ));
        lines.push(pair(
            &format!("{ratio} Throughput (MB/second)"),
            &format!("{phase}_io_mean_MB_per_second"),
            &format!("{phase}_io_stdev_MB_per_second"),
        ));
        lines.push(format!(
            "{phase}_au_meet_expectation: {}",
            text(&format!("{phase}_au_meet_expectation"))
        ));
    }
    for (kind, title) in [("save", "save"), ("load", "load")] {
        if !metric.contains_key(&format!("{kind}_checkpoint_duration_mean_seconds")) {
            continue;
        }
        lines.push(pair(
            &format!("Checkpoint {title} duration (seconds)"),
            &format!("{kind}_checkpoint_duration_mean_seconds"),
            &format!("{kind}_checkpoint_duration_stdev_seconds"),
        ));
        lines.push(pair(
            &format!("Checkpoint {title} I/O Throughput (GB/second)"),
            &format!("{kind}_checkpoint_io_mean_GB_per_second"),
            &format!("{kind}_checkpoint_io_stdev_GB_per_second"),
        ));
    }
    let mut out: Vec<String> = vec![lines[0].clone()];
    out.extend(lines[1..].iter().map(|line| format!("[METRIC] {line}")));
    out.push(rule.to_string());
    out.join("\n")
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "localhost".into())
}

/// Writes `value` to `path` through a temporary file renamed when complete.
fn write_json(path: &Path, value: &Value) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("json.partial");
    std::fs::write(&tmp, text + "\n")?;
    std::fs::rename(&tmp, path)
}
