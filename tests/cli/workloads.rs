//! DLIO workloads end to end: the `default` workload's output files and keys, checkpoint
//! layouts and sizes from the plan, checkpoints really written with the planned bytes, and
//! DLIO's checkpoint cadence.

use std::path::Path;

use serde_json::Value;

use crate::support::{dl_driver_with, files_under, plugin_dir, read_json, run, run_ok, TINY_LLAMA};

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn the_default_workload_writes_every_dlio_output_file_with_dlios_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "file"]);
    let run_dir = tmp.path().join("run");
    run_ok(dl_driver_with(tmp.path(), &plugins).args([
        "run",
        "workload=default",
        "++workload.workflow.generate_data=True",
        "++workload.train.computation_time=0.01",
        "++workload.evaluation.eval_time=0.001",
        "++workload.train.epochs=2",
        &format!("++hydra.run.dir={}", run_dir.display()),
        "++hydra.output_subdir=dlio_config",
    ]));
    // 64 + 8 files in 2 + 2 subfolders, as DLIO names them.
    assert!(tmp
        .path()
        .join("data/default/train/1/img_07_of_64.npz")
        .is_file());
    assert!(tmp
        .path()
        .join("data/default/valid/0/img_4_of_8.npz")
        .is_file());

    let summary = read_json(&run_dir.join("summary.json"));
    assert_eq!(
        keys(&summary),
        [
            "start",
            "num_accelerators",
            "num_hosts",
            "hostname",
            "metric",
            "num_files_train",
            "num_files_eval",
            "num_samples_per_file",
            "host_cpu_count",
            "host_processor_name",
            "potential_caching",
            "host_cpuinfo",
            "host_meminfo",
            "host_memory_GB",
            "data_size_per_host_GB",
            "epochs",
            "end"
        ]
    );
    let phase_keys = |p: &str| {
        [
            "au_percentage",
            "au_mean_percentage",
            "au_meet_expectation",
            "au_stdev_percentage",
            "throughput_samples_per_second",
            "throughput_mean_samples_per_second",
            "throughput_stdev_samples_per_second",
            "io_mean_MB_per_second",
            "io_stdev_MB_per_second",
        ]
        .map(|k| format!("{p}_{k}"))
    };
    let expected: Vec<String> = phase_keys("train")
        .into_iter()
        .chain(phase_keys("eval"))
        .collect();
    assert_eq!(
        keys(&summary["metric"]),
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(summary["num_files_train"], 64);
    assert_eq!(summary["epochs"], 2);
    assert_eq!(
        summary["metric"]["train_au_percentage"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Per-step lists: 64 samples / batch 4 = 16 training steps, 8 / batch 1 = 8 eval steps.
    let output = read_json(&run_dir.join("0_output.json"));
    for epoch in ["1", "2"] {
        for list in ["load", "proc", "compute"] {
            assert_eq!(
                output[epoch][list]["block1"].as_array().unwrap().len(),
                16,
                "{epoch} {list}"
            );
            assert_eq!(
                output[epoch][list]["eval"].as_array().unwrap().len(),
                8,
                "{epoch} {list}"
            );
        }
        assert!(output[epoch]["au"]["block1"].as_f64().unwrap() > 0.0);
    }
    for key in [
        "host_memory_GB",
        "host_cpu_count",
        "host_processor_name",
        "potential_caching",
        "host_cpuinfo",
        "host_meminfo",
        "hostname",
    ] {
        assert!(
            output.get(key).is_some(),
            "{key} missing from 0_output.json"
        );
    }
    let stats = read_json(&run_dir.join("0_per_epoch_stats.json"));
    assert_eq!(
        keys(&stats["1"]),
        ["start", "block1", "end", "duration", "eval"]
    );
    assert!(stats["1"]["block1"]["duration"].is_string());

    // The composed config, the overrides as typed, and DLIO's log.
    let config = std::fs::read_to_string(run_dir.join("dlio_config/config.yaml")).unwrap();
    assert!(config.starts_with("workload:"), "{config}");
    let overrides = std::fs::read_to_string(run_dir.join("dlio_config/overrides.yaml")).unwrap();
    assert!(
        overrides.contains("++workload.train.computation_time=0.01"),
        "{overrides}"
    );
    assert!(run_dir.join("dlio_config/hydra.yaml").is_file());
    let log = std::fs::read_to_string(run_dir.join("dlio.log")).unwrap();
    assert!(
        log.contains("[METRIC] Training Accelerator Utilization [AU] (%)"),
        "{log}"
    );
}

fn checkpoint_json(tmp: &Path, plugins: &Path, workload: &str, ranks: u64) -> Value {
    let (stdout, _) = run_ok(dl_driver_with(tmp, plugins).args([
        "validate",
        "--workload",
        workload,
        "--ranks",
        &ranks.to_string(),
        "--json",
    ]));
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    plan["checkpoint"].clone()
}

#[test]
fn llama_checkpoint_sizes_come_from_the_plan_as_dlio_reports_them() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "file"]);
    let llama_8b = checkpoint_json(tmp.path(), &plugins, "llama_8b_zero3", 8);
    assert_eq!(llama_8b["files"], 16);
    assert_eq!(llama_8b["bytes"], 112_425_623_552u64);
    assert_eq!(
        format!("{:.2}", llama_8b["size_gb"].as_f64().unwrap()),
        "104.70"
    );
    for (workload, ranks, gib) in [
        ("llama_70b", 64, "911.21"),
        ("llama_70b_zero3", 64, "911.21"),
        ("llama_405b", 512, "5292.25"),
        ("llama_1t", 1024, "15426.59"),
    ] {
        let plan = checkpoint_json(tmp.path(), &plugins, workload, ranks);
        assert_eq!(
            format!("{:.2}", plan["size_gb"].as_f64().unwrap()),
            gib,
            "{workload} on {ranks} ranks"
        );
    }
}

