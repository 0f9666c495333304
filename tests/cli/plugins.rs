//! Plugin discovery, listing and every refusal: each is one clear line and never a crash.

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use crate::support::{
    dl_driver, dl_driver_with, plugin_dir, run, run_ok, small_npz_workload, write_config,
};

fn list_json(cwd: &std::path::Path, dirs: &[&std::path::Path]) -> Vec<Value> {
    let mut command = dl_driver(cwd);
    for dir in dirs {
        command.arg("--plugins").arg(dir);
    }
    let (stdout, _) = run_ok(command.args(["plugins", "list", "--json"]));
    serde_json::from_str::<Vec<Value>>(&stdout)
        .unwrap_or_else(|err| panic!("plugins list --json: {err}\n{stdout}"))
}

fn row<'a>(rows: &'a [Value], name: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no row '{name}' in {rows:#?}"))
}

#[test]
fn list_shows_npz_file_and_direct_as_ok() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(tmp.path(), "plugins", &["npz", "file"]);
    let rows = list_json(tmp.path(), &[&dir]);
    for (name, kind) in [
        ("npz", "format"),
        ("file", "backend"),
        ("direct", "backend"),
    ] {
        let r = row(&rows, name);
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["kind"], kind, "{r}");
        assert_eq!(r["abi"], "1.0.0");
        assert!(r["source"].as_str().unwrap().ends_with(".so"));
    }
    assert!(row(&rows, "direct")["capabilities"]
        .as_array()
        .unwrap()
        .contains(&Value::from("direct-io")));
    let (table, _) = run_ok(dl_driver_with(tmp.path(), &dir).args(["plugins", "list"]));
    let header = table.lines().next().unwrap();
    for column in [
        "NAME",
        "KIND",
        "VERSION",
        "ABI",
        "STATUS",
        "SOURCE",
        "CAPABILITIES",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let (info, _) = run_ok(dl_driver_with(tmp.path(), &dir).args(["plugins", "info", "npz"]));
    assert!(info.contains("extension:    .npz"), "{info}");
}

#[test]
fn plugin_path_variable_and_flag_are_searched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(tmp.path(), "plugins", &["npz"]);
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_dl-driver"));
    command
        .current_dir(tmp.path())
        .env("DL_DRIVER_PLUGIN_PATH", &dir)
        .args(["plugins", "list", "--json"]);
    let (stdout, _) = run_ok(&mut command);
    assert!(stdout.contains(dir.to_str().unwrap()), "{stdout}");
    let (output, _, stderr) =
        run(dl_driver(tmp.path()).args(["--plugins", "/nonexistent/dir", "plugins", "list"]));
    assert!(!output.status.success());
    assert!(
        stderr.contains("plugin directory /nonexistent/dir"),
        "{stderr}"
    );
}

/// Lists a directory holding the real plugins plus `fixture`; returns the fixture's row.
fn fixture_row(fixture: &str) -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(tmp.path(), "plugins", &["npz", "file", fixture]);
    let rows = list_json(tmp.path(), &[&dir]);
    assert_eq!(
        row(&rows, "npz")["status"],
        "ok",
        "a bad neighbour must not spoil the others"
    );
    row(&rows, fixture).clone()
}

#[test]
fn a_library_that_is_not_a_plugin_is_named_with_what_to_do() {
    let r = fixture_row("fixture_not_a_plugin");
    assert_eq!(r["status"], "load-error");
    let reason = r["reason"].as_str().unwrap();
    assert!(reason.contains("not a dl-driver plugin"), "{reason}");
    assert!(reason.contains("export_plugin!"), "{reason}");
}

#[test]
fn a_plugin_built_for_another_abi_version_is_incompatible() {
    let r = fixture_row("fixture_abi_v2");
    assert_eq!(r["status"], "incompatible");
    let reason = r["reason"].as_str().unwrap();
    assert!(reason.contains("built for plugin ABI 2"), "{reason}");
    assert!(reason.contains("supports ABI 1.x"), "{reason}");
    assert!(
        reason.contains("rebuild the plugin against dl-plugin-api 1.x"),
        "{reason}"
    );
}

#[test]
fn a_plugin_with_a_different_layout_is_incompatible() {
    let r = fixture_row("fixture_bad_layout");
    assert_eq!(r["status"], "incompatible");
    let reason = r["reason"].as_str().unwrap();
    assert!(reason.contains("interface types differ"), "{reason}");
    assert!(!reason.contains('\n'), "one line: {reason}");
}

