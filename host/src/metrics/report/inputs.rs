//! Finding and reading a run's output folder: `summary.json`, `<rank>_output.json`, the
//! per-epoch phase times, `iostat.json` and the composed Hydra config.
//!
//! Required files missing are one error naming the folder and everything missing; optional
//! files missing or unreadable become notes in the report.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// Hydra folders tried, in order, when `--hydra-folder` is not given: MLPerf's name first,
/// then Hydra's default.
pub const HYDRA_FOLDERS: [&str; 2] = ["dlio_config", ".hydra"];

/// DLIO's defaults for keys the composed config may leave out (reference/dlio-spec.md §1.2).
const DEFAULT_RECORD_LENGTH: f64 = 65536.0;
const DEFAULT_BATCH: u64 = 1;

/// What the report needs from the composed config.
///
/// Epoch counts, evaluation and checkpointing are taken from the output files rather than
/// from `overrides.yaml` (which DLIO's postprocessor scans line by line): `config.yaml` is the
/// composed config with every override already applied, and the files say what actually ran.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    /// `model.name` (DLIO's report file is `DLIO_<name>_report.txt`).
    pub name: String,
    /// Nominal bytes per sample.
    pub record_size: f64,
    /// Per-rank training batch.
    pub batch_size: u64,
    /// Per-rank evaluation batch.
    pub batch_size_eval: u64,
}

/// Per-step timings of one phase (`block1`, `eval`, …) on one rank.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PhaseSteps {
    /// Seconds blocked waiting for each batch.
    pub load: Vec<f64>,
    /// Seconds of load + compute for each batch.
    pub proc: Vec<f64>,
}

/// One `<rank>_output.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct RankOutput {
    /// The rank in the file name.
    pub rank: u64,
    /// Epochs in file order: (epoch key, phases in file order).
    pub epochs: Vec<(String, Vec<(String, PhaseSteps)>)>,
}

/// Everything read from the folder.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The output folder (absolute when it could be resolved).
    pub folder: PathBuf,
    /// The `config.yaml` read.
    pub config_path: PathBuf,
    /// Values from it.
    pub config: RunConfig,
    /// `summary.json`.
    pub summary: Value,
    /// Every `<rank>_output.json`, by rank.
    pub ranks: Vec<RankOutput>,
    /// The per-epoch phase times, if a file was found and read.
    pub epoch_stats: Option<Value>,
    /// `iostat.json`, if present and readable.
    pub iostat: Option<Value>,
    /// What was skipped or looks odd, for the report.
    pub notes: Vec<String>,
}

/// Reads the output folder `folder`, with the Hydra config in `folder/hydra_folder` (or the
/// first of `HYDRA_FOLDERS` holding a `config.yaml`).
pub fn read(folder: &Path, hydra_folder: Option<&Path>) -> Result<Inputs> {
    if !folder.exists() {
        bail!("output folder {} does not exist", folder.display());
    }
    if !folder.is_dir() {
        bail!("output folder {} is not a folder", folder.display());
    }
    // The report names the files it read and wrote; absolute paths stay true wherever the
    // report is read.
    let folder = &std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    let summary_path = folder.join("summary.json");
    let outputs = output_files(folder)?;
    let config_path = match hydra_folder {
        Some(name) => Some(folder.join(name).join("config.yaml")).filter(|p| p.is_file()),
        None => HYDRA_FOLDERS
            .iter()
            .map(|name| folder.join(name).join("config.yaml"))
            .find(|p| p.is_file()),
    };
    let mut missing = Vec::new();
    if !summary_path.is_file() {
        missing.push("summary.json".to_string());
    }
    if outputs.is_empty() {
        missing.push("<rank>_output.json files".to_string());
    }
    if config_path.is_none() {
        missing.push(match hydra_folder {
            Some(name) => format!("{}/config.yaml", name.display()),
            None => format!(
                "the Hydra config ({}/config.yaml or {}/config.yaml; give --hydra-folder NAME)",
                HYDRA_FOLDERS[0], HYDRA_FOLDERS[1]
            ),
        });
    }
    let Some(config_path) = config_path.filter(|_| missing.is_empty()) else {
        bail!(
            "{} is not a finished DLIO run's output folder: missing {}",
            folder.display(),
            missing.join(", ")
        );
    };

    let mut notes = Vec::new();
    let config = read_config(&config_path, &mut notes)?;
    let summary = read_json(&summary_path)?;
    let mut ranks = Vec::new();
    for (rank, path) in &outputs {
        ranks.push(read_rank_output(*rank, path)?);
    }
    let epoch_stats = read_epoch_stats(folder, &mut notes);
    let iostat_path = folder.join("iostat.json");
    let iostat = if iostat_path.is_file() {
        match read_json(&iostat_path) {
            Ok(value) => Some(value),
            Err(err) => {
                notes.push(format!("iostat.json skipped: {err:#}"));
                None
            }
        }
    } else {
        notes.push(
            "iostat.json not found (run with workflow.profiling: True for I/O and CPU statistics)"
                .into(),
        );
        None
    };
    if let Some(expected) = summary.get("num_accelerators").and_then(Value::as_u64) {
        if expected != ranks.len() as u64 {
            notes.push(format!(
                "summary.json names {expected} accelerators but {} <rank>_output.json files were found; \
                 the report uses the files",
                ranks.len()
            ));
        }
    }
    Ok(Inputs {
        folder: folder.to_path_buf(),
        config_path,
        config,
        summary,
        ranks,
        epoch_stats,
        iostat,
        notes,
    })
}

