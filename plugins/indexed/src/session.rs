//! The formats configured for one dataset.

use dl_plugin_api::sdk::{
    CheckReport, Dtype, FileSpec, FormatSession, Output, Result, SampleReader, Source,
};

use crate::index::{read_index, Extent};
use crate::layout::{offsets_key, sizes_key, Layout};
use crate::mmap::MmapReader;
use crate::read::SeekReader;
use crate::{check, generate};

/// How samples are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// `indexed_binary`: seek and read.
    Seek,
    /// `mmap_indexed_binary`: map the file and touch the sample's pages.
    Mmap,
}

/// Generates, reads and checks the files of one dataset.
#[derive(Debug, Clone)]
pub struct IndexedSession {
    dtype: Dtype,
    mode: ReadMode,
}

impl IndexedSession {
    /// A session writing elements of `dtype` and reading as `mode` says.
    pub fn new(dtype: Dtype, mode: ReadMode) -> Self {
        IndexedSession { dtype, mode }
    }

    /// The layout of `file`.
    pub fn layout(&self, file: &FileSpec) -> Result<Layout> {
        Layout::new(file, self.dtype)
    }
}

impl FormatSession for IndexedSession {
    fn file_size(&self, file: &FileSpec) -> Result<Option<u64>> {
        Ok(Some(self.layout(file)?.data_bytes))
    }

    fn generate(&self, file: &FileSpec, out: &mut Output<'_>) -> Result<()> {
        generate::generate(file, self.dtype, &self.layout(file)?, out)
    }

    fn open(&self, file: &FileSpec, source: Source) -> Result<Box<dyn SampleReader>> {
        let layout = self.layout(file)?;
        let (index, _) = read_index(file, &layout, &source, Extent::Prefix)?;
        let key = file.key.clone();
        Ok(match self.mode {
            ReadMode::Seek => Box::new(SeekReader::new(key, source, index)),
            ReadMode::Mmap => Box::new(MmapReader::new(key, source, index)?),
        })
    }

    fn check(&self, file: &FileSpec, source: Source) -> Result<CheckReport> {
        check::check(file, &self.layout(file)?, source)
    }

    fn sidecar_keys(&self, file: &FileSpec) -> Result<Vec<String>> {
        Ok(vec![offsets_key(file), sizes_key(file)])
    }
}
