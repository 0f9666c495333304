//! `dl-driver report`, DLIO's postprocessor: a real run's folder summarised, every figure
//! cross-checked against an independent Python computation (json + statistics, following
//! DLIO's dlio_postprocessor) from the same files, and clear errors for folders that are not
//! a finished run.

use std::path::Path;

use serde_json::Value;

use crate::support::{dl_driver, dl_driver_with, plugin_dir, python_run, run, run_ok};

/// DLIO's postprocessor arithmetic, written independently of the Rust code: overall figures
/// from summary.json and all ranks, per-phase `batch / proc` lists concatenated over ranks and
/// folded into per-step sums, iostat rows with `start <= timestamp < end` of each phase.
/// argv: output folder, batch size, eval batch size, record size.
const PYTHON_REFERENCE: &str = r#"
import datetime, glob, json, os, re, statistics, sys

out, bs, bse, record = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])

def stats(series):
    if len(series) < 2:
        return {k: "n/a" for k in ("mean", "std", "min", "median", "p90", "p99", "max")}
    q = statistics.quantiles(series, n=100, method="inclusive")
    values = (statistics.mean(series), statistics.stdev(series), min(series),
              statistics.median(series), q[89], q[98], max(series))
    return dict(zip(("mean", "std", "min", "median", "p90", "p99", "max"),
                    ("{:.2f}".format(v) for v in values)))

files = sorted(glob.glob(os.path.join(out, "*_output.json")),
               key=lambda p: int(os.path.basename(p).split("_")[0]))
P = len(files)
outputs = [json.load(open(f)) for f in files]
summary = json.load(open(os.path.join(out, "summary.json")))
epoch_stats = json.load(open(os.path.join(out, "0_per_epoch_stats.json")))
epochs = sorted((k for k in outputs[0] if k.isdigit()), key=int)

tp = summary["metric"]["train_throughput_samples_per_second"]
all_load, all_proc = [], []
phases = {}
for o in outputs:
    for e in epochs:
        for phase, loads in o[e]["load"].items():
            all_load.extend(loads)
            entry = phases.setdefault(e + "/" + phase, {"load": [], "proc": [], "sps": [], "mbps": []})
            entry["load"].extend(loads)
        for phase, procs in o[e]["proc"].items():
            all_proc.extend(procs)
            batch = bse if re.match(r"eval", phase) else bs
            entry = phases[e + "/" + phase]
            entry["proc"].extend(procs)
            entry["sps"].extend(batch / t for t in procs)
            entry["mbps"].extend(batch / t * record / 1024.0 / 1024.0 for t in procs)

def fold(series):
    n = len(series) // P
    return [sum(series[r * n + i] for r in range(P)) for i in range(n)]

result = {
    "num_proc": P,
    "overall": {
        "samples/s": stats(tp),
        "MB/s": stats([v * record / 1024.0 / 1024.0 for v in tp]),
        "avg_process_loading_time": "{:.2f}".format(sum(all_load) / P),
        "avg_process_processing_time": "{:.2f}".format(sum(all_proc) / P),
    },
    "phases": {},
}
for key, entry in phases.items():
    result["phases"][key] = {
        "avg_process_loading_time": "{:.2f}".format(sum(entry["load"]) / P),
        "avg_process_processing_time": "{:.2f}".format(sum(entry["proc"]) / P),
        "samples/s": stats(fold(entry["sps"])),
        "MB/s": stats(fold(entry["mbps"])),
    }

