//! DLIO workload configuration: YAML text to a typed [`Workload`], with DLIO's defaults,
//! its `data_reader` alias, and one warning that lists unknown keys (DLIO ignores them too).

mod distribution;
mod schema;

use std::path::{Path, PathBuf};

pub use distribution::TimeSpec;
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
    #[error("cannot read {path}: {source}")]
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
    let mut tree: serde_json::Value =
        serde_norway::from_str(text).map_err(|err| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: err.to_string(),
        })?;
    if tree.is_null() {
        tree = serde_json::Value::Object(Default::default());
    }
    let mut warnings = Vec::new();
    let Some(root) = tree.as_object_mut() else {
        return Err(ConfigError::Value {
            path: path.to_path_buf(),
            key: "(top level)".into(),
            message: "a workload is a mapping of sections (model, dataset, reader, …)".into(),
        });
    };
    // A composed Hydra config (`.hydra/config.yaml`) wraps the workload in `workload:`.
    if root.len() == 1 && root.get("workload").is_some_and(|w| w.is_object()) {
        let inner = root.remove("workload").unwrap_or_default();
        tree = inner;
    }
    let root = tree.as_object_mut().expect("checked to be a mapping above");
    if let Some(reader) = root.remove("data_reader") {
        if root.contains_key("reader") {
            warnings.push(
                "both `reader` and `data_reader` are set; `data_reader` wins, as in DLIO".into(),
            );
        }
        root.insert("reader".into(), reader);
    }
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
    fn composed_hydra_config_is_unwrapped() {
        let loaded = load("workload:\n  dataset:\n    format: npz\n").unwrap();
        assert_eq!(loaded.workload.dataset.format, "npz");
    }
}
