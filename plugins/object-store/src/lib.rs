//! Object-storage backends for dl-driver: S3 (and S3-compatible stores), Azure Blob Storage,
//! Google Cloud Storage and plain HTTP/WebDAV, through the `object_store` crate.
//!
//! # URIs
//!
//! | Component        | Root URI                                   | Object of key `k`            |
//! |------------------|--------------------------------------------|------------------------------|
//! | `s3`             | `s3://<bucket>[/<prefix>]`                 | `<prefix>/k` in the bucket   |
//! | `az`, `azure`    | `az://<container>[/<prefix>]`, `az:///<prefix>` (container from options or environment) | `<prefix>/k` |
//! | `gs`             | `gs://<bucket>[/<prefix>]`                 | `<prefix>/k` in the bucket   |
//! | `http`, `https`  | `http[s]://<host[:port]>[/<path>]`         | `<path>/k` on the server     |
//!
//! Keys are relative to the root's prefix; listings return them that way too. Credentials in
//! a URI (`user:pass@host`) are refused rather than carried into every message.
//!
//! # Options (`storage.storage_options`, all optional; unknown keys are ignored)
//!
//! | Key | Default | Meaning |
//! |-----|---------|---------|
//! | `access_key_id`, `secret_access_key`, `session_token` | environment | S3 credentials (both or neither of the first two) |
//! | `endpoint_url` | the cloud's | S3-compatible endpoint, Azure blob endpoint or GCS base URL; `http://` is allowed |
//! | `region` | `us-east-1` with an endpoint | S3 signing region |
//! | `s3_force_path_style` | `true` | `endpoint/bucket/key`; `false` addresses `bucket.endpoint/key`. Bool or string (`"True"`) |
//! | `s3_max_attempts` | `3` | attempts per request, the first included (all services) |
//! | `timeout_seconds` | `30` | limit of one HTTP request, body included |
//! | `connect_timeout_seconds` | `5` | limit of opening one connection |
//! | `retry_timeout_seconds` | `60` | no retry of a request starts after this long |
//! | `part_size_bytes` | `16777216` | multipart part size; S3 and GCS need at least 5 MiB |
//! | `max_concurrent_parts` | `8` | parts uploaded, or ranges read, at once per object |
//! | `account_name`, `account_key`, `container`, `use_emulator` | environment | Azure |
//! | `service_account_path`, `service_account_key` | environment | GCS |
//!
//! Numbers and booleans may be written as strings; a malformed value is an `INVALID_CONFIG`
//! error naming the key.
//!
//! # Environment
//!
//! Explicit options win; otherwise each client reads its usual variables:
//! S3 — `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_ENDPOINT_URL`
//! (or `AWS_ENDPOINT`), `AWS_REGION` / `AWS_DEFAULT_REGION`, `AWS_ALLOW_HTTP`, …;
//! Azure — `AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`, `AZURE_STORAGE_USE_EMULATOR`,
//! `AZURE_CONTAINER_NAME`, …, plus dl-driver's `AZURE_BLOB_ACCOUNT` (account) and
//! `AZURE_BLOB_CONTAINER` (container when neither the URI nor `container` names one);
//! GCS — `GOOGLE_SERVICE_ACCOUNT`, `GOOGLE_SERVICE_ACCOUNT_KEY`, `GOOGLE_APPLICATION_CREDENTIALS`, ….
//!
//! # Retries and timeouts
//!
//! Each request gets `timeout_seconds` (connecting: `connect_timeout_seconds`). Throttling
//! (429), 5xx answers, refused or dropped connections and timeouts of idempotent requests
//! are retried with exponential backoff (100 ms doubling, at most 15 s) until
//! `s3_max_attempts` attempts were made or `retry_timeout_seconds` passed; a backstop deadline
//! (retry budget + timeouts + 20 s) ends anything the client misses. So a vanished server
//! costs about attempts × timeouts, never a hang. Errors name the operation, the object and
//! the endpoint, and count the attempts:
//! `GET s3://bench/data/img_1_of_8.npz at http://127.0.0.1:9000: cannot connect: … (after 3 attempts)`.
//!
//! # Reads and writes
//!
//! Opening an object costs one HEAD (a missing object fails there); reads are ranged GETs,
//! a large one split into concurrent 8 MiB requests. A write buffers one part: an object of
//! at most one part is one PUT, a larger one a multipart upload with up to
//! `max_concurrent_parts` parts in flight (memory: part size × (parts in flight + 1)).
//! Nothing is visible before `finish`; `abort` or dropping the writer aborts the upload.
//! WebDAV has no multipart upload, so `http(s)://` writes hold the whole object in memory.
//!
//! # Secrets
//!
//! Credentials go to the client builders and nowhere else: option structs print them as
//! `<redacted>`, and every message is scrubbed of configured credentials, of credential-like
//! `AWS_*`/`AZURE_*`/`GOOGLE_*` environment values and of URL query strings (SAS tokens).
//!
//! # Runtime
//!
//! The library owns one multi-thread tokio runtime (2–4 workers), built on first use; the
//! host sees only the synchronous SDK traits, each of which blocks on it.

