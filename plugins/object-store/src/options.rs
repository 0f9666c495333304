//! `storage.storage_options` as users write them in DLIO workloads: every key optional, values
//! loosely typed (YAML gives `True`, `"true"` and `5` alike), unknown keys ignored.

use std::{fmt, time::Duration};

use dl_plugin_api::sdk::{Error, OptionSpec, Result};
use serde_json::{Map, Value};

/// What a secret is shown as wherever it would otherwise appear.
pub const REDACTED: &str = "<redacted>";

/// Attempts per request (the first one included) unless `s3_max_attempts` says otherwise.
pub const DEFAULT_ATTEMPTS: u32 = 3;
/// Upper bound on `s3_max_attempts`: beyond this a dead endpoint only looks like a hang.
const MAX_ATTEMPTS: u64 = 100;
/// Default multipart part size.
pub const DEFAULT_PART_SIZE: u64 = 16 << 20;
/// Default number of parts (and ranged reads) in flight per object.
pub const DEFAULT_CONCURRENCY: u64 = 8;
/// Upper bound on `max_concurrent_parts`: memory is part size × this.
const MAX_CONCURRENCY: u64 = 256;
/// Longest accepted timeout of any kind, one day.
const MAX_SECONDS: f64 = 86_400.0;

/// A credential: usable by the client builders, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The credential itself, for handing to a client builder only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Parsed storage options; every field `None` (or its default) when not given.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// `access_key_id` (S3); kept hidden like the secret, as the host does.
    pub access_key_id: Option<Secret>,
    /// `secret_access_key` (S3).
    pub secret_access_key: Option<Secret>,
    /// `session_token` (S3).
    pub session_token: Option<Secret>,
    /// `endpoint_url`: S3-compatible endpoint, Azure blob endpoint or GCS base URL.
    pub endpoint_url: Option<String>,
    /// `region` (S3).
    pub region: Option<String>,
    /// `s3_force_path_style`.
    pub force_path_style: Option<bool>,
    /// `s3_max_attempts`: attempts per request, the first included.
    pub max_attempts: u32,
    /// `timeout_seconds`: limit of one HTTP request, body included.
    pub timeout: Duration,
    /// `connect_timeout_seconds`: limit of establishing one connection.
    pub connect_timeout: Duration,
    /// `retry_timeout_seconds`: no new attempt of a request starts after this long.
    pub retry_timeout: Duration,
    /// `part_size_bytes`: multipart part size (checked against each service's limits later).
    pub part_size: u64,
    /// `max_concurrent_parts`: parts uploaded, or ranges read, at once per object.
    pub max_concurrent_parts: usize,
    /// `use_emulator` (Azure, Azurite).
    pub use_emulator: Option<bool>,
    /// `account_name` (Azure).
    pub account_name: Option<String>,
    /// `account_key` (Azure).
    pub account_key: Option<Secret>,
    /// `container` (Azure).
    pub container: Option<String>,
    /// `service_account_path` (GCS): path of a service-account JSON file.
    pub service_account_path: Option<String>,
    /// `service_account_key` (GCS): the service-account JSON itself.
    pub service_account_key: Option<Secret>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            endpoint_url: None,
            region: None,
            force_path_style: None,
            max_attempts: DEFAULT_ATTEMPTS,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retry_timeout: Duration::from_secs(60),
            part_size: DEFAULT_PART_SIZE,
            max_concurrent_parts: DEFAULT_CONCURRENCY as usize,
            use_emulator: None,
            account_name: None,
            account_key: None,
            container: None,
            service_account_path: None,
            service_account_key: None,
        }
    }
}

/// Keys whose values are credentials: never echoed, even when malformed.
const SECRET_KEYS: [&str; 5] = [
    "access_key_id",
    "secret_access_key",
    "session_token",
    "account_key",
    "service_account_key",
];

