//! Files that a format's own library writes by path (libhdf5, say) instead of streaming them
//! through [`GenerateOutput::write`](dl_plugin_api::abi::GenerateOutput::write).
//!
//! On a local store the file is staged beside its final name and renamed into place, so it
//! is written once and never visible half-written. On any other store it is staged in the
//! temporary directory and streamed through the store's writer, then removed.

use std::{
    fs::File,
    io::Read,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

use crate::plugins::{ObjectWriter, PluginCallError, Store};

/// Bytes per write when streaming a staged file into a store.
const COPY_BYTES: usize = 1 << 20;

/// Distinguishes staged files of concurrent generator threads.
static NEXT_STAGE: AtomicU64 = AtomicU64::new(0);

/// A path handed to a format for one data file; removed on drop unless published.
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    /// The final path when the store is local: publishing is a rename.
    target: Option<PathBuf>,
}

/// Why a staged file could not be published.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The local file system refused.
    #[error("{path}")]
    Io {
        /// The file involved.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The store refused the streamed copy.
    #[error(transparent)]
    Store(#[from] PluginCallError),
}

impl Staged {
    /// A fresh staging path for `key` in `store`.
    pub fn new(store: &Store, key: &str) -> Staged {
        let serial = NEXT_STAGE.fetch_add(1, Ordering::Relaxed);
        let base = Path::new(key)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "data".into());
        match store.local_path(key).map(PathBuf::from) {
            Some(target) => Staged {
                // Hidden and distinct from the backend's own partial names, as readers skip both.
                path: target.with_file_name(format!(".{base}.{serial}.dl-staged")),
                target: Some(target),
            },
            None => Staged {
                path: std::env::temp_dir()
                    .join(format!("dl-driver-{}-{serial}-{base}", std::process::id())),
                target: None,
            },
        }
    }

    /// Where the format creates the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes the staged file the published object at `key`; returns its size. `writer` is the
    /// store writer opened for `key`: finished with the copied bytes, or discarded for a rename.
    pub fn publish(self, writer: ObjectWriter) -> Result<u64, StageError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| StageError::Io { path, source }
        };
        let size = std::fs::metadata(&self.path).map_err(io(&self.path))?.len();
        match &self.target {
            Some(target) => {
                // Discarding the writer removes its empty partial file before the rename.
                drop(writer);
                std::fs::rename(&self.path, target).map_err(io(target))?;
            }
            None => {
                let mut writer = writer;
                let mut file = File::open(&self.path).map_err(io(&self.path))?;
                let mut buf = vec![0u8; COPY_BYTES];
                loop {
                    let n = file.read(&mut buf).map_err(io(&self.path))?;
                    if n == 0 {
                        break;
                    }
                    writer.write(&buf[..n])?;
                }
                writer.finish()?;
            }
        }
        Ok(size)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // After a rename the path is gone; anything left is an unpublished file.
        let _ = std::fs::remove_file(&self.path);
    }
}
