//! The reads of `mmap_indexed_binary`: DLIO maps the data file once and slices each sample out
//! of the map, so the I/O is the page faults of touching the sample's pages.
//!
//! When the store offers no local path (object stores), a file cannot be mapped; the reader
//! then falls back to ranged reads of each sample through the [`Source`], the same I/O as
//! `indexed_binary`.

use std::{fs::File, path::Path};

use dl_plugin_api::sdk::{Error, Result, SampleReader, Source};
use memmap2::{Mmap, MmapOptions};

use crate::index::Index;

/// Distance between the bytes touched in a sample: one per page of the usual 4 KiB size.
pub const PAGE: usize = 4096;

enum Backing {
    /// The data file, mapped read-only.
    Mapped(Mmap),
    /// No local path (or an empty file): ranged reads through the source.
    Ranged(Source),
}

/// Reads samples of one data file by touching its mapped pages.
pub struct MmapReader {
    key: String,
    index: Index,
    backing: Backing,
}

impl MmapReader {
    /// A reader of the data file `source` (named `key` in messages): mapped when the source has
    /// a local path, ranged reads through `source` otherwise.
    pub fn new(key: String, source: Source, index: Index) -> Result<Self> {
        let backing = match source.local_path() {
            Some(path) if !source.is_empty() => match map_file(&path)? {
                Some(map) => Backing::Mapped(map),
                None => Backing::Ranged(source),
            },
            _ => Backing::Ranged(source),
        };
        Ok(MmapReader {
            key,
            index,
            backing,
        })
    }

    /// A reader of the local file at `path`, mapped.
    #[cfg(test)]
    pub fn from_path(key: String, path: &Path, index: Index) -> Result<Self> {
        let map = map_file(path)?.ok_or_else(|| Error::io("empty file"))?;
        Ok(MmapReader {
            key,
            index,
            backing: Backing::Mapped(map),
        })
    }

    /// Whether the data file is mapped (rather than read through the source).
    #[cfg(test)]
    pub fn is_mapped(&self) -> bool {
        matches!(self.backing, Backing::Mapped(_))
    }

    /// Performs the reads of sample `sample` and returns what touching it found.
    pub fn touch(&mut self, sample: u64) -> Result<Touch> {
        match &mut self.backing {
            Backing::Mapped(map) => {
                let (offset, size) = self.index.locate(&self.key, sample, map.len() as u64)?;
                // Within the map, so both fit in usize.
                Ok(touch_pages(map, offset as usize, (offset + size) as usize))
            }
            Backing::Ranged(source) => {
                let (offset, size) = self.index.locate(&self.key, sample, source.len())?;
                let mut touch = Touch::default();
                source
                    .read_range(offset, size, |bytes| {
                        touch.bytes += bytes.len() as u64;
                        touch.pages += 1;
                        touch.sum += bytes.first().copied().unwrap_or(0) as u64;
                        Ok(())
                    })
                    .map_err(|err| err.context(format!("{}: sample {sample}", self.key)))?;
                Ok(touch)
            }
        }
    }
}

impl SampleReader for MmapReader {
    fn read_sample(&mut self, sample: u64) -> Result<()> {
        let touch = self.touch(sample)?;
        std::hint::black_box(touch.sum);
        Ok(())
    }
}

/// What reading one sample touched.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Touch {
    /// Bytes of the sample.
    pub bytes: u64,
    /// Pages touched (mapped) or requests made (ranged).
    pub pages: u64,
    /// Sum of the bytes touched.
    pub sum: u64,
}

/// Reads the first byte of `map[start..end]` and the first byte of every later page of it,
/// faulting each page of the range in once.
pub fn touch_pages(map: &[u8], start: usize, end: usize) -> Touch {
    let mut touch = Touch {
        bytes: (end - start) as u64,
        ..Touch::default()
    };
    let mut at = start;
    while at < end {
        touch.sum += std::hint::black_box(map[at]) as u64;
        touch.pages += 1;
        at = (at / PAGE + 1) * PAGE;
    }
    touch
}

/// Maps the file at `path` read-only; `None` for an empty file (nothing to map).
fn map_file(path: &Path) -> Result<Option<Mmap>> {
    let context = |err: std::io::Error| Error::from(err).context(path.display());
    let file = File::open(path).map_err(context)?;
    if file.metadata().map_err(context)?.len() == 0 {
        return Ok(None);
    }
    // SAFETY: the map is read-only and only read through bounds-checked slices. As with any
    // mapping (and with DLIO's np.memmap), another process truncating the file while it is
    // mapped would make touching the lost pages fault; datasets are not modified while read.
    let map = unsafe { MmapOptions::new().map(&file) }.map_err(context)?;
    Ok(Some(map))
}
