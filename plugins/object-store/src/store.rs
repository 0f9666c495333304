//! The store every backend shares: an [`ObjectStore`] client plus the prefix of the root, so
//! keys map to `prefix/key` and every error names the object and the endpoint.

use std::{fmt, future::Future, sync::Arc, time::Duration};

use dl_plugin_api::sdk::{
    Error, ListPage, ObjectMeta, ObjectReader, ObjectWriter, Result, Store, StoreInfo, WriteOptions,
};
use object_store::{path::Path, ObjectStore, ObjectStoreExt};

use crate::{
    error::{client_error, deadline_error, Redactor, Site},
    list::list_page,
    read::RemoteReader,
    runtime::{block_on, bounded},
    uri::object_path,
    write::RemoteWriter,
};

/// Preferred size of one ranged read; larger reads are split into requests of this size.
pub const TRANSFER_SIZE: u64 = 8 << 20;

/// Sizes and limits of requests.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Multipart part size in bytes.
    pub part_size: usize,
    /// Parts uploaded, or ranges read, at once per object.
    pub max_concurrency: usize,
    /// Size of one ranged read.
    pub transfer_size: u64,
    /// Per-request timeout, for messages.
    pub timeout: Duration,
    /// Backstop for one request with all its retries.
    pub deadline: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            part_size: crate::options::DEFAULT_PART_SIZE as usize,
            max_concurrency: crate::options::DEFAULT_CONCURRENCY as usize,
            transfer_size: TRANSFER_SIZE,
            timeout: Duration::from_secs(30),
            deadline: Duration::from_secs(120),
        }
    }
}

/// A connected client and where its root is.
pub struct Remote {
    /// The client.
    pub store: Arc<dyn ObjectStore>,
    /// URI scheme as the user wrote it (`s3`, `az`, …).
    pub scheme: String,
    /// Bucket, container or `host:port`.
    pub authority: String,
    /// Prefix of every key, without surrounding `/`.
    pub prefix: String,
    /// Endpoint for messages, without credentials.
    pub endpoint: String,
    /// Sizes and limits.
    pub tuning: Tuning,
    /// Scrubs credentials from messages.
    pub redactor: Redactor,
    /// Whether the service lists in key order (S3, Azure, GCS do; WebDAV does not).
    pub sorted_listing: bool,
    /// Whether the service starts a listing after a key itself; if not, pages filter.
    pub native_offset: bool,
    /// Whether the service takes multipart uploads; if not, writes are one PUT.
    pub multipart: bool,
}

// By hand: the client's own Debug may print its credentials.
impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote")
            .field("root", &self.uri(""))
            .field("endpoint", &self.endpoint)
            .field("tuning", &self.tuning)
            .finish_non_exhaustive()
    }
}

/// Why a request failed, before it becomes an SDK error.
#[derive(Debug)]
pub enum Failure {
    /// The client reported an error.
    Client(object_store::Error),
    /// The backstop deadline passed.
    Deadline(Duration),
}

impl Failure {
    /// True when the object is absent (not when its bucket or container is).
    pub fn is_missing_object(&self) -> bool {
        let Failure::Client(err @ object_store::Error::NotFound { .. }) = self else {
            return false;
        };
        let text = format!("{err:?}");
        !text.contains("NoSuchBucket") && !text.contains("ContainerNotFound")
    }
}

impl Remote {
    /// `scheme://authority/prefix/key` (the root itself when `key` is empty).
    pub fn uri(&self, key: &str) -> String {
        let mut uri = format!("{}://{}", self.scheme, self.authority);
        for part in [self.prefix.as_str(), key] {
            if !part.is_empty() {
                uri.push('/');
                uri.push_str(part);
            }
        }
        uri
    }

    /// The object path of `key`.
    pub fn path(&self, key: &str) -> Result<Path> {
        object_path(&self.prefix, key).map_err(|why| {
            Error::invalid_config(format!(
                "key {key:?} under {}: {why}; keys are relative paths of `/`-separated names",
                self.uri("")
            ))
        })
    }

