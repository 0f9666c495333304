//! Paged listings over the in-memory store.

use dl_plugin_api::sdk::{ErrorKind, Store};
use object_store::{path::Path, ObjectStoreExt};

use super::*;
use crate::runtime::block_on;

/// 1,234 objects under `train/`, a few under `valid/`, and some outside the root prefix.
fn populated(adjust: impl FnOnce(&mut Remote)) -> (Memory, Vec<(String, u64)>) {
    let memory = memory_with("root/p", 1 << 20, 4, adjust);
    let mut expected = Vec::new();
    let keys = (0..1234)
        .map(|i| format!("train/{}/img_{i:05}.npz", i % 3))
        .chain((0..5).map(|i| format!("valid/img_{i}.npz")));
    for (i, key) in keys.enumerate() {
        let size = i % 17;
        // Straight into the backing store: listing, not writing, is under test.
        let path = Path::parse(format!("root/p/{key}")).unwrap();
        block_on(memory.inner.put(&path, vec![1u8; size].into()))
            .unwrap()
            .unwrap();
        expected.push((key, size as u64));
    }
    for outside in ["root/p2/x", "root/other", "root/p.txt", "zzz/last"] {
        let path = Path::parse(outside).unwrap();
        block_on(memory.inner.put(&path, vec![0u8; 3].into()))
            .unwrap()
            .unwrap();
    }
    expected.sort();
    (memory, expected)
}

fn check_listings(store: &dyn Store, expected: &[(String, u64)]) {
    for max in [1000, 100, 7] {
        let (all, pages) = all_pages(store, "", max);
        assert_eq!(all, expected, "page size {max}");
        assert_eq!(pages, expected.len().div_ceil(max as usize));
    }
    // More than S3's 1,000-key response in one page.
    let page = store.list("", None, 5000).unwrap();
    assert_eq!(page.entries, expected);
    assert_eq!(page.next_cursor, None);

    let (train, _) = all_pages(store, "train/", 250);
    assert_eq!(train, expected[..1234]);
    let (one, _) = all_pages(store, "train/1/img_0001", 3);
    let keys: Vec<_> = one.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "train/1/img_00010.npz",
            "train/1/img_00013.npz",
            "train/1/img_00016.npz",
            "train/1/img_00019.npz"
        ]
    );
    let (valid, _) = all_pages(store, "v", 2);
    assert_eq!(valid.len(), 5);
    assert!(all_pages(store, "nothing/", 5).0.is_empty());
    assert!(all_pages(store, "train/9", 5).0.is_empty());

    let page = store
        .list("train/", Some("train/2/img_01229.npz"), 3)
        .unwrap();
    let keys: Vec<_> = page.entries.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["train/2/img_01232.npz"]);
    assert_eq!(page.next_cursor, None);
    // A zero-sized page would never advance: it is one entry.
    let page = store.list("", None, 0).unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.next_cursor.as_deref(), Some(expected[0].0.as_str()));
}

#[test]
fn listings_page_through_more_than_a_thousand_keys() {
    let (memory, expected) = populated(|_| {});
    check_listings(&memory.store, &expected);
}

#[test]
fn services_without_order_or_offsets_list_the_same() {
    let (memory, expected) = populated(|remote| {
        remote.sorted_listing = false;
        remote.native_offset = false;
    });
    check_listings(&memory.store, &expected);
    let (memory, expected) = populated(|remote| remote.native_offset = false);
    check_listings(&memory.store, &expected);
}

#[test]
fn an_empty_root_prefix_lists_the_whole_bucket() {
    let memory = memory("", 1 << 20, 4);
    for key in ["b/1", "a", "c/d/e"] {
        put(&memory.store, key, b"xy");
    }
    let (all, _) = all_pages(&memory.store, "", 2);
    let keys: Vec<_> = all.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["a", "b/1", "c/d/e"]);
}

#[test]
fn bad_prefixes_are_invalid_config() {
    let memory = memory("p", 1 << 20, 4);
    for bad in ["/abs", "a//b/", "../x/"] {
        let err = memory.store.list(bad, None, 10).unwrap_err();
        assert_eq!(err.kind, ErrorKind::INVALID_CONFIG, "{bad}: {err}");
    }
}
