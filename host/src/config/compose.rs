//! The Hydra layer of DLIO's command line: a workload chosen by file or by name
//! (`workload=NAME`, searched in `--config-dir DIR/workload/` and then among the bundled
//! workloads), command-line overrides applied to its tree before it is typed, Hydra's own
//! `hydra.run.dir` / `hydra.output_subdir` settings, the three files Hydra writes into the
//! output subdirectory (MLPerf Storage's checker parses them), and `dlio_benchmark_query`'s
//! printing of one effective value.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use serde_json::{json, Value};

use super::{
    bundled, from_tree,
    overrides::{self, Mode, Override, OverrideError, Scope},
    parse_tree, secrets, ConfigError, LoadedWorkload,
};

/// Where a workload comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkloadSource {
    /// A workload YAML file (dl-driver's `CONFIG` argument).
    File(PathBuf),
    /// DLIO's `workload=NAME`: `<config_dir>/workload/NAME.yaml` if it exists, else the
    /// bundled workload of that name.
    Named {
        /// The workload's name (`unet3d_h100`).
        name: String,
        /// `--config-dir`, searched before the bundled workloads.
        config_dir: Option<PathBuf>,
    },
}

/// Hydra's settings that a DLIO run honours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HydraSettings {
    /// `hydra.run.dir`: the run's output directory, if given.
    pub run_dir: Option<String>,
    /// `hydra.output_subdir`: where `config.yaml`, `overrides.yaml` and `hydra.yaml` go,
    /// relative to the run directory (Hydra's default `.hydra`; MLPerf uses `dlio_config`).
    pub output_subdir: String,
}

impl Default for HydraSettings {
    fn default() -> Self {
        HydraSettings {
            run_dir: None,
            output_subdir: DEFAULT_OUTPUT_SUBDIR.into(),
        }
    }
}

/// Hydra's default `hydra.output_subdir`.
const DEFAULT_OUTPUT_SUBDIR: &str = ".hydra";

/// A workload after composition: loaded, overridden and typed, with Hydra's settings.
#[derive(Debug, Clone)]
pub struct Composed {
    /// The workload after the overrides; its `tree` is what `config.yaml` records.
    pub loaded: LoadedWorkload,
    /// The overrides as typed, in order (workload and Hydra ones).
    pub overrides: Vec<String>,
    /// Hydra's settings from `hydra.*` overrides.
    pub hydra: HydraSettings,
    /// Where the workload came from (its name goes into `overrides.yaml` as Hydra records it).
    pub source: WorkloadSource,
}

/// Loads the workload of `source`, applies `overrides` (as typed on the command line, e.g.
/// `++workload.dataset.num_files_train=4`, `++hydra.run.dir=DIR`) to its tree, and types it.
/// Overrides apply before typing, so a bad overridden value is reported under its key.
pub fn compose(source: &WorkloadSource, overrides: &[String]) -> Result<Composed, ConfigError> {
    let parsed = overrides
        .iter()
        .map(|text| overrides::parse(text))
        .collect::<Result<Vec<_>, _>>()?;
    let (text, path) = read_source(source)?;
    let mut tree = parse_tree(&text, &path)?;
    for ov in parsed.iter().filter(|ov| ov.scope == Scope::Workload) {
        overrides::apply(&mut tree, ov)?;
    }
    let mut loaded = from_tree(tree, &path).map_err(|err| blame(err, &parsed))?;
    let mut hydra = HydraSettings::default();
    let mut ignored = Vec::new();
    for ov in parsed.iter().filter(|ov| ov.scope == Scope::Hydra) {
        apply_hydra(&mut hydra, ov, &mut ignored, &mut loaded.warnings)?;
    }
    if !ignored.is_empty() {
        loaded.warnings.push(format!(
            "ignoring Hydra overrides that dl-driver has no use for (it honours only \
             hydra.run.dir and hydra.output_subdir): {}",
            ignored.join(", ")
        ));
    }
    Ok(Composed {
        loaded,
        overrides: overrides.to_vec(),
        hydra,
        source: source.clone(),
    })
}

