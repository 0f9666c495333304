//! The store shared by `file://` and `direct://`: key resolution, metadata, listing and
//! deletion are the same; only object data goes through a different I/O path.

use std::{fs, io::ErrorKind as IoKind, path::PathBuf};

use dl_plugin_api::sdk::{
    Error, ListPage, ObjectMeta, ObjectReader, ObjectWriter, Result, Store, StoreInfo, WriteOptions,
};

use crate::{
    aligned::ALIGN,
    buffered::{FileReader, FileWriter},
    direct::{DirectReader, DirectWriter},
    error::io_error,
    list::list_page,
    paths::{key_path, parse_root, Mode},
};

/// Preferred request size of buffered reads (the kernel's read-ahead does the rest).
pub const TRANSFER_SIZE: u64 = 1 << 20;

/// Preferred request size of direct reads: nothing reads ahead, so fewer, larger requests.
pub const DIRECT_TRANSFER_SIZE: u64 = 4 << 20;

/// A directory tree on the local file system, accessed with buffered or direct I/O.
#[derive(Debug)]
pub struct LocalStore {
    root: PathBuf,
    mode: Mode,
}

impl LocalStore {
    /// Opens the store at `root` (a URI of `mode`'s scheme or a plain path).
    ///
    /// A missing root is fine: the first write creates it, so `generate` can start from nothing.
    pub fn connect(mode: Mode, root: &str) -> Result<Self> {
        let path = parse_root(mode, root)?;
        match fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(Error::invalid_config(format!(
                    "storage root {}: not a directory",
                    path.display()
                )))
            }
            Err(err) if err.kind() == IoKind::NotFound => {}
            Err(err) => return Err(io_error(format!("storage root {}", path.display()), err)),
        }
        Ok(Self { root: path, mode })
    }
}

impl Store for LocalStore {
    fn info(&self) -> StoreInfo {
        let alignment = match self.mode {
            Mode::Buffered => 1,
            Mode::Direct => ALIGN as u64,
        };
        StoreInfo::new(
            alignment,
            if alignment > 1 {
                DIRECT_TRANSFER_SIZE
            } else {
                TRANSFER_SIZE
            },
        )
    }

    fn stat(&self, key: &str) -> Result<Option<ObjectMeta>> {
        let path = key_path(&self.root, key)?;
        match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(Some(ObjectMeta::new(meta.len()))),
            Ok(meta) if meta.is_dir() => Err(Error::invalid_config(format!(
                "stat {}: a directory, not an object",
                path.display()
            ))),
            Ok(_) => Err(Error::invalid_config(format!(
                "stat {}: not a regular file",
                path.display()
            ))),
            // A parent that is a file means the key cannot exist either.
            Err(err) if matches!(err.kind(), IoKind::NotFound | IoKind::NotADirectory) => Ok(None),
            Err(err) => Err(io_error(format!("stat {}", path.display()), err)),
        }
    }

    fn open_read(&self, key: &str) -> Result<Box<dyn ObjectReader>> {
        let path = key_path(&self.root, key)?;
        Ok(match self.mode {
            Mode::Buffered => Box::new(FileReader::open(&path)?),
            Mode::Direct => Box::new(DirectReader::open(&path)?),
        })
    }

    fn open_write(&self, key: &str, options: &WriteOptions) -> Result<Box<dyn ObjectWriter>> {
        let path = key_path(&self.root, key)?;
        Ok(match self.mode {
            Mode::Buffered => Box::new(FileWriter::create(&path, options)?),
            Mode::Direct => Box::new(DirectWriter::create(&path, options)?),
        })
    }

    fn list(&self, prefix: &str, cursor: Option<&str>, max: u32) -> Result<ListPage> {
        list_page(&self.root, prefix, cursor, max)
    }

    fn delete(&self, key: &str) -> Result<()> {
        let path = key_path(&self.root, key)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(err) if matches!(err.kind(), IoKind::NotFound | IoKind::NotADirectory) => Ok(()),
            Err(err) => Err(io_error(format!("delete {}", path.display()), err)),
        }
    }

    fn local_path(&self, key: &str) -> Option<PathBuf> {
        key_path(&self.root, key).ok()
    }
}
