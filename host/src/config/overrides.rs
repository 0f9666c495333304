//! Hydra's command-line override grammar, as DLIO and MLPerf Storage use it, applied to the
//! workload's JSON tree before it is typed:
//!
//! * `workload.a.b=v` sets a key that must exist ("Could not override" otherwise),
//! * `+workload.a.b=v` adds a key that must not exist ("Could not append" otherwise),
//! * `++workload.a.b=v` adds or sets (what DLIO's docs and MLPerf use everywhere),
//! * `~workload.a.b` (or `~workload.a.b=v`, checking the value) deletes a key.
//!
//! Values are YAML (`4`, `1.5`, `True`, `null`, `[1024, 128]`, `{a: 1}`, `'quoted'`, `text`).
//! As in Hydra (OmegaConf's `update(merge=True)`), a mapping value merges into an existing
//! mapping, and `+`/`++` create missing parents and replace a scalar parent by a mapping, which
//! DLIO's distribution tests rely on (`++workload.train.computation_time.type=uniform`).

use serde_json::{Map, Value};

/// What an override does with the key it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `key=value`: the key must exist.
    Set,
    /// `+key=value`: the key must not exist (or be null, or the value merges, as in Hydra).
    Add,
    /// `++key=value`: add or set.
    Force,
    /// `~key` or `~key=value`: remove the key.
    Delete,
}

/// Which configuration an override addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `workload.…`: the benchmark's configuration.
    Workload,
    /// `hydra.…` or `hydra/…`: Hydra's own settings (run directory, output subdirectory).
    Hydra,
}

/// One parsed override.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The override as typed, for messages and `overrides.yaml`.
    pub text: String,
    /// What it does.
    pub mode: Mode,
    /// What it addresses.
    pub scope: Scope,
    /// The key as typed, without the mode prefix (`workload.dataset.num_files_train`).
    pub key: String,
    /// The key's components below the scope (`["dataset", "num_files_train"]`).
    pub path: Vec<String>,
    /// The parsed value; `None` only for a deletion without a value.
    pub value: Option<Value>,
}

/// An override that is malformed or cannot be applied. Every message is one line that names
/// the override or its key and says what to write instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OverrideError {
    /// No `=` (and not a deletion).
    #[error(
        "override '{text}' has no '=': write KEY=VALUE, e.g. ++workload.dataset.num_files_train=8"
    )]
    NoEquals {
        /// The override as typed.
        text: String,
    },
    /// Nothing before the `=`, or an empty component (`workload..x`).
    #[error("override '{text}' has an empty key: write KEY=VALUE, e.g. ++workload.dataset.num_files_train=8")]
    EmptyKey {
        /// The override as typed.
        text: String,
    },
    /// A key with spaces, which Hydra's grammar rejects too.
    #[error("override '{text}': the key '{key}' contains white space; write KEY=VALUE without spaces around '='")]
    SpaceInKey {
        /// The override as typed.
        text: String,
        /// The key.
        key: String,
    },
    /// A key outside `workload.` and `hydra.`.
    #[error(
        "override '{text}': the key '{key}' must start with 'workload.' (workload keys) or 'hydra.' \
         (Hydra settings), as in DLIO: write {suggestion}"
    )]
    Prefix {
        /// The override as typed.
        text: String,
        /// The key.
        key: String,
        /// The same override with the `workload.` prefix.
        suggestion: String,
    },
    /// `workload=NAME` among the overrides: it selects the workload, it does not override a key.
    #[error(
        "'{text}' selects the workload; give it once, in place of a workload file \
         (or as --workload NAME), not next to one"
    )]
    Selection {
        /// The override as typed.
        text: String,
    },
    /// A value that is not YAML, or a Hydra sweep.
    #[error("override '{text}': {message}")]
    Value {
        /// The override as typed.
        text: String,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// `key=value` on a key that does not exist.
    #[error("Could not override '{key}': {reason}; to add it, write +{key}={value} (or ++{key}={value})")]
    Missing {
        /// The key as typed.
        key: String,
        /// Why it cannot be set.
        reason: String,
        /// The value as typed.
        value: String,
    },
    /// `+key=value` on a key that exists.
    #[error("Could not append to '{key}': it is already set (to {existing}); to replace it, write ++{key}={value}")]
    Exists {
        /// The key as typed.
        key: String,
        /// The current value.
        existing: String,
        /// The value as typed.
        value: String,
    },
    /// `~key` on a key that does not exist.
    #[error("Could not delete '{key}': {reason}")]
    Delete {
        /// The key as typed.
        key: String,
        /// Why it cannot be deleted.
        reason: String,
    },
}

