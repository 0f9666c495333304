//! Store roots (`file://`, `direct://` or a plain path) and keys (relative `/`-separated paths).

use std::path::{Path, PathBuf};

use dl_plugin_api::sdk::{Error, Result};

/// Which I/O path a store uses for object data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Through the page cache.
    Buffered,
    /// With `O_DIRECT`, bypassing the page cache.
    Direct,
}

impl Mode {
    /// The URI scheme that selects this mode.
    pub fn scheme(self) -> &'static str {
        match self {
            Mode::Buffered => "file",
            Mode::Direct => "direct",
        }
    }
}

/// Turns a root as the user wrote it into a local path, stripping `<scheme>://`.
pub fn parse_root(mode: Mode, root: &str) -> Result<PathBuf> {
    let scheme = mode.scheme();
    let path = match root.split_once("://") {
        Some((given, rest)) if given.eq_ignore_ascii_case(scheme) => rest,
        Some((given, _)) if looks_like_scheme(given) => {
            return Err(Error::invalid_config(format!(
                "storage root {root}: the `{scheme}` backend takes `{scheme}://<path>` or a plain path, \
                 not a `{given}://` URI"
            )))
        }
        _ => root,
    };
    if path.is_empty() {
        return Err(Error::invalid_config(format!(
            "storage root {root:?}: no path given"
        )));
    }
    Ok(PathBuf::from(path))
}

// RFC 3986 scheme syntax; anything else before `://` is treated as part of a plain path.
fn looks_like_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The local path of `key` under `root`; keys may not escape the root or be empty.
pub fn key_path(root: &Path, key: &str) -> Result<PathBuf> {
    let valid = !key.is_empty()
        && !key.contains('\0')
        && key
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    if !valid {
        return Err(Error::invalid_config(format!(
            "key {key:?} under {}: keys are relative paths of `/`-separated names, without empty, `.` or `..` parts",
            root.display()
        )));
    }
    Ok(root.join(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_plugin_api::sdk::ErrorKind;

    #[test]
    fn roots_strip_their_own_scheme_only() {
        assert_eq!(
            parse_root(Mode::Buffered, "/data/x").unwrap(),
            PathBuf::from("/data/x")
        );
        assert_eq!(
            parse_root(Mode::Buffered, "rel/x").unwrap(),
            PathBuf::from("rel/x")
        );
        assert_eq!(
            parse_root(Mode::Buffered, "file:///data/x").unwrap(),
            PathBuf::from("/data/x")
        );
        assert_eq!(
            parse_root(Mode::Buffered, "file://rel").unwrap(),
            PathBuf::from("rel")
        );
        assert_eq!(
            parse_root(Mode::Direct, "direct:///abs").unwrap(),
            PathBuf::from("/abs")
        );
        assert_eq!(
            parse_root(Mode::Direct, "direct://rel/p").unwrap(),
            PathBuf::from("rel/p")
        );
        assert_eq!(
            parse_root(Mode::Buffered, "odd/dir://x").unwrap(),
            PathBuf::from("odd/dir://x")
        );
        for bad in ["s3://bucket", "direct:///x", "file://", ""] {
            let err = parse_root(Mode::Buffered, bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::INVALID_CONFIG, "{bad}: {err}");
        }
        assert!(parse_root(Mode::Direct, "file:///x").is_err());
    }

    #[test]
    fn keys_stay_under_the_root() {
        let root = Path::new("/r");
        assert_eq!(
            key_path(root, "a/b.npz").unwrap(),
            PathBuf::from("/r/a/b.npz")
        );
        for bad in ["", "/abs", "../up", "a/../b", "a//b", "a/", "./a", "a\0b"] {
            let err = key_path(root, bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::INVALID_CONFIG, "{bad:?}");
        }
    }
}
