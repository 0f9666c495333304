//! Object storage end to end against real servers on 127.0.0.1: moto for S3, Azurite for
//! Azure Blob. Generation, training, evaluation and checkpoints go through the loaded
//! object-store plugin; the objects are then listed on the server with boto3 or
//! azure-storage-blob and compared with DLIO's keys and sizes.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use crate::{
    servers::{azure_blobs, azurite, moto, s3_objects, Server, AZURITE_ACCOUNT, AZURITE_KEY},
    support::{dl_driver_with, files_under, plugin_dir, run_ok, write_config},
};

/// A secret no output may repeat.
const SECRET: &str = "SECRET-do-not-print-4711";

/// 64 × 64 uint8 with one sample: numpy.savez writes 4594 bytes.
const NPZ_BYTES: u64 = 4594;

/// A small npz workload with evaluation and a checkpoint of `model_bytes`, stored under
/// `data_folder` and `checkpoint_folder` with `storage` options.
fn workload(out: &Path, data: &str, checkpoints: &str, storage: &str, model_bytes: u64) -> String {
    format!(
        "model:\n  name: objects\n  model_size_bytes: {model_bytes}\nframework: pytorch\n\
         workflow:\n  generate_data: True\n  train: True\n  evaluation: True\n  checkpoint: True\n\
         storage:\n{storage}\
         dataset:\n  data_folder: {data}\n  format: npz\n  num_files_train: 8\n  num_files_eval: 2\n  \
         num_samples_per_file: 1\n  record_length_bytes: 4096\n  num_subfolders_train: 2\n\
         reader:\n  data_loader: pytorch\n  batch_size: 2\n  batch_size_eval: 1\n  read_threads: 2\n\
         train:\n  epochs: 1\n  computation_time: 0.001\n\
         evaluation:\n  eval_time: 0.001\n\
         checkpoint:\n  checkpoint_folder: {checkpoints}\n  epochs_between_checkpoints: 1\n\
         output:\n  folder: {out}\n",
        out = out.display(),
    )
}

/// DLIO's keys of the dataset above, relative to the data folder, with their sizes.
fn expected_dataset() -> Vec<(String, u64)> {
    let mut keys: Vec<(String, u64)> = (0..8)
        .map(|i| (format!("train/{}/img_{i}_of_8.npz", i % 2), NPZ_BYTES))
        .chain((0..2).map(|i| (format!("valid/img_{i}_of_2.npz"), NPZ_BYTES)))
        .collect();
    keys.sort();
    keys
}

/// Every file under `dir` holds no trace of `secret`, and neither do `texts`.
fn assert_no_secret(secret: &str, dir: &Path, texts: &[&str]) {
    for text in texts {
        assert!(!text.contains(secret), "the secret was printed: {text}");
    }
    for (name, _) in files_under(dir) {
        let bytes = std::fs::read(dir.join(&name)).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(secret),
            "{name} holds the secret"
        );
    }
}

fn s3_storage(server: &Server) -> String {
    format!(
        "  storage_type: s3\n  storage_root: bench\n  storage_options:\n    \
         access_key_id: testing\n    secret_access_key: {SECRET}\n    \
         endpoint_url: {}\n    region: us-east-1\n    s3_force_path_style: \"true\"\n    \
         s3_max_attempts: 2\n    timeout_seconds: 5\n    retry_timeout_seconds: 10\n    \
         part_size_bytes: 5242880\n",
        server.endpoint()
    )
}