def parse_ts(text):
    for fmt in ("%m/%d/%y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            pass
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").astimezone().replace(tzinfo=None)

iostat_path = os.path.join(out, "iostat.json")
if os.path.exists(iostat_path):
    rows = json.load(open(iostat_path))["sysstat"]["hosts"][0]["statistics"]
    rows = [(parse_ts(r["timestamp"]), r) for r in rows]
    disk_cols = ["rMB/s", "wMB/s", "r/s", "w/s", "r_await", "w_await", "aqu-sz"]
    # As DLIO does, every phase lists every device the trace knows.
    devices = []
    for _, r in rows:
        for d in r["disk"]:
            if d["disk_device"] not in devices:
                devices.append(d["disk_device"])
    def window(rows_in):
        cpu = {"user+nice": [r["avg-cpu"]["user"] + r["avg-cpu"]["nice"] for _, r in rows_in]}
        for col in ("system", "iowait", "steal", "idle"):
            cpu[col] = [r["avg-cpu"][col] for _, r in rows_in]
        disks = {d: {c: [] for c in disk_cols} for d in devices}
        for _, r in rows_in:
            for d in r["disk"]:
                for c in disk_cols:
                    disks[d["disk_device"]][c].append(d[c])
        return {"samples": len(rows_in), "disk": disks, "cpu": cpu}
    def to_stats(w):
        return {"samples": w["samples"],
                "disk": {d: {c: stats(v) for c, v in cols.items()} for d, cols in w["disk"].items()},
                "cpu": {c: stats(v) for c, v in w["cpu"].items()}}
    everything = []
    io_phases = {}
    for e in epochs:
        for phase, data in epoch_stats[e].items():
            if not isinstance(data, dict):
                continue
            parse = lambda t: datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%f")
            start, end = parse(data["start"]), parse(data["end"])
            inside = [(t, r) for t, r in rows if start <= t < end]
            everything.extend(inside)
            io_phases[e + "/" + phase] = to_stats(window(inside))
    result["iostat"] = {"overall": to_stats(window(everything)), "phases": io_phases}
print(json.dumps(result))
"#;

/// Runs DLIO's default workload (batch 4, eval batch 1, 4096-byte records) for 2 epochs of
/// 16 steps × 0.125 s, long enough for iostat's one-second samples, into `<tmp>/run`.
fn profiled_run(tmp: &Path) -> std::path::PathBuf {
    let plugins = plugin_dir(tmp, "plugins", &["npz", "file"]);
    run_ok(dl_driver_with(tmp, &plugins).args([
        "run",
        "workload=default",
        "++workload.workflow.generate_data=True",
        "++workload.workflow.profiling=True",
        "++workload.train.computation_time=0.125",
        "++workload.evaluation.eval_time=0.01",
        "++workload.train.epochs=2",
        "++hydra.run.dir=run",
        "++hydra.output_subdir=dlio_config",
    ]));
    tmp.join("run")
}

fn report_json(cwd: &Path, args: &[&str]) -> Value {
    let (stdout, _) = run_ok(dl_driver(cwd).arg("report").args(args).arg("--json"));
    serde_json::from_str(&stdout).unwrap_or_else(|err| panic!("{err}: {stdout}"))
}

/// The phase `key` ("1/block1") of the report's JSON.
fn phase<'a>(report: &'a Value, key: &str) -> &'a Value {
    let (epoch, name) = key.split_once('/').unwrap();
    report["per_epoch"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["epoch"] == epoch)
        .and_then(|e| {
            e["phases"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["phase"] == name)
        })
        .unwrap_or_else(|| panic!("no phase {key} in {report}"))
}

