//! What makes `direct://` different: alignment, the real `O_DIRECT` flag, refusing file systems.

use std::{
    fs::{self, OpenOptions},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use dl_plugin_api::sdk::ErrorKind;

use super::*;
use crate::store::LocalStore;

#[test]
fn misaligned_direct_reads_are_refused_with_an_explanation() {
    let dir = tempfile::tempdir().unwrap();
    let store = connect(Kind::Direct, dir.path());
    put(&*store, "x", &pattern(20_000, 1), false);
    let mut reader = store.open_read("x").unwrap();
    let mut buf = BlockBuf::new(3 * 4096).unwrap();
    let cases: [(u64, std::ops::Range<usize>); 3] = [(1, 0..4096), (0, 0..100), (0, 1..4097)];
    for (offset, range) in cases {
        let err = reader
            .read_at(offset, &mut buf.whole_mut()[range.clone()])
            .unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::INVALID_CONFIG,
            "offset {offset} range {range:?}"
        );
        assert!(err.message.contains("multiples of 4096"), "{err}");
    }
    assert_eq!(
        reader
            .read_at(16_384, &mut buf.whole_mut()[..8192])
            .unwrap(),
        20_000 - 16_384
    );
    assert_eq!(
        reader
            .read_at(20_480, &mut buf.whole_mut()[..4096])
            .unwrap(),
        0
    );
}

/// The `open(2)` flags of this process's descriptor for `path`, from `/proc/self/fdinfo`.
fn open_flags(path: &Path) -> Option<i32> {
    let path = fs::canonicalize(path).ok()?;
    for entry in fs::read_dir("/proc/self/fd").ok()? {
        let entry = entry.ok()?;
        if fs::read_link(entry.path()).ok() == Some(path.clone()) {
            let fd = entry.file_name().into_string().ok()?;
            let info = fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).ok()?;
            let flags = info.lines().find_map(|line| line.strip_prefix("flags:"))?;
            return i32::from_str_radix(flags.trim(), 8).ok();
        }
    }
    None
}

#[test]
fn direct_stores_really_open_with_o_direct_and_file_stores_do_not() {
    for kind in KINDS {
        let dir = tempfile::tempdir().unwrap();
        let store = connect(kind, dir.path());
        let mut writer = store.open_write("x", &options(false)).unwrap();
        let flags =
            open_flags(&dir.path().join(".x.dl-partial")).expect("writer's descriptor not found");
        assert_eq!(
            flags & libc::O_DIRECT != 0,
            kind == Kind::Direct,
            "{kind:?} writer flags {flags:o}"
        );
        writer.write(&[1; 10]).unwrap();
        writer.finish().unwrap();
        let reader = store.open_read("x").unwrap();
        let flags = open_flags(&dir.path().join("x")).expect("reader's descriptor not found");
        assert_eq!(
            flags & libc::O_DIRECT != 0,
            kind == Kind::Direct,
            "{kind:?} reader flags {flags:o}"
        );
        drop(reader);
    }
}

fn assert_refused(err: dl_plugin_api::sdk::Error, path: &Path) {
    assert_eq!(err.kind, ErrorKind::UNSUPPORTED, "{err}");
    let expected = format!(
        "{}: the file system refused O_DIRECT (EINVAL); direct:// needs one that supports direct I/O \
         (ext4, xfs, …) — use file:// or a plain path instead",
        path.display()
    );
    assert_eq!(err.message, expected);
}

#[test]
fn refused_o_direct_is_one_unsupported_error() {
    // procfs refuses O_DIRECT on every kernel, so the read path is checked for real here.
    assert!(
        Path::new("/proc/version").exists(),
        "this test needs procfs at /proc"
    );
    let store = LocalStore::connect(crate::paths::Mode::Direct, "direct:///proc").unwrap();
    let err = dl_plugin_api::sdk::Store::open_read(&store, "version")
        .err()
        .expect("O_DIRECT open of /proc/version");
    assert_refused(err, Path::new("/proc/version"));
}

#[test]
fn direct_on_tmpfs_is_refused_cleanly_or_works() {
    let shm = Path::new("/dev/shm");
    assert!(
        shm.is_dir(),
        "this test needs tmpfs at /dev/shm, to check direct:// on a file system that may refuse O_DIRECT"
    );
    let dir = tempfile::tempdir_in(shm).unwrap();
    let probe = dir.path().join("probe");
    let refuses = match OpenOptions::new()
        .write(true)
        .create(true)
        .custom_flags(libc::O_DIRECT)
        .open(&probe)
    {
        Ok(_) => false,
        Err(err) => err.raw_os_error() == Some(libc::EINVAL),
    };
    let _ = fs::remove_file(&probe);
    let store = connect(Kind::Direct, dir.path());
    if refuses {
        let target: PathBuf = dir.path().join("x");
        assert_refused(
            store
                .open_write("x", &options(false))
                .err()
                .expect("write on tmpfs"),
            &target,
        );
        assert!(
            names(dir.path()).is_empty(),
            "refused write left {:?}",
            names(dir.path())
        );
        fs::write(&target, b"data").unwrap();
        assert_refused(store.open_read("x").err().expect("read on tmpfs"), &target);
    } else {
        // Linux 6.6 and later give tmpfs O_DIRECT; then direct:// must simply work there.
        let data = pattern(10_000, 4);
        put(&*store, "x", &data, true);
        assert!(get(&*store, "x", 1 << 20) == data);
    }
}
