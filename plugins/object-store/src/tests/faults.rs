//! Faults against local sockets: a closed port, a server that never answers, and one that
//! throttles. Errors must come within the retry budget, name what failed and count attempts.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use dl_plugin_api::sdk::{ErrorKind, Store};
use serde_json::json;

use crate::{
    connect::{connect, Service},
    store::RemoteStore,
};

fn s3_at(port: u16, attempts: u32, timeout: f64) -> RemoteStore {
    let options = json!({
        "endpoint_url": format!("http://127.0.0.1:{port}"),
        "access_key_id": "testing",
        "secret_access_key": "testing-secret",
        "s3_max_attempts": attempts,
        "timeout_seconds": timeout,
        "connect_timeout_seconds": timeout,
        "retry_timeout_seconds": 10,
    });
    connect(Service::S3, "s3://bench/data", &options).unwrap()
}

#[test]
fn a_closed_port_fails_fast_and_says_so() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let store = s3_at(port, 2, 2.0);
    let started = Instant::now();
    let err = store.stat("train/img_1_of_8.npz").unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.kind, ErrorKind::UNAVAILABLE, "{err}");
    assert!(err.retryable);
    let head = format!(
        "HEAD s3://bench/data/train/img_1_of_8.npz at http://127.0.0.1:{port}: cannot connect"
    );
    assert!(err.message.starts_with(&head), "{err}");
    assert!(err.message.ends_with("(after 2 attempts)"), "{err}");
}

#[test]
fn a_server_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and holds connections without a byte in reply.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(16) {
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(60));
    });
    let store = s3_at(port, 2, 1.0);
    let started = Instant::now();
    let err = store.stat("k").unwrap_err();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "two attempts of 1 s: {took:?}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(err.kind, ErrorKind::TIMEOUT, "{err}");
    assert!(
        err.message.contains("timed out (timeout_seconds = 1)"),
        "{err}"
    );
    assert!(err.message.ends_with("(after 2 attempts)"), "{err}");
}

/// Answers the first `failures` requests with 503 and later HEADs with a 42-byte object.
fn throttling_server(failures: usize) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let n = count.fetch_add(1, Ordering::SeqCst);
            read_head(&mut stream);
            let reply = if n < failures {
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            } else {
                "HTTP/1.1 200 OK\r\nContent-Length: 42\r\nETag: \"e\"\r\n\
                 Last-Modified: Tue, 15 Nov 1994 08:12:31 GMT\r\nConnection: close\r\n\r\n"
            };
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (port, seen)
}

fn read_head(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
}

#[test]
fn throttling_is_retried_within_the_attempts() {
    let (port, seen) = throttling_server(2);
    let store = s3_at(port, 3, 5.0);
    let meta = store.stat("k").unwrap().expect("found after two 503s");
    assert_eq!(meta.size, 42);
    assert_eq!(seen.load(Ordering::SeqCst), 3);

    let (port, seen) = throttling_server(100);
    let store = s3_at(port, 2, 5.0);
    let err = store.stat("k").unwrap_err();
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    assert_eq!(err.kind, ErrorKind::UNAVAILABLE, "{err}");
    assert!(
        err.message.contains("HTTP 503 Service Unavailable")
            && err.message.ends_with("(after 2 attempts)"),
        "{err}"
    );
}
