//! Host-side handles on plugin objects. Every call goes through [`Provenance::call`], which adds
//! the library, component and operation to errors and disables a component after it panics.

use std::{
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RBox, RStr},
};
use dl_plugin_api::abi::{
    self, CheckReport, ComponentKind, ErrorKind, FileSpec, FormatSession_TO, ListPage, ObjectMeta,
    ObjectReader_TO, ObjectWriter_TO, PluginResult, SampleReader_TO, Source_TO, StoreInfo,
    Store_TO, WriteOptions,
};

/// Which plugin a handle came from; shared by every object derived from one component.
#[derive(Debug)]
pub struct Provenance {
    /// The library file.
    pub library: PathBuf,
    /// Component name.
    pub component: String,
    /// Format or backend.
    pub kind: ComponentKind,
    poisoned: AtomicBool,
}

impl Provenance {
    /// Provenance of `component` in `library`.
    pub fn new(library: PathBuf, component: String, kind: ComponentKind) -> Arc<Self> {
        Arc::new(Provenance {
            library,
            component,
            kind,
            poisoned: AtomicBool::new(false),
        })
    }

    /// Runs one call into the plugin, attributing any error to it.
    pub fn call<T>(
        self: &Arc<Self>,
        operation: &'static str,
        call: impl FnOnce() -> PluginResult<T>,
    ) -> Result<T, PluginCallError> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(PluginCallError {
                origin: Arc::clone(self),
                operation,
                kind: ErrorKind::PANICKED,
                message: "disabled after an earlier panic".into(),
            });
        }
        call().into_result().map_err(|err| {
            if err.kind == ErrorKind::PANICKED {
                self.poisoned.store(true, Ordering::Release);
            }
            PluginCallError {
                origin: Arc::clone(self),
                operation,
                kind: err.kind,
                message: err.message.into_string(),
            }
        })
    }

    fn file_name(&self) -> String {
        self.library
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.library.display().to_string())
    }
}

/// An error from a plugin call, naming the plugin, component and operation.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} '{}' (plugin {}) {}: {message}", super::kind_name(origin.kind), origin.component, origin.file_name(), self.verb())]
pub struct PluginCallError {
    /// The component that failed.
    pub origin: Arc<Provenance>,
    /// The operation that was called.
    pub operation: &'static str,
    /// The error class the plugin reported.
    pub kind: ErrorKind,
    /// The plugin's message.
    pub message: String,
}

impl PluginCallError {
    fn verb(&self) -> String {
        if self.kind == ErrorKind::PANICKED {
            "panicked".to_string()
        } else {
            format!("failed in {}", self.operation)
        }
    }
}

/// A format configured for one dataset.
pub struct Session {
    origin: Arc<Provenance>,
    object: FormatSession_TO<'static, RBox<()>>,
    capabilities: u64,
}

impl Session {
    pub(super) fn new(
        origin: Arc<Provenance>,
        object: FormatSession_TO<'static, RBox<()>>,
        capabilities: u64,
    ) -> Self {
        Session {
            origin,
            object,
            capabilities,
        }
    }

    /// True when reading a sample performs no I/O, so the host need not open the file.
    pub fn reads_without_io(&self) -> bool {
        self.capabilities & dl_plugin_api::abi::format_caps::NO_READ_IO != 0
    }

    /// Exact size of a file, when the format knows it.
    pub fn file_size(&self, file: &FileSpec) -> Result<Option<u64>, PluginCallError> {
        self.origin
            .call("file_size", || self.object.file_size(file))
            .map(|size| size.into_option())
    }

    /// Generates `file` into `output`; returns the data bytes written.
    pub fn generate(
        &self,
        file: &FileSpec,
        output: &mut impl abi::GenerateOutput,
    ) -> Result<u64, PluginCallError> {
        let sink = abi::GenerateOutput_TO::from_ptr(output, TD_Opaque);
        self.origin
            .call("generate", || self.object.generate(file, sink))
    }

    /// Keys of the files `generate` writes beside `file`.
    pub fn sidecar_keys(&self, file: &FileSpec) -> Result<Vec<String>, PluginCallError> {
        let keys = self
            .origin
            .call("sidecar_keys", || self.object.sidecar_keys(file))?;
        Ok(keys.into_iter().map(|k| k.into_string()).collect())
    }

    /// Opens `file` for per-sample reads through `source`.
    pub fn open(
        &self,
        file: &FileSpec,
        source: impl abi::Source + 'static,
    ) -> Result<Reader, PluginCallError> {
        let source = Source_TO::from_value(source, TD_Opaque);
        let object = self
            .origin
            .call("open", || self.object.open(file, source))?;
        Ok(Reader {
            origin: Arc::clone(&self.origin),
            object,
        })
    }