/// `<rank>_output.json` files by rank. DLIO counts `*_output.json`; only names whose prefix is
/// a rank number count here, so a stray `old_output.json` cannot shift the rank count.
fn output_files(folder: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let entries =
        std::fs::read_dir(folder).with_context(|| format!("listing {}", folder.display()))?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rank) = name
            .to_str()
            .and_then(|n| n.strip_suffix("_output.json"))
            .and_then(|r| r.parse::<u64>().ok())
        else {
            continue;
        };
        if entry.path().is_file() {
            found.push((rank, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// Reads a JSON file as Python writes it: numbers rounded correctly (serde_json's
/// `float_roundtrip`: an ulp decides whether a figure lands on a 2-decimal boundary), keys in
/// file order, and Python's `NaN`, `Infinity` and `-Infinity` read as `null` (DLIO's
/// summary.json holds them after a read-only checkpoint run). The error names the file, line
/// and column (columns after such a token on the same line shift by its length change).
pub fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&python_non_finite_to_null(&text))
        .map_err(|err| anyhow::anyhow!("{} is not valid JSON: {err}", path.display()))
}

/// Replaces the bare tokens `NaN`, `Infinity` and `-Infinity` outside strings with `null`.
/// Outside strings JSON has no other letters than `true`, `false`, `null` and exponents, so
/// a token found there can only be Python's; inside strings nothing changes.
fn python_non_finite_to_null(text: &str) -> Cow<'_, str> {
    if !text.contains("NaN") && !text.contains("Infinity") {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let (mut out, mut copied, mut at) = (String::with_capacity(text.len()), 0, 0);
    let (mut in_string, mut escaped) = (false, false);
    while at < bytes.len() {
        let byte = bytes[at];
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if byte == b'"' {
            in_string = true;
        } else if let Some(token) = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|token| bytes[at..].starts_with(token.as_bytes()))
        {
            // Tokens are ASCII, so both cuts fall on character boundaries.
            out.push_str(&text[copied..at]);
            out.push_str("null");
            at += token.len();
            copied = at;
            continue;
        }
        at += 1;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

fn read_config(path: &Path, notes: &mut Vec<String>) -> Result<RunConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let root: serde_norway::Value = serde_norway::from_str(&text)
        .with_context(|| format!("{} is not valid YAML", path.display()))?;
    // Hydra puts the workload under `workload`; a bare workload file is accepted too.
    let workload = root.get("workload").unwrap_or(&root);
    let section = |name: &str| workload.get(name);
    let name = match section("model") {
        Some(serde_norway::Value::String(name)) => name.clone(),
        Some(model) => model
            .get("name")
            .and_then(serde_norway::Value::as_str)
            .unwrap_or("default")
            .to_string(),
        None => "default".to_string(),
    };
    let dataset = section("dataset");
    // Q-17: DLIO's postprocessor reads the legacy `record_length`; modern configs have
    // `record_length_bytes`. Accept both, the modern key first.
    let record_size = ["record_length_bytes", "record_length"]
        .iter()
        .find_map(|key| dataset.and_then(|d| d.get(*key)).and_then(number))
        .unwrap_or_else(|| {
            notes.push(format!(
                "{} sets no dataset.record_length_bytes: MB/s use DLIO's default of {DEFAULT_RECORD_LENGTH} bytes",
                path.display()
            ));
            DEFAULT_RECORD_LENGTH
        });
    // `data_reader` is DLIO's alias of `reader` and wins when both exist.
    let reader = section("data_reader").or_else(|| section("reader"));
    let batch = |key: &str| {
        reader
            .and_then(|r| r.get(key))
            .and_then(number)
            .filter(|b| *b >= 1.0)
            .map_or(DEFAULT_BATCH, |b| b as u64)
    };
    Ok(RunConfig {
        name,
        record_size,
        batch_size: batch("batch_size"),
        batch_size_eval: batch("batch_size_eval"),
    })
}

/// A YAML number (or a numeric string, as a hand-edited config may hold).
fn number(value: &serde_norway::Value) -> Option<f64> {
    match value {
        serde_norway::Value::Number(n) => n.as_f64(),
        serde_norway::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn read_rank_output(rank: u64, path: &Path) -> Result<RankOutput> {
    let value = read_json(path)?;
    let Some(object) = value.as_object() else {
        bail!("{} is not a JSON object", path.display());
    };
    let mut epochs = Vec::new();
    // Epochs are the numeric keys; the host facts beside them are not used here.
    for (epoch, data) in object.iter().filter(|(k, _)| k.parse::<u64>().is_ok()) {
        let mut phases: Vec<(String, PhaseSteps)> = Vec::new();
        for (field, is_load) in [("load", true), ("proc", false)] {
            let Some(per_phase) = data.get(field).and_then(Value::as_object) else {
                continue;
            };
            for (phase, list) in per_phase {
                let values = numbers(list).with_context(|| {
                    format!("{}: epoch {epoch} {field}.{phase}", path.display())
                })?;
                let at = match phases.iter().position(|(name, _)| name == phase) {
                    Some(at) => at,
                    None => {
                        phases.push((phase.clone(), PhaseSteps::default()));
                        phases.len() - 1
                    }
                };
                let steps = &mut phases[at].1;
                if is_load {
                    steps.load = values;
                } else {
                    steps.proc = values;
                }
            }
        }
        epochs.push((epoch.clone(), phases));
    }
    Ok(RankOutput { rank, epochs })
}

fn numbers(list: &Value) -> Result<Vec<f64>> {
    let Some(items) = list.as_array() else {
        bail!("is not a list of per-step seconds");
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_f64()
                .with_context(|| format!("step {i} is {v}, not a number of seconds"))
        })
        .collect()
}

/// The phase times: the lowest rank's `<rank>_per_epoch_stats.json` (rank 0 in any complete
/// run, the same clock DLIO's single file came from), else the legacy `per_epoch_stats.json`
/// (Q-17: DLIO's postprocessor only knows that name).
fn read_epoch_stats(folder: &Path, notes: &mut Vec<String>) -> Option<Value> {
    let mut candidates: Vec<(u64, PathBuf)> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let rank = name
                .to_str()?
                .strip_suffix("_per_epoch_stats.json")?
                .parse::<u64>()
                .ok()?;
            Some((rank, entry.path()))
        })
        .collect();
    candidates.sort();
    let path = match candidates.into_iter().next() {
        Some((_, path)) => path,
        None => {
            let legacy = folder.join("per_epoch_stats.json");
            if !legacy.is_file() {
                notes.push(
                    "no <rank>_per_epoch_stats.json or per_epoch_stats.json: phases have no start/end \
                     times and iostat cannot be split by phase"
                        .into(),
                );
                return None;
            }
            legacy
        }
    };
    match read_json(&path) {
        Ok(value) if value.is_object() => Some(value),
        Ok(_) => {
            notes.push(format!("{} skipped: not a JSON object", path.display()));
            None
        }
        Err(err) => {
            notes.push(format!("per-epoch stats skipped: {err:#}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_non_finite_tokens_become_null_outside_strings_only() {
        let text = r#"{"a": NaN, "b": [Infinity, -Infinity,-Infinity], "NaN": "NaN \"Infinity\" \\",
            "c": "\\\" -Infinity é", "é": [NaN]}"#;
        let expected = r#"{"a": null, "b": [null, null,null], "NaN": "NaN \"Infinity\" \\",
            "c": "\\\" -Infinity é", "é": [null]}"#;
        assert_eq!(python_non_finite_to_null(text), expected);
        let plain = r#"{"x": [1.5e-7, true, null, "nan"]}"#;
        assert!(matches!(python_non_finite_to_null(plain), Cow::Borrowed(_)));
        let quoted = r#"{"x": "Infinity", "y\\": "\\", "z": "\\\"NaN"}"#;
        assert_eq!(python_non_finite_to_null(quoted), quoted);
        assert_eq!(
            python_non_finite_to_null(r#"["NaN", NaN]"#),
            r#"["NaN", null]"#
        );
    }

    #[test]
    fn read_json_reads_python_json_exactly_and_names_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("summary.json");
        let text = r#" {"z": NaN, "b": [Infinity, -Infinity, 1.5, -2, 18446744073709551615],
            "c": "NaN \"Infinity\" \\ \u00e9 \ud83d\ude00", "a": {}} "#;
        std::fs::write(&path, text).expect("write");
        let value = read_json(&path).expect("valid");
        assert_eq!(
            value,
            serde_json::json!({"z": null, "b": [null, null, 1.5, -2, 18446744073709551615u64],
                "c": "NaN \"Infinity\" \\ é 😀", "a": {}})
        );
        let keys: Vec<_> = value.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["z", "b", "c", "a"]);

        // Each is the shortest repr of an f64 whose value Python reads back exactly.
        for number in [
            "0.0015902519226074219",
            "4.934285231225383",
            "0.1",
            "1e-7",
            "2.2250738585072014e-308",
            "1.7976931348623157e308",
            "74.25926587825481",
        ] {
            std::fs::write(&path, number).expect("write");
            let expected: f64 = number.parse().expect("float");
            assert_eq!(read_json(&path).expect("number").as_f64(), Some(expected));
        }

        std::fs::write(&path, "{\n  \"a\": [1, 2,,]\n}").expect("write");
        let err = format!("{:#}", read_json(&path).expect_err("invalid"));
        assert!(err.starts_with(&format!("{} is not valid JSON: ", path.display())));
        assert!(err.ends_with("line 2 column 14"), "{err}");
        for bad in ["[1] 2", "\"open", "[NaNx]", "-NaN", &"[".repeat(1000)] {
            std::fs::write(&path, bad).expect("write");
            assert!(read_json(&path).is_err(), "{bad}");
        }
    }

    #[test]
    fn config_accepts_legacy_record_length_and_data_reader() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("config.yaml");
        std::fs::write(
            &path,
            "workload:\n  model:\n    name: unet3d\n  dataset:\n    record_length: 1024\n  \
             reader:\n    batch_size: 2\n  data_reader:\n    batch_size: 7\n    batch_size_eval: 3\n",
        )
        .expect("write config");
        let mut notes = Vec::new();
        let config = read_config(&path, &mut notes).expect("config");
        assert_eq!(
            config,
            RunConfig {
                name: "unet3d".into(),
                record_size: 1024.0,
                batch_size: 7,
                batch_size_eval: 3
            }
        );
        assert!(notes.is_empty(), "{notes:?}");

        std::fs::write(&path, "workload:\n  model: legacy\n").expect("write config");
        let config = read_config(&path, &mut notes).expect("config");
        assert_eq!(config.name, "legacy");
        assert_eq!(config.record_size, 65536.0);
        assert_eq!((config.batch_size, config.batch_size_eval), (1, 1));
        assert_eq!(notes.len(), 1, "{notes:?}");
    }
}
