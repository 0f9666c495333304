//! How I/O failures become SDK errors that name the operation and the path.

use std::{io, path::Path};

use dl_plugin_api::sdk::Error;

/// Converts `err` into an SDK error prefixed with `action` (`open /x/y.npz for reading`).
pub fn io_error(action: impl std::fmt::Display, err: io::Error) -> Error {
    Error::from(err).context(action)
}

/// The one error a `direct://` store reports when the file system refuses `O_DIRECT`.
pub fn direct_refused(path: &Path) -> Error {
    Error::unsupported(format!(
        "{}: the file system refused O_DIRECT (EINVAL); direct:// needs one that supports direct I/O \
         (ext4, xfs, …) — use file:// or a plain path instead",
        path.display()
    ))
}

/// Whether `err` is the `EINVAL` Linux returns when a file system cannot do `O_DIRECT`.
pub fn is_einval(err: &io::Error) -> bool {
    err.raw_os_error() == Some(libc::EINVAL)
}

/// A key that names a directory (or another non-file) where an object was expected.
pub fn not_an_object(action: impl std::fmt::Display, path: &Path) -> Error {
    let what = if path.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    };
    Error::invalid_config(format!(
        "{action}: {} is {what}, not an object",
        path.display()
    ))
}
