//! Writing, publishing, reading, stat and delete of single objects.

use std::fs;

use dl_plugin_api::sdk::ErrorKind;

use super::*;

#[test]
fn objects_round_trip_in_both_modes() {
    for kind in KINDS {
        let dir = tempfile::tempdir().unwrap();
        let store = connect(kind, dir.path());
        for (i, size) in SIZES.into_iter().enumerate() {
            let key = format!("sub/dir/obj_{size}.bin");
            let data = pattern(size, i as u64);
            assert_eq!(
                put(&*store, &key, &data, false),
                size as u64,
                "{kind:?} {size}"
            );
            assert_eq!(store.stat(&key).unwrap().map(|m| m.size), Some(size as u64));
            for chunk in [4096, 1 << 20, 4 << 20] {
                assert!(
                    get(&*store, &key, chunk) == data,
                    "{kind:?}: {size} bytes read back in {chunk}-byte requests differ"
                );
            }
            assert!(
                fs::read(dir.path().join(&key)).unwrap() == data,
                "{kind:?} {size}: file on disk differs"
            );
        }
        let left: Vec<_> = names(&dir.path().join("sub/dir"))
            .into_iter()
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(
            left.is_empty(),
            "{kind:?}: temporary files left behind: {left:?}"
        );
    }
}

#[test]
fn buffered_reads_take_any_offset_and_stop_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let store = connect(Kind::File, dir.path());
    let data = pattern(10_000, 7);
    put(&*store, "x", &data, false);
    let mut reader = store.open_read("x").unwrap();
    let mut buf = vec![0u8; 333];
    assert_eq!(reader.read_at(9_999, &mut buf).unwrap(), 1);
    assert_eq!(buf[0], data[9_999]);
    assert_eq!(reader.read_at(17, &mut buf).unwrap(), 333);
    assert_eq!(buf, data[17..350]);
    assert_eq!(reader.read_at(20_000, &mut buf).unwrap(), 0);
}

#[test]
fn nothing_is_visible_before_finish_or_after_abort_and_drop() {
    for kind in KINDS {
        let dir = tempfile::tempdir().unwrap();
        let store = connect(kind, dir.path());
        let temp = dir.path().join("a/.x.npz.dl-partial");

        let mut writer = store.open_write("a/x.npz", &options(false)).unwrap();
        writer.write(&pattern(10_000, 1)).unwrap();
        assert_eq!(
            store.stat("a/x.npz").unwrap(),
            None,
            "{kind:?}: visible before finish"
        );
        assert!(temp.exists(), "{kind:?}: writes go to {}", temp.display());
        assert!(store.list("", None, 100).unwrap().entries.is_empty());
        writer.abort();
        assert_eq!(store.stat("a/x.npz").unwrap(), None);
        assert_eq!(
            names(&dir.path().join("a")),
            Vec::<String>::new(),
            "{kind:?}: abort left files"
        );
        let err = writer.write(b"more").unwrap_err();
        assert!(err.message.contains("aborted"), "{err}");
        assert!(
            writer.finish().is_err(),
            "{kind:?}: finish after abort must fail"
        );
        assert_eq!(store.stat("a/x.npz").unwrap(), None);

        let mut writer = store.open_write("a/x.npz", &options(true)).unwrap();
        writer.write(&pattern(5_000, 2)).unwrap();
        drop(writer);
        assert_eq!(store.stat("a/x.npz").unwrap(), None);
        assert_eq!(
            names(&dir.path().join("a")),
            Vec::<String>::new(),
            "{kind:?}: drop left files"
        );
    }
}

#[test]
fn finished_writer_refuses_more_writes() {
    for kind in KINDS {
        let dir = tempfile::tempdir().unwrap();
        let store = connect(kind, dir.path());
        let mut writer = store.open_write("x", &options(false)).unwrap();
        writer.write(b"abc").unwrap();
        assert_eq!(writer.finish().unwrap().size, 3);
        assert!(writer
            .write(b"d")
            .unwrap_err()
            .message
            .contains("already finished"));
        assert!(writer.finish().is_err());
        writer.abort();
        drop(writer);
        assert_eq!(
            fs::read(dir.path().join("x")).unwrap(),
            b"abc",
            "{kind:?}: abort after finish must keep the object"
        );
    }
}

#[test]
fn fsync_writes_succeed() {
    for kind in KINDS {
        let dir = tempfile::tempdir().unwrap();
        let store = connect(kind, dir.path());
        let data = pattern(123_457, 3);
        assert_eq!(put(&*store, "deep/er/f", &data, true), data.len() as u64);
        assert!(get(&*store, "deep/er/f", 1 << 20) == data);
    }
}

