//! The npz format configured for one dataset.

use dl_plugin_api::sdk::{
    CheckReport, Dtype, FileSpec, FormatSession, Output, Result, SampleReader, Source,
};

use crate::layout::Layout;
use crate::read::NpzReader;
use crate::{check, generate, zip};

/// Generates, reads and checks the npz files of one dataset.
#[derive(Debug, Clone)]
pub struct NpzSession {
    dtype: Dtype,
    zip64_limit: u64,
}

impl NpzSession {
    /// A session writing elements of `dtype`.
    pub fn new(dtype: Dtype) -> Self {
        NpzSession {
            dtype,
            zip64_limit: zip::ZIP64_LIMIT,
        }
    }

    /// The same session with zipfile's zip64 threshold lowered, to test the zip64 layout
    /// without gigabyte files.
    #[cfg(test)]
    pub fn with_zip64_limit(mut self, limit: u64) -> Self {
        self.zip64_limit = limit;
        self
    }

    fn layout(&self, file: &FileSpec) -> Result<Layout> {
        Layout::new(file, self.dtype, self.zip64_limit)
    }
}

impl FormatSession for NpzSession {
    fn file_size(&self, file: &FileSpec) -> Result<Option<u64>> {
        Ok(Some(self.layout(file)?.total))
    }

    fn generate(&self, file: &FileSpec, out: &mut Output<'_>) -> Result<()> {
        generate::generate(&self.layout(file)?, file, self.dtype, out)
    }

    fn open(&self, file: &FileSpec, source: Source) -> Result<Box<dyn SampleReader>> {
        Ok(Box::new(NpzReader::new(source, file.samples)))
    }

    fn check(&self, file: &FileSpec, source: Source) -> Result<CheckReport> {
        check::check(file, self.dtype, &self.layout(file)?, source)
    }
}
