//! `dl-driver check`: every file of a dataset decoded by its format plugin; corrupt and
//! missing files are named and the exit status says so.

use crate::support::{dl_driver_with, plugin_dir, run, run_ok, small_npz_workload, write_config};

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

    let (output, stdout, stderr) = run(dl_driver_with(tmp.path(), &plugins)
        .arg("check")
        .arg(&config));
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    let line = |key: &str| {
        stdout
            .lines()
            .find(|l| l.contains(key))
            .unwrap_or_else(|| panic!("{key} not named in {stdout}"))
            .to_string()
    };
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
