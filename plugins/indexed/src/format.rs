//! The two format components and their configuration.

use dl_plugin_api::sdk::{
    format_caps, DatasetSpec, Error, FormatDescription, FormatPlugin, FormatSession, Result,
};

use crate::session::{IndexedSession, ReadMode};

const CAPABILITIES: u64 =
    format_caps::GENERATE | format_caps::READ | format_caps::CHECK | format_caps::EXACT_SIZE;

/// The `indexed_binary` format: per sample a seek and a read of the sample's bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct IndexedBinary;

/// The `mmap_indexed_binary` format: the data file is memory-mapped and each sample's pages
/// are touched.
#[derive(Debug, Clone, Copy, Default)]
pub struct MmapIndexedBinary;

impl FormatPlugin for IndexedBinary {
    fn describe(&self) -> FormatDescription {
        FormatDescription::new(
            "indexed_binary",
            "indexed_binary",
            "raw samples back to back with u64 offset/size index files; reads seek and read",
            CAPABILITIES,
        )
    }

    fn configure(&self, dataset: &DatasetSpec) -> Result<Box<dyn FormatSession>> {
        configure(dataset, "indexed_binary", ReadMode::Seek)
    }
}

impl FormatPlugin for MmapIndexedBinary {
    fn describe(&self) -> FormatDescription {
        FormatDescription::new(
            "mmap_indexed_binary",
            "mmap_indexed_binary",
            "raw samples back to back with u64 offset/size index files; reads memory-map the file",
            CAPABILITIES,
        )
    }

    fn configure(&self, dataset: &DatasetSpec) -> Result<Box<dyn FormatSession>> {
        configure(dataset, "mmap_indexed_binary", ReadMode::Mmap)
    }
}

fn configure(dataset: &DatasetSpec, name: &str, mode: ReadMode) -> Result<Box<dyn FormatSession>> {
    let compression = dataset.compression.trim();
    if !(compression.is_empty() || compression.eq_ignore_ascii_case("none")) {
        return Err(Error::invalid_config(format!(
            "dataset.compression: '{compression}' is not supported by the {name} format, which \
             stores raw sample bytes; remove dataset.compression or set it to none"
        )));
    }
    Ok(Box::new(IndexedSession::new(dataset.element_type, mode)))
}
