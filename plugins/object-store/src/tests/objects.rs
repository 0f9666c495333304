//! Objects through the store: prefixes, ranged reads, short objects, multipart writes, aborts.

use std::sync::atomic::Ordering;

use dl_plugin_api::sdk::{ErrorKind, ObjectWriter, Store, WriteOptions};
use object_store::{path::Path, ObjectStore, ObjectStoreExt};

use super::*;
use crate::runtime::block_on;

fn exists(memory: &Memory, full: &str) -> bool {
    let path = Path::parse(full).unwrap();
    block_on(memory.inner.head(&path)).unwrap().is_ok()
}

fn keys_in(memory: &Memory) -> Vec<String> {
    use futures::TryStreamExt;
    let all: Vec<_> = block_on(memory.inner.list(None).try_collect::<Vec<_>>())
        .unwrap()
        .unwrap();
    all.into_iter().map(|m| m.location.to_string()).collect()
}

#[test]
fn keys_live_under_the_root_prefix() {
    let memory = memory("some/prefix", 1 << 20, 4);
    let data = pattern(1000, 1);
    assert_eq!(put(&memory.store, "train/img_1_of_8.npz", &data), 1000);
    assert_eq!(keys_in(&memory), ["some/prefix/train/img_1_of_8.npz"]);
    assert_eq!(get(&memory.store, "train/img_1_of_8.npz", 300), data);
    assert_eq!(
        memory
            .store
            .stat("train/img_1_of_8.npz")
            .unwrap()
            .map(|m| m.size),
        Some(1000)
    );

    let bare = super::memory("", 1 << 20, 4);
    put(&bare.store, "a/b", b"x");
    assert!(exists(&bare, "a/b"));
    assert_eq!(bare.store.remote().uri("a/b"), "mem://bucket/a/b");
    assert_eq!(
        memory.store.remote().uri("a/b"),
        "mem://bucket/some/prefix/a/b"
    );
}

#[test]
fn bad_keys_are_invalid_config() {
    let memory = memory("p", 1 << 20, 4);
    for bad in ["", "/abs", "a//b", "../up", "a/./b", "a/", "a\u{1}b"] {
        let err = memory.store.stat(bad).unwrap_err();
        assert_eq!(err.kind, ErrorKind::INVALID_CONFIG, "{bad:?}: {err}");
        let err = memory
            .store
            .open_write(bad, &WriteOptions::default())
            .err()
            .unwrap();
        assert_eq!(err.kind, ErrorKind::INVALID_CONFIG, "{bad:?}");
    }
}

#[test]
fn ranged_reads_stop_at_the_end() {
    let memory = memory("p", 1 << 20, 4);
    let data = pattern(200_000, 2);
    put(&memory.store, "obj", &data);
    let mut reader = memory.store.open_read("obj").unwrap();
    assert_eq!(reader.size().unwrap(), 200_000);
    for (offset, len) in [(0usize, 100usize), (65_530, 20), (199_990, 10), (123, 1)] {
        let mut buf = vec![0u8; len];
        assert_eq!(reader.read_at(offset as u64, &mut buf).unwrap(), len as u64);
        assert_eq!(buf, data[offset..offset + len], "{offset}+{len}");
    }
    // A buffer past the end gets what is left; at or after the end, nothing.
    let mut buf = vec![7u8; 100];
    assert_eq!(reader.read_at(199_950, &mut buf).unwrap(), 50);
    assert_eq!(buf[..50], data[199_950..]);
    assert_eq!(reader.read_at(200_000, &mut buf).unwrap(), 0);
    assert_eq!(reader.read_at(1 << 40, &mut buf).unwrap(), 0);
    assert_eq!(reader.read_at(0, &mut []).unwrap(), 0);

    // One large read becomes concurrent requests of the transfer size (64 KiB here).
    let before = memory.knobs.gets.load(Ordering::SeqCst);
    let mut whole = vec![0u8; 300_000];
    assert_eq!(reader.read_at(0, &mut whole).unwrap(), 200_000);
    assert!(whole[..200_000] == data[..]);
    assert_eq!(memory.knobs.gets.load(Ordering::SeqCst) - before, 4);
}

#[test]
fn missing_objects() {
    let memory = memory("p", 1 << 20, 4);
    assert_eq!(memory.store.stat("nope").unwrap(), None);
    let err = memory.store.open_read("nope").err().unwrap();
    assert_eq!(err.kind, ErrorKind::NOT_FOUND);
    assert!(
        err.message
            .starts_with("HEAD mem://bucket/p/nope at memory://test: no such object"),
        "{err}"
    );
    memory.store.delete("nope").unwrap();
    put(&memory.store, "yes", b"1");
    memory.store.delete("yes").unwrap();
    assert_eq!(memory.store.stat("yes").unwrap(), None);
    memory.store.delete("yes").unwrap();
}

#[test]
fn a_short_object_is_corrupt_and_named() {
    let memory = memory("p", 1 << 20, 4);
    put(&memory.store, "train/x.npz", &pattern(100_000, 3));
    let mut reader = memory.store.open_read("train/x.npz").unwrap();
    memory.knobs.truncate.store(10, Ordering::SeqCst);
    for (offset, len) in [(0u64, 1000usize), (99_000, 1000), (0, 100_000)] {
        let mut buf = vec![0u8; len];
        let err = reader.read_at(offset, &mut buf).unwrap_err();
        assert_eq!(err.kind, ErrorKind::CORRUPT, "{err}");
        assert!(
            err.message
                .contains("GET mem://bucket/p/train/x.npz at memory://test")
                && err.message.contains("object is shorter than expected"),
            "{err}"
        );
    }
    memory.knobs.truncate.store(0, Ordering::SeqCst);
    let mut buf = vec![0u8; 10];
    assert_eq!(reader.read_at(0, &mut buf).unwrap(), 10);
}