impl Options {
    /// Parses `storage.storage_options` (`null` or a JSON object).
    pub fn parse(value: &Value) -> Result<Options> {
        let empty = Map::new();
        let map = match value {
            Value::Null => &empty,
            Value::Object(map) => map,
            _ => {
                return Err(Error::invalid_config(
                    "storage.storage_options must be a mapping of option names to values",
                ))
            }
        };
        let read = Reader(map);
        let defaults = Options::default();
        Ok(Options {
            access_key_id: read.secret("access_key_id")?,
            secret_access_key: read.secret("secret_access_key")?,
            session_token: read.secret("session_token")?,
            endpoint_url: read.string("endpoint_url")?,
            region: read.string("region")?,
            force_path_style: read.bool("s3_force_path_style")?,
            max_attempts: read
                .count("s3_max_attempts", 1, MAX_ATTEMPTS)?
                .map_or(defaults.max_attempts, |n| n as u32),
            timeout: read.seconds("timeout_seconds")?.unwrap_or(defaults.timeout),
            connect_timeout: read
                .seconds("connect_timeout_seconds")?
                .unwrap_or(defaults.connect_timeout),
            retry_timeout: read
                .seconds("retry_timeout_seconds")?
                .unwrap_or(defaults.retry_timeout),
            part_size: read
                .count("part_size_bytes", 1, u64::MAX)?
                .unwrap_or(defaults.part_size),
            max_concurrent_parts: read
                .count("max_concurrent_parts", 1, MAX_CONCURRENCY)?
                .map_or(defaults.max_concurrent_parts, |n| n as usize),
            use_emulator: read.bool("use_emulator")?,
            account_name: read.string("account_name")?,
            account_key: read.secret("account_key")?,
            container: read.string("container")?,
            service_account_path: read.string("service_account_path")?,
            service_account_key: read.secret("service_account_key")?,
        })
    }

    /// Every credential given in the options, for scrubbing messages.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        [
            &self.access_key_id,
            &self.secret_access_key,
            &self.session_token,
            &self.account_key,
            &self.service_account_key,
        ]
        .into_iter()
        .flatten()
        .map(Secret::expose)
    }
}

struct Reader<'a>(&'a Map<String, Value>);

impl Reader<'_> {
    /// The value of `key`; `null` and the empty string count as not given.
    fn get(&self, key: &str) -> Option<&Value> {
        match self.0.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(value) => Some(value),
        }
    }

    fn string(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(bad(key, other, "a string")),
        }
    }

    fn secret(&self, key: &str) -> Result<Option<Secret>> {
        // Not trimmed: whatever the user wrote is the credential.
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(Secret::new(s.clone()))),
            Some(Value::Number(n)) => Ok(Some(Secret::new(n.to_string()))),
            Some(other) => Err(bad(key, other, "a string")),
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>> {
        let wanted = "true or false";
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(value @ Value::Number(n)) => match n.as_u64() {
                Some(0) => Ok(Some(false)),
                Some(1) => Ok(Some(true)),
                _ => Err(bad(key, value, wanted)),
            },
            Some(value @ Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Ok(Some(true)),
                "false" | "no" | "off" | "0" => Ok(Some(false)),
                _ => Err(bad(key, value, wanted)),
            },
            Some(other) => Err(bad(key, other, wanted)),
        }
    }

    /// A whole number in `min..=max`, written as a number or a string of digits.
    fn count(&self, key: &str, min: u64, max: u64) -> Result<Option<u64>> {
        let wanted = if max == u64::MAX {
            format!("a whole number of at least {min}")
        } else {
            format!("a whole number from {min} to {max}")
        };
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let number = match value {
            Value::Number(n) => n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                    .map(|f| f as u64)
            }),
            Value::String(s) => s.trim().replace('_', "").parse::<u64>().ok(),
            _ => None,
        };
        match number {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(bad(key, value, &wanted)),
        }
    }

    /// A positive number of seconds (fractions allowed), as a number or a string.
    fn seconds(&self, key: &str) -> Result<Option<Duration>> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let seconds = match value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match seconds {
            Some(s) if s.is_finite() && s > 0.0 && s <= MAX_SECONDS => {
                Ok(Some(Duration::from_secs_f64(s)))
            }
            _ => Err(bad(
                key,
                value,
                &format!("a number of seconds above 0 and at most {MAX_SECONDS}"),
            )),
        }
    }
}

