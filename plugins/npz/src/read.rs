//! The read path: the I/O of numpy's `np.load(f)['x']`, without decoding; from object
//! storage (no local path) one read of the whole object, parsed in memory, as DLIO's S3 path.

use dl_plugin_api::sdk::{memory, Error, Result, SampleReader, Source, MAX_READ_BYTES};

use crate::layout::X_NAME;
use crate::zip;

/// Reads samples of one open npz file.
pub struct NpzReader {
    source: Source,
    samples: u64,
}

impl NpzReader {
    /// A reader over `source`, a file holding `samples` samples.
    pub fn new(source: Source, samples: u64) -> Self {
        NpzReader { source, samples }
    }
}

impl SampleReader for NpzReader {
    fn read_sample(&mut self, sample: u64) -> Result<()> {
        crate::array::check_sample(sample, self.samples)?;
        if self.source.local_path().is_none() {
            // From object storage DLIO GETs the whole object, then numpy parses it in memory:
            // one request (in pieces only past the host's limit per request).
            let len = self.source.len();
            let object = if len <= MAX_READ_BYTES {
                self.source.read(0, len)?.to_vec()
            } else {
                let mut object = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
                self.source.read_range(0, len, |piece| {
                    object.extend_from_slice(piece);
                    Ok(())
                })?;
                object
            };
            return read_x(&mut memory::source(object));
        }
        read_x(&mut self.source)
    }
}

/// Reads the directory at the tail, the local header of `x.npy`, then the whole member in
/// the store's transfer size; numpy decodes the array from exactly these bytes.
pub fn read_x(source: &mut Source) -> Result<()> {
    let dir = zip::read_directory(source)?;
    let Some(entry) = dir.find(X_NAME) else {
        let names: Vec<&str> = dir.entries.iter().map(|e| e.name.as_str()).collect();
        return Err(Error::corrupt(format!(
            "{X_NAME}: not in the archive (members: {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )));
    };
    let local = zip::local_header(source, entry.offset).map_err(|err| err.context(X_NAME))?;
    // The name and extra field are read with the data, as zipfile reads them before it.
    let start = entry.offset + zip::LOCAL_LEN;
    let len = local.data_offset(entry.offset) - start;
    let end = local
        .data_offset(entry.offset)
        .checked_add(entry.compressed_size);
    if end.is_none_or(|end| end > source.len()) {
        return Err(Error::corrupt(format!(
            "{X_NAME}: file is truncated: the member's {} bytes at offset {} run past the end \
             of the {}-byte file",
            entry.compressed_size,
            local.data_offset(entry.offset),
            source.len()
        )));
    }
    source.read_range(start, len + entry.compressed_size, |_| Ok(()))
}
