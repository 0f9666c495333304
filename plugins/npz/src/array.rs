//! The samples array both formats store — `x.npy` inside an npz, the whole file of an npy:
//! its shape, NPY header and data length, the streaming of its content, and the reading and
//! verification of a stored NPY header.

use dl_plugin_api::sdk::{content::ContentStream, Dtype, Error, FileSpec, Result, Source};

use crate::npy::{self, NpyHeader};

/// The samples array of one file: shape `(*sample_shape, samples)`, as DLIO builds it.
#[derive(Debug, Clone)]
pub struct SamplesArray {
    /// The array's shape.
    pub shape: Vec<u64>,
    /// Its NPY header, exactly as numpy writes it.
    pub header: Vec<u8>,
    /// Bytes of array data after the header.
    pub data: u64,
}

impl SamplesArray {
    /// The array of `file` with elements of `dtype`; `None` when its data length does not
    /// fit in 64 bits.
    pub fn new(file: &FileSpec, dtype: Dtype) -> Option<SamplesArray> {
        let shape = samples_shape(file);
        let data = data_len(dtype.size() as u64, &shape)?;
        let header = npy::header(dtype.numpy_descr(), &shape);
        Some(SamplesArray {
            shape,
            header,
            data,
        })
    }

    /// Header plus data; `None` when that does not fit in 64 bits.
    pub fn len(&self) -> Option<u64> {
        (self.header.len() as u64).checked_add(self.data)
    }
}

/// The shape of `file`'s samples array: the sample shape with the sample count as last axis.
pub fn samples_shape(file: &FileSpec) -> Vec<u64> {
    let mut shape = file.sample_shape.clone();
    shape.push(file.samples);
    shape
}

/// Bytes of data in a C-order array of `shape` with `item_size`-byte elements.
pub fn data_len(item_size: u64, shape: &[u64]) -> Option<u64> {
    shape
        .iter()
        .try_fold(item_size, |acc, &dim| acc.checked_mul(dim))
}

/// Feeds `len` bytes of the content stream of `file` to `visit`, chunk by chunk through
/// `buf` (whose length must be a multiple of the element size, or at least `len`).
pub fn content(
    file: &FileSpec,
    dtype: Dtype,
    len: u64,
    buf: &mut [u8],
    mut visit: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let mut stream = ContentStream::for_file(file, dtype);
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        stream.fill(&mut buf[..n]);
        visit(&buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Feeds `len` zero bytes to `visit` from the zeroed `buf`.
pub fn zeros(len: u64, buf: &[u8], mut visit: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        visit(&buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Reads and parses the NPY header at `start`, where `avail` bytes belong to the array
/// (`what` names them in messages); returns the header's length and contents.
pub fn read_header(
    source: &mut Source,
    start: u64,
    avail: u64,
    what: &str,
) -> Result<(u64, NpyHeader)> {
    let prefix = source.read(start, avail.min(npy::PREFIX_LEN))?.to_vec();
    let header_len = npy::header_len(&prefix)?;
    if header_len > avail {
        return Err(Error::corrupt(format!(
            "NPY header ({header_len} bytes) is longer than the {what} ({avail} bytes)"
        )));
    }
    let header = npy::parse_header(source.read(start, header_len)?)?;
    Ok((header_len, header))
}

/// Verifies a parsed header describes a C-order array of `descr` and `shape`.
pub fn expect(header: &NpyHeader, descr: &str, shape: &[u64]) -> Result<()> {
    if header.descr != descr {
        return Err(Error::corrupt(format!(
            "dtype '{}', expected '{descr}'",
            header.descr
        )));
    }
    if header.fortran_order {
        return Err(Error::corrupt(
            "array is in Fortran order, expected C order",
        ));
    }
    if header.shape != shape {
        return Err(Error::corrupt(format!(
            "shape {}, expected {}",
            npy::shape_repr(&header.shape),
            npy::shape_repr(shape)
        )));
    }
    Ok(())
}

/// Refuses a sample index past the end of a file of `samples` samples.
pub(crate) fn check_sample(sample: u64, samples: u64) -> Result<()> {
    if sample >= samples {
        return Err(Error::new(
            dl_plugin_api::sdk::ErrorKind::OTHER,
            format!("sample {sample} is out of range: the file holds {samples} samples"),
        ));
    }
    Ok(())
}
