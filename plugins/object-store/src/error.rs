//! How client failures become SDK errors: one line naming the operation, the object and the
//! endpoint, a short cause, the attempts made — and never a credential.

use std::{error::Error as StdError, fmt, time::Duration};

use dl_plugin_api::sdk::{Error, ErrorKind};
use object_store::client::{HttpError, HttpErrorKind};

use crate::options::REDACTED;

/// Environment variables of these services whose values are credentials (matched on the
/// upper-case name).
const ENV_PREFIXES: [&str; 4] = ["AWS_", "AZURE_", "GOOGLE_", "AZURITE_"];
const ENV_SECRET_WORDS: [&str; 6] = ["SECRET", "KEY", "TOKEN", "PASSWORD", "SAS", "CREDENTIAL"];
/// Shorter configured values cannot be real credentials; scrubbing them (`id`) would garble
/// the words of every message.
const OPTION_SECRET_MIN_LEN: usize = 4;
/// Shorter environment values are flags and names, not credentials, and scrubbing them would
/// garble every message.
const ENV_SECRET_MIN_LEN: usize = 8;

/// Removes known credentials and URL query strings (where SAS tokens travel) from text.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// Scrubs `secrets` (the configured credentials) and credentials found in the environment.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut all: Vec<String> = secrets
            .into_iter()
            .filter(|s| s.len() >= OPTION_SECRET_MIN_LEN)
            .map(str::to_string)
            .collect();
        for (key, value) in std::env::vars_os() {
            let (Some(key), Some(value)) = (key.to_str(), value.to_str()) else {
                continue;
            };
            let key = key.to_ascii_uppercase();
            if ENV_PREFIXES.iter().any(|p| key.starts_with(p))
                && ENV_SECRET_WORDS.iter().any(|w| key.contains(w))
                && value.len() >= ENV_SECRET_MIN_LEN
            {
                all.push(value.to_string());
            }
        }
        // Longest first, so a secret containing another is removed whole.
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        all.dedup();
        Redactor { secrets: all }
    }

    /// `text` with every known credential replaced and URL query strings dropped.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = strip_queries(text);
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }
}

/// Drops the `?query` of every `http://` or `https://` URL in `text`.
fn strip_queries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = [rest.find("http://"), rest.find("https://")]
        .into_iter()
        .flatten()
        .min()
    {
        out.push_str(&rest[..at]);
        let url_end = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>' | '<' | ','))
            .map_or(rest.len(), |end| at + end);
        let url = &rest[at..url_end];
        out.push_str(url.split('?').next().unwrap_or(url));
        rest = &rest[url_end..];
    }
    out.push_str(rest);
    out
}

/// Where a failed request went: for the message.
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    /// `GET`, `PUT`, `HEAD`, `LIST`, …
    pub op: &'a str,
    /// The object's URI (`s3://bucket/prefix/key`).
    pub object: &'a str,
    /// The endpoint, credentials removed.
    pub endpoint: &'a str,
}

impl fmt::Display for Site<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} at {}", self.op, self.object, self.endpoint)
    }
}

/// The SDK error for `err`, raised by the request described by `site`.
pub fn client_error(
    site: Site<'_>,
    err: &object_store::Error,
    timeout: Duration,
    redactor: &Redactor,
) -> Error {
    let facts = Facts::of(err);
    let detail = facts.service_detail();
    let (kind, what) = match err {
        object_store::Error::NotFound { .. } => (ErrorKind::NOT_FOUND, facts.not_found()),
        object_store::Error::PermissionDenied { .. } => {
            (ErrorKind::PERMISSION, format!("access denied{detail}"))
        }
        object_store::Error::Unauthenticated { .. } => (
            ErrorKind::PERMISSION,
            format!("not authenticated{detail}; check the credentials"),
        ),
        object_store::Error::InvalidPath { .. } => (ErrorKind::INVALID_CONFIG, facts.root()),
        object_store::Error::NotSupported { .. } | object_store::Error::NotImplemented { .. } => {
            (ErrorKind::UNSUPPORTED, facts.root())
        }
        _ => facts.classify(timeout),
    };
    let retryable = matches!(kind, ErrorKind::UNAVAILABLE | ErrorKind::TIMEOUT);
    let attempts = match (retryable, facts.retries) {
        (false, _) => String::new(),
        (true, Some(retries)) => format!(" (after {} attempts)", retries + 1),
        (true, None) => " (after 1 attempt)".into(),
    };
    let error = Error::new(kind, redactor.scrub(&format!("{site}: {what}{attempts}")));
    if retryable {
        error.retryable()
    } else {
        error
    }
}

/// The error for a request the backstop deadline cut short.
pub fn deadline_error(site: Site<'_>, limit: Duration, redactor: &Redactor) -> Error {
    Error::new(
        ErrorKind::TIMEOUT,
        redactor.scrub(&format!(
            "{site}: no result within {:.0} s (timeouts and retries exhausted)",
            limit.as_secs_f64()
        )),
    )
    .retryable()
}