#[test]
fn a_scaled_down_transformer_writes_exactly_the_planned_bytes_and_reads_them_back() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "file"]);
    let args = |extra: &[&str]| -> Vec<String> {
        let mut all = vec!["workload=llama_8b_zero3".to_string()];
        all.extend(TINY_LLAMA.iter().map(|s| s.to_string()));
        all.extend(extra.iter().map(|s| s.to_string()));
        all
    };
    let (plan, _) = run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .arg("validate")
            .arg("--json")
            .args(args(&[])),
    );
    let per_checkpoint = serde_json::from_str::<Value>(&plan).unwrap()["checkpoint"]["bytes"]
        .as_u64()
        .unwrap();
    let out = tmp.path().join("out");
    run_ok(dl_driver_with(tmp.path(), &plugins).arg("run").args(args(&[
        "++workload.checkpoint.num_checkpoints_write=2",
        "++workload.checkpoint.num_checkpoints_read=1",
        &format!("++workload.output.folder={}", out.display()),
    ])));
    let written = files_under(&tmp.path().join("ckpt"));
    let names: Vec<&str> = written.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "global_epoch1_step1/zero_pp_rank_0_mp_rank_0_model_states.pt",
            "global_epoch1_step1/zero_pp_rank_0_mp_rank_0_optim_states.pt",
            "global_epoch1_step2/zero_pp_rank_0_mp_rank_0_model_states.pt",
            "global_epoch1_step2/zero_pp_rank_0_mp_rank_0_optim_states.pt",
        ]
    );
    let total: u64 = written.iter().map(|(_, size)| size).sum();
    assert_eq!(
        total,
        2 * per_checkpoint,
        "two checkpoints of the planned size"
    );

    let summary = read_json(&out.join("summary.json"));
    let metric = keys(&summary["metric"]);
    assert_eq!(
        metric.first(),
        Some(&"save_checkpoint_io_mean_GB_per_second"),
        "checkpoint keys come first"
    );
    assert!(
        metric.contains(&"load_checkpoint_duration_mean_seconds")
            && metric.contains(&"checkpoint_size_GB")
    );
    let stats = read_json(&out.join("0_per_epoch_stats.json"));
    assert_eq!(
        keys(&stats["1"]),
        ["start", "save_ckpt1", "save_ckpt2", "load_ckpt1", "end"]
    );
    assert!(stats["1"]["save_ckpt1"]["duration"].is_f64());

    // Reading more checkpoints than exist fails clearly, naming the missing one.
    let (output, _, stderr) = run(dl_driver_with(tmp.path(), &plugins).arg("run").args(args(&[
        "++workload.checkpoint.num_checkpoints_write=0",
        "++workload.checkpoint.num_checkpoints_read=3",
    ])));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("global_epoch1_step3") && stderr.contains("checkpoint 3"),
        "{stderr}"
    );
}

