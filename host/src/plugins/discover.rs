//! Where plugin libraries are searched, in order: `--plugins DIR` (repeatable),
//! `DL_DRIVER_PLUGIN_PATH` (`:`-separated), then the directory of the executable.

use std::path::{Path, PathBuf};

/// Environment variable holding extra plugin directories.
pub const PLUGIN_PATH_ENV: &str = "DL_DRIVER_PLUGIN_PATH";

/// Why a directory is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Given with `--plugins`.
    Flag,
    /// Listed in `DL_DRIVER_PLUGIN_PATH`.
    Env,
    /// The directory holding the `dl-driver` executable.
    ExeDir,
}

/// One directory to search.
#[derive(Debug, Clone)]
pub struct SearchDir {
    /// The directory.
    pub path: PathBuf,
    /// Why it is searched.
    pub origin: Origin,
}

/// The directories to search, in priority order, without duplicates.
/// `use_defaults = false` keeps only the `--plugins` directories.
pub fn search_dirs(flag_dirs: &[PathBuf], use_defaults: bool) -> Vec<SearchDir> {
    let mut dirs: Vec<SearchDir> = flag_dirs
        .iter()
        .map(|p| SearchDir {
            path: p.clone(),
            origin: Origin::Flag,
        })
        .collect();
    if use_defaults {
        if let Some(value) = std::env::var_os(PLUGIN_PATH_ENV) {
            dirs.extend(
                std::env::split_paths(&value)
                    .filter(|p| !p.as_os_str().is_empty())
                    .map(|path| SearchDir {
                        path,
                        origin: Origin::Env,
                    }),
            );
        }
        if let Some(dir) = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
        {
            dirs.push(SearchDir {
                path: dir,
                origin: Origin::ExeDir,
            });
        }
    }
    let mut seen = Vec::new();
    dirs.retain(|dir| {
        let key = dir.path.canonicalize().unwrap_or_else(|_| dir.path.clone());
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
    dirs
}

/// True for names the host considers: `libdl_plugin_*.so` (`.dylib` on macOS).
pub fn is_plugin_file_name(name: &str) -> bool {
    let suffix = std::env::consts::DLL_SUFFIX;
    name.starts_with("libdl_plugin_")
        && name.ends_with(suffix)
        && name.len() > "libdl_plugin_".len() + suffix.len()
}

/// Plugin library candidates in `dir`, sorted by name. Not recursive.
pub fn candidates(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_str().is_some_and(is_plugin_file_name) {
            found.push(entry.path());
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plugin_library_names_qualify() {
        assert!(is_plugin_file_name("libdl_plugin_npz.so"));
        assert!(!is_plugin_file_name("libdl_plugin_.so"));
        assert!(!is_plugin_file_name("libdl_plugin_npz.so.1"));
        assert!(!is_plugin_file_name("libnpz.so"));
        assert!(!is_plugin_file_name("libdl_plugin_npz.rlib"));
    }

    #[test]
    fn flag_dirs_come_first_and_duplicates_go() {
        let tmp = std::env::temp_dir();
        let dirs = search_dirs(&[tmp.clone(), tmp.clone()], false);
        assert_eq!(dirs.len(), 1);
        assert_eq!(dirs[0].origin, Origin::Flag);
    }
}
