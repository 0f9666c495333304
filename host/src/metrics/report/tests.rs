//! The report built from a hand-written two-rank folder in DLIO's legacy forms
//! (`per_epoch_stats.json`, `dataset.record_length`, Python's `NaN`), with every expected
//! figure worked out by hand and checked with Python's `statistics` module.

use std::path::Path;

use serde_json::{json, Value};

use super::*;

fn write(dir: &Path, name: &str, value: &Value) {
    std::fs::write(dir.join(name), value.to_string()).expect("write fixture");
}

/// Two ranks, two epochs, batch 2 (eval 1), record 4096 bytes, iostat samples at whole
/// seconds 01..10 with `user = 10·k`, `nice = 1` and `r/s = k` for the k-th sample.
fn legacy_folder(dir: &Path) {
    std::fs::create_dir_all(dir.join(".hydra")).expect("hydra dir");
    std::fs::write(
        dir.join(".hydra/config.yaml"),
        "workload:\n  model:\n    name: tiny\n  dataset:\n    record_length: 4096\n  \
         reader:\n    batch_size: 2\n    batch_size_eval: 1\n",
    )
    .expect("config");
    std::fs::write(
        dir.join("summary.json"),
        r#"{"num_accelerators": 2, "metric": {"train_throughput_samples_per_second": [4.0, 6.0, 8.0],
            "save_checkpoint_io_mean_GB_per_second": NaN}, "start": "2026-01-02T03:03:59.000000"}"#,
    )
    .expect("summary");
    write(
        dir,
        "0_output.json",
        &json!({"hostname": "h",
            "1": {"load": {"block1": [0.5, 0.25, 0.25], "eval": [0.1, 0.1]},
                  "proc": {"block1": [1.0, 0.5, 0.25], "eval": [0.5, 0.25]}},
            "2": {"load": {"block1": [1.0, 0.0, 0.0]}, "proc": {"block1": [2.0, 1.0, 1.0]}}}),
    );
    write(
        dir,
        "1_output.json",
        &json!({
            "1": {"load": {"block1": [0.25, 0.25, 0.5], "eval": [0.2, 0.2]},
                  "proc": {"block1": [0.5, 0.5, 1.0], "eval": [1.0, 0.5]}},
            "2": {"load": {"block1": [0.5, 0.5, 0.5, 0.0]}, "proc": {"block1": [1.0, 1.0, 2.0, 1.0]}}}),
    );
    let t = |s: &str| format!("2026-01-02T03:04:{s}");
    write(
        dir,
        "per_epoch_stats.json",
        &json!({
            "1": {"start": t("00.000000"),
                  "block1": {"start": t("00.500000"), "end": t("03.500000"), "duration": "3.00"},
                  "save_ckpt1": {"start": t("05.100000"), "end": t("05.200000"), "duration": 0.1, "throughput": 2.5},
                  "end": t("05.300000"), "duration": "3.00",
                  "eval": {"start": t("03.600000"), "end": t("05.000000"), "duration": "1.40"}},
            "2": {"start": t("06.000000"),
                  "block1": {"start": t("06.100000"), "end": t("08.900000"), "duration": "2.80"},
                  "end": t("09.000000"), "duration": "2.90"}}),
    );
    let samples: Vec<Value> = ["01", "02", "03", "04", "05", "07", "08", "10"]
        .iter()
        .enumerate()
        .map(|(i, sec)| {
            let k = (i + 1) as f64;
            json!({"timestamp": format!("01/02/26 03:04:{sec}"),
                "avg-cpu": {"user": 10.0 * k, "nice": 1.0, "system": 1.0, "iowait": 0.0, "steal": 0.0, "idle": 50.0},
                "disk": [{"disk_device": "vda", "r/s": k, "w/s": 0.0, "rMB/s": 0.0, "wMB/s": 0.0,
                          "r_await": 0.0, "w_await": 0.0, "aqu-sz": 0.0}]})
        })
        .collect();
    write(
        dir,
        "iostat.json",
        &json!({"sysstat": {"hosts": [{"statistics": samples}]}}),
    );
}

fn stats(fields: [&str; 7]) -> Stats {
    let [mean, std, min, median, p90, p99, max] = fields.map(str::to_string);
    Stats {
        mean,
        std,
        min,
        median,
        p90,
        p99,
        max,
    }
}

fn generated(dir: &Path) -> Generated {
    generate(&Options {
        output_folder: dir.to_path_buf(),
        hydra_folder: None,
    })
    .expect("report")
}

