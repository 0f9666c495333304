//! Plugin discovery, vetting, loading and the registry of components; `plugins list` and
//! `plugins info`.

pub mod discover;
mod handle;
mod listing;
mod load;
mod optional;
mod registry;
mod vet;

use dl_plugin_api::abi::{backend_caps, format_caps, ComponentKind};

pub use handle::{ObjectReader, ObjectWriter, PluginCallError, Provenance, Reader, Session, Store};
pub use listing::{render_info, render_table};
pub use optional::{with_missing, OptionalPlugin, OPTIONAL_PLUGINS};
pub use registry::{BackendEntry, ComponentRow, FormatEntry, Registry, SearchError};

/// How `plugins list` reports a component or a library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Loaded and usable.
    Ok,
    /// A component of the same name was found earlier on the search path.
    Shadowed,
    /// Refused before loading (permissions or ownership).
    Insecure,
    /// Not loadable, or not a plugin.
    LoadError,
    /// A plugin this host cannot use (ABI version, layout, panic strategy).
    Incompatible,
    /// An optional first-party component that is not on the search path.
    NotInstalled,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Ok => "ok",
            Status::Shadowed => "shadowed",
            Status::Insecure => "insecure",
            Status::LoadError => "load-error",
            Status::Incompatible => "incompatible",
            Status::NotInstalled => "not-installed",
        })
    }
}

/// `format`, `backend`, or `unknown`.
pub fn kind_name(kind: ComponentKind) -> &'static str {
    match kind {
        ComponentKind::FORMAT => "format",
        ComponentKind::BACKEND => "backend",
        _ => "unknown",
    }
}

/// Names of the capability bits set in `caps` for a component of `kind`.
pub fn capability_names(kind: ComponentKind, caps: u64) -> Vec<&'static str> {
    let table: &[(u64, &str)] = match kind {
        ComponentKind::FORMAT => &[
            (format_caps::GENERATE, "generate"),
            (format_caps::READ, "read"),
            (format_caps::CHECK, "check"),
            (format_caps::EXACT_SIZE, "exact-size"),
            (format_caps::NO_READ_IO, "no-read-io"),
        ],
        ComponentKind::BACKEND => &[
            (backend_caps::READ, "read"),
            (backend_caps::WRITE, "write"),
            (backend_caps::LIST, "list"),
            (backend_caps::DELETE, "delete"),
            (backend_caps::DIRECT_IO, "direct-io"),
            (backend_caps::FSYNC, "fsync"),
            (backend_caps::MULTIPART, "multipart"),
        ],
        _ => &[],
    };
    table
        .iter()
        .filter(|(bit, _)| caps & bit != 0)
        .map(|&(_, name)| name)
        .collect()
}
