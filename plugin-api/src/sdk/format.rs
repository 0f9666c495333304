//! The traits a format plugin implements.

use super::{DatasetSpec, Error, FileSpec, OptionSpec, Output, Result, Source};

/// Static description of a format component.
#[derive(Debug, Clone)]
pub struct FormatDescription {
    /// The `dataset.format` value that selects it (`npz`).
    pub name: &'static str,
    /// File extension without the dot (DLIO uses the format name).
    pub extension: &'static str,
    /// One line for `plugins list`.
    pub description: &'static str,
    /// Bits from [`crate::abi::format_caps`].
    pub capabilities: u64,
    /// Format-specific options read from the `dataset` section.
    pub options: Vec<OptionSpec>,
}

/// A file format: generates files and performs a framework's reads of them.
pub trait FormatPlugin: Send + Sync + 'static {
    /// Name, extension, capabilities and options.
    fn describe(&self) -> FormatDescription;

    /// Validates the dataset description and returns a session for that dataset.
    fn configure(&self, dataset: &DatasetSpec) -> Result<Box<dyn FormatSession>>;
}

/// A format configured for one dataset.
pub trait FormatSession: Send + Sync + 'static {
    /// Exact size of the file `generate` would write, when the format knows it in advance.
    fn file_size(&self, _file: &FileSpec) -> Result<Option<u64>> {
        Ok(None)
    }

    /// Streams the bytes of `file` into `out`. The same `FileSpec` must give the same bytes,
    /// and memory use must not grow with the file size.
    fn generate(&self, file: &FileSpec, out: &mut Output<'_>) -> Result<()>;

    /// Opens `file` for the per-sample reads of a training framework.
    fn open(&self, file: &FileSpec, source: Source) -> Result<Box<dyn SampleReader>>;

    /// Decodes and verifies all of `file`; corruption is an error of kind `CORRUPT`.
    fn check(&self, _file: &FileSpec, _source: Source) -> Result<CheckReport> {
        Err(Error::unsupported("this format cannot check files"))
    }
}

/// Performs the reads of one open file.
pub trait SampleReader: Send + 'static {
    /// Performs the I/O of reading sample `sample` (0-based within the file).
    fn read_sample(&mut self, sample: u64) -> Result<()>;
}

pub use crate::abi::CheckReport;
