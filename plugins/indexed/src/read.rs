//! The reads of `indexed_binary`: per sample a seek to its offset and a read of its size.

use dl_plugin_api::sdk::{Result, SampleReader, Source};

use crate::index::Index;

/// Reads samples of one data file through its [`Source`].
pub struct SeekReader {
    key: String,
    source: Source,
    index: Index,
}

impl SeekReader {
    /// A reader of the data file `source` (named `key` in messages) with its `index`.
    pub fn new(key: String, source: Source, index: Index) -> Self {
        SeekReader { key, source, index }
    }

    /// Reads sample `sample`, handing its bytes to `visit` in order.
    pub fn read_with(&mut self, sample: u64, visit: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let (offset, size) = self.index.locate(&self.key, sample, self.source.len())?;
        self.source
            .read_range(offset, size, visit)
            .map_err(|err| err.context(format!("{}: sample {sample}", self.key)))
    }
}

impl SampleReader for SeekReader {
    fn read_sample(&mut self, sample: u64) -> Result<()> {
        self.read_with(sample, |_bytes| Ok(()))
    }
}
