//! Where things are in an indexed file set: sample size, data file size, index keys.

use dl_plugin_api::sdk::{Dtype, Error, FileSpec, Result};

/// The layout of one data file and its indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Samples in the file.
    pub samples: u64,
    /// Bytes of one sample: elements × element size.
    pub sample_bytes: u64,
    /// Bytes of the data file: samples × sample_bytes.
    pub data_bytes: u64,
    /// Bytes of each index file: samples × 8.
    pub index_bytes: u64,
}

impl Layout {
    /// The layout of `file` with elements of `dtype`; sizes that overflow u64 are errors.
    pub fn new(file: &FileSpec, dtype: Dtype) -> Result<Layout> {
        let too_big = || {
            Error::invalid_config(format!(
                "{}: {} samples of shape {:?} ({}) do not fit in a 64-bit file size",
                file.key,
                file.samples,
                file.sample_shape,
                dtype.name()
            ))
        };
        let sample_bytes = file
            .sample_shape
            .iter()
            .try_fold(dtype.size() as u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(too_big)?;
        let data_bytes = file.samples.checked_mul(sample_bytes).ok_or_else(too_big)?;
        let index_bytes = file.samples.checked_mul(8).ok_or_else(too_big)?;
        Ok(Layout {
            samples: file.samples,
            sample_bytes,
            data_bytes,
            index_bytes,
        })
    }

    /// Offset of sample `sample` in the data file (the true one; see spec Q-11).
    pub fn offset(&self, sample: u64) -> u64 {
        sample * self.sample_bytes
    }
}

/// Key of the offsets index of `file`: `<key>.off.idx`.
pub fn offsets_key(file: &FileSpec) -> String {
    format!("{}.off.idx", file.key)
}

/// Key of the sizes index of `file`: `<key>.sz.idx`.
pub fn sizes_key(file: &FileSpec) -> String {
    format!("{}.sz.idx", file.key)
}