/// What the error chain of a client failure tells.
struct Facts {
    /// Display text of every error in the chain, outermost first.
    texts: Vec<String>,
    http: Option<HttpErrorKind>,
    /// HTTP status code and what followed it (reason and body).
    status: Option<(u16, String)>,
    retries: Option<u32>,
}

impl Facts {
    fn of(err: &object_store::Error) -> Facts {
        let mut texts = Vec::new();
        let mut http = None;
        let mut current: Option<&(dyn StdError + 'static)> = Some(err);
        while let Some(e) = current {
            texts.push(e.to_string());
            if let Some(h) = e.downcast_ref::<HttpError>() {
                http.get_or_insert(h.kind());
            }
            current = e.source();
        }
        let status = texts.iter().find_map(|t| parse_status(t));
        let retries = texts.iter().find_map(|t| parse_retries(t));
        Facts {
            texts,
            http,
            status,
            retries,
        }
    }

    /// The innermost message: usually the most specific (`Connection refused (os error 111)`).
    fn root(&self) -> String {
        self.texts
            .iter()
            .rev()
            .find(|t| !t.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| "unknown error".into())
    }

    fn not_found(&self) -> String {
        if self.texts.iter().any(|t| t.contains("NoSuchBucket")) {
            "no such bucket".into()
        } else if self.texts.iter().any(|t| t.contains("ContainerNotFound")) {
            "no such container".into()
        } else {
            "no such object".into()
        }
    }

    /// ` (Code: Message)` from an S3/Azure/GCS XML error body, or empty.
    fn service_detail(&self) -> String {
        let Some((_, rest)) = &self.status else {
            return String::new();
        };
        let code = xml_field(rest, "Code");
        let message = xml_field(rest, "Message");
        match (code, message) {
            (Some(c), Some(m)) => format!(" ({c}: {m})"),
            (Some(c), None) => format!(" ({c})"),
            (None, Some(m)) => format!(" ({m})"),
            (None, None) => String::new(),
        }
    }

    fn classify(&self, timeout: Duration) -> (ErrorKind, String) {
        if let Some((code, rest)) = &self.status {
            let reason = rest.split(':').next().unwrap_or("").trim();
            let status = format!("HTTP {code} {reason}").trim_end().to_string();
            let detail = self.service_detail();
            return match code {
                416 => (
                    ErrorKind::CORRUPT,
                    format!("object is shorter than expected ({status})"),
                ),
                404 => (
                    ErrorKind::NOT_FOUND,
                    format!("{}{detail}", self.not_found()),
                ),
                401 | 403 => (ErrorKind::PERMISSION, format!("{status}{detail}")),
                408 | 429 | 500..=599 => (ErrorKind::UNAVAILABLE, format!("{status}{detail}")),
                _ => (ErrorKind::IO, format!("{status}{detail}")),
            };
        }
        let root = self.root();
        match self.http {
            Some(HttpErrorKind::Timeout) => (
                ErrorKind::TIMEOUT,
                format!(
                    "timed out (timeout_seconds = {})",
                    seconds(timeout.as_secs_f64())
                ),
            ),
            Some(HttpErrorKind::Connect) => {
                (ErrorKind::UNAVAILABLE, format!("cannot connect: {root}"))
            }
            Some(HttpErrorKind::Request | HttpErrorKind::Interrupted) => {
                (ErrorKind::UNAVAILABLE, format!("connection failed: {root}"))
            }
            Some(HttpErrorKind::Decode) => (ErrorKind::IO, format!("bad response: {root}")),
            _ => (ErrorKind::IO, root),
        }
    }
}

/// `30` for 30.0, `2.5` for 2.5.
pub fn seconds(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The status code in object_store's "… status code: 503 Service Unavailable: <body>".
fn parse_status(text: &str) -> Option<(u16, String)> {
    let (_, after) = text.split_once("status code: ")?;
    let code: u16 = after.get(..3)?.parse().ok()?;
    Some((code, after[3..].trim().to_string()))
}

/// The retry count in object_store's "…, after 2 retries, max_retries: …".
fn parse_retries(text: &str) -> Option<u32> {
    let (_, after) = text.split_once(", after ")?;
    after.split_once(" retries")?.0.trim().parse().ok()
}

/// The text of `<field>…</field>` in `body`, shortened.
fn xml_field(body: &str, field: &str) -> Option<String> {
    let open = format!("<{field}>");
    let close = format!("</{field}>");
    let start = body.find(&open)? + open.len();
    let len = body[start..].find(&close)?;
    let value = body[start..start + len].trim();
    if value.is_empty() {
        return None;
    }
    Some(value.chars().take(200).collect())
}
