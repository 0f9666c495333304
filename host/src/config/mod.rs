//! DLIO workload configuration: YAML text to a typed [`Workload`], with DLIO's defaults,
//! its `data_reader` alias, and one warning that lists unknown keys (DLIO ignores them too).
//! [`compose`] adds the Hydra layer on top: named workloads, command-line overrides and the
//! `.hydra` files.

pub mod bundled;
mod compose;
mod distribution;
mod legacy;
pub mod overrides;
mod query;
mod schema;
pub mod secrets;

use std::path::{Path, PathBuf};

pub use compose::{compose, write_hydra_files, Composed, HydraSettings, WorkloadSource};
pub use distribution::TimeSpec;
pub use overrides::OverrideError;
pub use query::query;
pub use schema::*;

/// A workload read from a file, with what the user should hear about it.
#[derive(Debug, Clone)]
pub struct LoadedWorkload {
    /// The typed workload.
    pub workload: Workload,
    /// The composed tree (as read, aliases resolved), for the output's config dump.
    pub tree: serde_json::Value,
    /// Warnings to print once (unknown keys, aliases).
    pub warnings: Vec<String>,
    /// The file it came from.
    pub path: PathBuf,
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The text is not YAML.
    #[error("{path} is not valid YAML: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Parser message with line and column.
        message: String,
    },
    /// A key has a value of the wrong type or form.
    #[error("{path}: {key}: {message}")]
    Value {
        /// The file.
        path: PathBuf,
        /// Dotted key.
        key: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A command-line override that is malformed or cannot be applied.
    #[error(transparent)]
    Override(#[from] OverrideError),
    /// `--workload NAME` names no workload of `--config-dir` and no bundled one.
    #[error("no workload named '{name}' {searched}; bundled workloads: {available}{hint}")]
    UnknownWorkload {
        /// The name asked for.
        name: String,
        /// Where it was looked for (`in DIR/workload/ or among the bundled ones`).
        searched: String,
        /// The bundled names, comma separated.
        available: String,
        /// A hint for a likely mistake, or empty.
        hint: String,
    },
    /// `--config-dir DIR` is not a directory.
    #[error("--config-dir {}: not a directory (it should hold workload/NAME.yaml)", dir.display())]
    ConfigDir {
        /// The directory given.
        dir: PathBuf,
    },
}

/// Reads and types the workload in `path`.
pub fn load_file(path: &Path) -> Result<LoadedWorkload, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    load_str(&text, path)
}

/// Types a workload given as YAML text; `path` names it in messages.
pub fn load_str(text: &str, path: &Path) -> Result<LoadedWorkload, ConfigError> {
    from_tree(parse_tree(text, path)?, path)
}

/// The workload mapping of YAML text, unwrapped from a composed config's `workload:` key,
/// as written (no aliases resolved): what Hydra's overrides apply to.
pub(crate) fn parse_tree(
    text: &str,
    path: &Path,
) -> Result<serde_json::Map<String, serde_json::Value>, ConfigError> {
    let tree: serde_json::Value =
        serde_norway::from_str(text).map_err(|err| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: err.to_string(),
        })?;
    let mut root = match tree {
        serde_json::Value::Null => serde_json::Map::new(),
        serde_json::Value::Object(root) => root,
        _ => {
            return Err(ConfigError::Value {
                path: path.to_path_buf(),
                key: "(top level)".into(),
                message: "a workload is a mapping of sections (model, dataset, reader, …)".into(),
            })
        }
    };
    // A composed Hydra config (`.hydra/config.yaml`) wraps the workload in `workload:`.
    if root.len() == 1 {
        if let Some(serde_json::Value::Object(inner)) = root.get_mut("workload") {
            return Ok(std::mem::take(inner));
        }
    }
    Ok(root)
}

/// Resolves the `data_reader` alias and the legacy spellings in a workload mapping, then
/// types it.
pub(crate) fn from_tree(
    mut root: serde_json::Map<String, serde_json::Value>,
    path: &Path,
) -> Result<LoadedWorkload, ConfigError> {
    let mut warnings = Vec::new();
    if let Some(reader) = root.shift_remove("data_reader") {
        if root.contains_key("reader") {
            warnings.push(
                "both `reader` and `data_reader` are set; `data_reader` wins, as in DLIO".into(),
            );
        }
        root.insert("reader".into(), reader);
    }
    warnings.extend(legacy::apply(&mut root));
    let tree = serde_json::Value::Object(root);
    let workload = typed(&tree, path, &mut warnings)?;
    Ok(LoadedWorkload {
        workload,
        tree,
        warnings,
        path: path.to_path_buf(),
    })
}

