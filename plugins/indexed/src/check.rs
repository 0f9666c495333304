//! Verifying a data file and its indexes.

use dl_plugin_api::sdk::{CheckReport, Error, FileSpec, Result, Source};

use crate::index::{read_index, Extent};
use crate::layout::Layout;

/// Checks that both indexes hold exactly `samples` entries, that every entry lies within the
/// data file and is the true offset and size of its sample, that the data file is
/// `samples × sample_bytes` bytes, and that all of it can be read.
pub fn check(file: &FileSpec, layout: &Layout, mut source: Source) -> Result<CheckReport> {
    let key = &file.key;
    let (index, index_bytes) = read_index(file, layout, &source, Extent::Exact)?;
    let data_len = source.len();
    for sample in 0..layout.samples {
        let (offset, size) = index.locate(key, sample, data_len)?;
        let (want_offset, want_size) = (layout.offset(sample), layout.sample_bytes);
        if (offset, size) != (want_offset, want_size) {
            return Err(Error::corrupt(format!(
                "{key}: index gives sample {sample} {size} bytes at offset {offset}; samples of \
                 {want_size} bytes back to back put it at offset {want_offset}"
            )));
        }
    }
    if data_len != layout.data_bytes {
        return Err(Error::corrupt(format!(
            "{key}: data file is {data_len} bytes; {} samples of {} bytes make {}",
            layout.samples, layout.sample_bytes, layout.data_bytes
        )));
    }
    source
        .read_range(0, data_len, |_bytes| Ok(()))
        .map_err(|err| err.context(key))?;
    Ok(CheckReport {
        samples: layout.samples,
        bytes: data_len + index_bytes,
    })
}
