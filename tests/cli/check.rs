//! `dl-driver check`: every file of a dataset decoded by its format plugin; corrupt and
//! missing files are named and the exit status says so.

use std::path::Path;

use crate::support::{dl_driver_with, plugin_dir, run, run_ok, small_npz_workload, write_config};

/// Runs `check`, which must fail (exit 1); returns its stdout and stderr.
fn failed_check(dir: &Path, plugins: &Path, config: &Path) -> (String, String) {
    let (output, stdout, stderr) = run(dl_driver_with(dir, plugins).arg("check").arg(config));
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    (stdout, stderr)
}

/// The line of `check`'s report that names `key`.
fn named(stdout: &str, key: &str) -> String {
    stdout
        .lines()
        .find(|l| l.contains(key))
        .unwrap_or_else(|| panic!("{key} not named in {stdout}"))
        .to_string()
}

#[test]
fn check_names_every_corrupt_truncated_and_missing_file() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "file"]);
    let config = write_config(tmp.path(), "w.yaml", &small_npz_workload(tmp.path(), ""));
    run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .arg("generate")
            .arg(&config),
    );
    let (stdout, _) = run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .arg("check")
            .arg(&config),
    );
    assert!(stdout.contains("8 of 8 files ok"), "{stdout}");

    let train = tmp.path().join("data/train");
    // One flipped byte inside the array data: the zip CRC no longer matches.
    let flipped = train.join("img_1_of_8.npz");
    let mut bytes = std::fs::read(&flipped).unwrap();
    bytes[2000] ^= 0x40;
    std::fs::write(&flipped, &bytes).unwrap();
    // A truncated file and a missing one.
    let truncated = train.join("img_4_of_8.npz");
    let whole = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    std::fs::remove_file(train.join("img_6_of_8.npz")).unwrap();

    let (stdout, stderr) = failed_check(tmp.path(), &plugins, &config);
    let line = |key: &str| named(&stdout, key);
    assert!(
        line("img_1_of_8.npz").starts_with("corrupt") && line("img_1_of_8.npz").contains("CRC"),
        "{stdout}"
    );
    assert!(line("img_4_of_8.npz").starts_with("corrupt"), "{stdout}");
    assert!(line("img_6_of_8.npz").starts_with("missing"), "{stdout}");
    assert!(stdout.contains("5 of 8 files ok"), "{stdout}");
    assert!(
        stderr.contains("error: 3 of 8 files failed the check"),
        "{stderr}"
    );
}

#[test]
fn check_finds_a_flipped_tfrecord_byte_by_its_crc_and_a_truncated_record() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["tfrecord", "file"]);
    let workload = small_npz_workload(tmp.path(), "  num_samples_per_file: 3\n")
        .replace("format: npz", "format: tfrecord")
        .replace("  num_samples_per_file: 1\n", "")
        .replace("framework: pytorch", "framework: tensorflow")
        .replace("data_loader: pytorch", "data_loader: tensorflow");
    let config = write_config(tmp.path(), "w.yaml", &workload);
    run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .arg("generate")
            .arg(&config),
    );
    let train = tmp.path().join("data/train");
    // A byte inside the second record's payload: its CRC32C no longer matches.
    let flipped = train.join("img_2_of_8.tfrecord");
    let mut bytes = std::fs::read(&flipped).unwrap();
    let second_payload = bytes.len() / 3 + 100;
    bytes[second_payload] ^= 0x01;
    std::fs::write(&flipped, &bytes).unwrap();
    // A file cut in the middle of its last record.
    let truncated = train.join("img_5_of_8.tfrecord");
    let whole = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &whole[..whole.len() - 10]).unwrap();

    let (stdout, _) = failed_check(tmp.path(), &plugins, &config);
    let line = |key: &str| named(&stdout, key);
    let crc = line("img_2_of_8.tfrecord");
    assert!(crc.starts_with("corrupt") && crc.contains("CRC"), "{crc}");
    assert!(
        line("img_5_of_8.tfrecord").starts_with("corrupt"),
        "{stdout}"
    );
    assert!(stdout.contains("6 of 8 files ok"), "{stdout}");
}

#[test]
fn check_names_a_truncated_hdf5_file() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["hdf5", "file"]);
    let workload = small_npz_workload(tmp.path(), "").replace("format: npz", "format: hdf5");
    let config = write_config(tmp.path(), "w.yaml", &workload);
    run_ok(
        dl_driver_with(tmp.path(), &plugins)
            .arg("generate")
            .arg(&config),
    );
    let truncated = tmp.path().join("data/train/img_3_of_8.hdf5");
    let whole = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    let (stdout, _) = failed_check(tmp.path(), &plugins, &config);
    let line = named(&stdout, "img_3_of_8.hdf5");
    assert!(line.starts_with("corrupt"), "{line}");
    assert!(stdout.contains("7 of 8 files ok"), "{stdout}");
}
