//! `generate` and `run` end to end: files numpy reads, reuse of complete files, DLIO's output
//! files, direct I/O, and clear errors for bad input.

use std::{collections::BTreeMap, path::Path, time::SystemTime};

use serde_json::Value;

use crate::support::{
    dl_driver, dl_driver_with, plugin_dir, python_run, read_json, run, run_ok, small_npz_workload,
    write_config,
};

fn standard_plugins(tmp: &Path) -> std::path::PathBuf {
    plugin_dir(tmp, "plugins", &["npz", "file"])
}

const NUMPY_DESCRIBE: &str = r#"
import json, sys, numpy as np
out = {}
for path in sys.argv[1:]:
    with np.load(path) as f:
        out[path] = {"keys": sorted(f.files), "x_shape": list(f["x"].shape), "x_dtype": str(f["x"].dtype),
                     "y_shape": list(f["y"].shape), "y_dtype": str(f["y"].dtype), "y_zero": bool((f["y"] == 0).all())}
print(json.dumps(out))
"#;

fn numpy_describe(files: &[std::path::PathBuf]) -> BTreeMap<String, Value> {
    let args: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
    serde_json::from_str(&python_run(NUMPY_DESCRIBE, &args)).unwrap()
}

fn npz_files(root: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "npz") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn numpy_loads_what_the_loaded_npz_plugin_generates() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = standard_plugins(tmp.path());
    let config = write_config(
        tmp.path(),
        "w.yaml",
        &small_npz_workload(
            tmp.path(),
            "  num_files_eval: 2\n  num_subfolders_train: 2\n",
        ),
    );
    run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .arg("generate")
            .arg(&config),
    );
    let data = tmp.path().join("data");
    assert!(data.join("train/1/img_1_of_8.npz").is_file());
    assert!(data.join("valid/img_1_of_2.npz").is_file());
    let files = npz_files(&data);
    assert_eq!(files.len(), 10);
    for (path, d) in numpy_describe(&files) {
        assert_eq!(d["keys"], serde_json::json!(["x", "y"]), "{path}");
        assert_eq!(d["x_shape"], serde_json::json!([64, 64, 1]), "{path}");
        assert_eq!(d["x_dtype"], "uint8", "{path}");
        assert_eq!(d["y_shape"], serde_json::json!([1]), "{path}");
        assert_eq!(d["y_dtype"], "int64", "{path}");
        assert_eq!(d["y_zero"], true, "{path}");
    }
    // numpy.savez of the same shapes gives 4594-byte files; ours match byte count.
    assert_eq!(std::fs::metadata(&files[0]).unwrap().len(), 4594);
}

#[test]
fn record_dims_and_element_type_shape_the_arrays() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = standard_plugins(tmp.path());
    let extra = "  record_dims: [3, 5, 7]\n  record_element_type: float32\n";
    let yaml = small_npz_workload(tmp.path(), extra)
        .replace("num_samples_per_file: 1", "num_samples_per_file: 2");
    let config = write_config(tmp.path(), "w.yaml", &yaml);
    run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .arg("generate")
            .arg(&config),
    );
    let files = npz_files(&tmp.path().join("data"));
    assert_eq!(files.len(), 8);
    for (path, d) in numpy_describe(&files) {
        assert_eq!(d["x_shape"], serde_json::json!([3, 5, 7, 2]), "{path}");
        assert_eq!(d["x_dtype"], "float32", "{path}");
        assert_eq!(d["y_shape"], serde_json::json!([2]), "{path}");
    }
    let (plan, _) = run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .arg("validate")
            .arg(&config)
            .arg("--json"),
    );
    let plan: Value = serde_json::from_str(&plan).unwrap();
    let on_disk: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    assert_eq!(
        plan["dataset_bytes"], on_disk,
        "the plan's sizes are the real sizes"
    );
}

