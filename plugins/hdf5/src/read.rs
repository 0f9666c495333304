//! The read path: what h5py does for DLIO's `records_k[i]`, one row of every records dataset.

use dl_plugin_api::sdk::{Error, FileSpec, Result, SampleReader, Source};
use hdf5::{Dataset, Dataspace, Datatype};
use hdf5_sys::h5d::H5Dread;
use hdf5_sys::h5p::H5P_DEFAULT;

use crate::hyperslab::select_block;
use crate::layout::FileLayout;
use crate::vfd::{hdf5_message, OpenFile};

/// Reads samples of one file, opened (superblock and root group read) when the reader is.
pub struct Hdf5Reader {
    file: OpenFile,
    key: String,
    names: Vec<String>,
    samples: u64,
    row: Vec<u8>,
}

impl Hdf5Reader {
    /// Opens `source`, the file `spec` laid out as `layout`.
    pub fn open(spec: &FileSpec, layout: FileLayout, source: Source) -> Result<Hdf5Reader> {
        Ok(Hdf5Reader {
            file: OpenFile::open(source, &spec.key)?,
            key: spec.key.clone(),
            names: layout.names,
            samples: spec.samples,
            row: Vec::new(),
        })
    }
}

impl SampleReader for Hdf5Reader {
    fn read_sample(&mut self, sample: u64) -> Result<()> {
        if sample >= self.samples {
            return Err(Error::invalid_config(format!(
                "{}: sample {sample} of a file with {} samples",
                self.key, self.samples
            )));
        }
        let outcome = (|| {
            let handle = self.file.handle()?;
            for name in &self.names {
                let dataset = handle
                    .dataset(name)
                    .map_err(|err| format!("dataset '{name}': {err}"))?;
                read_row(&dataset, sample, &mut self.row)
                    .map_err(|err| format!("sample {sample} of '{name}': {err}"))?;
            }
            Ok(())
        })();
        outcome.map_err(|message: String| self.file.failure(format!("{}: {message}", self.key)))
    }
}

/// Reads row `row` (index on the first axis) of `dataset`, in its own type, into `buf`.
pub fn read_row(dataset: &Dataset, row: u64, buf: &mut Vec<u8>) -> std::result::Result<(), String> {
    let space = dataset.space().map_err(|err| err.to_string())?;
    let shape: Vec<u64> = space.shape().iter().map(|&d| d as u64).collect();
    let Some(&rows) = shape.first() else {
        return Err("is a scalar, not an array of rows".into());
    };
    if row >= rows {
        return Err(format!(
            "the dataset has only {rows} rows (shape {shape:?})"
        ));
    }
    let elements: u64 = shape[1..].iter().product();
    if elements == 0 {
        return Ok(());
    }
    let dtype = dataset.dtype().map_err(|err| err.to_string())?;
    let bytes = usize::try_from(elements)
        .ok()
        .and_then(|n| n.checked_mul(dtype.size()))
        .ok_or_else(|| format!("a row of shape {:?} does not fit in memory", &shape[1..]))?;
    buf.resize(bytes, 0);
    let memory = Dataspace::try_new(elements as usize).map_err(|err| err.to_string())?;
    let mut start = vec![0u64; shape.len()];
    start[0] = row;
    let mut count = shape.clone();
    count[0] = 1;
    select_and_read(dataset, &dtype, &space, &memory, &start, &count, buf)
}

/// Reads the whole of a one-dimensional `dataset` into `buf`.
pub fn read_all(dataset: &Dataset, buf: &mut Vec<u8>) -> std::result::Result<(), String> {
    let space = dataset.space().map_err(|err| err.to_string())?;
    let count: Vec<u64> = space.shape().iter().map(|&d| d as u64).collect();
    let elements: u64 = count.iter().product();
    if elements == 0 {
        return Ok(());
    }
    let dtype = dataset.dtype().map_err(|err| err.to_string())?;
    buf.resize(elements as usize * dtype.size(), 0);
    let memory = Dataspace::try_new(elements as usize).map_err(|err| err.to_string())?;
    let start = vec![0u64; count.len()];
    select_and_read(dataset, &dtype, &space, &memory, &start, &count, buf)
}

/// Selects `start`/`count` in `space` and reads it into `buf`, without type conversion.
fn select_and_read(
    dataset: &Dataset,
    dtype: &Datatype,
    space: &Dataspace,
    memory: &Dataspace,
    start: &[u64],
    count: &[u64],
    buf: &mut [u8],
) -> std::result::Result<(), String> {
    if buf.len() != memory.size() * dtype.size() {
        return Err("internal error: read buffer of the wrong size".into());
    }
    // SAFETY: valid ids; the selection has as many elements as `memory`, which `buf` holds
    // in the dataset's type (checked above).
    let status = hdf5::sync::sync(|| unsafe {
        let selected = select_block(space, start, count);
        if selected < 0 {
            return selected;
        }
        H5Dread(
            dataset.id(),
            dtype.id(),
            memory.id(),
            space.id(),
            H5P_DEFAULT,
            buf.as_mut_ptr().cast(),
        )
    });
    if status < 0 {
        return Err(hdf5_message());
    }
    Ok(())
}