    /// Decodes and verifies `file`.
    pub fn check(
        &self,
        file: &FileSpec,
        source: impl abi::Source + 'static,
    ) -> Result<CheckReport, PluginCallError> {
        let source = Source_TO::from_value(source, TD_Opaque);
        self.origin
            .call("check", || self.object.check(file, source))
    }
}

/// One open file of a format.
pub struct Reader {
    origin: Arc<Provenance>,
    object: SampleReader_TO<'static, RBox<()>>,
}

impl Reader {
    /// Performs the reads of one sample.
    pub fn read_sample(&mut self, sample: u64) -> Result<(), PluginCallError> {
        let object = &mut self.object;
        self.origin
            .call("read_sample", || object.read_sample(sample))
    }
}

/// A connected store; clones share the connection.
#[derive(Clone)]
pub struct Store {
    origin: Arc<Provenance>,
    object: Arc<Store_TO<'static, RBox<()>>>,
}

impl Store {
    pub(super) fn new(origin: Arc<Provenance>, object: Store_TO<'static, RBox<()>>) -> Self {
        Store {
            origin,
            object: Arc::new(object),
        }
    }

    /// Alignment and transfer size.
    pub fn info(&self) -> StoreInfo {
        self.object.info()
    }

    /// Size of `key`, or `None` when absent.
    pub fn stat(&self, key: &str) -> Result<Option<ObjectMeta>, PluginCallError> {
        self.origin
            .call("stat", || self.object.stat(RStr::from_str(key)))
            .map(|meta| meta.into_option())
    }

    /// Opens `key` for reading.
    pub fn open_read(&self, key: &str) -> Result<ObjectReader, PluginCallError> {
        let object = self
            .origin
            .call("open_read", || self.object.open_read(RStr::from_str(key)))?;
        Ok(ObjectReader {
            origin: Arc::clone(&self.origin),
            object,
        })
    }

    /// Starts writing `key`.
    pub fn open_write(
        &self,
        key: &str,
        options: &WriteOptions,
    ) -> Result<ObjectWriter, PluginCallError> {
        let object = self.origin.call("open_write", || {
            self.object.open_write(RStr::from_str(key), options)
        })?;
        Ok(ObjectWriter {
            origin: Arc::clone(&self.origin),
            object: Some(object),
        })
    }

    /// One page of keys under `prefix`.
    pub fn list(&self, prefix: &str, cursor: &str, max: u32) -> Result<ListPage, PluginCallError> {
        self.origin.call("list", || {
            self.object
                .list(RStr::from_str(prefix), RStr::from_str(cursor), max)
        })
    }

    /// Deletes `key`.
    pub fn delete(&self, key: &str) -> Result<(), PluginCallError> {
        self.origin
            .call("delete", || self.object.delete(RStr::from_str(key)))
    }

    /// Local path of `key`, for local stores.
    pub fn local_path(&self, key: &str) -> Option<String> {
        self.object
            .local_path(RStr::from_str(key))
            .into_option()
            .map(|p| p.into_string())
    }
}

/// An object open for reading.
pub struct ObjectReader {
    origin: Arc<Provenance>,
    object: ObjectReader_TO<'static, RBox<()>>,
}

impl ObjectReader {
    /// Object size.
    pub fn size(&mut self) -> Result<u64, PluginCallError> {
        let object = &mut self.object;
        self.origin.call("size", || object.size())
    }

    /// Reads at `offset` into `buf`; fewer bytes only at the end.
    pub fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<u64, PluginCallError> {
        let object = &mut self.object;
        self.origin
            .call("read_at", || object.read_at(offset, buf.into()))
    }
}

/// An object being written; dropped without [`ObjectWriter::finish`] it is aborted.
pub struct ObjectWriter {
    origin: Arc<Provenance>,
    object: Option<ObjectWriter_TO<'static, RBox<()>>>,
}

impl ObjectWriter {
    /// Appends `data`.
    pub fn write(&mut self, data: &[u8]) -> Result<(), PluginCallError> {
        match self.object.as_mut() {
            Some(object) => self.origin.call("write", || object.write(data.into())),
            None => Err(self.closed("write")),
        }
    }

    /// Completes and publishes the object.
    pub fn finish(mut self) -> Result<ObjectMeta, PluginCallError> {
        match self.object.take() {
            Some(mut object) => self.origin.call("finish", || object.finish()),
            None => Err(self.closed("finish")),
        }
    }

    fn closed(&self, operation: &'static str) -> PluginCallError {
        PluginCallError {
            origin: Arc::clone(&self.origin),
            operation,
            kind: ErrorKind::OTHER,
            message: "writer already closed".into(),
        }
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        if let Some(mut object) = self.object.take() {
            object.abort();
        }
    }
}
