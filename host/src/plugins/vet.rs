//! Checks made before a library is loaded: `dlopen` runs the library's initialisers, so a file
//! anyone else can modify must never get that far. The checks apply to the open file itself
//! (the host then loads that very file through `/proc/self/fd`), so the file cannot be swapped
//! between the check and the load.

use std::{
    fs::File,
    os::unix::fs::{MetadataExt, OpenOptionsExt},
    path::{Path, PathBuf},
};

/// Why a file was refused before loading.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a regular file (after following links).
    #[error("not a regular file")]
    NotRegular,
    /// Group or others may write it.
    #[error("group- or world-writable (mode {mode:o}); run `chmod go-w {path}` if you trust it")]
    Writable {
        /// Permission bits.
        mode: u32,
        /// The file.
        path: String,
    },
    /// Others may replace files in its directory.
    #[error("its directory {dir} is group- or world-writable without the sticky bit, so others could replace it; run `chmod go-w {dir}`")]
    WritableDirectory {
        /// The directory.
        dir: String,
    },
    /// Owned by someone other than the current user or root.
    #[error("owned by uid {owner}, neither you (uid {me}) nor root; chown it if you trust it")]
    ForeignOwner {
        /// Owner's uid.
        owner: u32,
        /// Current effective uid.
        me: u32,
    },
    /// Could not be examined.
    #[error("cannot be examined: {0}")]
    Unreadable(String),
}

/// A plugin file that passed the checks, held open so the checked file is the loaded file.
#[derive(Debug)]
pub struct Vetted {
    file: File,
}

impl Vetted {
    /// The path through which the checked open file can be loaded.
    pub fn load_path(&self) -> PathBuf {
        use std::os::fd::AsRawFd;
        PathBuf::from(format!("/proc/self/fd/{}", self.file.as_raw_fd()))
    }
}

/// Resolves links, refuses files in directories others can write to, then opens the file
/// without following links and refuses it unless it is regular, not group/world-writable, and
/// owned by the current user or root.
pub fn vet(path: &Path) -> Result<Vetted, Refusal> {
    let real = path
        .canonicalize()
        .map_err(|err| Refusal::Unreadable(err.to_string()))?;
    if let Some(dir) = real.parent() {
        let meta = std::fs::metadata(dir).map_err(|err| Refusal::Unreadable(err.to_string()))?;
        let sticky = meta.mode() & 0o1000 != 0;
        if meta.mode() & 0o022 != 0 && !sticky {
            return Err(Refusal::WritableDirectory {
                dir: dir.display().to_string(),
            });
        }
    }
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&real)
        .map_err(|err| Refusal::Unreadable(err.to_string()))?;
    let meta = file
        .metadata()
        .map_err(|err| Refusal::Unreadable(err.to_string()))?;
    if !meta.is_file() {
        return Err(Refusal::NotRegular);
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(Refusal::Writable {
            mode,
            path: path.display().to_string(),
        });
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me && meta.uid() != 0 {
        return Err(Refusal::ForeignOwner {
            owner: meta.uid(),
            me,
        });
    }
    Ok(Vetted { file })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn writable_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("libdl_plugin_x.so");
        std::fs::write(&file, b"x").unwrap();
        chmod(&file, 0o644);
        assert!(vet(&file).is_ok());
        chmod(&file, 0o666);
        assert!(matches!(
            vet(&file),
            Err(Refusal::Writable { mode: 0o666, .. })
        ));
        chmod(&file, 0o664);
        assert!(matches!(vet(&file), Err(Refusal::Writable { .. })));
    }

    #[test]
    fn directories_are_not_plugins() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("libdl_plugin_dir.so");
        std::fs::create_dir(&sub).unwrap();
        assert!(vet(&sub).is_err());
    }

    #[test]
    fn open_directories_are_refused_unless_sticky() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("libdl_plugin_x.so");
        std::fs::write(&file, b"x").unwrap();
        chmod(&file, 0o644);
        chmod(dir.path(), 0o777);
        assert!(matches!(vet(&file), Err(Refusal::WritableDirectory { .. })));
        chmod(dir.path(), 0o1777);
        assert!(vet(&file).is_ok());
        chmod(dir.path(), 0o755);
    }

    #[test]
    fn links_are_followed_to_a_vetted_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.so");
        std::fs::write(&target, b"x").unwrap();
        chmod(&target, 0o644);
        let link = dir.path().join("libdl_plugin_x.so");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let vetted = vet(&link).unwrap();
        let loaded = std::fs::read_link(vetted.load_path()).unwrap();
        assert_eq!(loaded, target.canonicalize().unwrap());
    }
}