impl Override {
    /// The value as typed (after the first `=`), for messages.
    fn value_text(&self) -> &str {
        self.text.split_once('=').map_or("", |(_, v)| v)
    }
}

/// Parses one override as typed on the command line.
pub fn parse(typed: &str) -> Result<Override, OverrideError> {
    // Messages and records repeat the override; a credential in it must not be.
    let shown = super::secrets::redact_override(typed);
    let text = shown.as_str();
    let (mode, body) = if let Some(rest) = typed.strip_prefix("++") {
        (Mode::Force, rest)
    } else if let Some(rest) = typed.strip_prefix('+') {
        (Mode::Add, rest)
    } else if let Some(rest) = typed.strip_prefix('~') {
        (Mode::Delete, rest)
    } else {
        (Mode::Set, typed)
    };
    let (key, raw) = match body.split_once('=') {
        Some((key, raw)) => (key, Some(raw)),
        None if mode == Mode::Delete => (body, None),
        None => return Err(OverrideError::NoEquals { text: text.into() }),
    };
    if key.is_empty() {
        return Err(OverrideError::EmptyKey { text: text.into() });
    }
    if key.chars().any(char::is_whitespace) {
        return Err(OverrideError::SpaceInKey {
            text: text.into(),
            key: key.into(),
        });
    }
    let (scope, rest) = if key == "workload" {
        return Err(OverrideError::Selection { text: text.into() });
    } else if let Some(rest) = key.strip_prefix("workload.") {
        (Scope::Workload, rest)
    } else if key == "hydra" {
        (Scope::Hydra, "")
    } else if let Some(rest) = key
        .strip_prefix("hydra.")
        .or_else(|| key.strip_prefix("hydra/"))
    {
        (Scope::Hydra, rest)
    } else {
        let sigil = &typed[..typed.len() - body.len()];
        return Err(OverrideError::Prefix {
            text: text.into(),
            key: key.into(),
            suggestion: super::secrets::redact_override(&format!("{sigil}workload.{body}")),
        });
    };
    let path: Vec<String> = match scope {
        _ if rest.is_empty() => Vec::new(),
        Scope::Workload => rest.split('.').map(str::to_string).collect(),
        // Hydra also takes config-group selections such as `hydra/job_logging=disabled`.
        Scope::Hydra => rest.split(['.', '/']).map(str::to_string).collect(),
    };
    if (scope == Scope::Workload && path.is_empty()) || path.iter().any(String::is_empty) {
        return Err(OverrideError::EmptyKey { text: text.into() });
    }
    let value = match raw {
        Some(raw) => Some(parse_value(raw).map_err(|message| OverrideError::Value {
            text: text.into(),
            // The parser's message quotes the value: not when it holds a credential.
            message: if text == typed {
                message
            } else {
                "the value is not valid YAML (not shown: it holds a credential)".into()
            },
        })?),
        None => None,
    };
    Ok(Override {
        text: text.into(),
        mode,
        scope,
        key: key.into(),
        path,
        value,
    })
}

/// Parses a value as Hydra does for the common cases: YAML scalars, flow lists and mappings,
/// quoted strings; anything else is the text itself.
pub fn parse_value(raw: &str) -> Result<Value, String> {
    // Hydra reads `key=` as the empty string, not null.
    if raw.is_empty() {
        return Ok(Value::String(String::new()));
    }
    // A comma outside brackets and quotes is a Hydra sweep (`a=1,2`), which only --multirun
    // accepts; taking it as the string "1,2" would silently run something else.
    if has_top_level_comma(raw) {
        return Err(format!(
            "'{raw}' is a Hydra sweep (several runs), which dl-driver does not run; \
             write a list as [{raw}] or quote a string as '{raw}'"
        ));
    }
    let trimmed = raw.trim_start();
    let structured = trimmed.starts_with('[') || trimmed.starts_with('{');
    match serde_norway::from_str::<Value>(raw) {
        // A mapping or list must be written in brackets: `a: b` or `- x` are text to Hydra.
        Ok(value @ (Value::Array(_) | Value::Object(_))) if structured => Ok(value),
        Ok(Value::Array(_) | Value::Object(_)) => Ok(Value::String(raw.into())),
        Ok(value) => Ok(value),
        Err(err) if structured => Err(format!(
            "'{raw}' is not a valid YAML list or mapping: {err}"
        )),
        // Plain text that YAML rejects (`a: b: c`, a lone `*`) is a string, as in Hydra.
        Err(_) => Ok(Value::String(raw.into())),
    }
}