#[test]
fn checkpoints_follow_dlios_epoch_and_step_cadence() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "file"]);
    let base = [
        "run",
        "workload=default",
        "++workload.workflow.generate_data=True",
        "++workload.workflow.checkpoint=True",
        "++workload.workflow.evaluation=False",
        "++workload.train.computation_time=0",
        "++workload.train.epochs=2",
    ];
    // Step checkpoints every 2 steps: DLIO's test_checkpoint_step count (64 // 4 // P) // 2 per epoch.
    run_ok(dl_driver_with(tmp.path(), &plugins).args(base).args([
        "++workload.checkpoint.steps_between_checkpoints=2",
        "++workload.checkpoint.checkpoint_folder=steps",
        "++workload.output.folder=out_steps",
    ]));
    let steps = files_under(&tmp.path().join("steps"));
    assert_eq!(steps.len(), 16, "{steps:?}");
    assert!(steps
        .iter()
        .all(|(name, size)| name.ends_with("/model_states-0.pt") && *size == 10240));
    assert!(steps
        .iter()
        .any(|(name, _)| name.starts_with("global_epoch2_step16/")));
    let output = read_json(&tmp.path().join("out_steps/0_output.json"));
    assert_eq!(
        keys(&output["1"]["load"]).len(),
        9,
        "8 checkpoints split the epoch into 9 blocks"
    );

    // Epoch checkpoints after epoch 1 and every epoch: directory named after step 16 + 1.
    run_ok(dl_driver_with(tmp.path(), &plugins).args(base).args([
        "++workload.checkpoint.checkpoint_folder=epochs",
        "++workload.output.folder=out_epochs",
    ]));
    let epochs: Vec<String> = files_under(&tmp.path().join("epochs"))
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        epochs,
        [
            "global_epoch1_step17/model_states-0.pt",
            "global_epoch2_step17/model_states-0.pt"
        ]
    );
}

#[test]
fn a_run_uses_the_first_files_of_a_larger_existing_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "file"]);
    let common = [
        "workload=default",
        "++workload.train.computation_time=0",
        "++workload.train.epochs=1",
    ];
    // DLIO's test_subset: generate the 64-file default dataset, then train on 8 of its files.
    run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .arg("generate")
            .args(common),
    );
    let (_, stderr) = run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .arg("run")
            .args(common)
            .args([
                "++workload.dataset.num_files_train=8",
                "++workload.dataset.num_files_eval=2",
                "++workload.evaluation.eval_time=0",
                "++workload.output.folder=out_subset",
            ]),
    );
    assert!(
        stderr.contains("holds 64 files; using the first 8"),
        "{stderr}"
    );
    let output = read_json(&tmp.path().join("out_subset/0_output.json"));
    assert_eq!(
        output["1"]["load"]["block1"].as_array().unwrap().len(),
        2,
        "8 files / batch 4"
    );
    // Asking for more than exist still says how to generate them.
    let (result, _, stderr) = run(dl_driver_with(tmp.path(), &plugins)
        .arg("run")
        .args(common)
        .arg("++workload.dataset.num_files_train=100"));
    assert_eq!(result.status.code(), Some(1));
    assert!(
        stderr.contains("Not enough training dataset is found"),
        "{stderr}"
    );
}