#[test]
fn a_workload_runs_end_to_end_on_s3_with_dlio_keys_and_multipart_checkpoints() {
    let server = moto("bench");
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "object_store"]);
    // A 12 MiB model: its checkpoint is a multipart upload of three 5 MiB parts.
    let config = write_config(
        tmp.path(),
        "w.yaml",
        &workload(
            &tmp.path().join("out"),
            "data/small",
            "s3://bench/ckpt",
            &s3_storage(&server),
            12 << 20,
        ),
    );
    let (stdout, stderr) = run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .arg("run")
            .arg(&config)
            .arg("--io-trace")
            .arg(tmp.path().join("trace.jsonl")),
    );
    assert!(stdout.contains("[METRIC] Training Throughput"), "{stdout}");
    assert!(stdout.contains("[METRIC] Eval Throughput"), "{stdout}");

    let data: Vec<(String, u64)> = s3_objects(&server, "bench", "data/small/")
        .into_iter()
        .map(|(key, size, _)| (key["data/small/".len()..].to_string(), size))
        .collect();
    assert_eq!(data, expected_dataset());
    let checkpoints = s3_objects(&server, "bench", "ckpt/");
    assert_eq!(checkpoints.len(), 1, "{checkpoints:?}");
    let (key, size, etag) = &checkpoints[0];
    assert_eq!(key, "ckpt/global_epoch1_step5/model_states-0.pt");
    assert_eq!(*size, 12 << 20);
    assert!(
        etag.trim_matches('"').ends_with("-3"),
        "a 3-part upload: {etag}"
    );

    // As DLIO's S3 reader does, every sample is one GET of its whole object.
    let trace = std::fs::read_to_string(tmp.path().join("trace.jsonl")).unwrap();
    assert_eq!(trace.lines().count(), 8 + 2, "one epoch and one evaluation");
    for line in trace.lines() {
        let sample: serde_json::Value = serde_json::from_str(line).unwrap();
        let key = sample["key"].as_str().unwrap();
        assert_eq!(
            sample["requests"],
            serde_json::json!([[key, 0, NPZ_BYTES]]),
            "{line}"
        );
    }
    // Every output file, the trace and the console; only the workload file itself holds it.
    let trace = std::fs::read_to_string(tmp.path().join("trace.jsonl")).unwrap();
    assert_no_secret(SECRET, &tmp.path().join("out"), &[&stdout, &stderr, &trace]);
    let hydra = std::fs::read_to_string(tmp.path().join("out/.hydra/config.yaml")).unwrap();
    assert!(hydra.contains("secret_access_key: <redacted>"), "{hydra}");

    // `check` reads every object back through the plugin.
    let (stdout, _) = run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .arg("check")
            .arg(&config),
    );
    assert!(stdout.contains("10 of 10 files ok"), "{stdout}");
}

#[test]
fn listing_finds_more_than_a_thousand_objects() {
    let server = moto("bench");
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "object_store"]);
    // 1,050 synthetic files: S3 lists 1,000 keys a page.
    let yaml = workload(
        &tmp.path().join("out"),
        "data/many",
        "s3://bench/unused",
        &s3_storage(&server),
        1024,
    )
    .replace("format: npz", "format: synthetic")
    .replace("num_files_train: 8", "num_files_train: 1050")
    .replace("  checkpoint: True\n", "  checkpoint: False\n")
    .replace("  train: True\n", "  train: False\n");
    let config = write_config(tmp.path(), "w.yaml", &yaml);
    run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .arg("generate")
            .arg(&config),
    );
    assert_eq!(s3_objects(&server, "bench", "data/many/train/").len(), 1050);
    // A run over the first 1,020 of them finds them by listing the bucket.
    let smaller = write_config(
        tmp.path(),
        "w2.yaml",
        &yaml
            .replace("num_files_train: 1050", "num_files_train: 1020")
            .replace("generate_data: True", "generate_data: False")
            .replace("  train: False\n", "  train: True\n"),
    );
    let (stdout, stderr) = run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .arg("run")
            .arg(&smaller),
    );
    assert!(stdout.contains("[METRIC] Training Throughput"), "{stdout}");
    assert!(
        stderr.contains("holds 1050 files; using the first 1020"),
        "all pages were listed: {stderr}"
    );
}

#[test]
fn an_s3_server_that_goes_away_ends_the_run_with_one_error_naming_it() {
    let mut server = moto("bench");
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "object_store"]);
    let yaml = workload(
        &tmp.path().join("out"),
        "data/small",
        "s3://bench/ckpt",
        &s3_storage(&server),
        1024,
    )
    .replace("  checkpoint: True\n", "  checkpoint: False\n")
    .replace("epochs: 1", "epochs: 1000")
    .replace("computation_time: 0.001", "computation_time: 0.02");
    let config = write_config(tmp.path(), "w.yaml", &yaml);
    let mut child = dl_driver_with(tmp.path(), &plugins)
        .arg("run")
        .arg(&config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Take the server away once training has started (stdout says so).
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let drain = std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
            if line.contains("Starting epoch") {
                let _ = started_tx.send(());
            }
        }
    });
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stderr_text = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr_pipe, &mut text);
        text
    });
    started_rx
        .recv_timeout(Duration::from_secs(90))
        .expect("training started within 90 s");
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "the run ended early");
    server.kill();
    let killed = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(90),
            "dl-driver still running 90 s after the server went away"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    drain.join().unwrap();
    let stderr = stderr_text.join().unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains(&format!("127.0.0.1:{}", server.port)),
        "{stderr}"
    );
    assert!(
        errors[0].contains("data/small/"),
        "names the object: {stderr}"
    );
    assert!(!stderr.contains(SECRET));
}