#[test]
fn overall_figures_from_summary_and_every_rank() {
    let dir = tempfile::tempdir().expect("temp dir");
    legacy_folder(dir.path());
    let report = generated(dir.path()).report;
    assert_eq!(report.name, "tiny");
    assert_eq!(report.num_proc, 2);
    assert_eq!(report.epochs, 2);
    assert_eq!((report.batch_size, report.batch_size_eval), (2, 1));
    let overall = &report.overall;
    assert_eq!(
        overall.samples_per_second,
        stats(["6.00", "2.00", "4.00", "6.00", "7.60", "7.96", "8.00"])
    );
    // 4, 6, 8 samples/s × 4096 B / 2²⁰.
    assert_eq!(
        overall.mb_per_second,
        stats(["0.02", "0.01", "0.02", "0.02", "0.03", "0.03", "0.03"])
    );
    // Σ load = 2.2 + 2.9 over 2 ranks; Σ proc = 6.5 + 8.5 over 2 ranks (eval included).
    assert_eq!(overall.avg_process_loading_time, "2.55");
    assert_eq!(overall.avg_process_processing_time, "7.50");
    assert_eq!(report.start.as_deref(), Some("2026-01-02T03:04:00.000000"));
    assert_eq!(report.duration.as_deref(), Some("9.00"));
}

#[test]
fn phases_sum_per_step_throughput_across_ranks() {
    let dir = tempfile::tempdir().expect("temp dir");
    legacy_folder(dir.path());
    let report = generated(dir.path()).report;
    let epoch1 = &report.per_epoch[0];
    let names: Vec<_> = epoch1.phases.iter().map(|p| p.phase.as_str()).collect();
    assert_eq!(names, ["block1", "save_ckpt1", "eval"]);
    let block = &epoch1.phases[0];
    assert_eq!(block.kind, PhaseKind::Block);
    assert_eq!(block.duration.as_deref(), Some("3.00"));
    // Step i: 2/proc₀ᵢ + 2/proc₁ᵢ = 6, 8, 10.
    assert_eq!(
        block.samples_per_second,
        Some(stats([
            "8.00", "2.00", "6.00", "8.00", "9.60", "9.96", "10.00"
        ]))
    );
    assert_eq!(block.avg_process_loading_time.as_deref(), Some("1.00"));
    // (1.75 + 2.0) / 2 = 1.875, rounded half to even as Python does.
    assert_eq!(block.avg_process_processing_time.as_deref(), Some("1.88"));
    // Eval uses batch_size_eval = 1: 1/0.5 + 1/1.0 = 3 and 1/0.25 + 1/0.5 = 6.
    let eval = &epoch1.phases[2];
    assert_eq!(eval.kind, PhaseKind::Eval);
    assert_eq!(
        eval.samples_per_second,
        Some(stats([
            "4.50", "2.12", "3.00", "4.50", "5.70", "5.97", "6.00"
        ]))
    );
    let checkpoint = &epoch1.phases[1];
    assert_eq!(checkpoint.kind, PhaseKind::Checkpoint);
    assert_eq!(checkpoint.duration.as_deref(), Some("0.1"));
    assert_eq!(checkpoint.throughput_gb_per_second, Some(2.5));
    assert_eq!(checkpoint.samples_per_second, None);
    // Epoch 2: rank 1 has a fourth step, so only the first 3 are summed: 3, 4, 3.
    let block = &report.per_epoch[1].phases[0];
    assert_eq!(block.steps, Some(3));
    assert_eq!(
        block.samples_per_second,
        Some(stats([
            "3.33", "0.58", "3.00", "3.00", "3.80", "3.98", "4.00"
        ]))
    );
    assert!(
        report.notes.iter().any(|n| n.contains("3..4 steps")),
        "{:?}",
        report.notes
    );
}

#[test]
fn iostat_is_cut_into_half_open_phase_windows() {
    let dir = tempfile::tempdir().expect("temp dir");
    legacy_folder(dir.path());
    let report = generated(dir.path()).report;
    let io = |epoch: usize, phase: usize| {
        report.per_epoch[epoch].phases[phase]
            .iostat
            .clone()
            .expect("iostat")
    };
    let cpu = |io: &IoStats, name: &str| {
        io.cpu
            .0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.clone())
            .expect("column")
    };
    // Block 1 of epoch 1 holds samples 1..3 (user+nice 11, 21, 31).
    let block = io(0, 0);
    assert_eq!(block.samples, 3);
    assert_eq!(
        cpu(&block, "user+nice"),
        stats(["21.00", "10.00", "11.00", "21.00", "29.00", "30.80", "31.00"])
    );
    // Eval holds one sample (the one at its end second is outside): n/a.
    assert_eq!(io(0, 2).samples, 1);
    assert_eq!(cpu(&io(0, 2), "idle"), Stats::not_available());
    assert_eq!(io(0, 1).samples, 0);
    // All windows together: samples 1, 2, 3, 4, 6, 7.
    let overall = report.overall.iostat.clone().expect("overall iostat");
    assert_eq!(overall.samples, 6);
    assert_eq!(
        cpu(&overall, "user+nice"),
        stats(["39.33", "23.17", "11.00", "36.00", "66.00", "70.50", "71.00"])
    );
    let (device, columns) = &overall.disk.0[0];
    assert_eq!(device, "vda");
    assert_eq!(
        columns.0[2],
        (
            "r/s".to_string(),
            stats(["3.83", "2.32", "1.00", "3.50", "6.50", "6.95", "7.00"])
        )
    );
}

