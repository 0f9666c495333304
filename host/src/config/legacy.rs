//! dl-driver's own earlier spellings of DLIO keys, still accepted so that old workload files
//! keep working, each renamed to DLIO's spelling with one deprecation warning.

use serde_json::{Map, Value};

/// `reader` keys renamed: (old, new).
const READER_RENAMES: [(&str, &str); 3] = [
    ("prefetch", "prefetch_size"),
    ("shuffle", "sample_shuffle"),
    ("compute_threads", "computation_threads"),
];

/// Renames the legacy spellings in a workload tree (the mapping of sections, after the
/// `data_reader` alias is resolved) and returns one warning per legacy key found. When both
/// spellings are present, DLIO's spelling wins and the legacy key is dropped.
pub fn apply(root: &mut Map<String, Value>) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(old) = root.shift_remove("checkpointing") {
        warnings.push(rename_warning(
            "checkpointing",
            "checkpoint",
            root.contains_key("checkpoint"),
        ));
        if !root.contains_key("checkpoint") {
            root.insert("checkpoint".into(), old);
        }
    }
    if let Some(Value::Object(reader)) = root.get_mut("reader") {
        for (old, new) in READER_RENAMES {
            let Some(value) = reader.shift_remove(old) else {
                continue;
            };
            let both = reader.contains_key(new);
            warnings.push(rename_warning(
                &format!("reader.{old}"),
                &format!("reader.{new}"),
                both,
            ));
            if !both {
                reader.insert(new.into(), convert(old, value));
            }
        }
    }
    warnings
}

/// The old `reader.shuffle` was a switch; DLIO's `sample_shuffle` names a mode.
fn convert(old: &str, value: Value) -> Value {
    match (old, value) {
        ("shuffle", Value::Bool(true)) => Value::String("seed".into()),
        ("shuffle", Value::Bool(false)) => Value::String("off".into()),
        (_, value) => value,
    }
}

fn rename_warning(old: &str, new: &str, both: bool) -> String {
    if both {
        format!(
            "`{old}` is a deprecated spelling of `{new}`; both are set, so `{new}` wins and \
             `{old}` is ignored (remove it)"
        )
    } else {
        format!("`{old}` is deprecated: it is now spelled `{new}`, as in DLIO (rename it)")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn renamed(value: Value) -> (Value, Vec<String>) {
        let Value::Object(mut map) = value else {
            unreachable!()
        };
        let warnings = apply(&mut map);
        (Value::Object(map), warnings)
    }

    #[test]
    fn reader_keys_are_renamed_with_one_warning_each() {
        let (tree, warnings) = renamed(json!({
            "reader": {"prefetch": 4, "shuffle": true, "compute_threads": 3, "batch_size": 2}
        }));
        assert_eq!(
            tree["reader"],
            json!({"batch_size": 2, "prefetch_size": 4, "sample_shuffle": "seed", "computation_threads": 3})
        );
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].contains("`reader.prefetch` is deprecated"));
        assert!(warnings[0].contains("`reader.prefetch_size`"));
    }

    #[test]
    fn shuffle_switch_becomes_a_mode() {
        let (tree, _) = renamed(json!({"reader": {"shuffle": false}}));
        assert_eq!(tree["reader"]["sample_shuffle"], "off");
        let (tree, _) = renamed(json!({"reader": {"shuffle": "random"}}));
        assert_eq!(tree["reader"]["sample_shuffle"], "random");
    }

    #[test]
    fn checkpointing_section_is_renamed() {
        let (tree, warnings) = renamed(json!({"checkpointing": {"checkpoint_folder": "c"}}));
        assert_eq!(tree, json!({"checkpoint": {"checkpoint_folder": "c"}}));
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn the_new_spelling_wins_and_the_warning_says_so() {
        let (tree, warnings) = renamed(json!({
            "checkpoint": {"checkpoint_folder": "new"},
            "checkpointing": {"checkpoint_folder": "old"},
            "reader": {"prefetch_size": 8, "prefetch": 1},
        }));
        assert_eq!(tree["checkpoint"]["checkpoint_folder"], "new");
        assert!(tree.get("checkpointing").is_none());
        assert_eq!(tree["reader"], json!({"prefetch_size": 8}));
        assert_eq!(warnings.len(), 2);
        assert!(
            warnings.iter().all(|w| w.contains("both are set")),
            "{warnings:?}"
        );
        assert!(warnings[1].contains("`reader.prefetch_size` wins"));
    }

    #[test]
    fn dlio_spellings_give_no_warning() {
        let (_, warnings) = renamed(json!({"reader": {"prefetch_size": 2}, "checkpoint": {}}));
        assert!(warnings.is_empty());
    }
}