#[test]
fn a_workload_runs_end_to_end_on_azurite() {
    let tmp = tempfile::tempdir().unwrap();
    let server = azurite(&tmp.path().join("azurite"), "bench");
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "object_store"]);
    let storage = format!(
        "  storage_options:\n    account_name: {AZURITE_ACCOUNT}\n    account_key: {AZURITE_KEY}\n    \
         use_emulator: true\n    endpoint_url: {}\n",
        server.endpoint()
    );
    let config = write_config(
        tmp.path(),
        "w.yaml",
        &workload(
            &tmp.path().join("out"),
            "az://bench/data/small",
            "az://bench/ckpt",
            &storage,
            1 << 20,
        ),
    );
    let (stdout, stderr) = run_ok(dl_driver_with(tmp.path(), &plugins).arg("run").arg(&config));
    assert!(stdout.contains("[METRIC] Training Throughput"), "{stdout}");
    assert!(stdout.contains("[METRIC] Eval Throughput"), "{stdout}");
    let data: Vec<(String, u64)> = azure_blobs(&server, "bench", "data/small/")
        .into_iter()
        .map(|(key, size)| (key["data/small/".len()..].to_string(), size))
        .collect();
    assert_eq!(data, expected_dataset());
    assert_eq!(
        azure_blobs(&server, "bench", "ckpt/"),
        vec![(
            "ckpt/global_epoch1_step5/model_states-0.pt".to_string(),
            1 << 20
        )]
    );
    // The account key is a credential like any other: used, never written.
    assert_no_secret(AZURITE_KEY, &tmp.path().join("out"), &[&stdout, &stderr]);

    // dl-driver's older variables name the account and the container of `az:///prefix`.
    let generate_only = workload(
        &tmp.path().join("out2"),
        "az:///data/env",
        "az:///ckpt",
        &format!(
            "  storage_options:\n    use_emulator: true\n    endpoint_url: {}\n",
            server.endpoint()
        ),
        1024,
    )
    .replace("  train: True\n", "  train: False\n")
    .replace("  checkpoint: True\n", "  checkpoint: False\n");
    let config = write_config(tmp.path(), "env.yaml", &generate_only);
    run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .env("AZURE_BLOB_ACCOUNT", AZURITE_ACCOUNT)
            .env("AZURE_BLOB_CONTAINER", "bench")
            .env("AZURE_STORAGE_ACCOUNT_KEY", AZURITE_KEY)
            .arg("generate")
            .arg(&config),
    );
    assert_eq!(azure_blobs(&server, "bench", "data/env/").len(), 10);
}

#[test]
fn hdf5_on_s3_is_staged_then_uploaded_and_read_with_range_requests() {
    let server = moto("bench");
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["hdf5", "object_store"]);
    // 64 KiB rows, 3 a file: libhdf5 writes each file in a local staging file that the host
    // uploads; a sample then reads metadata and its row with ranged GETs.
    let yaml = workload(
        &tmp.path().join("out"),
        "data/h5",
        "s3://bench/ckpt",
        &s3_storage(&server),
        1024,
    )
    .replace("format: npz", "format: hdf5")
    .replace("num_samples_per_file: 1", "num_samples_per_file: 3")
    .replace("record_length_bytes: 4096", "record_length_bytes: 65536")
    .replace("  checkpoint: True\n", "  checkpoint: False\n");
    let config = write_config(tmp.path(), "w.yaml", &yaml);
    run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .arg("run")
            .arg(&config)
            .arg("--io-trace")
            .arg(tmp.path().join("trace.jsonl")),
    );
    let objects = s3_objects(&server, "bench", "data/h5/train/");
    assert_eq!(objects.len(), 8);
    let size = objects[0].1;
    let trace = std::fs::read_to_string(tmp.path().join("trace.jsonl")).unwrap();
    for line in trace.lines().filter(|l| l.contains("\"train\"")) {
        let sample: serde_json::Value = serde_json::from_str(line).unwrap();
        let requests = sample["requests"].as_array().unwrap();
        let bytes: u64 = requests.iter().map(|r| r[2].as_u64().unwrap()).sum();
        assert!(bytes < size / 2, "a row and metadata, not the file: {line}");
        assert!(
            requests.iter().any(|r| r[2].as_u64() == Some(65536)),
            "one ranged GET for the row: {line}"
        );
    }
    // h5py reads an object downloaded from the server.
    let local = tmp.path().join("one.hdf5");
    crate::servers::s3_python(
        &server,
        "s3.download_file(sys.argv[2], sys.argv[3], sys.argv[4])",
        &["bench", &objects[0].0, local.to_str().unwrap()],
    );
    let shape = crate::support::python_run(
        "import sys, h5py; print(list(h5py.File(sys.argv[1])['records_0'].shape))",
        &[local.to_str().unwrap()],
    );
    assert_eq!(shape.trim(), "[3, 256, 256]");
    let (stdout, _) = run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .arg("check")
            .arg(&config),
    );
    assert!(stdout.contains("10 of 10 files ok"), "{stdout}");
}