#[test]
fn broken_neighbours_do_not_stop_a_run_and_are_reported_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(
        tmp.path(),
        "plugins",
        &["npz", "file", "fixture_not_a_plugin", "fixture_abi_v2"],
    );
    let config = write_config(tmp.path(), "w.yaml", &small_npz_workload(tmp.path(), ""));
    let (_, stderr) = run_ok(dl_driver_with(tmp.path(), &dir).arg("run").arg(&config));
    let mentions = |name: &str| stderr.lines().filter(|l| l.contains(name)).count();
    assert_eq!(
        mentions("libdl_plugin_fixture_not_a_plugin.so"),
        1,
        "{stderr}"
    );
    assert_eq!(mentions("libdl_plugin_fixture_abi_v2.so"), 1, "{stderr}");
}

#[test]
fn a_world_writable_plugin_is_refused_before_loading() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(tmp.path(), "plugins", &["npz", "file"]);
    let npz = dir.join("libdl_plugin_npz.so");
    std::fs::set_permissions(&npz, std::fs::Permissions::from_mode(0o666)).unwrap();
    let rows = list_json(tmp.path(), &[&dir]);
    let r = row(&rows, "npz");
    assert_eq!(r["status"], "insecure", "{r}");
    assert!(r["reason"].as_str().unwrap().contains("chmod go-w"), "{r}");
    // A run that needs the refused plugin fails with one line that says why.
    let config = write_config(tmp.path(), "w.yaml", &small_npz_workload(tmp.path(), ""));
    let (output, _, stderr) = run(dl_driver_with(tmp.path(), &dir).arg("run").arg(&config));
    assert_eq!(output.status.code(), Some(1));
    let error: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error.len(), 1, "{stderr}");
    assert!(
        error[0].contains("dataset.format 'npz'") && error[0].contains("world-writable"),
        "{stderr}"
    );
}

#[test]
fn the_first_component_of_a_name_wins_and_later_ones_are_shadowed() {
    let tmp = tempfile::tempdir().unwrap();
    let real = plugin_dir(tmp.path(), "real", &["npz", "file"]);
    let shadow = plugin_dir(tmp.path(), "shadow", &["fixture_shadow_npz"]);
    let rows = list_json(tmp.path(), &[&real, &shadow]);
    let npz: Vec<_> = rows.iter().filter(|r| r["name"] == "npz").collect();
    assert_eq!(npz.len(), 2);
    assert_eq!(npz[0]["status"], "ok");
    assert_eq!(npz[1]["status"], "shadowed");
    let reason = npz[1]["reason"].as_str().unwrap();
    assert!(
        reason.contains(real.join("libdl_plugin_npz.so").to_str().unwrap()),
        "{reason}"
    );
    assert!(reason.contains("--plugins"), "{reason}");

    // Reversed, the fixture wins: generation writes its marker files.
    let config = write_config(tmp.path(), "w.yaml", &small_npz_workload(tmp.path(), ""));
    let (_, stderr) = run_ok(
        dl_driver_with(tmp.path(), &shadow)
            .arg("--plugins")
            .arg(&real)
            .arg("generate")
            .arg(&config),
    );
    assert!(stderr.contains("shadowed"), "{stderr}");
    let marker = std::fs::read(tmp.path().join("data/train/img_0_of_8.npz")).unwrap();
    assert_eq!(marker, b"shadow-npz fixture");
}