fn typed(
    tree: &serde_json::Value,
    path: &Path,
    warnings: &mut Vec<String>,
) -> Result<Workload, ConfigError> {
    let mut unknown = Vec::new();
    let mut track = serde_path_to_error::Track::new();
    let deserializer = serde_path_to_error::Deserializer::new(tree, &mut track);
    let result: Result<Workload, _> =
        serde_ignored::deserialize(deserializer, |ignored| unknown.push(ignored.to_string()));
    let workload = result.map_err(|err| ConfigError::Value {
        path: path.to_path_buf(),
        key: track.path().to_string(),
        message: err.to_string(),
    })?;
    if !unknown.is_empty() {
        warnings.push(format!(
            "ignoring unknown keys (DLIO ignores them too): {}",
            unknown.join(", ")
        ));
    }
    Ok(workload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<LoadedWorkload, ConfigError> {
        load_str(text, Path::new("test.yaml"))
    }

    #[test]
    fn defaults_are_dlio_code_defaults() {
        let w = load("").unwrap().workload;
        assert_eq!(w.framework, Framework::Tensorflow);
        assert_eq!(w.dataset.format, "tfrecord");
        assert_eq!(w.dataset.num_files_train, 8);
        assert_eq!(w.dataset.record_length_bytes, 65536.0);
        assert_eq!(w.reader.prefetch_size, 2);
        assert_eq!(w.reader.read_threads, 1);
        assert_eq!(w.train.seed, 123);
        assert_eq!(w.model.transformer.ffn_hidden_size, 8192);
        assert_eq!(w.output.metric.exclude_start_steps, 1);
        assert!(w.workflow.train && !w.workflow.generate_data);
    }

    #[test]
    fn unknown_keys_are_listed_in_one_warning() {
        let loaded =
            load("model:\n  name: unet3d\n  model_size: 499153191\nworkflow:\n  debug: True\n")
                .unwrap();
        assert_eq!(loaded.warnings.len(), 1);
        assert!(
            loaded.warnings[0].contains("model.model_size"),
            "{:?}",
            loaded.warnings
        );
        assert!(loaded.warnings[0].contains("workflow.debug"));
        assert_eq!(loaded.workload.model.name, "unet3d");
    }

    #[test]
    fn data_reader_is_an_alias_that_wins() {
        let loaded = load("reader:\n  batch_size: 2\ndata_reader:\n  batch_size: 7\n").unwrap();
        assert_eq!(loaded.workload.reader.batch_size, 7);
        assert_eq!(loaded.warnings.len(), 1);
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = load("dataset:\n  num_files_train: many\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("dataset.num_files_train"), "{err}");
        assert!(err.starts_with("test.yaml"), "{err}");
    }

    #[test]
    fn yaml_syntax_errors_name_the_file() {
        let err = load("dataset: [unclosed\n").unwrap_err().to_string();
        assert!(err.contains("test.yaml is not valid YAML"), "{err}");
    }

    #[test]
    fn legacy_spellings_are_renamed_before_typing() {
        let loaded = load(
            "reader:\n  prefetch: 5\n  shuffle: True\n  compute_threads: 3\n\
             checkpointing:\n  checkpoint_folder: ck\n",
        )
        .unwrap();
        assert_eq!(loaded.workload.reader.prefetch_size, 5);
        assert_eq!(loaded.workload.reader.sample_shuffle, "seed");
        assert_eq!(loaded.workload.reader.computation_threads, 3);
        assert_eq!(loaded.workload.checkpoint.checkpoint_folder, "ck");
        // One deprecation warning each, and no "unknown key" warning for them.
        assert_eq!(loaded.warnings.len(), 4, "{:?}", loaded.warnings);
        assert!(loaded.warnings.iter().all(|w| w.contains("deprecated")));
    }

    #[test]
    fn legacy_spellings_apply_inside_data_reader() {
        let loaded = load("data_reader:\n  prefetch: 5\n").unwrap();
        assert_eq!(loaded.workload.reader.prefetch_size, 5);
        assert_eq!(loaded.tree["reader"]["prefetch_size"], 5);
    }

    #[test]
    fn composed_hydra_config_is_unwrapped() {
        let loaded = load("workload:\n  dataset:\n    format: npz\n").unwrap();
        assert_eq!(loaded.workload.dataset.format, "npz");
    }
}
