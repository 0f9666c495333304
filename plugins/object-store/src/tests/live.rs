//! The `s3` backend against a real S3 server: moto on 127.0.0.1. Never skipped: without
//! moto the test fails and says how to get it.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use dl_plugin_api::sdk::{BackendPlugin, ErrorKind, Store, WriteOptions};
use serde_json::json;

use super::{all_pages, pattern};
use crate::S3Backend;

const SECRET: &str = "SECRET-do-not-print-123";
const MIB: usize = 1 << 20;

/// moto's server process, killed when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("DL_DRIVER_MOTO") {
        return PathBuf::from(path);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server")
}

impl Moto {
    fn start() -> Moto {
        let binary = moto_binary();
        assert!(
            binary.is_file(),
            "moto_server not found at {}: install moto[server] into the workspace's .venv \
             (pip install -r scripts/test-requirements.txt) or set DL_DRIVER_MOTO to its path",
            binary.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("start {}: {err}", binary.display()));
        let mut moto = Moto { child, port };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = moto.child.try_wait().unwrap() {
                panic!("moto_server exited with {status} before listening on {port}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto_server did not listen on {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One unsigned HTTP request (moto does not check signatures); the status line and body.
    fn raw(&self, method: &str, target: &str) -> (String, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        let (head, body) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
        (head.to_string(), body.to_string())
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn store_at(moto: &Moto, root: &str) -> Box<dyn Store> {
    let options = json!({
        "endpoint_url": moto.endpoint(),
        "access_key_id": "testing",
        "secret_access_key": SECRET,
        "region": "us-east-1",
        "s3_force_path_style": "true",
        "part_size_bytes": 5 * MIB,
        "max_concurrent_parts": 2,
        "s3_max_attempts": 2,
        "timeout_seconds": 2,
        "connect_timeout_seconds": 2,
        "retry_timeout_seconds": 5,
        "some_dlio_key": "ignored",
    });
    S3Backend.connect(root, &options).unwrap()
}

#[test]
fn s3_against_moto() {
    let mut moto = Moto::start();
    let (status, _) = moto.raw("PUT", "/bench");
    assert!(
        status.starts_with("HTTP/1.1 200"),
        "create bucket: {status}"
    );
    let store = store_at(&moto, "s3://bench/data");

    // 11 MiB in uneven writes: three parts of 5, 5 and 1 MiB.
    let big = pattern(11 * MIB, 42);
    let mut writer = store
        .open_write("train/big.bin", &WriteOptions::default())
        .unwrap();
    for chunk in big.chunks(MIB + 12_345) {
        writer.write(chunk).unwrap();
    }
    assert_eq!(
        store.stat("train/big.bin").unwrap(),
        None,
        "visible before finish"
    );
    assert_eq!(writer.finish().unwrap().size, (11 * MIB) as u64);
    let (head, _) = moto.raw("HEAD", "/bench/data/train/big.bin");
    assert!(head.contains("-3\""), "a three-part upload: {head}");
    assert_eq!(
        store.stat("train/big.bin").unwrap().map(|m| m.size),
        Some((11 * MIB) as u64)
    );

    let mut reader = store.open_read("train/big.bin").unwrap();
    assert_eq!(reader.size().unwrap(), (11 * MIB) as u64);
    for (offset, len) in [
        (0, 100),
        (5 * MIB - 10, 20),
        (10 * MIB, MIB),
        (11 * MIB - 1, 1),
    ] {
        let mut buf = vec![0u8; len];
        assert_eq!(reader.read_at(offset as u64, &mut buf).unwrap(), len as u64);
        assert!(buf == big[offset..offset + len], "bytes {offset}+{len}");
    }
    let mut whole = vec![0u8; 12 * MIB];
    assert_eq!(reader.read_at(0, &mut whole).unwrap(), (11 * MIB) as u64);
    assert!(
        whole[..11 * MIB] == big[..],
        "whole object in transfer-size pieces"
    );
    assert_eq!(reader.read_at((11 * MIB) as u64, &mut whole).unwrap(), 0);

    // An aborted multipart upload leaves neither an object nor an open upload.
    let mut aborted = store
        .open_write("train/aborted.bin", &WriteOptions::default())
        .unwrap();
    aborted.write(&pattern(6 * MIB, 7)).unwrap();
    aborted.abort();
    assert_eq!(store.stat("train/aborted.bin").unwrap(), None);
    let (_, uploads) = moto.raw("GET", "/bench?uploads");
    assert!(
        !uploads.contains("<Upload>"),
        "uploads left open: {uploads}"
    );

    // 1,100 small objects, written from several threads, listed in pages.
    std::thread::scope(|scope| {
        for t in 0..8 {
            let store = &store;
            scope.spawn(move || {
                for i in (t..1100).step_by(8) {
                    let mut writer = store
                        .open_write(&format!("many/obj_{i:04}"), &WriteOptions::default())
                        .unwrap();
                    writer.write(format!("object {i}").as_bytes()).unwrap();
                    writer.finish().unwrap();
                }
            });
        }
    });
    let (many, pages) = all_pages(&*store, "many/", 250);
    assert_eq!(pages, 5);
    let expected: Vec<(String, u64)> = (0..1100)
        .map(|i| {
            (
                format!("many/obj_{i:04}"),
                format!("object {i}").len() as u64,
            )
        })
        .collect();
    assert_eq!(many, expected);
    let page = store.list("", None, 5000).unwrap();
    assert_eq!(page.entries.len(), 1101, "past S3's 1,000 keys a response");
    assert_eq!(page.next_cursor, None);
    let page = store
        .list("many/obj_10", Some("many/obj_1050"), 100)
        .unwrap();
    assert_eq!(page.entries.len(), 49);

    store.delete("train/big.bin").unwrap();
    assert_eq!(store.stat("train/big.bin").unwrap(), None);
    store.delete("train/big.bin").unwrap();
    let err = store.open_read("train/big.bin").err().unwrap();
    assert_eq!(err.kind, ErrorKind::NOT_FOUND, "{err}");

    // A bucket that does not exist.
    let missing = store_at(&moto, "s3://no-such-bucket/x");
    let err = missing.list("", None, 10).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NOT_FOUND, "{err}");
    assert!(err.message.contains("no such bucket"), "{err}");
    let mut writer = missing.open_write("k", &WriteOptions::default()).unwrap();
    writer.write(b"x").unwrap();
    let put_err = writer.finish().unwrap_err();
    for err in [&err, &put_err] {
        assert!(err.message.contains(&moto.endpoint()), "{err}");
        assert!(!err.message.contains(SECRET), "{err}");
    }

    // The server goes away: a read fails within the retry budget and names the endpoint.
    let mut reader = store.open_read("many/obj_0007").unwrap();
    moto.kill();
    let started = Instant::now();
    let err = reader.read_at(0, &mut [0u8; 16]).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.kind, ErrorKind::UNAVAILABLE, "{err}");
    let named = format!("GET s3://bench/data/many/obj_0007 at {}", moto.endpoint());
    assert!(err.message.starts_with(&named), "{err}");
    assert!(err.message.contains("(after 2 attempts)"), "{err}");
    assert!(!err.message.contains(SECRET), "{err}");
    let err = store.stat("many/obj_0008").unwrap_err();
    assert!(err.message.contains(&moto.endpoint()) && !err.message.contains(SECRET));
}