#[test]
fn the_text_file_is_written_in_place_and_names_the_model() {
    let dir = tempfile::tempdir().expect("temp dir");
    legacy_folder(dir.path());
    let generated = generated(dir.path());
    assert_eq!(generated.path, dir.path().join("DLIO_tiny_report.txt"));
    let text = std::fs::read_to_string(&generated.path).expect("report file");
    assert_eq!(text, generated.text);
    assert!(text.starts_with("dl-driver report for model 'tiny'\n"));
    let overall = text.find("\nOverall\n").expect("overall section");
    let epoch = text.find("\nEpoch 1\n").expect("epoch section");
    let iostat = text
        .find("\nI/O and CPU from iostat")
        .expect("iostat section");
    assert!(overall < epoch && epoch < iostat);
    assert!(text.contains("    Samples/s (per step, all ranks)           8.00"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn optional_files_missing_become_notes() {
    let dir = tempfile::tempdir().expect("temp dir");
    legacy_folder(dir.path());
    std::fs::remove_file(dir.path().join("iostat.json")).expect("remove");
    std::fs::remove_file(dir.path().join("per_epoch_stats.json")).expect("remove");
    let report = generated(dir.path()).report;
    assert!(report.overall.iostat.is_none());
    assert!(report
        .notes
        .iter()
        .any(|n| n.contains("iostat.json not found")));
    assert!(report
        .notes
        .iter()
        .any(|n| n.contains("per_epoch_stats.json")));
    // Phases still come from the output files, without times.
    let block = &report.per_epoch[0].phases[0];
    assert_eq!(block.phase, "block1");
    assert_eq!(block.start, None);
    assert_eq!(block.avg_process_loading_time.as_deref(), Some("1.00"));
}

#[test]
fn rank_files_win_over_the_legacy_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    legacy_folder(dir.path());
    write(
        dir.path(),
        "0_per_epoch_stats.json",
        &json!({"1": {"start": "2026-01-02T03:05:00.000000", "end": "2026-01-02T03:05:01.000000",
                      "block1": {"start": "2026-01-02T03:05:00.000000", "end": "2026-01-02T03:05:01.000000", "duration": "1.00"}}}),
    );
    let report = generated(dir.path()).report;
    assert_eq!(
        report.per_epoch[0].phases[0].duration.as_deref(),
        Some("1.00")
    );
}

#[test]
fn required_files_missing_are_one_error_naming_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = generate(&Options {
        output_folder: dir.path().to_path_buf(),
        hydra_folder: None,
    })
    .expect_err("empty folder");
    let message = format!("{err:#}");
    assert!(!message.contains('\n'), "{message}");
    for missing in [
        "summary.json",
        "<rank>_output.json",
        "dlio_config/config.yaml",
    ] {
        assert!(message.contains(missing), "{message}");
    }
    assert!(message.contains(&dir.path().display().to_string()));

    legacy_folder(dir.path());
    let err = generate(&Options {
        output_folder: dir.path().to_path_buf(),
        hydra_folder: Some("elsewhere".into()),
    })
    .expect_err("no such hydra folder");
    assert!(format!("{err:#}").contains("missing elsewhere/config.yaml"));
}

#[test]
fn phase_kinds_and_file_names_follow_dlio() {
    assert_eq!(PhaseKind::of("block12"), PhaseKind::Block);
    assert_eq!(PhaseKind::of("block"), PhaseKind::Other);
    assert_eq!(PhaseKind::of("eval"), PhaseKind::Eval);
    assert_eq!(PhaseKind::of("eval3"), PhaseKind::Eval);
    assert_eq!(PhaseKind::of("save_ckpt2"), PhaseKind::Checkpoint);
    assert_eq!(PhaseKind::of("load_ckpt1"), PhaseKind::Checkpoint);
    assert_eq!(report_file_name("unet3d"), "DLIO_unet3d_report.txt");
    assert_eq!(report_file_name(""), "DLIO_report.txt");
    assert_eq!(report_file_name("a/b"), "DLIO_a_b_report.txt");
}

#[test]
fn a_zero_processing_time_drops_the_step() {
    let a = PhaseSteps {
        load: vec![0.0; 3],
        proc: vec![1.0, 0.0, 2.0],
    };
    let b = PhaseSteps {
        load: vec![0.0; 3],
        proc: vec![1.0, 1.0, 2.0],
    };
    let series = per_step_throughput(&[&a, &b], 4, 1048576.0);
    assert_eq!(series.samples, [8.0, 4.0]);
    assert_eq!(series.mb, [8.0, 4.0]);
    assert_eq!(series.dropped, 1);
}