#[test]
fn a_workload_runs_end_to_end_on_gcs_through_its_xml_api() {
    let server = crate::servers::gcs_shim();
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "object_store"]);
    // The standard environment of object_store's GCS client; no OAuth against a test double.
    let key = serde_json::json!({
        "private_key": "unused", "private_key_id": "unused", "client_email": "dl@example.com",
        "gcs_base_url": server.endpoint(), "disable_oauth": true
    });
    let config = write_config(
        tmp.path(),
        "w.yaml",
        &workload(
            &tmp.path().join("out"),
            "gs://bench/data/small",
            "gs://bench/ckpt",
            "  storage_root: ./\n",
            6 << 20,
        ),
    );
    let (stdout, stderr) = run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .env("GOOGLE_SERVICE_ACCOUNT_KEY", key.to_string())
            .env("GOOGLE_ALLOW_HTTP", "true")
            .arg("run")
            .arg(&config),
    );
    assert!(stdout.contains("[METRIC] Eval Throughput"), "{stdout}");
    // The shim's listing is the XML API's, which boto3 reads too.
    let data: Vec<(String, u64)> = s3_objects(&server, "bench", "data/small/")
        .into_iter()
        .map(|(key, size, _)| (key["data/small/".len()..].to_string(), size))
        .collect();
    assert_eq!(data, expected_dataset());
    let checkpoints = s3_objects(&server, "bench", "ckpt/");
    assert_eq!(checkpoints.len(), 1, "{checkpoints:?}");
    assert_eq!(checkpoints[0].1, 6 << 20);
    let (stdout, _) = run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .env("GOOGLE_SERVICE_ACCOUNT_KEY", key.to_string())
            .env("GOOGLE_ALLOW_HTTP", "true")
            .arg("check")
            .arg(&config),
    );
    assert!(stdout.contains("10 of 10 files ok"), "{stdout}");
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn credentials_and_endpoint_come_from_a_dotenv_file() {
    let server = moto("bench");
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "object_store"]);
    // Nothing in the workload says where S3 is or who we are: only .env does.
    std::fs::write(
        tmp.path().join(".env"),
        format!(
            "AWS_ACCESS_KEY_ID=testing\nAWS_SECRET_ACCESS_KEY={SECRET}\nAWS_ENDPOINT_URL={}\n\
             AWS_REGION=us-east-1\nAWS_ALLOW_HTTP=true\n",
            server.endpoint()
        ),
    )
    .unwrap();
    let yaml = workload(
        &tmp.path().join("out"),
        "s3://bench/dotenv",
        "s3://bench/ckpt",
        "  storage_options:\n    s3_max_attempts: 1\n    timeout_seconds: 5\n",
        1024,
    )
    .replace("  checkpoint: True\n", "  checkpoint: False\n");
    let config = write_config(tmp.path(), "w.yaml", &yaml);
    let (stdout, stderr) = run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_ENDPOINT_URL")
            .arg("run")
            .arg(&config),
    );
    assert!(stdout.contains("[METRIC] Training Throughput"), "{stdout}");
    assert_eq!(s3_objects(&server, "bench", "dotenv/train/").len(), 8);
    assert_no_secret(SECRET, &tmp.path().join("out"), &[&stdout, &stderr]);
}

#[test]
fn a_bad_storage_option_is_one_error_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "object_store"]);
    let yaml = workload(
        &tmp.path().join("out"),
        "s3://bench/data",
        "s3://bench/ckpt",
        &format!(
            "  storage_options:\n    s3_max_attempts: lots\n    secret_access_key: {SECRET}\n    \
             access_key_id: testing\n"
        ),
        1024,
    );
    let config = write_config(tmp.path(), "w.yaml", &yaml);
    let (output, stdout, stderr) =
        crate::support::run(dl_driver_with(tmp.path(), &plugins).arg("run").arg(&config));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("s3_max_attempts") && stderr.contains("lots"),
        "{stderr}"
    );
    assert!(!stderr.contains(SECRET) && !stdout.contains(SECRET));
    assert!(!tmp.path().join("out").exists(), "no output folder");
}
