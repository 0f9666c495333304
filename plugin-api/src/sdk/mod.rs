//! What plugin authors write against: safe traits, plain Rust types and [`crate::export_plugin!`].
//!
//! A format implements [`FormatPlugin`] (and a [`FormatSession`] per configured dataset); a
//! storage backend implements [`BackendPlugin`] (and a [`Store`] per connected root). Every call
//! the host makes is wrapped so that a panic becomes an [`Error`] of kind
//! [`ErrorKind::PANICKED`] instead of ending the process.

mod aligned;
mod backend;
pub mod content;
mod error;
#[doc(hidden)]
pub mod export;
mod format;
mod io;
pub mod log;
pub mod memory;
mod spec;
pub mod testing;

pub use crate::abi::{backend_caps, format_caps, ErrorKind, ObjectMeta, StoreInfo};
pub use aligned::AlignedBuf;
pub use backend::{
    BackendDescription, BackendPlugin, ListPage, ObjectReader, ObjectWriter, Store, WriteOptions,
};
pub use error::{Error, Result};
pub use format::{CheckReport, FormatDescription, FormatPlugin, FormatSession, SampleReader};
pub use io::{Output, Sink, Source, MAX_READ_BYTES};
pub use spec::{DatasetSpec, Dtype, FileSpec, OptionSpec};
