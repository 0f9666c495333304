//! Tests: the shared store over an in-memory `ObjectStore` (behind a test double), option
//! parsing and redaction, fault handling against local sockets, and a live run against moto.

mod abi;
mod azurite;
mod double;
mod faults;
mod listing;
mod live;
mod objects;
mod options;
mod secrets;

use std::{sync::Arc, time::Duration};

use dl_plugin_api::sdk::{
    testing::{self, pattern},
    Store, WriteOptions,
};
use object_store::memory::InMemory;

use crate::{
    error::Redactor,
    store::{Remote, RemoteStore, Tuning},
};

use double::{Double, Knobs};

/// A store rooted at `mem://bucket/<prefix>` over a fresh in-memory store.
struct Memory {
    store: RemoteStore,
    inner: Arc<InMemory>,
    knobs: Arc<Knobs>,
}

/// Builds a [`Memory`] store with `part_size` and `concurrency`.
fn memory(prefix: &str, part_size: usize, concurrency: usize) -> Memory {
    memory_with(prefix, part_size, concurrency, |_| {})
}

/// As [`memory`], with the [`Remote`] adjusted by `adjust` before use.
fn memory_with(
    prefix: &str,
    part_size: usize,
    concurrency: usize,
    adjust: impl FnOnce(&mut Remote),
) -> Memory {
    let inner = Arc::new(InMemory::new());
    let knobs = Arc::new(Knobs::default());
    let double = Double {
        inner: inner.clone(),
        knobs: Arc::clone(&knobs),
    };
    let mut remote = Remote {
        store: Arc::new(double),
        scheme: "mem".into(),
        authority: "bucket".into(),
        prefix: prefix.into(),
        endpoint: "memory://test".into(),
        tuning: Tuning {
            part_size,
            max_concurrency: concurrency,
            transfer_size: 1 << 16,
            timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(30),
        },
        redactor: Redactor::new([]),
        sorted_listing: true,
        native_offset: true,
        multipart: true,
    };
    adjust(&mut remote);
    Memory {
        store: RemoteStore::new(remote),
        inner,
        knobs,
    }
}

/// Every page of a listing; checks each page's length against `max`.
fn all_pages(store: &dyn Store, prefix: &str, max: u32) -> (Vec<(String, u64)>, usize) {
    let (mut all, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let page = store.list(prefix, cursor.as_deref(), max).unwrap();
        pages += 1;
        assert!(
            page.entries.len() <= max.max(1) as usize,
            "page longer than {max}"
        );
        all.extend(page.entries);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return (all, pages),
        }
    }
}

/// Writes `data` in uneven chunks, as a format's generator would; returns the reported size.
fn put(store: &dyn Store, key: &str, data: &[u8]) -> u64 {
    testing::put(store, key, data, &WriteOptions::default()).unwrap()
}

/// Reads a whole object in requests of `chunk` bytes.
fn get(store: &dyn Store, key: &str, chunk: usize) -> Vec<u8> {
    testing::get(store, key, chunk).unwrap()
}
