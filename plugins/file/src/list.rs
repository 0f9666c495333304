//! Paged, sorted, recursive listing of a directory tree.
//!
//! Each page walks the tree afresh in key order, skipping whole directories that cannot hold
//! keys after the cursor or under the prefix, and stops as soon as the page is full.

use std::{
    fs,
    io::ErrorKind as IoKind,
    path::{Path, PathBuf},
};

use dl_plugin_api::sdk::{Error, ListPage, Result};

use crate::error::io_error;

/// Deeper trees are taken for symbolic-link loops.
const MAX_DEPTH: usize = 128;

/// Lists the keys under `root` that start with `prefix` and sort after `cursor`, at most `max`.
pub fn list_page(root: &Path, prefix: &str, cursor: Option<&str>, max: u32) -> Result<ListPage> {
    // A page of zero entries would never advance the cursor.
    let want = max.max(1) as usize;
    let mut walk = Walk {
        prefix,
        cursor,
        limit: want + 1,
        found: Vec::new(),
    };
    walk.dir(root, "", 0)?;
    let more = walk.found.len() > want;
    walk.found.truncate(want);
    let next_cursor = if more {
        walk.found.last().map(|(key, _)| key.clone())
    } else {
        None
    };
    Ok(ListPage::new(walk.found, next_cursor))
}

struct Walk<'a> {
    prefix: &'a str,
    cursor: Option<&'a str>,
    limit: usize,
    found: Vec<(String, u64)>,
}

struct Child {
    /// The key, plus a trailing `/` for directories: sorting by it yields keys in byte order
    /// (`a.txt` < `a/x`, since `.` < `/`).
    order: String,
    path: PathBuf,
    is_dir: bool,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path, rel: &str, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(Error::io(format!(
                "list {}: more than {MAX_DEPTH} directory levels (a symbolic-link loop?)",
                dir.display()
            )));
        }
        let action = || format!("list {}", dir.display());
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            // A root not created yet, or a directory deleted during the walk, holds no keys.
            Err(err) if err.kind() == IoKind::NotFound => return Ok(()),
            Err(err) => return Err(io_error(action(), err)),
        };
        let mut children = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|err| io_error(action(), err))?;
            // Names that are not UTF-8 cannot be keys; hidden ones are temporary files and caches.
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let Some(is_dir) = kind_of(&entry) else {
                continue;
            };
            let key = format!("{rel}{name}");
            let order = if is_dir { key + "/" } else { key };
            if self.wanted(&order, is_dir) {
                children.push(Child {
                    order,
                    path: entry.path(),
                    is_dir,
                });
            }
        }
        children.sort_unstable_by(|a, b| a.order.cmp(&b.order));
        for child in children {
            if self.found.len() >= self.limit {
                break;
            }
            if child.is_dir {
                self.dir(&child.path, &child.order, depth + 1)?;
                continue;
            }
            match fs::metadata(&child.path) {
                Ok(meta) => self.found.push((child.order, meta.len())),
                Err(err) if err.kind() == IoKind::NotFound => {}
                Err(err) => return Err(io_error(format!("stat {}", child.path.display()), err)),
            }
        }
        Ok(())
    }

    // `order` is a file's key, or a directory's key plus `/` (a prefix of everything inside it).
    fn wanted(&self, order: &str, is_dir: bool) -> bool {
        if is_dir {
            let may_match = order.starts_with(self.prefix) || self.prefix.starts_with(order);
            // Everything inside sorts before a cursor that is greater than `order` yet not inside.
            let after_cursor = self
                .cursor
                .is_none_or(|c| c.starts_with(order) || c < order);
            may_match && after_cursor
        } else {
            order.starts_with(self.prefix) && self.cursor.is_none_or(|c| order > c)
        }
    }
}

/// `Some(true)` for a directory, `Some(false)` for a regular file, following symbolic links;
/// `None` for anything else (sockets, dangling links), which cannot be an object.
fn kind_of(entry: &fs::DirEntry) -> Option<bool> {
    let kind = entry.file_type().ok()?;
    let kind = if kind.is_symlink() {
        fs::metadata(entry.path()).ok()?.file_type()
    } else {
        kind
    };
    if kind.is_dir() {
        Some(true)
    } else if kind.is_file() {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(root: &Path, key: &str, size: usize) {
        let path = root.join(key);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, vec![0u8; size]).unwrap();
    }

    fn all_pages(root: &Path, prefix: &str, max: u32) -> (Vec<(String, u64)>, usize) {
        let (mut all, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
        loop {
            let page = list_page(root, prefix, cursor.as_deref(), max).unwrap();
            pages += 1;
            assert!(page.entries.len() <= max as usize);
            all.extend(page.entries);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return (all, pages),
            }
        }
    }

    #[test]
    fn pages_come_in_byte_order_and_skip_hidden_names() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let keys = [
            "a.txt",
            "a/x",
            "a/y/z",
            "a-b",
            "b",
            "train/1/f0",
            "train/1/f1",
            "train/10/f0",
            "train/2/f0",
        ];
        for (i, key) in keys.iter().enumerate() {
            touch(root, key, i);
        }
        touch(root, ".hidden", 1);
        touch(root, "a/.x.dl-partial", 1);
        touch(root, ".cache/deep/file", 1);
        let mut expected: Vec<(String, u64)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.to_string(), i as u64))
            .collect();
        expected.sort();
        for max in [1, 2, 4, 100] {
            let (all, pages) = all_pages(root, "", max);
            assert_eq!(all, expected, "page size {max}");
            assert_eq!(pages, expected.len().div_ceil(max as usize).max(1));
        }
        let (train, _) = all_pages(root, "train/1", 2);
        let train: Vec<_> = train.into_iter().map(|(k, _)| k).collect();
        assert_eq!(train, ["train/1/f0", "train/1/f1", "train/10/f0"]);
        let (under_a, _) = all_pages(root, "a/", 1);
        assert_eq!(under_a.len(), 2);
    }

    #[test]
    fn missing_root_lists_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let page = list_page(&dir.path().join("absent"), "", None, 10).unwrap();
        assert_eq!(page, ListPage::default());
        assert_eq!(
            list_page(dir.path(), "", None, 0).unwrap(),
            ListPage::default()
        );
    }
}