#[test]
fn rewriting_replaces_the_object_and_a_leftover_partial_file() {
    for kind in KINDS {
        let dir = tempfile::tempdir().unwrap();
        let store = connect(kind, dir.path());
        put(&*store, "x", &pattern(100_000, 1), false);
        fs::write(dir.path().join(".x.dl-partial"), vec![1u8; 50_000]).unwrap();
        let data = pattern(10, 2);
        put(&*store, "x", &data, false);
        assert_eq!(fs::read(dir.path().join("x")).unwrap(), data);
        assert_eq!(names(dir.path()), ["x"]);
    }
}

#[test]
fn stat_reports_missing_objects_and_refuses_directories() {
    let dir = tempfile::tempdir().unwrap();
    let store = connect(Kind::File, dir.path());
    assert_eq!(store.stat("missing").unwrap(), None);
    assert_eq!(store.stat("no/such/dir/x").unwrap(), None);
    put(&*store, "sub/file", b"12345", false);
    assert_eq!(
        store.stat("sub/file/below").unwrap(),
        None,
        "a file as parent means absent"
    );
    let err = store.stat("sub").unwrap_err();
    assert_eq!(err.kind, ErrorKind::INVALID_CONFIG);
    assert!(
        err.message
            .contains(&dir.path().join("sub").display().to_string()),
        "{err}"
    );
    assert_eq!(
        store.stat("../escape").unwrap_err().kind,
        ErrorKind::INVALID_CONFIG
    );
}

#[test]
fn opening_a_missing_object_names_the_full_path() {
    for kind in KINDS {
        let dir = tempfile::tempdir().unwrap();
        let store = connect(kind, dir.path());
        let err = store
            .open_read("train/x.npz")
            .err()
            .expect("missing object opened");
        assert_eq!(err.kind, ErrorKind::NOT_FOUND, "{kind:?}: {err}");
        let path = dir.path().join("train/x.npz");
        let expected = format!("open {} for reading", path.display());
        assert!(err.message.starts_with(&expected), "{err}");
        fs::create_dir_all(dir.path().join("train/sub")).unwrap();
        let err = store
            .open_read("train/sub")
            .err()
            .expect("directory opened as an object");
        assert_eq!(err.kind, ErrorKind::INVALID_CONFIG, "{kind:?}: {err}");
        assert!(err.message.contains("is a directory"), "{kind:?}: {err}");
    }
}

#[test]
fn delete_removes_objects_and_ignores_missing_ones() {
    for kind in KINDS {
        let dir = tempfile::tempdir().unwrap();
        let store = connect(kind, dir.path());
        put(&*store, "a/b", b"x", false);
        store.delete("a/b").unwrap();
        assert_eq!(store.stat("a/b").unwrap(), None);
        store.delete("a/b").unwrap();
        store.delete("never/was").unwrap();
        assert!(
            store.delete("a").is_err(),
            "{kind:?}: deleting a directory must fail"
        );
    }
}

#[test]
fn connect_accepts_missing_roots_and_refuses_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("not/yet");
    let store = connect(Kind::Direct, &root);
    assert_eq!(store.stat("x").unwrap(), None);
    assert!(store.list("", None, 10).unwrap().entries.is_empty());
    put(&*store, "x", b"hello", false);
    assert_eq!(fs::read(root.join("x")).unwrap(), b"hello");
    assert_eq!(store.local_path("x"), Some(root.join("x")));
    assert_eq!(store.local_path("../x"), None);

    let plain = FileBackend
        .connect(&root.display().to_string(), &serde_json::json!({}))
        .unwrap();
    assert_eq!(plain.stat("x").unwrap().map(|m| m.size), Some(5));

    let file = root.join("x");
    for kind in KINDS {
        let err = match kind {
            Kind::File => FileBackend.connect(&file.display().to_string(), &serde_json::json!({})),
            Kind::Direct => DirectBackend.connect(
                &format!("direct://{}", file.display()),
                &serde_json::json!({}),
            ),
        }
        .err()
        .expect("a file is not a root");
        assert_eq!(err.kind, ErrorKind::INVALID_CONFIG);
        assert!(err.message.contains(&file.display().to_string()), "{err}");
    }
}

#[test]
fn descriptions_and_store_info() {
    use dl_plugin_api::sdk::backend_caps as caps;
    let file = FileBackend.describe();
    assert_eq!((file.name, file.options.len()), ("file", 0));
    assert_eq!(
        file.capabilities,
        caps::READ | caps::WRITE | caps::LIST | caps::DELETE | caps::FSYNC
    );
    let direct = DirectBackend.describe();
    assert_eq!(direct.name, "direct");
    assert_eq!(direct.capabilities, file.capabilities | caps::DIRECT_IO);

    let dir = tempfile::tempdir().unwrap();
    assert_eq!(connect(Kind::File, dir.path()).info().alignment, 1);
    let info = connect(Kind::Direct, dir.path()).info();
    assert_eq!((info.alignment, info.transfer_size), (4096, 4 << 20));
}
