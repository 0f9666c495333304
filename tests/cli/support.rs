//! Helpers for driving the built `dl-driver` binary with private plugin directories.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// The binary under test, searching only the plugin directories a test gives it.
pub fn dl_driver(cwd: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dl-driver"));
    command
        .current_dir(cwd)
        .arg("--no-default-plugin-dirs")
        .env_remove("DL_DRIVER_PLUGIN_PATH")
        .env("RUST_LOG", "warn");
    for var in ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"] {
        command.env_remove(var);
    }
    command
}

/// The binary under test with one `--plugins` directory.
pub fn dl_driver_with(cwd: &Path, plugins: &Path) -> Command {
    let mut command = dl_driver(cwd);
    command.arg("--plugins").arg(plugins);
    command
}

/// A plugin library cargo built for this test run (`npz`, `fixture_panicky`, …). Fixtures are
/// built as `libdl_fixture_*.so` so that no plugin search ever finds them by accident.
pub fn built_plugin(stem: &str) -> PathBuf {
    let name = match stem.strip_prefix("fixture_") {
        Some(fixture) => format!("libdl_fixture_{fixture}.so"),
        None => format!("libdl_plugin_{stem}.so"),
    };
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("deps directory");
    [deps.join(&name), deps.join("..").join(&name)]
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} was not built next to {}: run the tests with `cargo test --workspace` \
                 (dl-driver's dev-dependencies build every plugin library)",
                deps.display()
            )
        })
}

/// A fresh plugin directory holding copies of the named plugin libraries.
pub fn plugin_dir(parent: &Path, name: &str, stems: &[&str]) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for stem in stems {
        let target = dir.join(format!("libdl_plugin_{stem}.so"));
        std::fs::copy(built_plugin(stem), &target).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// Runs `command`, returning its output with stdout and stderr as text.
pub fn run(command: &mut Command) -> (Output, String, String) {
    let output = command.output().expect("dl-driver starts");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

/// Runs `command` and fails the test, showing its output, unless it succeeds.
pub fn run_ok(command: &mut Command) -> (String, String) {
    let (output, stdout, stderr) = run(command);
    assert!(
        output.status.success(),
        "dl-driver failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    (stdout, stderr)
}

/// Writes a workload file into `dir`.
pub fn write_config(dir: &Path, name: &str, yaml: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, yaml).unwrap();
    path
}

/// A small npz workload rooted in `dir` (data and output inside it).
pub fn small_npz_workload(dir: &Path, extra_dataset: &str) -> String {
    format!(
        "model:\n  name: small\nframework: pytorch\nworkflow:\n  generate_data: True\n  train: True\n\
         dataset:\n  data_folder: {data}\n  format: npz\n  num_files_train: 8\n  num_samples_per_file: 1\n  \
         record_length_bytes: 4096\n{extra_dataset}\
         reader:\n  data_loader: pytorch\n  batch_size: 2\n  read_threads: 2\n\
         train:\n  epochs: 1\n  computation_time: 0.001\noutput:\n  folder: {out}\n",
        data = dir.join("data").display(),
        out = dir.join("out").display(),
    )
}

/// Python with the readers that check generated files (numpy, h5py, tfrecord, Pillow) and
/// the storage servers and clients of the object-store tests (moto, boto3, azure-storage-blob), from
/// `DL_DRIVER_PYTHON` (set by scripts/test.sh) or `python3`.
pub fn python() -> PathBuf {
    let python = std::env::var_os("DL_DRIVER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| "python3".into());
    let probe = Command::new(&python)
        .args([
            "-c",
            "import numpy, h5py, tfrecord, crc32c, PIL, boto3, moto.server, azure.storage.blob",
        ])
        .output();
    let problem = match probe {
        Ok(out) if out.status.success() => return python,
        Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
        Err(err) => err.to_string(),
    };
    panic!(
        "{} cannot import the readers that check the generated files ({problem}): run the tests \
         through scripts/test.sh (it makes a venv from scripts/test-requirements.txt), or set \
         DL_DRIVER_PYTHON to a Python that has them",
        python.display()
    )
}

/// Runs a Python snippet (with `sys.argv[1:] = args`) and returns its stdout.
pub fn python_run(script: &str, args: &[&str]) -> String {
    let mut command = Command::new(python());
    command.arg("-c").arg(script).args(args);
    let (stdout, _) = run_ok(&mut command);
    stdout
}

/// Reads a JSON file the binary wrote, failing the test with the path on any problem.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// Every file under `dir`, recursively, as (path relative to `dir`, size), sorted by path.
pub fn files_under(dir: &Path) -> Vec<(String, u64)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                found.push((rel, std::fs::metadata(&path).unwrap().len()));
            }
        }
    }
    found.sort();
    found
}

/// Overrides that shrink `llama_8b_zero3` to a transformer of a few KiB, checkpointing to `ckpt`.
pub const TINY_LLAMA: [&str; 8] = [
    "++workload.model.num_layers=2",
    "++workload.model.transformer.hidden_size=64",
    "++workload.model.transformer.ffn_hidden_size=128",
    "++workload.model.transformer.vocab_size=1000",
    "++workload.model.transformer.num_attention_heads=4",
    "++workload.model.transformer.num_kv_heads=2",
    "++workload.checkpoint.time_between_checkpoints=0.01",
    "++workload.checkpoint.checkpoint_folder=ckpt",
];