/// The error for a malformed option; credentials are described by type, never by value.
fn bad(key: &str, value: &Value, wanted: &str) -> Error {
    let shown = if SECRET_KEYS.contains(&key) {
        format!("a {}", type_name(value))
    } else {
        let text = value.to_string();
        if text.chars().count() > 60 {
            format!("{}…", text.chars().take(60).collect::<String>())
        } else {
            text
        }
    };
    Error::invalid_config(format!(
        "storage_options.{key}: expected {wanted}, got {shown}"
    ))
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}

/// Options every backend reads, for `plugins info`.
pub fn common_specs() -> Vec<OptionSpec> {
    vec![
        OptionSpec::new(
            "endpoint_url",
            "string",
            None,
            "Service endpoint (http:// allowed); default: the cloud's own",
        ),
        OptionSpec::new(
            "s3_max_attempts",
            "int",
            Some("3"),
            "Attempts per request, the first included (all backends)",
        ),
        OptionSpec::new(
            "timeout_seconds",
            "float",
            Some("30"),
            "Limit of one HTTP request, body included",
        ),
        OptionSpec::new(
            "connect_timeout_seconds",
            "float",
            Some("5"),
            "Limit of opening one connection",
        ),
        OptionSpec::new(
            "retry_timeout_seconds",
            "float",
            Some("60"),
            "No retry of a request starts after this long",
        ),
        OptionSpec::new(
            "part_size_bytes",
            "int",
            Some("16777216"),
            "Multipart part size (S3 and GCS: at least 5 MiB)",
        ),
        OptionSpec::new(
            "max_concurrent_parts",
            "int",
            Some("8"),
            "Parts uploaded, or ranges read, at once per object",
        ),
    ]
}

/// Options of the `s3` backend.
pub fn s3_specs() -> Vec<OptionSpec> {
    let mut specs = vec![
        OptionSpec::new(
            "access_key_id",
            "string",
            None,
            "Access key id (secret; default: AWS_ACCESS_KEY_ID)",
        ),
        OptionSpec::new(
            "secret_access_key",
            "string",
            None,
            "Secret access key (secret; default: AWS_SECRET_ACCESS_KEY)",
        ),
        OptionSpec::new(
            "session_token",
            "string",
            None,
            "Session token (secret; default: AWS_SESSION_TOKEN)",
        ),
        OptionSpec::new(
            "region",
            "string",
            None,
            "Region; us-east-1 when endpoint_url is set and no region is",
        ),
        OptionSpec::new(
            "s3_force_path_style",
            "bool",
            Some("true"),
            "Path-style requests (endpoint/bucket/key) instead of bucket.endpoint/key",
        ),
    ];
    specs.extend(common_specs());
    specs
}

/// Options of the `az`/`azure` backends.
pub fn azure_specs() -> Vec<OptionSpec> {
    let mut specs = vec![
        OptionSpec::new(
            "account_name",
            "string",
            None,
            "Storage account (default: AZURE_STORAGE_ACCOUNT_NAME, AZURE_BLOB_ACCOUNT)",
        ),
        OptionSpec::new(
            "account_key",
            "string",
            None,
            "Account key (secret; default: AZURE_STORAGE_ACCOUNT_KEY)",
        ),
        OptionSpec::new(
            "container",
            "string",
            None,
            "Container when the URI names none (default: AZURE_BLOB_CONTAINER)",
        ),
        OptionSpec::new(
            "use_emulator",
            "bool",
            Some("false"),
            "Use Azurite (default: AZURE_STORAGE_USE_EMULATOR)",
        ),
    ];
    specs.extend(common_specs());
    specs
}

/// Options of the `gs` backend.
pub fn gcs_specs() -> Vec<OptionSpec> {
    let mut specs = vec![
        OptionSpec::new(
            "service_account_path",
            "string",
            None,
            "Service-account JSON file (default: GOOGLE_SERVICE_ACCOUNT)",
        ),
        OptionSpec::new(
            "service_account_key",
            "string",
            None,
            "Service-account JSON text (secret)",
        ),
    ];
    specs.extend(common_specs());
    specs
}

/// Options of the `http`/`https` backends.
pub fn http_specs() -> Vec<OptionSpec> {
    common_specs()
        .into_iter()
        .filter(|spec| !matches!(spec.name, "endpoint_url" | "part_size_bytes"))
        .collect()
}
