//! In-process tests of both stores through the SDK traits, on the real disk.

mod abi;
mod direct;
mod listing;
mod objects;

use std::{fs, path::Path};

use dl_plugin_api::sdk::{
    testing::{self, pattern},
    BackendPlugin, Store, WriteOptions,
};

use crate::{aligned::BlockBuf, DirectBackend, FileBackend};

/// Object sizes around block boundaries, plus one spanning several write buffers.
const SIZES: [usize; 7] = [0, 1, 4095, 4096, 4097, 1 << 20, (3 << 20) + 123];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Direct,
}

const KINDS: [Kind; 2] = [Kind::File, Kind::Direct];

fn connect(kind: Kind, root: &Path) -> Box<dyn Store> {
    let none = serde_json::json!({ "unknown_option": 1 });
    let result = match kind {
        Kind::File => FileBackend.connect(&format!("file://{}", root.display()), &none),
        Kind::Direct => DirectBackend.connect(&format!("direct://{}", root.display()), &none),
    };
    result.unwrap_or_else(|err| panic!("connect {kind:?} {}: {err}", root.display()))
}

fn options(fsync: bool) -> WriteOptions {
    {
        let mut options = WriteOptions::default();
        options.fsync = fsync;
        options
    }
}

/// Writes `data` in uneven chunks, as a format's generator would.
fn put(store: &dyn Store, key: &str, data: &[u8], fsync: bool) -> u64 {
    testing::put(store, key, data, &options(fsync)).unwrap()
}

/// Reads a whole object with requests of `chunk` bytes into an aligned buffer, as the host does.
fn get(store: &dyn Store, key: &str, chunk: usize) -> Vec<u8> {
    testing::get(store, key, chunk).unwrap()
}

/// Names in `dir`, hidden ones included, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}