mod connect;
mod error;
mod list;
mod options;
mod read;
mod runtime;
mod store;
#[cfg(test)]
mod tests;
mod uri;
mod write;

use dl_plugin_api::sdk::{backend_caps, BackendDescription, BackendPlugin, Result, Store};

use connect::Service;
use store::RemoteStore;

const CLOUD_CAPS: u64 = backend_caps::READ
    | backend_caps::WRITE
    | backend_caps::LIST
    | backend_caps::DELETE
    | backend_caps::MULTIPART;

// WebDAV has no multipart upload: an object is sent in one PUT.
const HTTP_CAPS: u64 =
    backend_caps::READ | backend_caps::WRITE | backend_caps::LIST | backend_caps::DELETE;

/// The `s3` backend: Amazon S3 and S3-compatible stores.
#[derive(Debug, Clone, Copy, Default)]
pub struct S3Backend;

/// The Azure Blob Storage backend, under the scheme it was registered with (`az` or `azure`).
#[derive(Debug, Clone, Copy)]
pub struct AzureBackend(pub &'static str);

/// The `gs` backend: Google Cloud Storage.
#[derive(Debug, Clone, Copy, Default)]
pub struct GcsBackend;

/// The plain HTTP/WebDAV backend, under `http` or `https`.
#[derive(Debug, Clone, Copy)]
pub struct HttpBackend(pub &'static str);

fn boxed(store: Result<RemoteStore>) -> Result<Box<dyn Store>> {
    Ok(Box::new(store?))
}

impl BackendPlugin for S3Backend {
    fn describe(&self) -> BackendDescription {
        BackendDescription::new(
            "s3",
            "Amazon S3 and S3-compatible object stores (s3://bucket/prefix)",
            CLOUD_CAPS,
        )
        .with_options(options::s3_specs())
    }

    fn connect(&self, root: &str, options: &serde_json::Value) -> Result<Box<dyn Store>> {
        boxed(connect::connect(Service::S3, root, options))
    }
}

impl BackendPlugin for AzureBackend {
    fn describe(&self) -> BackendDescription {
        BackendDescription::new(
            self.0,
            "Azure Blob Storage (az://container/prefix or azure://container/prefix)",
            CLOUD_CAPS,
        )
        .with_options(options::azure_specs())
    }

    fn connect(&self, root: &str, options: &serde_json::Value) -> Result<Box<dyn Store>> {
        boxed(connect::connect(Service::Azure, root, options))
    }
}

impl BackendPlugin for GcsBackend {
    fn describe(&self) -> BackendDescription {
        BackendDescription::new(
            "gs",
            "Google Cloud Storage (gs://bucket/prefix)",
            CLOUD_CAPS,
        )
        .with_options(options::gcs_specs())
    }

    fn connect(&self, root: &str, options: &serde_json::Value) -> Result<Box<dyn Store>> {
        boxed(connect::connect(Service::Gcs, root, options))
    }
}

impl BackendPlugin for HttpBackend {
    fn describe(&self) -> BackendDescription {
        BackendDescription::new(
            self.0,
            "Plain HTTP/WebDAV server: GET ranges, PUT, DELETE, PROPFIND listing",
            HTTP_CAPS,
        )
        .with_options(options::http_specs())
    }

    fn connect(&self, root: &str, options: &serde_json::Value) -> Result<Box<dyn Store>> {
        boxed(connect::connect(Service::Http, root, options))
    }
}

dl_plugin_api::export_plugin! {
    description: "Object storage: s3://, az:// (azure://), gs://, http(s):// via object_store",
    formats: [],
    backends: [
        S3Backend,
        AzureBackend("az"),
        AzureBackend("azure"),
        GcsBackend,
        HttpBackend("http"),
        HttpBackend("https"),
    ],
}
