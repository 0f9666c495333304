//! Plain `#[repr(C)]` data that crosses the plugin boundary.

use abi_stable::{
    std_types::{ROption, RString, RVec},
    StableAbi,
};

use super::interfaces::{BackendComponent_TO, FormatComponent_TO};
use abi_stable::std_types::RBox;

/// Result of every fallible call across the boundary.
pub type PluginResult<T> = abi_stable::std_types::RResult<T, PluginError>;

/// What went wrong, as an open-ended code: hosts treat unknown values as [`ErrorKind::OTHER`].
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorKind(pub u32);

impl ErrorKind {
    /// Anything not covered by a more specific kind.
    pub const OTHER: Self = Self(0);
    /// The options or dataset description given to the plugin are not acceptable.
    pub const INVALID_CONFIG: Self = Self(1);
    /// The component does not implement the requested operation.
    pub const UNSUPPORTED: Self = Self(2);
    /// The object or file does not exist.
    pub const NOT_FOUND: Self = Self(3);
    /// An I/O operation failed.
    pub const IO: Self = Self(4);
    /// Data is malformed: bad checksum, truncated, wrong structure.
    pub const CORRUPT: Self = Self(5);
    /// The plugin panicked; the SDK caught it and reported it as this error.
    pub const PANICKED: Self = Self(6);
    /// Access was refused.
    pub const PERMISSION: Self = Self(7);
    /// An operation did not finish within its deadline.
    pub const TIMEOUT: Self = Self(8);
    /// A remote service could not be reached.
    pub const UNAVAILABLE: Self = Self(9);

    /// A short lowercase name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::INVALID_CONFIG => "invalid configuration",
            Self::UNSUPPORTED => "unsupported",
            Self::NOT_FOUND => "not found",
            Self::IO => "I/O error",
            Self::CORRUPT => "corrupt data",
            Self::PANICKED => "panic",
            Self::PERMISSION => "permission denied",
            Self::TIMEOUT => "timeout",
            Self::UNAVAILABLE => "unavailable",
            _ => "error",
        }
    }
}

/// An error reported by a plugin.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct PluginError {
    /// The class of error.
    pub kind: ErrorKind,
    /// One line for the user, naming what failed and, when known, what to do.
    pub message: RString,
    /// Whether repeating the same call may succeed.
    pub retryable: bool,
}

/// What kind of component an entry is.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ComponentKind(pub u32);

impl ComponentKind {
    /// A file format: generates files and performs a framework's reads of them.
    pub const FORMAT: Self = Self(1);
    /// A storage backend: stores and retrieves objects under a URI scheme.
    pub const BACKEND: Self = Self(2);
}

/// Capability bits of a format component.
pub mod format_caps {
    /// Can generate dataset files.
    pub const GENERATE: u64 = 1 << 0;
    /// Can perform the per-sample reads of a training framework.
    pub const READ: u64 = 1 << 1;
    /// Can decode and verify a whole file (`dl-driver check`).
    pub const CHECK: u64 = 1 << 2;
    /// Knows each file's exact size before generating it.
    pub const EXACT_SIZE: u64 = 1 << 3;
    /// Reading a sample performs no I/O (DLIO's `synthetic`): the host does not open the file.
    pub const NO_READ_IO: u64 = 1 << 4;
}

/// Capability bits of a backend component.
pub mod backend_caps {
    /// Supports `open_read` and ranged reads.
    pub const READ: u64 = 1 << 0;
    /// Supports `open_write`.
    pub const WRITE: u64 = 1 << 1;
    /// Supports `list`.
    pub const LIST: u64 = 1 << 2;
    /// Supports `delete`.
    pub const DELETE: u64 = 1 << 3;
    /// Bypasses the page cache (reads and writes need `StoreInfo::alignment`).
    pub const DIRECT_IO: u64 = 1 << 4;
    /// Honours `WriteOptions::fsync`.
    pub const FSYNC: u64 = 1 << 5;
    /// Uploads large objects in parts.
    pub const MULTIPART: u64 = 1 << 6;
}

/// Facts about a plugin library, readable before any component is used.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct LibraryInfo {
    /// Cargo package name of the plugin (`dl-plugin-npz`).
    pub package: RString,
    /// Version of the plugin package.
    pub version: RString,
    /// One-line description.
    pub description: RString,
    /// License expression from Cargo.toml (may be empty).
    pub license: RString,
    /// ABI major the library was built against.
    pub abi_major: u32,
    /// Version of `dl-plugin-api` the library was built against.
    pub api_version: RString,
    /// False if the library was built with `panic = "abort"` (panics cannot be contained).
    pub panic_unwind: bool,
}

/// Severity of a message a plugin logs through the host.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLevel(pub u32);

