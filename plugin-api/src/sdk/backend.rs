//! The traits a storage-backend plugin implements.

use std::path::PathBuf;

use super::{Error, OptionSpec, Result};
use crate::abi::{ObjectMeta, StoreInfo};

/// Static description of a backend component.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BackendDescription {
    /// The URI scheme it serves (`file`, `direct`, `s3`).
    pub name: &'static str,
    /// One line for `plugins list`.
    pub description: &'static str,
    /// Bits from [`crate::abi::backend_caps`].
    pub capabilities: u64,
    /// Options read from `storage.storage_options`.
    pub options: Vec<OptionSpec>,
}

impl BackendDescription {
    /// A backend for URI scheme `name`, with no options.
    pub fn new(name: &'static str, description: &'static str, capabilities: u64) -> Self {
        BackendDescription {
            name,
            description,
            capabilities,
            options: Vec::new(),
        }
    }

    /// The same description with `options`.
    pub fn with_options(mut self, options: Vec<OptionSpec>) -> Self {
        self.options = options;
        self
    }
}

/// Options of one write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Expected final size, if known.
    pub size_hint: Option<u64>,
    /// Make the object durable before `finish` returns.
    pub fsync: bool,
    /// Options added after ABI 1.0, as a JSON object (`null` when none).
    pub extra: serde_json::Value,
}

/// One page of a listing: `(key, size)` pairs in key order and the cursor of the next page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListPage {
    /// Objects of this page.
    pub entries: Vec<(String, u64)>,
    /// Where the next page starts; `None` when complete.
    pub next_cursor: Option<String>,
}

impl ListPage {
    /// A page of `entries`, followed by the page at `next_cursor` if any.
    pub fn new(entries: Vec<(String, u64)>, next_cursor: Option<String>) -> Self {
        ListPage {
            entries,
            next_cursor,
        }
    }
}

/// A storage backend: one URI scheme.
pub trait BackendPlugin: Send + Sync + 'static {
    /// Scheme, capabilities and options.
    fn describe(&self) -> BackendDescription;

    /// Opens the store rooted at `root` with `options` (a JSON object).
    fn connect(&self, root: &str, options: &serde_json::Value) -> Result<Box<dyn Store>>;
}

/// A connected store; called from many threads at once.
pub trait Store: Send + Sync + 'static {
    /// Alignment and preferred request size.
    fn info(&self) -> StoreInfo;

    /// Size of the object at `key`, or `None` if absent.
    fn stat(&self, key: &str) -> Result<Option<ObjectMeta>>;

    /// Opens `key` for reading.
    fn open_read(&self, key: &str) -> Result<Box<dyn ObjectReader>>;

    /// Starts writing `key`; nothing is visible under `key` until `finish` succeeds.
    fn open_write(&self, key: &str, options: &WriteOptions) -> Result<Box<dyn ObjectWriter>>;

    /// Lists keys under `prefix`, recursively, a page at a time.
    fn list(&self, _prefix: &str, _cursor: Option<&str>, _max: u32) -> Result<ListPage> {
        Err(Error::unsupported("this store cannot list"))
    }

    /// Deletes `key`; a missing key is not an error.
    fn delete(&self, _key: &str) -> Result<()> {
        Err(Error::unsupported("this store cannot delete"))
    }

    /// Local path of `key`, for stores on the local file system.
    fn local_path(&self, _key: &str) -> Option<PathBuf> {
        None
    }

    /// An operation added after ABI 1.0, by name, with JSON arguments and result.
    fn extension(&self, name: &str, _args: &serde_json::Value) -> Result<serde_json::Value> {
        Err(Error::unsupported(format!("unknown operation '{name}'")))
    }
}

/// An object open for reading.
pub trait ObjectReader: Send + 'static {
    /// Size in bytes (may be looked up lazily, so it can fail).
    fn size(&mut self) -> Result<u64>;

    /// Reads into `buf` at `offset`; fewer bytes only at the end of the object.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<u64>;
}

/// An object being written. Dropping it without `finish` must discard it.
pub trait ObjectWriter: Send + 'static {
    /// Appends `data`.
    fn write(&mut self, data: &[u8]) -> Result<()>;

    /// Completes and publishes the object.
    fn finish(&mut self) -> Result<ObjectMeta>;

    /// Discards everything written.
    fn abort(&mut self);
}
