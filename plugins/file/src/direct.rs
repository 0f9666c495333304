//! `direct://` objects: `O_DIRECT` reads and writes that bypass the page cache.
//!
//! Never falls back to cached I/O: a benchmark that silently measured the page cache would
//! report numbers the storage cannot deliver.

use std::{
    fs::{File, OpenOptions},
    os::unix::fs::{FileExt, OpenOptionsExt},
    path::{Path, PathBuf},
};

use dl_plugin_api::sdk::{Error, ObjectMeta, ObjectReader, ObjectWriter, Result, WriteOptions};

use crate::{
    aligned::{BlockBuf, ALIGN},
    atomic::PendingFile,
    error::{direct_refused, io_error, is_einval, not_an_object},
};

/// Size of the writer's staging buffer: one full-size request per `pwrite`.
const WRITE_BLOCK: usize = 1 << 20;

// `path` is what the user knows the object as; `open_path` may be its temporary file.
fn open_direct(
    options: &mut OpenOptions,
    open_path: &Path,
    path: &Path,
    action: String,
) -> Result<File> {
    options
        .custom_flags(libc::O_DIRECT)
        .open(open_path)
        .map_err(|err| {
            // Directories refuse O_DIRECT with EINVAL even on file systems that support it.
            if is_einval(&err) && open_path.is_dir() {
                not_an_object(action, open_path)
            } else if is_einval(&err) {
                direct_refused(path)
            } else {
                io_error(action, err)
            }
        })
}

/// A file open with `O_DIRECT` for aligned positioned reads.
#[derive(Debug)]
pub struct DirectReader {
    file: File,
    size: u64,
    path: PathBuf,
}

impl DirectReader {
    /// Opens `path` with `O_DIRECT`.
    pub fn open(path: &Path) -> Result<Self> {
        let file = open_direct(
            OpenOptions::new().read(true),
            path,
            path,
            format!("open {} for reading (O_DIRECT)", path.display()),
        )?;
        let size = file
            .metadata()
            .map_err(|err| io_error(format!("stat {}", path.display()), err))?
            .len();
        Ok(Self {
            file,
            size,
            path: path.to_path_buf(),
        })
    }

    #[cfg(test)]
    pub(crate) fn file(&self) -> &File {
        &self.file
    }
}

impl ObjectReader for DirectReader {
    fn size(&mut self) -> Result<u64> {
        Ok(self.size)
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<u64> {
        let address = buf.as_ptr() as usize;
        if offset % ALIGN as u64 != 0 || buf.len() % ALIGN != 0 || address % ALIGN != 0 {
            return Err(Error::invalid_config(format!(
                "read {} at offset {offset}, {} bytes into a buffer at {address:#x}: direct:// needs offset, \
                 length and buffer address all multiples of {ALIGN} (StoreInfo::alignment)",
                self.path.display(),
                buf.len()
            )));
        }
        let len = buf.len();
        let action = || {
            format!(
                "read {len} bytes at offset {offset} of {} (O_DIRECT)",
                self.path.display()
            )
        };
        let mut done = 0;
        // A read that ends off a block boundary has reached the end of the file; reading on from
        // an unaligned offset would fail with EINVAL instead of returning 0.
        while done < buf.len() && done % ALIGN == 0 {
            match self.file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(read) => done += read,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) => return Err(io_error(action(), err)),
            }
        }
        Ok(done as u64)
    }
}

/// A new object written with `O_DIRECT`, re-blocked into aligned full-size requests.
#[derive(Debug)]
pub struct DirectWriter {
    file: File,
    pending: PendingFile,
    buf: BlockBuf,
    flushed: u64,
    written: u64,
    fsync: bool,
}

impl DirectWriter {
    /// Starts writing the object whose final path is `target`.
    pub fn create(target: &Path, options: &WriteOptions) -> Result<Self> {
        let buf = BlockBuf::new(WRITE_BLOCK)?;
        let pending = PendingFile::new(target)?;
        // On a refusing file system O_CREAT may already have made the temporary file;
        // `pending` removes it when dropped on this error path.
        let file = open_direct(
            OpenOptions::new().write(true).create(true).truncate(true),
            pending.temp(),
            target,
            format!("create {}", pending.temp().display()),
        )?;
        Ok(Self {
            file,
            pending,
            buf,
            flushed: 0,
            written: 0,
            fsync: options.fsync,
        })
    }

    #[cfg(test)]
    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    // Writes the staged bytes (a whole number of blocks) at the end of the file.
    fn flush_buf(&mut self) -> Result<()> {
        let Self {
            file,
            pending,
            buf,
            flushed,
            ..
        } = self;
        let temp = pending.temp().to_path_buf();
        pending.step(|| {
            file.write_all_at(buf.filled(), *flushed).map_err(|err| {
                io_error(
                    format!(
                        "write {} bytes at offset {flushed} of {} (O_DIRECT)",
                        buf.len(),
                        temp.display()
                    ),
                    err,
                )
            })
        })?;
        *flushed += buf.len() as u64;
        buf.clear();
        Ok(())
    }
}

impl ObjectWriter for DirectWriter {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.pending.check_writable()?;
        let mut rest = data;
        while !rest.is_empty() {
            let taken = self.buf.push(rest);
            rest = &rest[taken..];
            self.written += taken as u64;
            if self.buf.is_full() {
                self.flush_buf()?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<ObjectMeta> {
        self.pending.check_writable()?;
        if !self.buf.is_empty() {
            // O_DIRECT writes whole blocks only: write the tail padded, then cut the padding off.
            self.buf.pad_to_block();
            self.flush_buf()?;
        }
        let Self {
            file,
            pending,
            written,
            ..
        } = self;
        let temp = pending.temp().to_path_buf();
        pending.step(|| {
            file.set_len(*written)
                .map_err(|err| io_error(format!("truncate {}", temp.display()), err))
        })?;
        self.pending.publish(&self.file, self.fsync)?;
        Ok(ObjectMeta::new(self.written))
    }

    fn abort(&mut self) {
        self.pending.discard();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_plugin_api::sdk::ErrorKind;

    fn has_o_direct(file: &File) -> bool {
        use std::os::fd::AsRawFd;
        // SAFETY: F_GETFL only reads the flags of a descriptor we own.
        let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) };
        assert!(flags >= 0, "fcntl failed");
        flags & libc::O_DIRECT != 0
    }

    #[test]
    fn descriptors_really_use_o_direct() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x");
        let options = WriteOptions::default();
        let mut writer = DirectWriter::create(&target, &options).unwrap();
        assert!(has_o_direct(writer.file()));
        writer.write(&[5; 100]).unwrap();
        writer.finish().unwrap();
        let mut reader = DirectReader::open(&target).unwrap();
        assert!(has_o_direct(reader.file()));
        assert_eq!(reader.size().unwrap(), 100);
    }

    #[test]
    fn einval_on_open_is_the_unsupported_error() {
        let err = direct_refused(Path::new("/mnt/x/y.npz"));
        assert_eq!(err.kind, ErrorKind::UNSUPPORTED);
        assert!(
            err.message
                .starts_with("/mnt/x/y.npz: the file system refused O_DIRECT (EINVAL)"),
            "{err}"
        );
        assert!(err.message.contains("use file:// or a plain path instead"));
    }
}
