//! Paged listings through the store.

use super::*;

fn collect(store: &dyn Store, prefix: &str, max: u32) -> (Vec<(String, u64)>, usize) {
    let (mut all, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let page = store.list(prefix, cursor.as_deref(), max).unwrap();
        pages += 1;
        assert!(page.entries.len() <= max as usize, "page longer than {max}");
        all.extend(page.entries);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return (all, pages),
        }
    }
}

#[test]
fn listing_pages_through_everything_and_skips_partial_files() {
    for kind in KINDS {
        let dir = tempfile::tempdir().unwrap();
        let store = connect(kind, dir.path());
        let mut expected = Vec::new();
        for i in 0..11 {
            let key = format!("train/{}/img_{i:02}.npz", i % 3);
            put(&*store, &key, &pattern(i * 100, i as u64), false);
            expected.push((key, i as u64 * 100));
        }
        put(&*store, "valid/img_0.npz", b"v", false);
        expected.push(("valid/img_0.npz".into(), 1));
        expected.sort();
        // An unfinished write in the middle of the tree must not show.
        let mut open = store
            .open_write("train/1/img_99.npz", &options(false))
            .unwrap();
        open.write(b"partial").unwrap();
        assert!(dir.path().join("train/1/.img_99.npz.dl-partial").exists());

        let (all, pages) = collect(&*store, "", 4);
        assert_eq!(all, expected, "{kind:?}");
        assert_eq!(pages, 3);
        let (train, pages) = collect(&*store, "train/", 2);
        assert_eq!(train, expected[..11], "{kind:?}");
        assert!(pages > 2);
        let (one, _) = collect(&*store, "train/1/img_0", 100);
        let keys: Vec<_> = one.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "train/1/img_01.npz",
                "train/1/img_04.npz",
                "train/1/img_07.npz"
            ]
        );
        assert!(collect(&*store, "nothing/", 5).0.is_empty());

        let page = store.list("", Some("train/1/img_04.npz"), 2).unwrap();
        let keys: Vec<_> = page.entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["train/1/img_07.npz", "train/1/img_10.npz"]);
        assert_eq!(page.next_cursor.as_deref(), Some("train/1/img_10.npz"));
        open.abort();
    }
}
