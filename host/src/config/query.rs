//! `dl-driver query`: one effective value of a composed workload, printed as DLIO's
//! `dlio_benchmark_query` prints it (a Python value).

use serde_json::Value;

use super::Composed;

/// The effective value of a dotted key (`dataset.record_length_bytes`,
/// `model.parallelism.tensor`; a `workload.` prefix is allowed) as DLIO's
/// `dlio_benchmark_query` prints it: the typed workload with its defaults, written as Python
/// writes the value (`None` when there is no such key, `True`/`False`, strings unquoted at
/// the top level, lists like `[1, 2]`).
pub fn query(composed: &Composed, key: &str) -> String {
    let key = key.strip_prefix("workload.").unwrap_or(key);
    let mut path: Vec<&str> = key.split('.').collect();
    if path.first() == Some(&"data_reader") {
        path[0] = "reader";
    }
    // Credentials print as redacted, alone or inside a mapping.
    let typed = super::secrets::redact_tree(
        &serde_json::to_value(&composed.loaded.workload).unwrap_or(Value::Null),
    );
    let written = super::secrets::redact_tree(&composed.loaded.tree);
    let Some(value) = lookup(&typed, &path) else {
        return "None".into();
    };
    python_as_written(value, lookup(&written, &path), true)
}

/// Like [`python`], but following the workload as written where it agrees with the typed
/// value: the schema holds some numbers as floats and some mappings sorted, while the tree
/// keeps whether the user wrote 4096 or 4096.0, and in which order the keys came, both of
/// which Python's print shows.
fn python_as_written(typed: &Value, written: Option<&Value>, top: bool) -> String {
    match (typed, written) {
        (Value::Number(t), Some(w @ Value::Number(n))) if t.as_f64() == n.as_f64() => {
            python(w, top)
        }
        (Value::Number(n), _) if n.is_f64() => python_float(n.as_f64().unwrap_or(0.0), true),
        (Value::Array(items), written) => {
            let written = written.and_then(Value::as_array);
            let items: Vec<String> = items
                .iter()
                .enumerate()
                .map(|(i, item)| python_as_written(item, written.and_then(|w| w.get(i)), false))
                .collect();
            format!("[{}]", items.join(", "))
        }
        (Value::Object(map), written) => {
            let written = written.and_then(Value::as_object);
            // The keys the user wrote, in their order, then the ones the schema added.
            let mut keys: Vec<&String> = written
                .map(|w| w.keys().filter(|k| map.contains_key(*k)).collect())
                .unwrap_or_default();
            let added: Vec<&String> = map.keys().filter(|k| !keys.contains(k)).collect();
            keys.extend(added);
            let entries: Vec<String> = keys
                .into_iter()
                .map(|key| {
                    let value =
                        python_as_written(&map[key], written.and_then(|w| w.get(key)), false);
                    format!("{}: {value}", python_str_repr(key))
                })
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        (typed, _) => python(typed, top),
    }
}

fn lookup<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(value, |node, key| node.as_object()?.get(*key))
}

/// A value as Python's `print` writes it: `str` at the top level, `repr` inside containers.
fn python(value: &Value, top: bool) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) if n.is_f64() => python_float(n.as_f64().unwrap_or(0.0), false),
        Value::Number(n) => n.to_string(),
        Value::String(s) if top => s.clone(),
        Value::String(s) => python_str_repr(s),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|v| python(v, false))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", python_str_repr(k), python(v, false)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's `repr` of a float; with `integral_as_int`, a whole number prints as an int,
/// because the schema stores as floats keys that DLIO keeps as the int the YAML had.
fn python_float(f: f64, integral_as_int: bool) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    if integral_as_int && f.fract() == 0.0 && f.abs() < 1e15 {
        return format!("{}", f as i64);
    }
    let scientific = format!("{f:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    // Python switches to exponent notation below 1e-4 and from 1e16, with a signed,
    // two-digit exponent.
    if f != 0.0 && !(-4..16).contains(&exponent) {
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.abs());
    }
    let plain = format!("{f}");
    if plain.contains('.') {
        plain
    } else {
        format!("{plain}.0")
    }
}

