//! `file://` objects: ordinary reads and writes through the page cache.

use std::{
    fs::{File, OpenOptions},
    io::{self, BufWriter, Write},
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
};

use dl_plugin_api::sdk::{Error, ObjectMeta, ObjectReader, ObjectWriter, Result, WriteOptions};

use crate::{
    atomic::PendingFile,
    error::{io_error, not_an_object},
};

/// Writes smaller than this are gathered; the host's large chunks go straight through.
const WRITE_BUFFER: usize = 1 << 20;

/// A regular file open for positioned reads.
#[derive(Debug)]
pub struct FileReader {
    file: File,
    size: u64,
    path: PathBuf,
}

impl FileReader {
    /// Opens `path` for reading.
    pub fn open(path: &Path) -> Result<Self> {
        let action = || format!("open {} for reading", path.display());
        let file = File::open(path).map_err(|err| io_error(action(), err))?;
        let meta = file.metadata().map_err(|err| io_error(action(), err))?;
        // Linux opens directories for reading too; refuse here rather than fail every read.
        if !meta.is_file() {
            return Err(not_an_object(action(), path));
        }
        let size = meta.len();
        Ok(Self {
            file,
            size,
            path: path.to_path_buf(),
        })
    }
}

/// Fills `buf` from `offset` with `pread` until it is full or the file ends; returns the bytes read.
pub fn pread_full(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(done)
}

impl ObjectReader for FileReader {
    fn size(&mut self) -> Result<u64> {
        Ok(self.size)
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<u64> {
        let read = pread_full(&self.file, offset, buf).map_err(|err| {
            io_error(
                format!(
                    "read {} bytes at offset {offset} of {}",
                    buf.len(),
                    self.path.display()
                ),
                err,
            )
        })?;
        Ok(read as u64)
    }
}

/// A new object written through the page cache to its temporary file.
#[derive(Debug)]
pub struct FileWriter {
    out: Option<BufWriter<File>>,
    pending: PendingFile,
    fsync: bool,
    written: u64,
}

impl FileWriter {
    /// Starts writing the object whose final path is `target`.
    pub fn create(target: &Path, options: &WriteOptions) -> Result<Self> {
        let pending = PendingFile::new(target)?;
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(pending.temp())
            .map_err(|err| io_error(format!("create {}", pending.temp().display()), err))?;
        Ok(Self {
            out: Some(BufWriter::with_capacity(WRITE_BUFFER, file)),
            pending,
            fsync: options.fsync,
            written: 0,
        })
    }
}

impl ObjectWriter for FileWriter {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        let Self {
            out,
            pending,
            written,
            ..
        } = self;
        pending.check_writable()?;
        let Some(out) = out.as_mut() else {
            return Err(closed(pending));
        };
        let temp = pending.temp().to_path_buf();
        pending.step(|| {
            out.write_all(data)
                .map_err(|err| io_error(format!("write {}", temp.display()), err))
        })?;
        *written += data.len() as u64;
        Ok(())
    }

    fn finish(&mut self) -> Result<ObjectMeta> {
        self.pending.check_writable()?;
        let Some(out) = self.out.take() else {
            return Err(closed(&self.pending));
        };
        let temp = self.pending.temp().to_path_buf();
        let file = self.pending.step(|| {
            out.into_inner()
                .map_err(|err| io_error(format!("write {}", temp.display()), err.into_error()))
        })?;
        self.pending.publish(&file, self.fsync)?;
        Ok(ObjectMeta::new(self.written))
    }

    fn abort(&mut self) {
        // `into_parts` drops buffered bytes instead of flushing data that is about to be deleted.
        if let Some(out) = self.out.take() {
            drop(out.into_parts());
        }
        self.pending.discard();
    }
}

// Unreachable while `out` and the pending state agree, but an error beats a panic if they do not.
fn closed(pending: &PendingFile) -> Error {
    Error::io(format!(
        "write {}: the writer is closed",
        pending.target().display()
    ))
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        self.abort();
    }
}