fn find_output(root: &Path) -> std::path::PathBuf {
    let mut found = Vec::new();
    for model in std::fs::read_dir(root).unwrap() {
        for run in std::fs::read_dir(model.unwrap().path()).unwrap() {
            found.push(run.unwrap().path());
        }
    }
    assert_eq!(
        found.len(),
        1,
        "one run folder under {}: {found:?}",
        root.display()
    );
    found.pop().unwrap()
}

#[test]
fn quickstart_writes_summary_with_au_and_throughput() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = standard_plugins(tmp.path());
    let quickstart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/quickstart.yaml");
    let (stdout, _) = run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .arg("run")
            .arg(&quickstart),
    );
    assert!(
        stdout.contains("[METRIC] Training Accelerator Utilization [AU] (%):"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[METRIC] Training Throughput (samples/second):"),
        "{stdout}"
    );

    // Every sample of both epochs and both eval passes was really read: 64 + 8 files of one
    // sample, twice, each read whole (plus numpy's small read of the zip directory).
    let bytes_read: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("[OUTPUT] Bytes read: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no bytes-read line in {stdout}"));
    let file_size = std::fs::metadata(tmp.path().join("data/quickstart/train/0/img_00_of_64.npz"))
        .unwrap()
        .len();
    let reads = 2 * (64 + 8);
    assert!(
        bytes_read >= reads * file_size,
        "{bytes_read} < {reads} × {file_size}"
    );
    assert!(
        bytes_read <= reads * (file_size + 8192),
        "{bytes_read} read: more than whole files"
    );

    let out = find_output(&tmp.path().join("output"));
    let summary = read_json(&out.join("summary.json"));
    let metric = &summary["metric"];
    let au = metric["train_au_mean_percentage"].as_f64().unwrap();
    assert!(au > 0.0 && au <= 100.0, "AU {au}");
    assert!(
        metric["train_throughput_mean_samples_per_second"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(
        metric["train_au_percentage"].as_array().unwrap().len(),
        2,
        "one AU per epoch"
    );
    assert!(
        metric["train_au_meet_expectation"] == "success"
            || metric["train_au_meet_expectation"] == "fail"
    );
    assert_eq!(summary["num_accelerators"], 1);
    assert_eq!(summary["epochs"], 2);
    let keys: Vec<&str> = summary
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.first(), Some(&"start"));
    assert_eq!(keys.last(), Some(&"end"));

    let output = read_json(&out.join("0_output.json"));
    for epoch in ["1", "2"] {
        assert_eq!(
            output[epoch]["load"]["block1"].as_array().unwrap().len(),
            16,
            "16 steps per epoch"
        );
        assert_eq!(
            output[epoch]["compute"]["block1"].as_array().unwrap().len(),
            16
        );
        assert_eq!(
            output[epoch]["load"]["eval"].as_array().unwrap().len(),
            4,
            "4 eval steps"
        );
    }
    let stats = read_json(&out.join("0_per_epoch_stats.json"));
    assert!(stats["1"]["block1"]["duration"].is_string());
    assert!(stats["2"]["eval"]["start"].is_string());
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn a_second_generation_reuses_complete_files_and_never_trusts_partial_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = standard_plugins(tmp.path());
    let config = write_config(tmp.path(), "w.yaml", &small_npz_workload(tmp.path(), ""));
    let generate = || {
        run_ok(
            dl_driver_with(tmp.path(), &plugins)
                .arg("generate")
                .arg(&config),
        )
    };
    let (first, _) = generate();
    assert!(first.contains("8 files written"), "{first}");
    let train = tmp.path().join("data/train");
    let kept = train.join("img_0_of_8.npz");
    let kept_time = modified(&kept);
    let good = std::fs::read(&kept).unwrap();

    // A crash left a partial file under the temporary name and no final file.
    std::fs::remove_file(train.join("img_3_of_8.npz")).unwrap();
    std::fs::write(train.join(".img_3_of_8.npz.dl-partial"), &good[..1000]).unwrap();
    // Something else truncated a final file.
    let cut = train.join("img_5_of_8.npz");
    std::fs::write(&cut, &good[..2000]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));

    let (second, stderr) = generate();
    assert!(
        second.contains("2 files written") && second.contains("6 complete files reused"),
        "{second}"
    );
    assert!(
        stderr.contains("img_5_of_8.npz: found 2000 bytes"),
        "{stderr}"
    );
    assert_eq!(
        modified(&kept),
        kept_time,
        "a complete file is not rewritten"
    );
    assert!(
        !train.join(".img_3_of_8.npz.dl-partial").exists(),
        "the partial file was replaced, not trusted"
    );
    let rebuilt = numpy_describe(&[train.join("img_3_of_8.npz"), cut.clone()]);
    for d in rebuilt.values() {
        assert_eq!(d["x_shape"], serde_json::json!([64, 64, 1]));
    }
    assert_eq!(std::fs::metadata(&cut).unwrap().len(), 4594);
}

