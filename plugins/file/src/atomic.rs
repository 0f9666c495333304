//! Write-then-rename publishing: data goes to a hidden temporary file beside the target and
//! only a successful `finish` renames it into place.

use std::{
    fs::{self, File},
    path::{Path, PathBuf},
};

use dl_plugin_api::sdk::{Error, Result};

use crate::error::io_error;

/// Suffix of temporary files; with the leading dot, listings and users' `ls` skip them.
pub const TEMP_SUFFIX: &str = ".dl-partial";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Writing,
    Failed,
    Published,
    Discarded,
}

/// The temporary file of one object being written, removed unless it is published.
#[derive(Debug)]
pub struct PendingFile {
    temp: PathBuf,
    target: PathBuf,
    state: State,
}

/// The temporary name for `target`: deterministic, so a rerun truncates a leftover one.
pub fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}{TEMP_SUFFIX}"))
}

// `Path::parent` of a bare file name is "", which the OS does not accept as a directory.
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

impl PendingFile {
    /// Prepares to write `target`: creates its directory; the caller opens [`Self::temp`].
    pub fn new(target: &Path) -> Result<Self> {
        let dir = parent_dir(target);
        fs::create_dir_all(dir)
            .map_err(|err| io_error(format!("create directory {}", dir.display()), err))?;
        Ok(Self {
            temp: temp_path(target),
            target: target.to_path_buf(),
            state: State::Writing,
        })
    }

    /// Where the data is written until it is published.
    pub fn temp(&self) -> &Path {
        &self.temp
    }

    /// The key's final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Errors unless the object can still be written to; stops writes after a failure or `finish`.
    pub fn check_writable(&self) -> Result<()> {
        let why = match self.state {
            State::Writing => return Ok(()),
            State::Failed => "an earlier write failed",
            State::Published => "it was already finished",
            State::Discarded => "it was aborted",
        };
        Err(Error::io(format!("write {}: {why}", self.target.display())))
    }

    /// Runs one step of the write; a failure discards the partial object so it is never published.
    pub fn step<T>(&mut self, body: impl FnOnce() -> Result<T>) -> Result<T> {
        self.check_writable()?;
        let result = body();
        if result.is_err() {
            self.remove_temp();
            self.state = State::Failed;
        }
        result
    }

    /// Makes `file` (the open temporary file) visible under the target path, durably if `fsync`.
    pub fn publish(&mut self, file: &File, fsync: bool) -> Result<()> {
        let (temp, target) = (self.temp.clone(), self.target.clone());
        self.step(|| {
            if fsync {
                file.sync_all()
                    .map_err(|err| io_error(format!("fsync {}", temp.display()), err))?;
            }
            fs::rename(&temp, &target).map_err(|err| {
                io_error(
                    format!("rename {} to {}", temp.display(), target.display()),
                    err,
                )
            })?;
            if fsync {
                if let Err(err) = sync_dir(parent_dir(&target)) {
                    // The rename is done but not durable; withdraw it so a failed finish
                    // never leaves an object behind.
                    let _ = fs::remove_file(&target);
                    return Err(err);
                }
            }
            Ok(())
        })?;
        self.state = State::Published;
        Ok(())
    }

    /// Removes the temporary file; later writes fail.
    pub fn discard(&mut self) {
        if matches!(self.state, State::Writing) {
            self.remove_temp();
            self.state = State::Discarded;
        }
    }

    fn remove_temp(&self) {
        // Best effort: a missing file is the goal, and there is no caller to report other errors to.
        let _ = fs::remove_file(&self.temp);
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        self.discard();
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    let action = || format!("fsync directory {}", dir.display());
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(|err| io_error(action(), err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_hidden_siblings() {
        assert_eq!(
            temp_path(Path::new("/r/a/b.npz")),
            PathBuf::from("/r/a/.b.npz.dl-partial")
        );
        assert_eq!(temp_path(Path::new("b")), PathBuf::from(".b.dl-partial"));
        assert_eq!(parent_dir(Path::new("b")), Path::new("."));
    }

    #[test]
    fn dropped_pending_file_is_removed_and_failed_steps_stick() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub/x");
        let mut pending = PendingFile::new(&target).unwrap();
        File::create(pending.temp()).unwrap();
        let err = pending
            .step(|| -> Result<()> { Err(Error::io("disk on fire")) })
            .unwrap_err();
        assert_eq!(err.message, "disk on fire");
        assert!(!pending.temp().exists());
        assert!(pending
            .check_writable()
            .unwrap_err()
            .message
            .contains("an earlier write failed"));
        let file = File::create(dir.path().join("other")).unwrap();
        assert!(pending.publish(&file, false).is_err());
        assert!(!target.exists());

        let pending = PendingFile::new(&target).unwrap();
        File::create(pending.temp()).unwrap();
        let temp = pending.temp().to_path_buf();
        drop(pending);
        assert!(!temp.exists());
    }
}
