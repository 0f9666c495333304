//! `#[sabi_trait]` interfaces: plugin-implemented (components, sessions, stores, readers,
//! writers) and host-implemented (generation output, byte sinks, sample sources).
//!
//! Backends and formats are synchronous and thread-safe: the host calls them from its own I/O
//! threads with host-owned buffers. Futures never cross this boundary.
// `Source::len` is the object's size; an `is_empty` would be one more frozen method for nothing.
#![allow(
    non_local_definitions,
    non_camel_case_types,
    clippy::len_without_is_empty
)]

use abi_stable::{
    sabi_trait,
    std_types::{RBox, ROption, RSlice, RSliceMut, RStr, RString, RVec},
};

use super::types::{
    CheckReport, FileSpec, ListPage, ObjectMeta, PluginResult, StoreInfo, WriteOptions,
};

/// A format component: configured once per run with the dataset description.
#[sabi_trait]
pub trait FormatComponent: Send + Sync {
    /// Validates the dataset description (JSON: the resolved `dataset` section) and returns a
    /// session that generates and reads files of that dataset.
    #[sabi(last_prefix_field)]
    fn configure(
        &self,
        dataset_json: RStr<'_>,
    ) -> PluginResult<FormatSession_TO<'static, RBox<()>>>;
}

/// A format configured for one dataset.
#[sabi_trait]
pub trait FormatSession: Send + Sync {
    /// Exact size in bytes of the file `generate` would write, if the format knows it.
    fn file_size(&self, file: &FileSpec) -> PluginResult<ROption<u64>>;

    /// Streams the bytes of `file` into `out`; the same `FileSpec` always gives the same bytes.
    /// Returns the number of bytes written to the data file.
    fn generate(
        &self,
        file: &FileSpec,
        out: GenerateOutput_TO<'_, abi_stable::RMut<'_, ()>>,
    ) -> PluginResult<u64>;

    /// Opens `file` for the per-sample reads a training framework performs.
    fn open(
        &self,
        file: &FileSpec,
        source: Source_TO<'static, RBox<()>>,
    ) -> PluginResult<SampleReader_TO<'static, RBox<()>>>;

    /// Decodes and verifies the whole of `file`; corruption is an error of kind `CORRUPT`.
    fn check(
        &self,
        file: &FileSpec,
        source: Source_TO<'static, RBox<()>>,
    ) -> PluginResult<CheckReport>;

    /// Keys (relative to the dataset root) of the files `generate` creates beside `file`, so
    /// the host can tell a complete file set from a partial one.
    fn sidecar_keys(&self, file: &FileSpec) -> PluginResult<RVec<RString>>;

    /// Runs an operation added after ABI 1.0, by name with JSON arguments and result.
    /// Unknown names are errors of kind `UNSUPPORTED`.
    #[sabi(last_prefix_field)]
    fn extension(&self, name: RStr<'_>, args_json: RStr<'_>) -> PluginResult<RString>;
}

/// Reads samples of one open file, as the framework the format stands for would.
#[sabi_trait]
pub trait SampleReader: Send {
    /// Performs the I/O of reading sample `sample` (0-based within the file).
    #[sabi(last_prefix_field)]
    fn read_sample(&mut self, sample: u64) -> PluginResult<()>;
}

/// Host-implemented: random access to one stored file, through host-owned buffers.
#[sabi_trait]
pub trait Source: Send {
    /// Size of the file in bytes.
    fn len(&self) -> u64;

    /// The store's preferred request size in bytes.
    fn transfer_size(&self) -> u64;

    /// Local file-system path, for libraries that must open files themselves.
    fn local_path(&self) -> ROption<RString>;

    /// Reads exactly `len` bytes at `offset` and lends them until the next call.
    /// Reading past the end of the file is an error of kind `CORRUPT`.
    fn read(&mut self, offset: u64, len: u64) -> PluginResult<RSlice<'_, u8>>;

