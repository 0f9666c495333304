//! Workloads compiled into the binary, so an installed `dl-driver` finds them without the
//! repository: every file of `configs/`, named by its path under `configs/` without `.yaml`.
//!
//! DLIO's bundled workloads and our own have plain names (`unet3d_h100`, `quickstart`);
//! MLPerf Storage v2's have the prefix `mlperf/` (`mlperf/unet3d_h100`). A plain name that is
//! not one of the plain workloads also finds the MLPerf workload of that name, so the
//! MLPerf-only ones (`unet3d_datagen`, `llama3_8b`, …) work without the prefix; where both
//! sets have a name (`unet3d_a100`, …), the plain name is DLIO's.

/// Prefix of the MLPerf Storage v2 workloads' names.
pub const MLPERF_PREFIX: &str = "mlperf/";

/// `(name, YAML text)` for every file of `configs/`; the name is the path under `configs/`
/// without `.yaml`, so the text cannot drift from the file.
macro_rules! workloads {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../../configs/", $name, ".yaml")))),*]
    };
}

const WORKLOADS: &[(&str, &str)] = workloads![
    "bert_v100",
    "cosmoflow_a100",
    "cosmoflow_h100",
    "cosmoflow_v100",
    "default",
    "dlrm",
    "llama_1t",
    "llama_405b",
    "llama_70b",
    "llama_70b_zero3",
    "llama_7b",
    "llama_7b_zero3",
    "llama_8b_zero3",
    "megatron_deepspeed_LLNL",
    "mlperf/cosmoflow_a100",
    "mlperf/cosmoflow_datagen",
    "mlperf/cosmoflow_h100",
    "mlperf/llama3_1t",
    "mlperf/llama3_405b",
    "mlperf/llama3_70b",
    "mlperf/llama3_8b",
    "mlperf/resnet50_a100",
    "mlperf/resnet50_datagen",
    "mlperf/resnet50_h100",
    "mlperf/unet3d_a100",
    "mlperf/unet3d_datagen",
    "mlperf/unet3d_h100",
    "quickstart",
    "resnet50_a100",
    "resnet50_h100",
    "resnet50_tf",
    "resnet50_v100",
    "unet3d_a100",
    "unet3d_a100_s3",
    "unet3d_h100",
    "unet3d_h100_s3",
    "unet3d_v100",
    "unet3d_v100_s3",
];

fn exact(name: &str) -> Option<&'static str> {
    WORKLOADS
        .iter()
        .find(|(candidate, _)| *candidate == name)
        .map(|(_, text)| *text)
}

/// The YAML text of the bundled workload `name` (a file stem such as `unet3d_h100`, or
/// `mlperf/unet3d_h100` for MLPerf Storage v2's), or `None` if no workload has that name.
/// A plain name that is not a plain workload falls back to the MLPerf workload of that name.
pub fn bundled(name: &str) -> Option<&'static str> {
    exact(name).or_else(|| {
        if name.contains('/') {
            None
        } else {
            exact(&format!("{MLPERF_PREFIX}{name}"))
        }
    })
}

/// The names of all bundled workloads, sorted, one per file (MLPerf's with their `mlperf/`
/// prefix; the unprefixed fallback of [`bundled`] is not listed twice).
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = WORKLOADS.iter().map(|(name, _)| *name).collect();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::config::load_str;

    const MLPERF_ONLY: [&str; 7] = [
        "cosmoflow_datagen",
        "llama3_1t",
        "llama3_405b",
        "llama3_70b",
        "llama3_8b",
        "resnet50_datagen",
        "unet3d_datagen",
    ];

    #[test]
    fn every_name_resolves() {
        for name in names() {
            assert!(
                bundled(name).is_some(),
                "{name} is listed but does not resolve"
            );
        }
    }

    #[test]
    fn every_bundled_workload_parses() {
        for name in names() {
            let text = bundled(name).unwrap();
            if let Err(err) = load_str(text, Path::new(name)) {
                panic!("bundled workload {name} does not load: {err}");
            }
        }
    }

    #[test]
    fn names_are_sorted_without_duplicates() {
        let names = names();
        assert_eq!(names.len(), WORKLOADS.len());
        for pair in names.windows(2) {
            assert!(pair[0] < pair[1], "{} before {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn mlperf_only_names_resolve_without_the_prefix() {
        for name in MLPERF_ONLY {
            assert!(exact(name).is_none(), "{name} is also a plain workload");
            let prefixed = bundled(&format!("{MLPERF_PREFIX}{name}")).unwrap();
            assert_eq!(bundled(name), Some(prefixed), "{name}");
        }
    }

    #[test]
    fn a_plain_name_in_both_sets_is_dlio_s() {
        let dlio = include_str!("../../../configs/unet3d_a100.yaml");
        let mlperf = include_str!("../../../configs/mlperf/unet3d_a100.yaml");
        assert_ne!(dlio, mlperf);
        assert_eq!(bundled("unet3d_a100"), Some(dlio));
        assert_eq!(bundled("mlperf/unet3d_a100"), Some(mlperf));
    }

    #[test]
    fn unknown_names_do_not_resolve() {
        for name in [
            "",
            "nope",
            "mlperf/",
            "mlperf/default",
            "mlperf/mlperf/unet3d_h100",
            "unet3d_h100.yaml",
            "../configs/unet3d_h100",
        ] {
            assert!(bundled(name).is_none(), "{name:?} resolves");
        }
    }

    fn yaml_files(dir: &Path, found: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir)
            .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                yaml_files(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "yaml") {
                found.push(path);
            }
        }
    }

    #[test]
    fn every_config_file_is_bundled() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
        let mut files = Vec::new();
        yaml_files(&root, &mut files);
        let names = names();
        let missing: Vec<String> = files
            .iter()
            .map(|file| {
                let relative = file.strip_prefix(&root).unwrap().with_extension("");
                let parts: Vec<_> = relative
                    .components()
                    .map(|part| part.as_os_str().to_string_lossy())
                    .collect();
                parts.join("/")
            })
            .filter(|name| !names.contains(&name.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "configs/ files not bundled (add them to WORKLOADS in bundled.rs): {missing:?}"
        );
    }
}