impl LogLevel {
    /// Failure the plugin could not handle itself.
    pub const ERROR: Self = Self(1);
    /// Something the user should know.
    pub const WARN: Self = Self(2);
    /// Progress and decisions.
    pub const INFO: Self = Self(3);
    /// Details for debugging.
    pub const DEBUG: Self = Self(4);
}

/// The host's logging function, wrapped so it can sit inside other ABI types.
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy)]
pub struct LogFn(
    /// Logs `message` at `level` under `target` (the component's name).
    pub  extern "C" fn(
        level: LogLevel,
        target: abi_stable::std_types::RStr<'_>,
        message: abi_stable::std_types::RStr<'_>,
    ),
);

/// Services the host offers to a plugin library, handed over once by `PluginModule::init`.
#[repr(C)]
#[derive(StableAbi, Clone)]
pub struct HostServices {
    /// Version of the dl-driver host.
    pub host_version: RString,
    /// Forwards plugin log messages into the host's log.
    pub log: LogFn,
    /// JSON object with facts added after ABI 1.0 (rank, world size, thread budget, …).
    pub extra: RString,
}

/// Describes one component of a library.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct ComponentInfo {
    /// Format or backend.
    pub kind: ComponentKind,
    /// Name users write: a `dataset.format` value, or a URI scheme for backends.
    pub name: RString,
    /// Component version (normally the plugin package version).
    pub version: RString,
    /// One-line description.
    pub description: RString,
    /// Bits from [`format_caps`] or [`backend_caps`].
    pub capabilities: u64,
    /// File extension without the dot (formats only; empty for backends).
    pub extension: RString,
    /// JSON array describing the options the component accepts:
    /// `[{"name": .., "type": .., "default": .., "description": ..}]`.
    pub options_schema: RString,
}

/// One entry of a library's component list: its description and the object itself.
#[repr(C)]
#[derive(StableAbi)]
pub struct Component {
    /// What the component is.
    pub info: ComponentInfo,
    /// The format object, when `info.kind` is [`ComponentKind::FORMAT`].
    pub format: ROption<FormatComponent_TO<'static, RBox<()>>>,
    /// The backend object, when `info.kind` is [`ComponentKind::BACKEND`].
    pub backend: ROption<BackendComponent_TO<'static, RBox<()>>>,
}

/// One data file of a dataset, as the host's run plan describes it.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct FileSpec {
    /// Position in the combined file list (training files first, then evaluation files).
    pub index: u64,
    /// `train` or `valid`.
    pub split: RString,
    /// Key of the file relative to the dataset root (`train/1/img_07_of_64.npz`).
    pub key: RString,
    /// Shape of one sample (for example `[d1, d2]`).
    pub sample_shape: RVec<u64>,
    /// Number of samples in the file.
    pub samples: u64,
    /// Seed for the file's content; the same seed must give the same bytes.
    pub seed: u64,
    /// JSON object with per-file parameters added after ABI 1.0 (empty when none).
    pub extra: RString,
}

/// Facts about a stored object.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Size in bytes.
    pub size: u64,
    /// JSON object with facts added after ABI 1.0 (etag, modification time, …); empty if none.
    pub extra: RString,
}

impl ObjectMeta {
    /// Metadata with just a size.
    pub fn new(size: u64) -> Self {
        ObjectMeta {
            size,
            extra: RString::new(),
        }
    }
}

/// One object found by a listing.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// Key relative to the store root.
    pub key: RString,
    /// Size in bytes.
    pub size: u64,
}

/// One page of a listing.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Default)]
pub struct ListPage {
    /// Objects of this page, in key order.
    pub entries: RVec<ListEntry>,
    /// Cursor for the next page; empty when the listing is complete.
    pub next_cursor: RString,
}

/// How a store wants to be driven.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct StoreInfo {
    /// Required alignment of offsets, lengths and buffer addresses of reads: a power of two
    /// (1 = none).
    pub alignment: u64,
    /// Preferred size of one read or write request in bytes.
    pub transfer_size: u64,
    /// JSON object with hints added after ABI 1.0 (requests in flight, part sizes, …).
    pub extra: RString,
}

impl StoreInfo {
    /// Store info with no extra hints.
    pub fn new(alignment: u64, transfer_size: u64) -> Self {
        StoreInfo {
            alignment,
            transfer_size,
            extra: RString::new(),
        }
    }
}

/// Options of one object write.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// Expected final size, or `u64::MAX` when unknown.
    pub size_hint: u64,
    /// Make the object durable (fsync or the store's equivalent) before `finish` returns.
    pub fsync: bool,
    /// JSON object with options added after ABI 1.0 (empty when none).
    pub extra: RString,
}

/// What `check` found in a file that decoded cleanly.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Number of samples found.
    pub samples: u64,
    /// Bytes examined.
    pub bytes: u64,
}