    /// The request description for messages.
    pub fn site<'a>(&'a self, op: &'a str, object: &'a str) -> Site<'a> {
        Site {
            op,
            object,
            endpoint: &self.endpoint,
        }
    }

    /// Runs one request under the backstop deadline.
    pub async fn call<T>(
        &self,
        request: impl Future<Output = object_store::Result<T>>,
    ) -> std::result::Result<T, Failure> {
        match bounded(self.tuning.deadline, request).await {
            Some(Ok(value)) => Ok(value),
            Some(Err(err)) => Err(Failure::Client(err)),
            None => Err(Failure::Deadline(self.tuning.deadline)),
        }
    }

    /// The SDK error for `failure` of `op` on `object`.
    pub fn error(&self, op: &str, object: &str, failure: &Failure) -> Error {
        let site = self.site(op, object);
        match failure {
            Failure::Client(err) => client_error(site, err, self.tuning.timeout, &self.redactor),
            Failure::Deadline(limit) => deadline_error(site, *limit, &self.redactor),
        }
    }

    /// Runs one request and turns its failure into an SDK error.
    pub async fn request<T>(
        &self,
        op: &str,
        object: &str,
        request: impl Future<Output = object_store::Result<T>>,
    ) -> Result<T> {
        self.call(request)
            .await
            .map_err(|failure| self.error(op, object, &failure))
    }
}

/// A store over any [`ObjectStore`]; shared by all backends (and the unit tests).
#[derive(Debug, Clone)]
pub struct RemoteStore {
    remote: Arc<Remote>,
}

impl RemoteStore {
    /// A store over `remote`.
    pub fn new(remote: Remote) -> Self {
        RemoteStore {
            remote: Arc::new(remote),
        }
    }

    /// The client and its root (tests look inside).
    #[cfg(test)]
    pub fn remote(&self) -> &Remote {
        &self.remote
    }
}

impl Store for RemoteStore {
    fn info(&self) -> StoreInfo {
        let remote = &self.remote;
        let extra = serde_json::json!({
            "root": remote.uri(""),
            "endpoint": remote.endpoint,
            "part_size": remote.tuning.part_size,
            "max_concurrent_parts": remote.tuning.max_concurrency,
        });
        let mut info = StoreInfo::new(1, remote.tuning.transfer_size);
        info.extra = extra.to_string().into();
        info
    }

    fn stat(&self, key: &str) -> Result<Option<ObjectMeta>> {
        let remote = &self.remote;
        let path = remote.path(key)?;
        let uri = remote.uri(key);
        match block_on(remote.call(remote.store.head(&path)))? {
            Ok(meta) => Ok(Some(ObjectMeta::new(meta.size))),
            Err(failure) if failure.is_missing_object() => Ok(None),
            Err(failure) => Err(remote.error("HEAD", &uri, &failure)),
        }
    }

    fn open_read(&self, key: &str) -> Result<Box<dyn ObjectReader>> {
        let remote = &self.remote;
        let path = remote.path(key)?;
        let uri = remote.uri(key);
        // One HEAD up front: a missing object fails here, and the size is known for every read.
        let meta = block_on(remote.request("HEAD", &uri, remote.store.head(&path)))??;
        Ok(Box::new(RemoteReader::new(
            Arc::clone(&self.remote),
            path,
            uri,
            meta.size,
        )))
    }

    fn open_write(&self, key: &str, options: &WriteOptions) -> Result<Box<dyn ObjectWriter>> {
        let path = self.remote.path(key)?;
        let uri = self.remote.uri(key);
        Ok(Box::new(RemoteWriter::new(
            Arc::clone(&self.remote),
            path,
            uri,
            options.size_hint,
        )))
    }

    fn list(&self, prefix: &str, cursor: Option<&str>, max: u32) -> Result<ListPage> {
        block_on(list_page(&self.remote, prefix, cursor, max))?
    }

    fn delete(&self, key: &str) -> Result<()> {
        let remote = &self.remote;
        let path = remote.path(key)?;
        let uri = remote.uri(key);
        match block_on(remote.call(remote.store.delete(&path)))? {
            Ok(()) => Ok(()),
            Err(failure) if failure.is_missing_object() => Ok(()),
            Err(failure) => Err(remote.error("DELETE", &uri, &failure)),
        }
    }
}