    /// Opens another file of the same dataset (an index beside the data file, say), by key
    /// relative to the dataset root.
    #[sabi(last_prefix_field)]
    fn open_related(&self, key: RStr<'_>) -> PluginResult<Source_TO<'static, RBox<()>>>;
}

/// Host-implemented: where `generate` writes a file and any files that accompany it.
#[sabi_trait]
pub trait GenerateOutput {
    /// Appends bytes to the data file.
    fn write(&mut self, data: RSlice<'_, u8>) -> PluginResult<()>;

    /// Creates an accompanying file (an index, say) at a key relative to the dataset root.
    /// It becomes visible when its sink is finished.
    fn create_sidecar(&mut self, key: RStr<'_>) -> PluginResult<ByteSink_TO<'static, RBox<()>>>;

    /// A local path where a plugin whose library must write files itself (libhdf5, say) may
    /// create the whole data file instead of calling `write`; the host publishes it when
    /// `generate` succeeds. None when the host cannot offer one: then use `write`.
    #[sabi(last_prefix_field)]
    fn local_path(&mut self) -> ROption<RString>;
}

/// Host-implemented: a stream of bytes into one new file or object.
#[sabi_trait]
pub trait ByteSink: Send {
    /// Appends bytes.
    fn write(&mut self, data: RSlice<'_, u8>) -> PluginResult<()>;

    /// Completes the file and makes it visible.
    #[sabi(last_prefix_field)]
    fn finish(&mut self) -> PluginResult<()>;
}

/// A backend component: one URI scheme.
#[sabi_trait]
pub trait BackendComponent: Send + Sync {
    /// Opens the store rooted at `root` (a URI of this scheme, or a plain path for `file`).
    /// `options_json` holds the JSON object of `storage.storage_options` plus host settings.
    #[sabi(last_prefix_field)]
    fn connect(
        &self,
        root: RStr<'_>,
        options_json: RStr<'_>,
    ) -> PluginResult<Store_TO<'static, RBox<()>>>;
}

/// A connected store. Thread-safe: the host calls it from many I/O threads at once.
/// Keys are relative to the store root and use `/` as separator.
#[sabi_trait]
pub trait Store: Send + Sync {
    /// Alignment and request size the store wants.
    fn info(&self) -> StoreInfo;

    /// Size of the object at `key`, or none if it does not exist.
    fn stat(&self, key: RStr<'_>) -> PluginResult<ROption<ObjectMeta>>;

    /// Opens the object at `key` for reading.
    fn open_read(&self, key: RStr<'_>) -> PluginResult<ObjectReader_TO<'static, RBox<()>>>;

    /// Starts writing the object at `key`. Nothing is visible under `key` until `finish`
    /// succeeds; an aborted or dropped writer leaves no object behind.
    fn open_write(
        &self,
        key: RStr<'_>,
        options: &WriteOptions,
    ) -> PluginResult<ObjectWriter_TO<'static, RBox<()>>>;

    /// Lists objects whose keys start with `prefix`, recursively, one page of at most
    /// `max.max(1)` entries at a time, in key order; `cursor` is the last key of the previous page.
    fn list(&self, prefix: RStr<'_>, cursor: RStr<'_>, max: u32) -> PluginResult<ListPage>;

    /// Deletes the object at `key`; deleting a missing object is not an error.
    fn delete(&self, key: RStr<'_>) -> PluginResult<()>;

    /// Local file-system path of `key`, if the store is a local file system.
    fn local_path(&self, key: RStr<'_>) -> ROption<RString>;

    /// Runs an operation added after ABI 1.0, by name with JSON arguments and result.
    /// Unknown names are errors of kind `UNSUPPORTED`.
    #[sabi(last_prefix_field)]
    fn extension(&self, name: RStr<'_>, args_json: RStr<'_>) -> PluginResult<RString>;
}

/// An object open for reading.
#[sabi_trait]
pub trait ObjectReader: Send {
    /// Size of the object in bytes (a store may look it up lazily, so this can fail).
    fn size(&mut self) -> PluginResult<u64>;

    /// Reads into `buf` at `offset`; returns the bytes read (fewer only at the end of the object).
    #[sabi(last_prefix_field)]
    fn read_at(&mut self, offset: u64, buf: RSliceMut<'_, u8>) -> PluginResult<u64>;
}

/// An object being written.
#[sabi_trait]
pub trait ObjectWriter: Send {
    /// Appends bytes.
    fn write(&mut self, data: RSlice<'_, u8>) -> PluginResult<()>;

    /// Completes the object and publishes it under its key.
    fn finish(&mut self) -> PluginResult<ObjectMeta>;

    /// Discards everything written; nothing is published.
    #[sabi(last_prefix_field)]
    fn abort(&mut self);
}
