//! The Hydra layer through the binary: overrides change the plan, grammar errors are one
//! `error:` line naming the key, `query` prints effective values, and workloads are found by
//! name in `--config-dir` before the bundled ones, in dl-driver's and DLIO's spellings.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{
    dl_driver, dl_driver_with, plugin_dir, run, run_ok, small_npz_workload, write_config,
};

/// A temporary directory with the npz/file plugins and the small npz workload `w.yaml`.
fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "file"]);
    let config = write_config(tmp.path(), "w.yaml", &small_npz_workload(tmp.path(), ""));
    (tmp, plugins, config)
}

/// `validate --json` with extra arguments, as JSON.
fn plan(tmp: &Path, plugins: &Path, args: &[&str]) -> Value {
    let (stdout, _) = run_ok(
        dl_driver_with(tmp, plugins)
            .arg("validate")
            .args(args)
            .arg("--json"),
    );
    serde_json::from_str(&stdout).unwrap_or_else(|err| panic!("{err}: {stdout}"))
}

#[test]
fn validate_applies_overrides_to_the_plan() {
    let (tmp, plugins, config) = setup();
    let config = config.to_str().unwrap();
    assert_eq!(plan(tmp.path(), &plugins, &[config])["train_files"], 8);
    let changed = plan(
        tmp.path(),
        &plugins,
        &[
            config,
            "++workload.dataset.num_files_train=4",
            "++workload.dataset.num_files_eval=2",
            "workload.reader.batch_size=1",
        ],
    );
    assert_eq!(changed["train_files"], 4);
    assert_eq!(changed["eval_files"], 2);
    assert_eq!(changed["train_steps_per_epoch"], 4, "4 files / batch 1");
}

#[test]
fn each_grammar_error_is_one_error_line_naming_the_key() {
    let (tmp, plugins, config) = setup();
    let cases = [
        (
            "workload.dataset.num_files_eval=2",
            "Could not override 'workload.dataset.num_files_eval'",
        ),
        (
            "+workload.dataset.format=npy",
            "Could not append to 'workload.dataset.format'",
        ),
        (
            "dataset.num_files_train=4",
            "write workload.dataset.num_files_train=4",
        ),
        ("++workload.dataset.num_files_train", "has no '='"),
        ("++workload..x=1", "has an empty key"),
        ("++workload.reader.read_threads=1,2", "Hydra sweep"),
        (
            "++workload.dataset.num_files_train=many",
            "dataset.num_files_train",
        ),
    ];
    for (override_, expected) in cases {
        let (output, stdout, stderr) = run(dl_driver_with(tmp.path(), &plugins)
            .arg("validate")
            .arg(&config)
            .arg(override_));
        assert!(
            !output.status.success(),
            "{override_} was accepted: {stdout}"
        );
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|line| line.starts_with("error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{override_}: {stderr}");
        assert!(errors[0].contains(expected), "{override_}: {stderr}");
    }
}

#[test]
fn force_turns_a_scalar_into_a_distribution() {
    let (tmp, plugins, config) = setup();
    plan(
        tmp.path(),
        &plugins,
        &[
            config.to_str().unwrap(),
            "++workload.train.computation_time.type=uniform",
            "++workload.train.computation_time.min=0.001",
            "++workload.train.computation_time.max=0.002",
        ],
    );
    let (stdout, _) = run_ok(
        dl_driver(tmp.path())
            .arg("query")
            .arg(&config)
            .arg("train.computation_time")
            .arg("++workload.train.computation_time.type=uniform")
            .arg("++workload.train.computation_time.min=0.001")
            .arg("++workload.train.computation_time.max=0.002"),
    );
    assert_eq!(
        stdout.trim(),
        "{'type': 'uniform', 'min': 0.001, 'max': 0.002}"
    );
}

#[test]
fn query_prints_effective_values() {
    let (tmp, _, config) = setup();
    let query = |args: &[&str]| {
        let (stdout, _) = run_ok(dl_driver(tmp.path()).arg("query").arg(&config).args(args));
        stdout
    };
    assert_eq!(query(&["dataset.record_length_bytes"]), "4096\n");
    assert_eq!(query(&["model.parallelism.tensor"]), "1\n");
    assert_eq!(query(&["output.metric.exclude_start_steps"]), "1\n");
    assert_eq!(query(&["reader.transfer_size"]), "None\n");
    assert_eq!(query(&["workflow.generate_data"]), "True\n");
    // The KEY may stand after the overrides.
    assert_eq!(
        query(&[
            "~workload.reader.batch_size",
            "reader.batch_size",
            "++workload.dataset.record_length_bytes=8192",
        ]),
        "1\n",
        "deleted: the default again"
    );
    // DLIO's dlio_benchmark_query form, with an override applied first.
    assert_eq!(
        query(&[
            "++workload.workflow.query=dataset.record_length_bytes",
            "++workload.dataset.record_length_bytes=8192",
        ]),
        "8192\n"
    );
}

/// A config dir whose `workload/default.yaml` shadows the bundled `default`.
fn config_dir_with_default(tmp: &Path) -> PathBuf {
    let dir = tmp.join("confdir");
    std::fs::create_dir_all(dir.join("workload")).unwrap();
    let yaml = small_npz_workload(tmp, "").replace("num_files_train: 8", "num_files_train: 3");
    write_config(&dir.join("workload"), "default.yaml", &yaml);
    dir
}

#[test]
fn config_dir_comes_before_the_bundled_workloads() {
    let (tmp, plugins, _) = setup();
    let dir = config_dir_with_default(tmp.path());
    let dir = dir.to_str().unwrap();
    let mine = plan(
        tmp.path(),
        &plugins,
        &["--workload", "default", "--config-dir", dir],
    );
    assert_eq!(mine["train_files"], 3);
    let bundled = plan(tmp.path(), &plugins, &["--workload", "default"]);
    assert_eq!(bundled["train_files"], 64, "DLIO's default workload");
    let (stdout, _) = run_ok(dl_driver_with(tmp.path(), &plugins).args([
        "validate",
        "--workload",
        "default",
        "--config-dir",
        dir,
    ]));
    assert!(
        stdout.contains(&format!("{dir}/workload/default.yaml")),
        "{stdout}"
    );
}

#[test]
fn dlio_spellings_select_the_workload() {
    let (tmp, plugins, _) = setup();
    let dir = config_dir_with_default(tmp.path());
    let config_dir = format!("--config-dir={}", dir.display());
    // MLPerf Storage's order: workload first, Hydra and workload overrides, --config-dir last.
    let mlperf = plan(
        tmp.path(),
        &plugins,
        &[
            "workload=default",
            "++hydra.run.dir=results/x",
            "++hydra.output_subdir=dlio_config",
            "++workload.dataset.num_files_train=5",
            &config_dir,
        ],
    );
    assert_eq!(mlperf["train_files"], 5);
    let (stdout, _) = run_ok(dl_driver(tmp.path()).args([
        "query",
        "workload=unet3d_h100",
        "++workload.workflow.query=model.name",
    ]));
    assert_eq!(stdout, "unet3d\n");
    let (output, _, stderr) = run(dl_driver(tmp.path()).args(["validate", "workload=nope"]));
    assert!(!output.status.success());
    assert!(stderr.contains("no workload named 'nope'"), "{stderr}");
    assert!(
        stderr.contains("unet3d_h100"),
        "lists the bundled names: {stderr}"
    );
}