fn has_top_level_comma(raw: &str) -> bool {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for c in raw.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[' | '{' | '(') => depth += 1,
            (None, ']' | '}' | ')') => depth -= 1,
            (None, ',') if depth == 0 => return true,
            _ => {}
        }
    }
    false
}

/// Applies a `workload.` override to the workload tree (a mapping).
pub fn apply(tree: &mut Map<String, Value>, ov: &Override) -> Result<(), OverrideError> {
    let Some((last, parents)) = ov.path.split_last() else {
        return Err(OverrideError::EmptyKey {
            text: ov.text.clone(),
        });
    };
    let creates = matches!(ov.mode, Mode::Add | Mode::Force);
    let mut node = tree;
    for (depth, key) in parents.iter().enumerate() {
        if creates {
            let slot = node
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            // Hydra's `++` turns a scalar (or null) parent into a mapping.
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            node = match slot {
                Value::Object(map) => map,
                _ => unreachable!("made a mapping above"),
            };
        } else {
            let parent_key = || prefixed(ov, depth + 1);
            node = match node.get_mut(key) {
                Some(Value::Object(map)) => map,
                found => {
                    let reason = match found {
                        None => format!("'{}' is not in the workload", parent_key()),
                        Some(other) => {
                            format!("'{}' is {}, not a mapping", parent_key(), show(other))
                        }
                    };
                    return Err(missing_or_undeletable(ov, reason));
                }
            };
        }
    }
    let value = ov.value.clone();
    match (ov.mode, value) {
        (Mode::Delete, expected) => match node.get(last) {
            None => Err(OverrideError::Delete {
                key: ov.key.clone(),
                reason: "the key is not in the workload".into(),
            }),
            Some(found) if expected.as_ref().is_some_and(|e| e != found) => {
                Err(OverrideError::Delete {
                    key: ov.key.clone(),
                    reason: format!("its value is {}, not {}", show(found), ov.value_text()),
                })
            }
            Some(_) => {
                node.shift_remove(last);
                Ok(())
            }
        },
        (_, None) => Err(OverrideError::NoEquals {
            text: ov.text.clone(),
        }),
        (Mode::Set, Some(value)) => match node.get_mut(last) {
            Some(slot) => {
                merge(slot, value);
                Ok(())
            }
            None => Err(OverrideError::Missing {
                key: ov.key.clone(),
                reason: "the key is not in the workload".into(),
                value: ov.value_text().into(),
            }),
        },
        (Mode::Add, Some(value)) => match node.get_mut(last) {
            // Hydra lets `+` fill a null and merge a mapping or list into an existing key.
            Some(slot) if slot.is_null() || value.is_object() || value.is_array() => {
                merge(slot, value);
                Ok(())
            }
            Some(slot) => Err(OverrideError::Exists {
                key: ov.key.clone(),
                existing: if super::secrets::is_secret(last) {
                    super::secrets::REDACTED.into()
                } else {
                    show(slot)
                },
                value: ov.value_text().into(),
            }),
            None => {
                node.insert(last.clone(), value);
                Ok(())
            }
        },
        (Mode::Force, Some(value)) => {
            match node.get_mut(last) {
                Some(slot) => merge(slot, value),
                None => {
                    node.insert(last.clone(), value);
                }
            }
            Ok(())
        }
    }
}

fn missing_or_undeletable(ov: &Override, reason: String) -> OverrideError {
    if ov.mode == Mode::Delete {
        OverrideError::Delete {
            key: ov.key.clone(),
            reason,
        }
    } else {
        OverrideError::Missing {
            key: ov.key.clone(),
            reason,
            value: ov.value_text().into(),
        }
    }
}

/// The first `depth` components of the override's key, with its scope prefix.
fn prefixed(ov: &Override, depth: usize) -> String {
    let scope = match ov.scope {
        Scope::Workload => "workload",
        Scope::Hydra => "hydra",
    };
    std::iter::once(scope)
        .chain(ov.path[..depth].iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(".")
}

/// OmegaConf's merge: a mapping merges key by key into a mapping; anything else replaces.
fn merge(slot: &mut Value, value: Value) {
    match (slot, value) {
        (Value::Object(existing), Value::Object(incoming)) => {
            for (key, value) in incoming {
                match existing.get_mut(&key) {
                    Some(inner) => merge(inner, value),
                    None => {
                        existing.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// A value as it would appear in YAML flow style, for messages.
fn show(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tree() -> Map<String, Value> {
        match json!({
            "dataset": {"num_files_train": 8, "format": "npz"},
            "train": {"computation_time": 1.0, "epochs": 1},
            "storage": {"storage_options": null},
        }) {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    fn applied(overrides: &[&str]) -> Result<Value, OverrideError> {
        let mut tree = tree();
        for text in overrides {
            apply(&mut tree, &parse(text)?)?;
        }
        Ok(Value::Object(tree))
    }

    #[test]
    fn set_replaces_an_existing_key() {
        let t = applied(&["workload.dataset.num_files_train=4"]).unwrap();
        assert_eq!(t["dataset"]["num_files_train"], 4);
    }

    #[test]
    fn set_on_a_missing_key_fails_and_says_how_to_add_it() {
        let err = applied(&["workload.dataset.num_files_eval=2"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Could not override 'workload.dataset.num_files_eval'"),
            "{err}"
        );
        assert!(err.contains("++workload.dataset.num_files_eval=2"), "{err}");
        let err = applied(&["workload.nosection.x=2"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'workload.nosection' is not in the workload"),
            "{err}"
        );
    }

    #[test]
    fn set_below_a_scalar_fails() {
        let err = applied(&["workload.train.computation_time.type=uniform"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Could not override 'workload.train.computation_time.type'"),
            "{err}"
        );
        assert!(err.contains("is 1.0, not a mapping"), "{err}");
    }

    #[test]
    fn append_adds_a_missing_key_and_creates_parents() {
        let t = applied(&["+workload.dataset.num_files_eval=2", "+workload.a.b.c=x"]).unwrap();
        assert_eq!(t["dataset"]["num_files_eval"], 2);
        assert_eq!(t["a"], json!({"b": {"c": "x"}}));
    }

    #[test]
    fn append_on_an_existing_key_fails() {
        let err = applied(&["+workload.dataset.num_files_train=4"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Could not append to 'workload.dataset.num_files_train'"),
            "{err}"
        );
        assert!(err.contains("already set (to 8)"), "{err}");
        assert!(
            err.contains("++workload.dataset.num_files_train=4"),
            "{err}"
        );
    }

    #[test]
    fn append_fills_a_null_as_hydra_does() {
        let t = applied(&["+workload.storage.storage_options={a: 1}"]).unwrap();
        assert_eq!(t["storage"]["storage_options"], json!({"a": 1}));
    }

    #[test]
    fn force_sets_or_adds() {
        let t = applied(&[
            "++workload.dataset.num_files_train=4",
            "++workload.dataset.num_files_eval=2",
            "++workload.checkpoint.ksm.await_time=100",
        ])
        .unwrap();
        assert_eq!(t["dataset"]["num_files_train"], 4);
        assert_eq!(t["dataset"]["num_files_eval"], 2);
        assert_eq!(t["checkpoint"], json!({"ksm": {"await_time": 100}}));
    }

    #[test]
    fn force_replaces_a_scalar_parent_by_a_mapping() {
        let t = applied(&[
            "++workload.train.computation_time.type=uniform",
            "++workload.train.computation_time.min=0.5",
            "++workload.storage.storage_options.endpoint_url=http://x:9000",
        ])
        .unwrap();
        assert_eq!(
            t["train"]["computation_time"],
            json!({"type": "uniform", "min": 0.5})
        );
        assert_eq!(
            t["storage"]["storage_options"],
            json!({"endpoint_url": "http://x:9000"})
        );
    }

    #[test]
    fn a_mapping_value_merges_into_a_mapping() {
        let t = applied(&["++workload.dataset={num_files_train: 2, seed: 5}"]).unwrap();
        assert_eq!(
            t["dataset"],
            json!({"num_files_train": 2, "format": "npz", "seed": 5})
        );
    }

    #[test]
    fn delete_removes_and_checks() {
        let t = applied(&["~workload.train.epochs", "~workload.dataset.format=npz"]).unwrap();
        assert_eq!(t["train"], json!({"computation_time": 1.0}));
        assert_eq!(t["dataset"], json!({"num_files_train": 8}));
        let err = applied(&["~workload.train.nothing"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Could not delete 'workload.train.nothing'"),
            "{err}"
        );
        let err = applied(&["~workload.dataset.format=hdf5"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("its value is 'npz', not hdf5"), "{err}");
    }

    #[test]
    fn values_are_yaml() {
        let v = |raw: &str| parse_value(raw).unwrap();
        assert_eq!(v("4"), json!(4));
        assert_eq!(v("-1"), json!(-1));
        assert_eq!(v("114660.07"), json!(114660.07));
        assert_eq!(v("1e3"), json!(1000.0));
        assert_eq!(v("true"), json!(true));
        assert_eq!(v("True"), json!(true));
        assert_eq!(v("False"), json!(false));
        assert_eq!(v("null"), Value::Null);
        assert_eq!(v("[1024, 128]"), json!([1024, 128]));
        assert_eq!(v("[]"), json!([]));
        assert_eq!(v("{}"), json!({}));
        assert_eq!(v("{a: 1, b: x}"), json!({"a": 1, "b": "x"}));
        assert_eq!(v("'4'"), json!("4"));
        assert_eq!(v("\"a b\""), json!("a b"));
        assert_eq!(v("npz"), json!("npz"));
        assert_eq!(v("/data/unet3d"), json!("/data/unet3d"));
        assert_eq!(v("s3://bucket/x"), json!("s3://bucket/x"));
        assert_eq!(v(""), json!(""));
        // Text that YAML would read as a mapping or list stays text, as in Hydra.
        assert_eq!(v("a: b"), json!("a: b"));
        assert_eq!(v("- x"), json!("- x"));
        assert_eq!(v("'1,2'"), json!("1,2"));
        assert_eq!(v("[1,2]"), json!([1, 2]));
    }

    #[test]
    fn sweeps_and_broken_lists_are_errors() {
        let err = parse("++workload.reader.read_threads=1,2")
            .unwrap_err()
            .to_string();
        assert!(err.contains("Hydra sweep"), "{err}");
        assert!(err.contains("[1,2]"), "{err}");
        let err = parse("++workload.model.layer_parameters=[1, 2")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a valid YAML list"), "{err}");
        assert!(err.starts_with("override '++workload.model.layer_parameters=[1, 2'"));
    }

    #[test]
    fn parse_reads_mode_scope_and_path() {
        let ov = parse("++workload.dataset.num_files_train=4").unwrap();
        assert_eq!(ov.mode, Mode::Force);
        assert_eq!(ov.scope, Scope::Workload);
        assert_eq!(ov.key, "workload.dataset.num_files_train");
        assert_eq!(ov.path, ["dataset", "num_files_train"]);
        assert_eq!(ov.value, Some(json!(4)));
        assert_eq!(parse("+workload.a=1").unwrap().mode, Mode::Add);
        assert_eq!(parse("workload.a=1").unwrap().mode, Mode::Set);
        let del = parse("~workload.a").unwrap();
        assert_eq!((del.mode, del.value), (Mode::Delete, None));
        let hydra = parse("++hydra.run.dir=/r/x").unwrap();
        assert_eq!(hydra.scope, Scope::Hydra);
        assert_eq!(hydra.path, ["run", "dir"]);
        let group = parse("hydra/job_logging=disabled").unwrap();
        assert_eq!(group.scope, Scope::Hydra);
        assert_eq!(group.path, ["job_logging"]);
        // Only the first '=' separates key and value.
        assert_eq!(parse("++workload.x=a=b").unwrap().value, Some(json!("a=b")));
    }

    #[test]
    fn a_key_without_prefix_is_named_with_the_right_form() {
        let err = parse("++dataset.num_files_train=4")
            .unwrap_err()
            .to_string();
        assert!(err.contains("'dataset.num_files_train'"), "{err}");
        assert!(
            err.contains("++workload.dataset.num_files_train=4"),
            "{err}"
        );
        let err = parse("dataset.format=npz").unwrap_err().to_string();
        assert!(err.contains("write workload.dataset.format=npz"), "{err}");
    }

    #[test]
    fn malformed_overrides_are_one_clear_error_each() {
        let err = parse("++workload.dataset.num_files_train").unwrap_err();
        assert!(matches!(err, OverrideError::NoEquals { .. }), "{err}");
        assert!(err.to_string().contains("has no '='"));
        for text in ["=4", "++=4", "+=4", "++workload.=4", "workload..x=1", "~"] {
            let err = parse(text).unwrap_err();
            assert!(
                matches!(err, OverrideError::EmptyKey { .. }),
                "{text}: {err}"
            );
        }
        let err = parse("++workload.a b=1").unwrap_err();
        assert!(matches!(err, OverrideError::SpaceInKey { .. }), "{err}");
        let err = parse("workload=unet3d_h100").unwrap_err();
        assert!(matches!(err, OverrideError::Selection { .. }), "{err}");
        for err in [
            parse("x").unwrap_err(),
            parse("=4").unwrap_err(),
            parse("++dataset.x=1").unwrap_err(),
        ] {
            assert!(!err.to_string().contains('\n'), "one line: {err}");
        }
    }
}