#[test]
fn a_panicking_plugin_ends_the_run_with_one_line_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(tmp.path(), "plugins", &["file", "fixture_panicky"]);
    let yaml = small_npz_workload(tmp.path(), "").replace("format: npz", "format: panicky");
    let config = write_config(tmp.path(), "w.yaml", &yaml);
    let (output, stdout, stderr) = run(dl_driver_with(tmp.path(), &dir).arg("run").arg(&config));
    assert_eq!(
        output.status.code(),
        Some(1),
        "no abort or signal; stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let lines: Vec<_> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line:\n{stderr}");
    let line = lines[0];
    for part in [
        "error:",
        "format 'panicky'",
        "libdl_plugin_fixture_panicky.so",
        "panicked in generate",
        "fixture panic while generating",
    ] {
        assert!(line.contains(part), "missing '{part}' in: {line}");
    }
    // Nothing half-written is left behind, under a final or a temporary name.
    let train = tmp.path().join("data/train");
    let left: Vec<_> = std::fs::read_dir(&train)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn the_executable_directory_is_searched_after_the_flag_and_the_variable() {
    // An install: the binary with its plugins beside it.
    let tmp = tempfile::tempdir().unwrap();
    let bin = plugin_dir(tmp.path(), "bin", &["npz", "file"]);
    let exe = bin.join("dl-driver");
    std::fs::copy(env!("CARGO_BIN_EXE_dl-driver"), &exe).unwrap();
    let list = |extra: &[&std::path::Path], env: Option<&std::path::Path>| -> Vec<Value> {
        let mut command = std::process::Command::new(&exe);
        command
            .current_dir(tmp.path())
            .env_remove("DL_DRIVER_PLUGIN_PATH");
        if let Some(dir) = env {
            command.env("DL_DRIVER_PLUGIN_PATH", dir);
        }
        for dir in extra {
            command.arg("--plugins").arg(dir);
        }
        let (stdout, _) = run_ok(command.args(["plugins", "list", "--json"]));
        serde_json::from_str(&stdout).unwrap()
    };
    let rows = list(&[], None);
    for name in ["npz", "file", "direct"] {
        let r = row(&rows, name);
        assert_eq!(r["status"], "ok", "{r}");
        assert!(
            r["source"]
                .as_str()
                .unwrap()
                .starts_with(bin.to_str().unwrap()),
            "{r}"
        );
    }
    // --plugins comes first, then DL_DRIVER_PLUGIN_PATH, then the executable's directory.
    let flag = plugin_dir(tmp.path(), "flag", &["fixture_shadow_npz"]);
    let env = plugin_dir(tmp.path(), "env", &["npz"]);
    let order: Vec<(String, String)> = list(&[&flag], Some(&env))
        .iter()
        .filter(|r| r["name"] == "npz")
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_string(),
                r["source"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(order.len(), 3, "{order:?}");
    assert!(
        order[0].0 == "ok" && order[0].1.starts_with(flag.to_str().unwrap()),
        "{order:?}"
    );
    assert!(
        order[1].0 == "shadowed" && order[1].1.starts_with(env.to_str().unwrap()),
        "{order:?}"
    );
    assert!(
        order[2].0 == "shadowed" && order[2].1.starts_with(bin.to_str().unwrap()),
        "{order:?}"
    );

    // Whatever cargo left beside the real binary, no test fixture looks like a plugin there.
    let target_dir = std::path::Path::new(env!("CARGO_BIN_EXE_dl-driver"))
        .parent()
        .unwrap();
    let fixtures: Vec<_> = std::fs::read_dir(target_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("libdl_plugin_fixture") && name.ends_with(".so"))
        .collect();
    assert!(
        fixtures.is_empty(),
        "fixtures beside {}: {fixtures:?}",
        target_dir.display()
    );
}

#[test]
fn a_missing_optional_plugin_is_listed_and_a_workload_needing_it_says_how_to_build_it() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path(), "plugins", &["npz", "file"]);
    let (stdout, _) = run_ok(dl_driver_with(tmp.path(), &plugins).args(["plugins", "list"]));
    let hint = "apt-get install libhdf5-dev && cargo build --release -p dl-plugin-hdf5";
    let row = stdout
        .lines()
        .find(|line| line.starts_with("hdf5 "))
        .unwrap_or_else(|| panic!("no hdf5 row: {stdout}"));
    assert!(row.contains("not-installed"), "{row}");
    assert!(stdout.contains(hint), "{stdout}");
    let (stdout, _) =
        run_ok(dl_driver_with(tmp.path(), &plugins).args(["plugins", "list", "--json"]));
    let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let hdf5 = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"] == "hdf5")
        .expect("an hdf5 row");
    assert_eq!(hdf5["status"], "not-installed");

    let config = write_config(
        tmp.path(),
        "h.yaml",
        &small_npz_workload(tmp.path(), "").replace("format: npz", "format: hdf5"),
    );
    let (output, _, stderr) = run(dl_driver_with(tmp.path(), &plugins).arg("run").arg(&config));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("dataset.format 'hdf5'") && stderr.contains(hint),
        "{stderr}"
    );
    assert!(
        !tmp.path().join("out").exists() && !tmp.path().join("data").exists(),
        "nothing created"
    );
}

#[test]
fn synthetic_is_built_in() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = plugin_dir(tmp.path(), "plugins", &[]);
    let (stdout, _) =
        run_ok(dl_driver_with(tmp.path(), &empty).args(["plugins", "list", "--json"]));
    let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let synthetic = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"] == "synthetic")
        .expect("a synthetic row");
    assert_eq!(synthetic["status"], "ok");
    assert_eq!(synthetic["source"], "(built-in)");
}