/// The text of the workload and the name messages give it.
fn read_source(source: &WorkloadSource) -> Result<(String, PathBuf), ConfigError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|err| ConfigError::Read {
            path: path.to_path_buf(),
            source: err,
        })
    };
    match source {
        WorkloadSource::File(path) => Ok((read(path)?, path.clone())),
        WorkloadSource::Named { name, config_dir } => {
            if let Some(dir) = config_dir {
                if !dir.is_dir() {
                    return Err(ConfigError::ConfigDir { dir: dir.clone() });
                }
                let path = dir.join("workload").join(format!("{name}.yaml"));
                if path.is_file() {
                    return Ok((read(&path)?, path));
                }
            }
            if let Some(text) = bundled::bundled(name) {
                return Ok((
                    text.to_string(),
                    PathBuf::from(format!("bundled workload {name}")),
                ));
            }
            Err(unknown_workload(name, config_dir.as_deref()))
        }
    }
}

fn unknown_workload(name: &str, config_dir: Option<&Path>) -> ConfigError {
    let searched = match config_dir {
        Some(dir) => format!(
            "in {} or among the bundled workloads",
            dir.join("workload").display()
        ),
        None => {
            "among the bundled workloads (add --config-dir DIR to search DIR/workload/)".to_string()
        }
    };
    let hint = if name.ends_with(".yaml") {
        format!(
            " (give the name without .yaml, e.g. workload={}, or the file itself as CONFIG)",
            name.trim_end_matches(".yaml")
        )
    } else {
        String::new()
    };
    ConfigError::UnknownWorkload {
        name: name.into(),
        searched,
        available: bundled::names().join(", "),
        hint,
    }
}

/// Adds the override that set a badly typed key to the error, since the file does not show it.
fn blame(err: ConfigError, parsed: &[Override]) -> ConfigError {
    let ConfigError::Value { path, key, message } = err else {
        return err;
    };
    let culprit = parsed.iter().rev().find(|ov| {
        if ov.scope != Scope::Workload || ov.mode == Mode::Delete {
            return false;
        }
        let mut components = ov.path.clone();
        if components[0] == "data_reader" {
            components[0] = "reader".into();
        }
        let set = components.join(".");
        key == set || key.starts_with(&format!("{set}.")) || set.starts_with(&format!("{key}."))
    });
    let message = match culprit {
        Some(ov) => format!("{message} (set by the override '{}')", ov.text),
        None => message,
    };
    ConfigError::Value { path, key, message }
}

/// Applies one `hydra.*` override: the run directory and the output subdirectory are used,
/// anything else is listed in `ignored`.
fn apply_hydra(
    settings: &mut HydraSettings,
    ov: &Override,
    ignored: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let is_run_dir = match ov.path.join(".").as_str() {
        "run.dir" => true,
        "output_subdir" => false,
        _ => {
            ignored.push(ov.text.clone());
            return Ok(());
        }
    };
    let current = if is_run_dir {
        settings
            .run_dir
            .clone()
            .unwrap_or_else(|| "Hydra's default".into())
    } else {
        settings.output_subdir.clone()
    };
    let value = match (ov.mode, &ov.value) {
        // Both keys always exist in Hydra's configuration, so `+` fails there too.
        (Mode::Add, _) => {
            return Err(OverrideError::Exists {
                key: ov.key.clone(),
                existing: current,
                value: ov.text.split_once('=').map_or("", |(_, v)| v).into(),
            }
            .into())
        }
        (Mode::Delete, _) | (_, None) => None,
        (_, Some(Value::Null)) => None,
        (_, Some(Value::String(s))) => Some(s.clone()),
        (_, Some(v @ (Value::Number(_) | Value::Bool(_)))) => Some(v.to_string()),
        (_, Some(_)) => {
            return Err(OverrideError::Value {
                text: ov.text.clone(),
                message: format!("{} must be a directory name, not a list or mapping", ov.key),
            }
            .into())
        }
    };
    if is_run_dir {
        settings.run_dir = value;
    } else {
        settings.output_subdir = match value {
            Some(subdir) if !subdir.is_empty() => subdir,
            _ => {
                // Hydra skips its files when output_subdir is null; MLPerf needs them, and
                // they cost nothing, so dl-driver always writes them.
                warnings.push(format!(
                    "'{}': dl-driver always writes the Hydra files; they go to {DEFAULT_OUTPUT_SUBDIR}",
                    ov.text
                ));
                DEFAULT_OUTPUT_SUBDIR.into()
            }
        };
    }
    Ok(())
}