/// Python's `repr` of a string: single quotes unless the text has one and no double quote.
fn python_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{compose, ConfigError, WorkloadSource};
    use serde_json::json;

    fn compose_text(text: &str, overrides: &[&str]) -> Result<Composed, ConfigError> {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("w.yaml");
        std::fs::write(&path, text).unwrap();
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        compose(&WorkloadSource::File(path), &overrides)
    }

    #[test]
    fn query_prints_python_values() {
        let composed = compose_text(
            "dataset:\n  record_length_bytes: 4096\n  record_length_bytes_stdev: 10.5\n  \
             record_dims: [3, 4]\nreader:\n  data_loader: pytorch\nstorage:\n  storage_options:\n    \
             endpoint_url: \"http://x\"\n    n: 2\n",
            &["++workload.train.computation_time=0.00001"],
        )
        .unwrap();
        let q = |key: &str| query(&composed, key);
        assert_eq!(q("dataset.record_length_bytes"), "4096");
        assert_eq!(q("workload.dataset.record_length_bytes"), "4096");
        assert_eq!(q("dataset.record_length_bytes_stdev"), "10.5");
        assert_eq!(q("dataset.record_length_bytes_resize"), "0");
        assert_eq!(q("model.parallelism.tensor"), "1");
        assert_eq!(q("output.metric.exclude_start_steps"), "1");
        assert_eq!(q("metric.au"), "0.9");
        assert_eq!(q("dataset.record_dims"), "[3, 4]");
        assert_eq!(q("dataset.hdf5.chunk_dims"), "[]");
        assert_eq!(q("workflow.train"), "True");
        assert_eq!(q("workflow.generate_data"), "False");
        assert_eq!(q("reader.data_loader"), "pytorch");
        assert_eq!(q("data_reader.data_loader"), "pytorch");
        assert_eq!(q("reader.transfer_size"), "None");
        assert_eq!(q("dataset.no_such_key"), "None");
        assert_eq!(q("no.such.section"), "None");
        assert_eq!(q("train.computation_time"), "1e-05");
        assert_eq!(q("evaluation.eval_time"), "{}");
        assert_eq!(
            q("storage.storage_options"),
            "{'endpoint_url': 'http://x', 'n': 2}"
        );
    }

    #[test]
    fn query_follows_the_order_and_number_forms_written() {
        let composed = compose_text(
            "train:\n  computation_time:\n    type: uniform\n    min: 1\n    max: 2.5\n\
             model:\n  parallelism:\n    zero_stage: 3\n    tensor: 2\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            query(&composed, "train.computation_time"),
            "{'type': 'uniform', 'min': 1, 'max': 2.5}"
        );
        assert_eq!(
            query(&composed, "model.parallelism"),
            "{'zero_stage': 3, 'tensor': 2, 'pipeline': 1, 'data': -1}"
        );
    }

    #[test]
    fn a_float_written_as_a_float_prints_as_one() {
        let composed = compose_text("dataset:\n  record_length_bytes: 4096.0\n", &[]).unwrap();
        assert_eq!(query(&composed, "dataset.record_length_bytes"), "4096.0");
    }

    #[test]
    fn python_formatting() {
        assert_eq!(python_float(0.5, false), "0.5");
        assert_eq!(python_float(2.0, false), "2.0");
        assert_eq!(python_float(2.0, true), "2");
        assert_eq!(python_float(114660.07, true), "114660.07");
        assert_eq!(python_float(1e16, false), "1e+16");
        assert_eq!(python_float(1.5e-7, false), "1.5e-07");
        assert_eq!(python_float(0.0001, false), "0.0001");
        assert_eq!(python_float(-0.25, false), "-0.25");
        assert_eq!(python_str_repr("a'b"), "\"a'b\"");
        assert_eq!(python_str_repr("a\\b"), "'a\\\\b'");
        assert_eq!(
            python(&json!(["x", null, true, 1.5]), true),
            "['x', None, True, 1.5]"
        );
    }
}
