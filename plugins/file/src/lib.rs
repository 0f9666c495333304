//! Local file-system storage backends for dl-driver.
//!
//! * `file` — a plain path or `file://` URI, read and written through the page cache.
//! * `direct` — a `direct://` URI, read and written with `O_DIRECT`, never falling back to
//!   cached I/O.
//!
//! Both publish objects atomically: data goes to a hidden `.<name>.dl-partial` file that is
//! renamed into place by `finish`.

mod aligned;
mod atomic;
mod buffered;
mod direct;
mod error;
mod list;
mod paths;
mod store;
#[cfg(test)]
mod tests;

use dl_plugin_api::sdk::{backend_caps, BackendDescription, BackendPlugin, Result, Store};

use crate::{paths::Mode, store::LocalStore};

/// The `file` backend: local files through the page cache.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileBackend;

/// The `direct` backend: local files with `O_DIRECT`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DirectBackend;

const COMMON_CAPS: u64 = backend_caps::READ
    | backend_caps::WRITE
    | backend_caps::LIST
    | backend_caps::DELETE
    | backend_caps::FSYNC;

impl BackendPlugin for FileBackend {
    fn describe(&self) -> BackendDescription {
        BackendDescription::new(
            Mode::Buffered.scheme(),
            "Local files (plain path or file://), through the page cache",
            COMMON_CAPS,
        )
    }

    // Unknown options are ignored: the host passes all of `storage.storage_options` through.
    fn connect(&self, root: &str, _options: &serde_json::Value) -> Result<Box<dyn Store>> {
        Ok(Box::new(LocalStore::connect(Mode::Buffered, root)?))
    }
}

impl BackendPlugin for DirectBackend {
    fn describe(&self) -> BackendDescription {
        BackendDescription::new(
            Mode::Direct.scheme(),
            "Local files (direct://) with O_DIRECT, bypassing the page cache",
            COMMON_CAPS | backend_caps::DIRECT_IO,
        )
    }

    fn connect(&self, root: &str, _options: &serde_json::Value) -> Result<Box<dyn Store>> {
        Ok(Box::new(LocalStore::connect(Mode::Direct, root)?))
    }
}

dl_plugin_api::export_plugin! {
    description: "Local file-system storage: file:// (page cache) and direct:// (O_DIRECT)",
    formats: [],
    backends: [FileBackend, DirectBackend],
}
