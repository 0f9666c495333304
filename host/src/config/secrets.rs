//! Credentials in a workload (`storage.storage_options.secret_access_key`, …) are used, never
//! shown: every file, message and printout that repeats the workload or an override passes
//! through here first.

use serde_json::Value;

/// What a credential is shown as.
pub const REDACTED: &str = "<redacted>";

/// True for keys that hold credentials (the storage options of S3, Azure and GCS clients).
pub fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "secret",
        "password",
        "credential",
        "account_key",
        "private_key",
        "service_account",
    ]
    .iter()
    .any(|word| key.contains(word))
        || key.ends_with("token")
        || key == "access_key_id"
}

/// `tree` with the value of every secret key, at any depth, replaced by [`REDACTED`].
pub fn redact_tree(tree: &Value) -> Value {
    match tree {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let shown = if is_secret(key) && !value.is_null() {
                        Value::String(REDACTED.into())
                    } else {
                        redact_tree(value)
                    };
                    (key.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_tree).collect()),
        other => other.clone(),
    }
}

/// An override as typed (`++workload.storage.storage_options.secret_access_key=…`) with the
/// value redacted when the key, or any key inside a mapping value, is secret.
pub fn redact_override(text: &str) -> String {
    let Some((key, value)) = text.split_once('=') else {
        return text.to_string();
    };
    let last = key.rsplit(['.', '/']).next().unwrap_or(key);
    let mentions_secret = value
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(is_secret);
    if is_secret(last) || mentions_secret {
        format!("{key}={REDACTED}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_keys_are_redacted_at_any_depth() {
        let tree = json!({"storage": {"storage_options": {
            "secret_access_key": "S3CR3T", "access_key_id": "AKIA", "endpoint_url": "http://x",
            "nested": [{"account_key": "K"}], "session_token": null}}});
        let shown = redact_tree(&tree);
        let options = &shown["storage"]["storage_options"];
        assert_eq!(options["secret_access_key"], REDACTED);
        assert_eq!(options["access_key_id"], REDACTED);
        assert_eq!(options["nested"][0]["account_key"], REDACTED);
        assert_eq!(options["endpoint_url"], "http://x");
        assert!(options["session_token"].is_null());
        assert!(!shown.to_string().contains("S3CR3T"));
    }

    #[test]
    fn overrides_hide_secret_values() {
        assert_eq!(
            redact_override("++workload.storage.storage_options.secret_access_key=S3CR3T"),
            format!("++workload.storage.storage_options.secret_access_key={REDACTED}")
        );
        assert_eq!(
            redact_override("+workload.storage.storage_options={secret_access_key: S3CR3T}"),
            format!("+workload.storage.storage_options={REDACTED}")
        );
        let plain = "++workload.storage.storage_options.endpoint_url=http://127.0.0.1:9000";
        assert_eq!(redact_override(plain), plain);
        assert_eq!(
            redact_override("workload.train.seed=3"),
            "workload.train.seed=3"
        );
    }

    #[test]
    fn a_malformed_override_does_not_repeat_a_credential() {
        let err = crate::config::overrides::parse(
            "+workload.storage.storage_options={secret_access_key: \"S3CR3T",
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("S3CR3T"), "{err}");
        let err = crate::config::overrides::parse(
            "++workload.storage.storage_options.secret_access_key=S3CR3T,other",
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("S3CR3T"), "{err}");
    }
}