#[test]
fn large_objects_go_up_in_concurrent_parts() {
    let memory = memory("p", 1000, 3);
    let data = pattern(5500, 4);
    assert_eq!(put(&memory.store, "big", &data), 5500);
    let knobs = &memory.knobs;
    assert_eq!(knobs.uploads.load(Ordering::SeqCst), 1);
    assert_eq!(knobs.puts.load(Ordering::SeqCst), 0);
    assert_eq!(knobs.parts.load(Ordering::SeqCst), 6);
    let most = knobs.max_in_flight.load(Ordering::SeqCst);
    assert!(
        (2..=3).contains(&most),
        "{most} parts were in flight at once"
    );
    assert_eq!(get(&memory.store, "big", 777), data);
    // Exactly one part is one PUT; exactly two parts, a two-part upload; empty, one PUT.
    assert_eq!(put(&memory.store, "one", &pattern(1000, 5)), 1000);
    assert_eq!(knobs.puts.load(Ordering::SeqCst), 1);
    assert_eq!(put(&memory.store, "two", &pattern(2000, 6)), 2000);
    assert_eq!(knobs.uploads.load(Ordering::SeqCst), 2);
    assert_eq!(knobs.parts.load(Ordering::SeqCst), 8);
    assert_eq!(get(&memory.store, "two", 4096), pattern(2000, 6));
    assert_eq!(put(&memory.store, "empty", b""), 0);
    assert_eq!(get(&memory.store, "empty", 10), b"");
}

#[test]
fn a_size_hint_beyond_the_part_limit_grows_the_parts() {
    let memory = memory("p", 1000, 4);
    let mut options = WriteOptions::default();
    options.size_hint = Some(25_000_000);
    let mut writer = memory.store.open_write("hinted", &options).unwrap();
    writer.write(&pattern(10_000, 7)).unwrap();
    writer.finish().unwrap();
    // 25 MB in at most 10,000 parts needs parts of 2500 bytes: four of them here.
    assert_eq!(memory.knobs.parts.load(Ordering::SeqCst), 4);
}

#[test]
fn nothing_shows_until_finish_and_abort_leaves_nothing() {
    let memory = memory("p", 1000, 2);
    let mut writer = memory
        .store
        .open_write("obj", &WriteOptions::default())
        .unwrap();
    writer.write(&pattern(3500, 8)).unwrap();
    assert_eq!(memory.store.stat("obj").unwrap(), None);
    writer.abort();
    assert_eq!(memory.store.stat("obj").unwrap(), None);
    assert_eq!(memory.knobs.aborts.load(Ordering::SeqCst), 1);
    assert!(writer.write(b"more").is_err());
    assert!(writer.finish().is_err());
    assert!(keys_in(&memory).is_empty());

    // Dropped without finish: aborted too.
    let mut dropped = memory
        .store
        .open_write("dropped", &WriteOptions::default())
        .unwrap();
    dropped.write(&pattern(2500, 9)).unwrap();
    drop(dropped);
    assert_eq!(memory.knobs.aborts.load(Ordering::SeqCst), 2);
    // A small object never started an upload: nothing to abort, nothing written.
    let mut small = memory
        .store
        .open_write("small", &WriteOptions::default())
        .unwrap();
    small.write(b"tiny").unwrap();
    small.abort();
    assert_eq!(memory.knobs.aborts.load(Ordering::SeqCst), 2);
    assert!(keys_in(&memory).is_empty());

    let mut late = memory
        .store
        .open_write("late", &WriteOptions::default())
        .unwrap();
    late.write(&pattern(3500, 10)).unwrap();
    assert_eq!(memory.store.stat("late").unwrap(), None);
    assert_eq!(late.finish().unwrap().size, 3500);
    assert!(late.write(b"x").is_err());
    late.abort();
    assert_eq!(
        memory.store.stat("late").unwrap().map(|m| m.size),
        Some(3500)
    );
}

#[test]
fn many_threads_share_one_store() {
    let memory = memory("p", 4096, 4);
    let store = &memory.store;
    std::thread::scope(|scope| {
        for t in 0..8u64 {
            scope.spawn(move || {
                for i in 0..10u64 {
                    let key = format!("t{t}/obj{i}");
                    let data = pattern(10_000 + (t * 10 + i) as usize, t * 100 + i);
                    put(store, &key, &data);
                    assert_eq!(get(store, &key, 3000), data);
                }
            });
        }
    });
    assert_eq!(keys_in(&memory).len(), 80);
}

#[test]
fn info_names_the_endpoint() {
    let memory = memory("p", 1000, 2);
    let info = memory.store.info();
    assert_eq!(info.alignment, 1);
    assert_eq!(info.transfer_size, 1 << 16);
    let extra: serde_json::Value = serde_json::from_str(info.extra.as_str()).unwrap();
    assert_eq!(extra["endpoint"], "memory://test");
    assert_eq!(extra["root"], "mem://bucket/p");
    assert!(memory.store.local_path("x").is_none());
}

/// A writer that outlives nothing: `ObjectWriter` must be `Send` to cross the ABI.
#[test]
fn writers_and_readers_are_send() {
    fn send<T: Send>(_: &T) {}
    let memory = memory("p", 1000, 2);
    put(&memory.store, "k", b"v");
    let writer: Box<dyn ObjectWriter> = memory
        .store
        .open_write("w", &WriteOptions::default())
        .unwrap();
    send(&writer);
    send(&memory.store.open_read("k").unwrap());
}