#[test]
fn report_matches_an_independent_python_computation() {
    let tmp = tempfile::tempdir().unwrap();
    let out = profiled_run(tmp.path());
    let report = report_json(tmp.path(), &["run"]);
    let expected: Value = serde_json::from_str(&python_run(
        PYTHON_REFERENCE,
        &[out.to_str().unwrap(), "4", "1", "4096"],
    ))
    .unwrap();

    assert_eq!(report["name"], "default");
    assert_eq!(report["num_proc"], expected["num_proc"]);
    assert_eq!(report["epochs"], 2);
    for key in [
        "samples/s",
        "MB/s",
        "avg_process_loading_time",
        "avg_process_processing_time",
    ] {
        assert_eq!(
            report["overall"][key], expected["overall"][key],
            "overall {key}"
        );
    }
    let phases = expected["phases"].as_object().unwrap();
    assert_eq!(phases.len(), 4, "block1 and eval in 2 epochs: {phases:?}");
    for (key, figures) in phases {
        let got = phase(&report, key);
        for (field, value) in figures.as_object().unwrap() {
            assert_eq!(&got[field], value, "{key} {field}");
        }
    }
    // 16 steps of 0.125 s at batch 4: at most 32 samples/s per step (less on a busy machine).
    let block = phase(&report, "1/block1");
    assert_eq!(block["steps"], 16);
    let mean: f64 = block["samples/s"]["mean"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((5.0..=32.5).contains(&mean), "{block}");

    let iostat = &expected["iostat"];
    assert!(
        iostat["overall"]["samples"].as_u64().unwrap() >= 2,
        "a 4 s run has iostat samples inside its phases: {iostat}"
    );
    assert_eq!(report["overall"]["iostat"], iostat["overall"]);
    for (key, figures) in iostat["phases"].as_object().unwrap() {
        assert_eq!(&phase(&report, key)["iostat"], figures, "iostat of {key}");
    }

    // The text file is in the folder, names the model, and is what `report` prints.
    let file = out.join("DLIO_default_report.txt");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("dl-driver report for model 'default'"),
        "{text}"
    );
    let block1_mean = block["samples/s"]["mean"].as_str().unwrap();
    assert!(text.contains(block1_mean), "{text}");
    let (printed, _) = run_ok(dl_driver(&out).arg("report"));
    assert_eq!(printed, std::fs::read_to_string(&file).unwrap());
    assert_eq!(
        report["report_file"],
        file.canonicalize().unwrap().to_str().unwrap()
    );
}

#[test]
fn missing_iostat_is_a_note_and_hydra_folder_can_be_named() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "file"]);
    run_ok(dl_driver_with(tmp.path(), &plugins).args([
        "run",
        "workload=default",
        "++workload.workflow.generate_data=True",
        "++workload.train.computation_time=0.001",
        "++workload.train.epochs=1",
        "++hydra.run.dir=run",
        "++hydra.output_subdir=cfg",
    ]));
    let (result, _, stderr) = run(dl_driver(tmp.path()).args(["report", "run"]));
    assert!(!result.status.success());
    assert!(stderr.contains("--hydra-folder"), "{stderr}");

    let report = report_json(tmp.path(), &["run", "--hydra-folder", "cfg"]);
    assert_eq!(report["overall"]["iostat"], Value::Null);
    let notes = report["notes"].to_string();
    assert!(notes.contains("iostat.json not found"), "{notes}");
    // One epoch: one throughput value, too few for statistics.
    assert_eq!(report["overall"]["samples/s"]["mean"], "n/a");
    assert!(tmp.path().join("run/DLIO_default_report.txt").is_file());
}

#[test]
fn folders_that_are_not_a_finished_run_are_one_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (result, stdout, stderr) = run(dl_driver(tmp.path()).args(["report", "empty"]));
    assert_eq!(result.status.code(), Some(1));
    assert!(stdout.is_empty(), "{stdout}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    for missing in ["empty", "summary.json", "<rank>_output.json", "config.yaml"] {
        assert!(lines[0].contains(missing), "{missing} in {stderr}");
    }
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);

    // summary.json alone still lacks the rank files.
    std::fs::write(empty.join("summary.json"), "{}").unwrap();
    let (_, _, stderr) = run(dl_driver(tmp.path()).args(["report", "empty"]));
    assert!(
        stderr.contains("missing <rank>_output.json") && !stderr.contains("missing summary.json"),
        "{stderr}"
    );

    let (result, _, stderr) = run(dl_driver(tmp.path()).args(["report", "nowhere"]));
    assert_eq!(result.status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("nowhere") && stderr.contains("does not exist"),
        "{stderr}"
    );
}