/// The overrides Hydra records as the task's (`overrides.yaml`): the workload selection
/// first, then every override that is not a `hydra` one, as typed.
fn task_overrides(composed: &Composed) -> Vec<String> {
    let selection = match &composed.source {
        WorkloadSource::Named { name, .. } => Some(format!("workload={name}")),
        WorkloadSource::File(_) => None,
    };
    selection
        .into_iter()
        .chain(
            composed
                .overrides
                .iter()
                .filter(|text| !is_hydra_override(text))
                .map(|text| secrets::redact_override(text)),
        )
        .collect()
}

fn is_hydra_override(text: &str) -> bool {
    let key = text.trim_start_matches(['+', '~']);
    key.starts_with("hydra.") || key.starts_with("hydra/") || key.starts_with("hydra=")
}

/// Writes Hydra's three files into `dir` (the run directory's output subdirectory, e.g.
/// `<run_dir>/dlio_config`), each through a temporary file renamed into place:
///
/// * `config.yaml`: the composed workload under the root key `workload:`;
/// * `overrides.yaml`: the task overrides as typed (`workload=NAME` first when the workload
///   was chosen by name, as Hydra records it; `hydra.*` overrides are not task overrides);
/// * `hydra.yaml`: a subset of Hydra's file: `hydra.run.dir`, `hydra.output_subdir`,
///   `hydra.overrides.{hydra,task}`, `hydra.job.name` and `hydra.runtime.{output_dir,choices}`.
///
/// Without `hydra.run.dir`, the run directory recorded is `dir`'s parent.
pub fn write_hydra_files(dir: &Path, composed: &Composed) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let task = task_overrides(composed);
    let hydra_overrides: Vec<String> = composed
        .overrides
        .iter()
        .filter(|text| is_hydra_override(text))
        .map(|text| secrets::redact_override(text))
        .collect();
    let run_dir = match &composed.hydra.run_dir {
        Some(run_dir) => run_dir.clone(),
        None => match dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.display().to_string(),
            _ => ".".into(),
        },
    };
    let output_dir = std::path::absolute(&run_dir)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| run_dir.clone());
    let mut runtime = json!({ "output_dir": output_dir });
    if let WorkloadSource::Named { name, .. } = &composed.source {
        runtime["choices"] = json!({ "workload": name });
    }
    let hydra = json!({
        "hydra": {
            "run": { "dir": run_dir },
            "output_subdir": composed.hydra.output_subdir,
            "overrides": { "hydra": hydra_overrides, "task": task },
            "job": { "name": "dlio_benchmark" },
            "runtime": runtime,
        }
    });
    // Credentials in storage options are used, never recorded.
    let config = json!({ "workload": secrets::redact_tree(&composed.loaded.tree) });
    write_atomic(&dir.join("config.yaml"), &to_yaml(&config)?)?;
    write_atomic(&dir.join("overrides.yaml"), &to_yaml(&task)?)?;
    let header = "# Written by dl-driver: the subset of Hydra's hydra.yaml that DLIO runs use.\n";
    write_atomic(
        &dir.join("hydra.yaml"),
        &format!("{header}{}", to_yaml(&hydra)?),
    )
}

fn to_yaml(value: &impl serde::Serialize) -> std::io::Result<String> {
    serde_norway::to_string(value).map_err(std::io::Error::other)
}

