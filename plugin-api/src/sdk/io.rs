//! Safe wrappers around the host-implemented I/O objects a format receives.

use std::path::PathBuf;

use abi_stable::{
    std_types::{RBox, RStr},
    RMut,
};

use super::{Error, Result};
use crate::abi::{ByteSink_TO, GenerateOutput_TO, Source_TO};

/// Where `generate` writes the data file (and creates any accompanying files).
/// Implements [`std::io::Write`].
pub struct Output<'a> {
    inner: &'a mut dyn HostOutput,
    written: u64,
}

/// The two calls `Output` makes, so it can borrow the ABI object whatever its lifetimes.
pub(crate) trait HostOutput {
    fn write(&mut self, data: &[u8]) -> Result<()>;
    fn create_sidecar(&mut self, key: &str) -> Result<ByteSink_TO<'static, RBox<()>>>;
    fn local_path(&mut self) -> Option<std::path::PathBuf>;
}

impl HostOutput for GenerateOutput_TO<'_, RMut<'_, ()>> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        Ok(GenerateOutput_TO::write(self, data.into()).into_result()?)
    }
    fn create_sidecar(&mut self, key: &str) -> Result<ByteSink_TO<'static, RBox<()>>> {
        Ok(GenerateOutput_TO::create_sidecar(self, RStr::from_str(key)).into_result()?)
    }
    fn local_path(&mut self) -> Option<std::path::PathBuf> {
        GenerateOutput_TO::local_path(self)
            .into_option()
            .map(|p| p.as_str().into())
    }
}

impl<'a> Output<'a> {
    pub(crate) fn new(inner: &'a mut dyn HostOutput) -> Self {
        Output { inner, written: 0 }
    }

    /// Appends `data` to the data file.
    pub fn write_bytes(&mut self, data: &[u8]) -> Result<()> {
        self.inner.write(data)?;
        self.written += data.len() as u64;
        Ok(())
    }

    /// Bytes written to the data file so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// A local path to create the whole data file at instead of writing through this output
    /// (for libraries that write files themselves); `None` when the host offers none.
    pub fn local_path(&mut self) -> Option<std::path::PathBuf> {
        self.inner.local_path()
    }

    /// Creates an accompanying file at `key`, relative to the dataset root.
    pub fn sidecar(&mut self, key: &str) -> Result<Sink> {
        let inner = self.inner.create_sidecar(key)?;
        Ok(Sink { inner })
    }
}

impl std::io::Write for Output<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_bytes(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A stream into one accompanying file; call [`Sink::finish`] to make it visible.
pub struct Sink {
    inner: ByteSink_TO<'static, RBox<()>>,
}

impl Sink {
    /// Appends `data`.
    pub fn write_bytes(&mut self, data: &[u8]) -> Result<()> {
        self.inner
            .write(data.into())
            .into_result()
            .map_err(Error::from)
    }

    /// Completes the file.
    pub fn finish(mut self) -> Result<()> {
        self.inner.finish().into_result().map_err(Error::from)
    }
}

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_bytes(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The largest `Source::read` a host serves in one request; read more with `read_range`.
pub const MAX_READ_BYTES: u64 = 256 << 20;

/// Random access to one stored file through buffers the host owns (aligned for direct I/O).
pub struct Source {
    inner: Source_TO<'static, RBox<()>>,
}

impl Source {
    pub(crate) fn new(inner: Source_TO<'static, RBox<()>>) -> Self {
        Source { inner }
    }

    /// Size of the file in bytes.
    pub fn len(&self) -> u64 {
        self.inner.len()
    }

    /// True for an empty file.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The store's preferred request size.
    pub fn transfer_size(&self) -> u64 {
        self.inner.transfer_size().max(1)
    }

    /// Path on the local file system, for libraries that open files themselves.
    pub fn local_path(&self) -> Option<PathBuf> {
        self.inner
            .local_path()
            .into_option()
            .map(|p| PathBuf::from(p.as_str()))
    }

    /// Reads exactly `len` bytes at `offset`; the slice is valid until the next read.
    pub fn read(&mut self, offset: u64, len: u64) -> Result<&[u8]> {
        match self.inner.read(offset, len).into_result() {
            Ok(slice) => Ok(slice.as_slice()),
            Err(err) => Err(err.into()),
        }
    }

    /// Opens another file of the same dataset by key relative to the dataset root (an index
    /// file beside the data file, say).
    pub fn open_related(&self, key: &str) -> Result<Source> {
        let inner = self.inner.open_related(RStr::from_str(key)).into_result()?;
        Ok(Source { inner })
    }

    /// Reads `len` bytes from `offset` in requests of the store's transfer size, handing each
    /// piece to `visit` in order.
    pub fn read_range(
        &mut self,
        offset: u64,
        len: u64,
        mut visit: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let step = self.transfer_size();
        let end = offset + len;
        let mut at = offset;
        while at < end {
            let n = step.min(end - at);
            visit(self.read(at, n)?)?;
            at += n;
        }
        Ok(())
    }
}
