//! The `indexed_binary` and `mmap_indexed_binary` formats: a data file holding its samples back
//! to back as raw bytes, with two index files beside it, `<file>.off.idx` and `<file>.sz.idx`,
//! each an array of native-endian u64 (the samples' offsets and sizes), as DLIO writes them.
//!
//! Unlike DLIO (spec Q-11), the offsets are the true offsets in the data file, not offsets that
//! restart at 0 in every generation buffer.
//!
//! Both formats share the files; they differ in the reads: `indexed_binary` seeks to each
//! sample and reads it, `mmap_indexed_binary` maps the data file and touches the sample's pages.

mod check;
mod format;
mod generate;
mod index;
mod layout;
mod mmap;
mod read;
mod session;

#[cfg(test)]
mod tests;

pub use format::{IndexedBinary, MmapIndexedBinary};
pub use session::{IndexedSession, ReadMode};

dl_plugin_api::export_plugin! {
    description: "DLIO indexed_binary and mmap_indexed_binary formats (raw samples + u64 offset/size indexes)",
    formats: [IndexedBinary, MmapIndexedBinary],
    backends: [],
}
