//! The traits a storage-backend plugin implements.

use std::path::PathBuf;

use super::{Error, OptionSpec, Result};
use crate::abi::{ObjectMeta, StoreInfo};

/// Static description of a backend component.
#[derive(Debug, Clone)]
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

/// Options of one write.
#[derive(Debug, Clone, PartialEq, Eq)]
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
pub struct ListPage {
    /// Objects of this page.
    pub entries: Vec<(String, u64)>,
    /// Where the next page starts; `None` when complete.
    pub next_cursor: Option<String>,
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
}

/// An object open for reading.
pub trait ObjectReader: Send + 'static {
    /// Size in bytes.
    fn size(&self) -> u64;

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
