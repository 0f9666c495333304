//! The `npy` format: files as `numpy.save(path, records)` writes them for DLIO, byte for byte
//! (the samples array of the npz format without the zip around it), and the reads
//! `np.load(path)` performs on them.

use dl_plugin_api::sdk::{
    content::CHUNK_BYTES, format_caps, CheckReport, DatasetSpec, Dtype, Error, ErrorKind, FileSpec,
    FormatDescription, FormatPlugin, FormatSession, Output, Result, SampleReader, Source,
};

use crate::array::{self, SamplesArray};
use crate::npy;

#[cfg(test)]
mod tests;

/// The npy format component.
#[derive(Debug, Clone, Copy, Default)]
pub struct NpyFormat;

impl FormatPlugin for NpyFormat {
    fn describe(&self) -> FormatDescription {
        FormatDescription::new(
            "npy",
            "npy",
            "NumPy .npy arrays (samples on the last axis) as numpy.save writes them",
            format_caps::GENERATE
                | format_caps::READ
                | format_caps::CHECK
                | format_caps::EXACT_SIZE,
        )
    }

    fn configure(&self, dataset: &DatasetSpec) -> Result<Box<dyn FormatSession>> {
        crate::require_uncompressed(dataset, "npy", "writes the raw array as numpy.save does")?;
        Ok(Box::new(NpySession::new(dataset.element_type)))
    }
}

/// Generates, reads and checks the npy files of one dataset.
#[derive(Debug, Clone)]
pub struct NpySession {
    dtype: Dtype,
}

impl NpySession {
    /// A session writing elements of `dtype`.
    pub fn new(dtype: Dtype) -> Self {
        NpySession { dtype }
    }

    /// The array of `file` and the file's total size.
    fn array(&self, file: &FileSpec) -> Result<(SamplesArray, u64)> {
        SamplesArray::new(file, self.dtype)
            .and_then(|array| array.len().map(|len| (array, len)))
            .ok_or_else(|| {
                Error::invalid_config(format!(
                    "an npy file of shape {} and type {} is too large to address",
                    npy::shape_repr(&array::samples_shape(file)),
                    self.dtype.name()
                ))
            })
    }
}

impl FormatSession for NpySession {
    fn file_size(&self, file: &FileSpec) -> Result<Option<u64>> {
        Ok(Some(self.array(file)?.1))
    }

    fn generate(&self, file: &FileSpec, out: &mut Output<'_>) -> Result<()> {
        let (array, total) = self.array(file)?;
        let start = out.written();
        out.write_bytes(&array.header)?;
        // CHUNK_BYTES is a multiple of every element size; a shorter buffer holds all the data.
        let mut buf = vec![0u8; array.data.min(CHUNK_BYTES as u64) as usize];
        array::content(file, self.dtype, array.data, &mut buf, |chunk| {
            out.write_bytes(chunk)
        })?;
        let written = out.written() - start;
        if written != total {
            return Err(Error::new(
                ErrorKind::OTHER,
                format!("npy layout error: wrote {written} bytes but computed {total}"),
            ));
        }
        Ok(())
    }

    fn open(&self, file: &FileSpec, source: Source) -> Result<Box<dyn SampleReader>> {
        Ok(Box::new(NpyReader {
            source,
            samples: file.samples,
        }))
    }

    fn check(&self, file: &FileSpec, mut source: Source) -> Result<CheckReport> {
        let (array, total) = self.array(file)?;
        let len = source.len();
        let truncated = |detail: &str| {
            Error::corrupt(format!(
                "file is truncated: {len} bytes, expected {total}{detail}"
            ))
        };
        let (header_len, header) =
            array::read_header(&mut source, 0, len, "file").map_err(|err| {
                if len < total {
                    truncated(&format!(" ({})", err.message))
                } else {
                    err
                }
            })?;
        array::expect(&header, self.dtype.numpy_descr(), &array.shape)?;
        let expected = header_len.checked_add(array.data);
        match expected {
            Some(expected) if len < expected => return Err(truncated("")),
            Some(expected) if len > expected => {
                return Err(Error::corrupt(format!(
                    "file has {} trailing bytes after the array data",
                    len - expected
                )))
            }
            Some(_) => {}
            None => return Err(Error::corrupt("NPY header and data overflow 64 bits")),
        }
        // Nothing to verify in the data itself (no checksum), but all of it must be readable.
        source.read_range(header_len, array.data, |_| Ok(()))?;
        Ok(CheckReport {
            samples: file.samples,
            bytes: len,
        })
    }
}

/// Reads samples of one open npy file.
struct NpyReader {
    source: Source,
    samples: u64,
}

impl SampleReader for NpyReader {
    fn read_sample(&mut self, sample: u64) -> Result<()> {
        crate::array::check_sample(sample, self.samples)?;
        read_array(&mut self.source)
    }
}

/// The I/O of `np.load(path)`: the header, then the whole array data it describes, in the
/// store's transfer size; numpy decodes the array from exactly these bytes.
fn read_array(source: &mut Source) -> Result<()> {
    let len = source.len();
    let (header_len, header) = array::read_header(source, 0, len, "file")?;
    let item_size = npy::item_size(&header.descr).ok_or_else(|| {
        Error::corrupt(format!(
            "NPY array of type '{}', not a plain numeric type",
            header.descr
        ))
    })?;
    let data = array::data_len(item_size, &header.shape)
        .filter(|&data| data <= len - header_len)
        .ok_or_else(|| {
            Error::corrupt(format!(
                "file is truncated: the array of shape {} and type '{}' needs more than the {} \
                 bytes after its header",
                npy::shape_repr(&header.shape),
                header.descr,
                len - header_len
            ))
        })?;
    source.read_range(header_len, data, |_| Ok(()))
}