#[test]
fn direct_io_writes_and_reads_on_the_test_file_system() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = standard_plugins(tmp.path());
    let uri = format!("direct://{}", tmp.path().join("direct-data").display());
    let yaml = small_npz_workload(tmp.path(), "").replace(
        &format!("data_folder: {}", tmp.path().join("data").display()),
        &format!("data_folder: {uri}"),
    );
    let config = write_config(tmp.path(), "w.yaml", &yaml);
    let (output, stdout, stderr) =
        run(dl_driver_with(tmp.path(), &plugins).arg("run").arg(&config));
    assert!(
        output.status.success(),
        "direct:// generate + train failed on {} (does its file system support O_DIRECT?):\n{stdout}\n{stderr}",
        tmp.path().display()
    );
    let files = npz_files(&tmp.path().join("direct-data"));
    assert_eq!(files.len(), 8);
    for d in numpy_describe(&files).values() {
        assert_eq!(d["x_shape"], serde_json::json!([64, 64, 1]));
    }
    // reader.odirect reads a plain-path dataset through the direct backend.
    let yaml =
        small_npz_workload(tmp.path(), "").replace("reader:\n", "reader:\n  odirect: True\n");
    let config = write_config(tmp.path(), "odirect.yaml", &yaml);
    let (stdout, _) = run_ok(dl_driver_with(tmp.path(), &plugins).arg("run").arg(&config));
    assert!(stdout.contains("[METRIC] Training Throughput"), "{stdout}");
}

#[test]
fn training_without_the_dataset_says_how_to_generate_it() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = standard_plugins(tmp.path());
    let yaml =
        small_npz_workload(tmp.path(), "").replace("generate_data: True", "generate_data: False");
    let config = write_config(tmp.path(), "w.yaml", &yaml);
    let (output, _, stderr) = run(dl_driver_with(tmp.path(), &plugins).arg("run").arg(&config));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("Not enough training dataset is found"),
        "{stderr}"
    );
    assert!(stderr.contains("generate_data=True"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn bad_input_gets_one_clear_error_line() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = standard_plugins(tmp.path());
    let cases = [
        ("syntax.yaml", "dataset: [unclosed\n", "is not valid YAML"),
        (
            "type.yaml",
            "dataset:\n  num_files_train: lots\n",
            "dataset.num_files_train",
        ),
        (
            "format.yaml",
            "dataset:\n  format: parquet\n",
            "dataset.format 'parquet'",
        ),
        (
            "steps.yaml",
            "dataset:\n  format: npz\ntrain:\n  total_training_steps: 99\n",
            "train.total_training_steps = 99",
        ),
        (
            "time.yaml",
            "dataset:\n  format: npz\ntrain:\n  computation_time: {type: weibull}\n",
            "weibull",
        ),
    ];
    for (name, yaml, expected) in cases {
        let config = write_config(tmp.path(), name, yaml);
        let (output, _, stderr) = run(dl_driver_with(tmp.path(), &plugins).arg("run").arg(&config));
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{name}: {stderr}");
        assert!(
            errors[0].contains(expected),
            "{name}: expected '{expected}' in {stderr}"
        );
    }
    assert!(
        !tmp.path().join("output").exists(),
        "a workload that fails its checks leaves no output folder behind"
    );
    let (output, _, stderr) = run(dl_driver(tmp.path()).arg("run").arg("missing.yaml"));
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("cannot read missing.yaml"), "{stderr}");
}

