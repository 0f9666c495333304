//! Checks made before a library is opened: `dlopen` runs the library's initialisers, so a file
//! anyone else can modify must never get that far.

use std::{os::unix::fs::MetadataExt, path::Path};

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

/// Refuses files that are not regular, are group/world-writable, or belong to another user.
pub fn vet(path: &Path) -> Result<(), Refusal> {
    let meta = std::fs::metadata(path).map_err(|err| Refusal::Unreadable(err.to_string()))?;
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writable_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("libdl_plugin_x.so");
        std::fs::write(&file, b"x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(vet(&file), Ok(()));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(matches!(
            vet(&file),
            Err(Refusal::Writable { mode: 0o666, .. })
        ));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o664)).unwrap();
        assert!(matches!(vet(&file), Err(Refusal::Writable { .. })));
        assert_eq!(vet(dir.path()), Err(Refusal::NotRegular));
    }
}
