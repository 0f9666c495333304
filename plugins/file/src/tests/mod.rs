//! In-process tests of both stores through the SDK traits, on the real disk.

mod abi;
mod direct;
mod listing;
mod objects;

use std::{fs, path::Path};

use dl_plugin_api::sdk::{BackendPlugin, Store, WriteOptions};

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

/// Bytes that differ between objects and positions, so misplaced blocks are caught.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Writes `data` in uneven chunks, as a format's generator would.
fn put(store: &dyn Store, key: &str, data: &[u8], fsync: bool) -> u64 {
    let mut writer = store.open_write(key, &options(fsync)).unwrap();
    let mut rest = data;
    for chunk in [1usize, 4095, 7919, (1 << 20) + 3].iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (now, later) = rest.split_at((*chunk).min(rest.len()));
        writer.write(now).unwrap();
        rest = later;
    }
    writer.finish().unwrap().size
}

/// Reads a whole object with requests of `chunk` bytes into an aligned buffer, as the host does.
fn get(store: &dyn Store, key: &str, chunk: usize) -> Vec<u8> {
    let mut reader = store.open_read(key).unwrap();
    let size = reader.size().unwrap();
    let mut buf = BlockBuf::new(chunk).unwrap();
    let mut out = Vec::new();
    loop {
        let read = reader
            .read_at(out.len() as u64, &mut buf.whole_mut()[..chunk])
            .unwrap() as usize;
        out.extend_from_slice(&buf.whole_mut()[..read]);
        if read < chunk {
            break;
        }
    }
    assert_eq!(
        out.len() as u64,
        size,
        "{key}: size() disagrees with the bytes read"
    );
    out
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
