//! The traits a format plugin implements.

use super::{DatasetSpec, Error, FileSpec, OptionSpec, Output, Result, Source};

/// Static description of a format component.
#[derive(Debug, Clone)]
#[non_exhaustive]
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

impl FormatDescription {
    /// A format called `name` whose files end in `.extension`, with no options.
    pub fn new(
        name: &'static str,
        extension: &'static str,
        description: &'static str,
        capabilities: u64,
    ) -> Self {
        FormatDescription {
            name,
            extension,
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

    /// Keys (relative to the dataset root) of the files `generate` writes beside `file`.
    fn sidecar_keys(&self, _file: &FileSpec) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// An operation added after ABI 1.0, by name, with JSON arguments and result.
    fn extension(&self, name: &str, _args: &serde_json::Value) -> Result<serde_json::Value> {
        Err(Error::unsupported(format!("unknown operation '{name}'")))
    }
}

/// Performs the reads of one open file.
pub trait SampleReader: Send + 'static {
    /// Performs the I/O of reading sample `sample` (0-based within the file).
    fn read_sample(&mut self, sample: u64) -> Result<()>;
}

pub use crate::abi::CheckReport;