/// Writes through a temporary file in the same directory and renames it into place, so a
/// reader never sees a half-written file.
fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp.{}", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    match written.and_then(|()| std::fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(err) => {
            let _ = std::fs::remove_file(&tmp);
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    fn compose_text(text: &str, overrides: &[&str]) -> Result<Composed, ConfigError> {
        let tmp = tempfile::tempdir().unwrap();
        let path = file(tmp.path(), "w.yaml", text);
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        compose(&WorkloadSource::File(path), &overrides)
    }

    const SMALL: &str = "model:\n  name: small\ndataset:\n  format: npz\n  num_files_train: 8\n  \
                         record_length_bytes: 4096\ntrain:\n  computation_time: 1.0\n";

    #[test]
    fn overrides_change_the_typed_workload() {
        let composed = compose_text(
            SMALL,
            &[
                "++workload.dataset.num_files_train=4",
                "workload.dataset.format=hdf5",
                "+workload.reader.batch_size=3",
                "++workload.dataset.record_dims=[1024, 128]",
            ],
        )
        .unwrap();
        let w = &composed.loaded.workload;
        assert_eq!(w.dataset.num_files_train, 4);
        assert_eq!(w.dataset.format, "hdf5");
        assert_eq!(w.reader.batch_size, 3);
        assert_eq!(w.dataset.record_dims, [1024, 128]);
        assert_eq!(composed.loaded.tree["dataset"]["num_files_train"], 4);
        assert_eq!(composed.overrides.len(), 4);
        assert_eq!(composed.hydra, HydraSettings::default());
    }

    #[test]
    fn a_scalar_becomes_a_distribution() {
        let composed = compose_text(
            SMALL,
            &[
                "++workload.train.computation_time.type=uniform",
                "++workload.train.computation_time.min=0.5",
                "++workload.train.computation_time.max=1.5",
            ],
        )
        .unwrap();
        assert_eq!(
            composed.loaded.workload.train.computation_time,
            crate::config::TimeSpec::Uniform { min: 0.5, max: 1.5 }
        );
    }

    #[test]
    fn a_bad_overridden_value_names_the_key_and_the_override() {
        let err = compose_text(SMALL, &["++workload.dataset.num_files_train=many"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("dataset.num_files_train"), "{err}");
        assert!(
            err.contains("set by the override '++workload.dataset.num_files_train=many'"),
            "{err}"
        );
    }

    #[test]
    fn grammar_errors_come_through() {
        let err = compose_text(SMALL, &["workload.dataset.num_files_eval=2"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Could not override 'workload.dataset.num_files_eval'"),
            "{err}"
        );
        let err = compose_text(SMALL, &["+workload.dataset.format=npy"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Could not append to 'workload.dataset.format'"),
            "{err}"
        );
        // A malformed override is reported before the workload is even read.
        let err = compose(
            &WorkloadSource::File("/nonexistent.yaml".into()),
            &["dataset.format=npy".into()],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("write workload.dataset.format=npy"), "{err}");
    }

    #[test]
    fn hydra_settings_are_read_and_others_ignored_with_one_warning() {
        let composed = compose_text(
            SMALL,
            &[
                "++hydra.run.dir=/results/run1",
                "++hydra.output_subdir=dlio_config",
                "hydra.job.chdir=False",
                "hydra/job_logging=disabled",
            ],
        )
        .unwrap();
        assert_eq!(composed.hydra.run_dir.as_deref(), Some("/results/run1"));
        assert_eq!(composed.hydra.output_subdir, "dlio_config");
        let hydra_warnings: Vec<_> = composed
            .loaded
            .warnings
            .iter()
            .filter(|w| w.contains("Hydra"))
            .collect();
        assert_eq!(hydra_warnings.len(), 1, "{hydra_warnings:?}");
        assert!(hydra_warnings[0].contains("hydra.job.chdir=False"));
        assert!(hydra_warnings[0].contains("hydra/job_logging=disabled"));
        let err = compose_text(SMALL, &["+hydra.run.dir=x"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("Could not append to 'hydra.run.dir'"), "{err}");
    }

    #[test]
    fn named_workloads_come_from_config_dir_first_then_bundled() {
        let tmp = tempfile::tempdir().unwrap();
        file(
            tmp.path(),
            "workload/default.yaml",
            "model:\n  name: mine\n",
        );
        let named = |name: &str, dir: Option<&Path>| WorkloadSource::Named {
            name: name.into(),
            config_dir: dir.map(Path::to_path_buf),
        };
        let mine = compose(&named("default", Some(tmp.path())), &[]).unwrap();
        assert_eq!(mine.loaded.workload.model.name, "mine");
        assert_eq!(mine.loaded.path, tmp.path().join("workload/default.yaml"));
        let bundled = compose(&named("default", None), &[]).unwrap();
        assert_eq!(bundled.loaded.workload.model.name, "default");
        // Not in the config dir: the bundled one.
        let fallback = compose(&named("unet3d_h100", Some(tmp.path())), &[]).unwrap();
        assert_eq!(fallback.loaded.workload.model.name, "unet3d");
        assert_eq!(
            fallback.loaded.path.display().to_string(),
            "bundled workload unet3d_h100"
        );
    }

    #[test]
    fn an_unknown_name_lists_the_bundled_ones() {
        let err = compose(
            &WorkloadSource::Named {
                name: "unet3d_h100.yaml".into(),
                config_dir: None,
            },
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("no workload named 'unet3d_h100.yaml'"),
            "{err}"
        );
        assert!(err.contains("unet3d_h100, "), "{err}");
        assert!(err.contains("without .yaml"), "{err}");
        let err = compose(
            &WorkloadSource::Named {
                name: "x".into(),
                config_dir: Some("/nonexistent-dir".into()),
            },
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("--config-dir /nonexistent-dir: not a directory"),
            "{err}"
        );
    }

    #[test]
    fn hydra_files_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        file(tmp.path(), "workload/small.yaml", SMALL);
        let overrides: Vec<String> = [
            "++workload.dataset.num_files_train=4",
            "++hydra.run.dir=/results/run1",
            "++hydra.output_subdir=dlio_config",
            "++workload.reader.read_threads=0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let source = WorkloadSource::Named {
            name: "small".into(),
            config_dir: Some(tmp.path().to_path_buf()),
        };
        let composed = compose(&source, &overrides).unwrap();
        let dir = tmp.path().join("run/dlio_config");
        write_hydra_files(&dir, &composed).unwrap();

        let config = std::fs::read_to_string(dir.join("config.yaml")).unwrap();
        let raw: Value = serde_norway::from_str(&config).unwrap();
        assert_eq!(
            raw["workload"], composed.loaded.tree,
            "root key is workload"
        );
        let reloaded = load_str(&config, &dir.join("config.yaml")).unwrap();
        assert_eq!(reloaded.tree, composed.loaded.tree);
        assert_eq!(reloaded.workload.dataset.num_files_train, 4);
        assert_eq!(reloaded.workload.reader.read_threads, 0);

        let listed: Vec<String> =
            serde_norway::from_str(&std::fs::read_to_string(dir.join("overrides.yaml")).unwrap())
                .unwrap();
        assert_eq!(
            listed,
            [
                "workload=small",
                "++workload.dataset.num_files_train=4",
                "++workload.reader.read_threads=0"
            ]
        );

        let hydra: Value =
            serde_norway::from_str(&std::fs::read_to_string(dir.join("hydra.yaml")).unwrap())
                .unwrap();
        assert_eq!(hydra["hydra"]["run"]["dir"], "/results/run1");
        assert_eq!(hydra["hydra"]["output_subdir"], "dlio_config");
        assert_eq!(hydra["hydra"]["job"]["name"], "dlio_benchmark");
        assert_eq!(
            hydra["hydra"]["overrides"]["hydra"],
            json!([
                "++hydra.run.dir=/results/run1",
                "++hydra.output_subdir=dlio_config"
            ])
        );
        assert_eq!(hydra["hydra"]["overrides"]["task"], json!(listed));
        assert_eq!(hydra["hydra"]["runtime"]["choices"]["workload"], "small");

        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp."))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn without_a_run_dir_the_parent_is_recorded() {
        let composed = compose_text(SMALL, &[]).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(".hydra");
        write_hydra_files(&dir, &composed).unwrap();
        let hydra: Value =
            serde_norway::from_str(&std::fs::read_to_string(dir.join("hydra.yaml")).unwrap())
                .unwrap();
        assert_eq!(
            hydra["hydra"]["run"]["dir"],
            tmp.path().display().to_string()
        );
        let listed: Vec<String> =
            serde_norway::from_str(&std::fs::read_to_string(dir.join("overrides.yaml")).unwrap())
                .unwrap();
        assert!(listed.is_empty());
    }
}