#[test]
fn iostat_profiling_writes_iostat_json() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "file"]);
    let out = tmp.path().join("out");
    run_ok(dl_driver_with(tmp.path(), &plugins).args([
        "run",
        "workload=default",
        "++workload.workflow.generate_data=True",
        "++workload.workflow.profiling=True",
        "++workload.workflow.evaluation=False",
        // iostat -y reports once a second after skipping the since-boot report: run for 1.6 s.
        "++workload.train.computation_time=0.1",
        "++workload.train.epochs=1",
        &format!("++workload.output.folder={}", out.display()),
    ]));
    let iostat = read_json(&out.join("iostat.json"));
    let stats = &iostat["sysstat"]["hosts"][0]["statistics"];
    assert!(
        !stats.as_array().unwrap_or(&Vec::new()).is_empty(),
        "iostat wrote statistics: {iostat}"
    );
    assert!(!out.join(".iostat.json.partial").exists());
}

#[test]
fn every_bundled_workload_validates() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "file"]);
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    let mut files: Vec<_> = files_under(&configs)
        .into_iter()
        .map(|(name, _)| name)
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 38,
        "the DLIO and MLPerf sets and the quickstart: {files:?}"
    );
    for name in files {
        let (output, stdout, stderr) = run(dl_driver_with(tmp.path(), &plugins)
            .arg("validate")
            .arg(configs.join(&name)));
        assert!(output.status.success(), "{name}: {stdout}{stderr}");
        assert!(stdout.contains("valid for"), "{name}: {stdout}");
    }
}

#[test]
fn ksm_options_take_dlios_defaults() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "file"]);
    let query = |extra: &[&str], key: &str| -> String {
        let mut command = dl_driver_with(tmp.path(), &plugins);
        command.args(["query", "workload=default", key]).args(extra);
        run_ok(&mut command).0.trim().to_string()
    };
    assert_eq!(query(&[], "checkpoint.ksm"), "None");
    let on = [
        "++workload.checkpoint.ksm={}",
        "++workload.checkpoint.randomize_tensor=False",
    ];
    assert_eq!(query(&on, "checkpoint.ksm.madv_mergeable_id"), "12");
    let number = |text: String| {
        text.parse::<f64>()
            .unwrap_or_else(|_| panic!("not a number: {text}"))
    };
    assert_eq!(number(query(&on, "checkpoint.ksm.high_ram_trigger")), 30.0);
    assert_eq!(number(query(&on, "checkpoint.ksm.low_ram_exit")), 15.0);
    assert_eq!(query(&on, "checkpoint.ksm.await_time"), "200");
    let set = [
        "++workload.checkpoint.ksm.high_ram_trigger=25.5",
        "++workload.checkpoint.ksm.await_time=100",
    ];
    assert_eq!(query(&set, "checkpoint.ksm.high_ram_trigger"), "25.5");
    assert_eq!(query(&set, "checkpoint.ksm.await_time"), "100");
    assert_eq!(number(query(&set, "checkpoint.ksm.low_ram_exit")), 15.0);
}

#[test]
fn keep_files_false_removes_the_dataset_after_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "file"]);
    run_ok(dl_driver_with(tmp.path(), &plugins).args([
        "run",
        "workload=default",
        "++workload.workflow.generate_data=True",
        "++workload.workflow.evaluation=False",
        "++workload.train.computation_time=0",
        "++workload.train.epochs=1",
        "++workload.dataset.keep_files=False",
    ]));
    let left: Vec<_> = files_under(&tmp.path().join("data/default"))
        .into_iter()
        .filter(|(name, _)| name.ends_with(".npz"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