#[test]
#[cfg(not(feature = "mpi"))]
fn a_launch_by_mpirun_without_mpi_support_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), "w.yaml", &small_npz_workload(tmp.path(), ""));
    let (output, _, stderr) = run(dl_driver(tmp.path())
        .env("OMPI_COMM_WORLD_SIZE", "2")
        .arg("run")
        .arg(&config));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("one of 2 ranks") && stderr.contains("without MPI"),
        "{stderr}"
    );
}

#[test]
fn a_format_writes_sidecars_and_opens_related_files_through_the_host() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["example_raw", "file"]);
    let yaml = small_npz_workload(tmp.path(), "  record_dims: [8, 8]\n")
        .replace("format: npz", "format: raw")
        .replace("num_samples_per_file: 1", "num_samples_per_file: 3");
    let config = write_config(tmp.path(), "w.yaml", &yaml);
    let (stdout, _) = run_ok(dl_driver_with(tmp.path(), &plugins).arg("run").arg(&config));
    assert!(stdout.contains("[METRIC] Training Throughput"), "{stdout}");
    let train = tmp.path().join("data/train");
    assert_eq!(
        std::fs::metadata(train.join("img_0_of_8.raw"))
            .unwrap()
            .len(),
        3 * 64
    );
    let index = std::fs::read_to_string(train.join("img_0_of_8.raw.idx")).unwrap();
    assert_eq!(index, "0 64\n64 64\n128 64\n");

    // Without its index, the file cannot be opened: one error naming the missing index.
    std::fs::remove_file(train.join("img_2_of_8.raw.idx")).unwrap();
    let yaml = yaml.replace("generate_data: True", "generate_data: False");
    let config = write_config(tmp.path(), "w2.yaml", &yaml);
    let (output, _, stderr) = run(dl_driver_with(tmp.path(), &plugins).arg("run").arg(&config));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("img_2_of_8.raw.idx") && stderr.contains("format 'raw'"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // Generation does not reuse a data file whose companion is gone: it writes both again.
    let with_generation = tmp.path().join("w.yaml");
    let (stdout, stderr) = run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .arg("generate")
            .arg(&with_generation),
    );
    assert!(
        stdout.contains("1 files written") && stdout.contains("7 complete files reused"),
        "{stdout}"
    );
    assert!(
        stderr.contains("companion file train/img_2_of_8.raw.idx is missing"),
        "{stderr}"
    );
    let index = std::fs::read_to_string(train.join("img_2_of_8.raw.idx")).unwrap();
    assert_eq!(index, "0 64\n64 64\n128 64\n");
}

#[test]
fn zero_read_threads_read_in_the_training_thread() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = standard_plugins(tmp.path());
    let yaml = small_npz_workload(tmp.path(), "").replace("read_threads: 2", "read_threads: 0");
    let config = write_config(tmp.path(), "w.yaml", &yaml);
    let (stdout, _) = run_ok(dl_driver_with(tmp.path(), &plugins).arg("run").arg(&config));
    assert!(stdout.contains("[METRIC] Training Throughput"), "{stdout}");
    let output = read_json(&tmp.path().join("out/0_output.json"));
    assert_eq!(
        output["1"]["load"]["block1"].as_array().unwrap().len(),
        4,
        "8 samples / batch 2"
    );
}
