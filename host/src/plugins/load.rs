//! Opening one plugin library: header, ABI version, layout, then the library's own metadata.
//! Every failure becomes one sentence that says what the file is and what to do.

use super::vet::Vetted;
use abi_stable::library::{lib_header_from_path, LibraryError};
use dl_plugin_api::abi::{
    self, Component, HostServices, LibraryInfo, LogFn, LogLevel, PluginModule_Ref,
};

/// A library that loaded and passed every check.
pub struct LoadedLibrary {
    /// Facts the library reports about itself.
    pub info: LibraryInfo,
    /// Its components, in the order it lists them.
    pub components: Vec<Component>,
}

/// Why a library could not be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoadError {
    /// Not a shared library this process can open.
    #[error("not a loadable shared library: {0}")]
    Open(String),
    /// A shared library without the dl-driver plugin header.
    #[error(
        "not a dl-driver plugin (it exports no plugin header); remove it from the plugin directory, \
         or build it with dl_plugin_api::export_plugin!"
    )]
    NotAPlugin,
    /// Built against another ABI major.
    #[error(
        "built for plugin ABI {found} (dl-plugin-api {found_version}); this dl-driver supports ABI {supported}.x \
         — rebuild the plugin against dl-plugin-api {supported}.x, or use a dl-driver that supports ABI {found}"
    )]
    Incompatible {
        /// ABI major of the library.
        found: u32,
        /// Full dl-plugin-api version of the library.
        found_version: String,
        /// ABI major of this host.
        supported: u32,
    },
    /// Same ABI version, different types: a modified or forked interface crate.
    #[error(
        "its plugin interface types differ from this dl-driver's although both say dl-plugin-api {version} \
         (a modified or forked dl-plugin-api?) — rebuild it against the released dl-plugin-api {supported}.x; \
         RUST_LOG=debug shows the layout difference"
    )]
    LayoutMismatch {
        /// Version the library claims.
        version: String,
        /// ABI major of this host.
        supported: u32,
        /// abi_stable's full report, for debug logs.
        detail: String,
    },
    /// Built with `panic = "abort"`: a panic in it would end the whole run.
    #[error("built with panic = \"abort\", so a panic in it would kill the run — rebuild it with panic = \"unwind\"")]
    PanicAbort,
    /// The library's own initialisation failed.
    #[error("failed to initialise: {0}")]
    Init(String),
    /// Two components of the library share a name.
    #[error("lists the {kind} '{name}' twice — a library must give each component its own name")]
    DuplicateInLibrary {
        /// Component kind.
        kind: &'static str,
        /// The repeated name.
        name: String,
    },
}

impl LoadError {
    /// The status word shown by `plugins list`.
    pub fn status(&self) -> super::Status {
        match self {
            LoadError::Incompatible { .. }
            | LoadError::LayoutMismatch { .. }
            | LoadError::PanicAbort => super::Status::Incompatible,
            _ => super::Status::LoadError,
        }
    }
}

/// Loads the vetted file and checks it is a plugin this host can use.
pub fn load_library(vetted: &Vetted) -> Result<LoadedLibrary, LoadError> {
    let header = lib_header_from_path(&vetted.load_path()).map_err(|err| match err {
        LibraryError::GetSymbolError { .. } => LoadError::NotAPlugin,
        LibraryError::OpenError { err, .. } => LoadError::Open(err.to_string()),
        LibraryError::InvalidAbiHeader(found) => LoadError::Open(format!(
            "it was built with an abi_stable release incompatible with this dl-driver's ({found:?})"
        )),
        other => LoadError::Open(one_line(&other.to_string())),
    })?;

    let version = header.version_strings();
    let parsed = version.parsed().map_err(|err| {
        LoadError::Open(format!(
            "its plugin interface version '{}' is unreadable: {err}",
            version.version
        ))
    })?;
    if parsed.major != abi::ABI_MAJOR {
        return Err(LoadError::Incompatible {
            found: parsed.major,
            found_version: version.version.to_string(),
            supported: abi::ABI_MAJOR,
        });
    }

    let module = header
        .init_root_module::<PluginModule_Ref>()
        .map_err(|err| match err {
            LibraryError::AbiInstability(detail) => LoadError::LayoutMismatch {
                version: version.version.to_string(),
                supported: abi::ABI_MAJOR,
                detail: detail.to_string(),
            },
            LibraryError::IncompatibleVersionNumber { actual_version, .. } => {
                LoadError::Incompatible {
                    found: actual_version.major,
                    found_version: actual_version.to_string(),
                    supported: abi::ABI_MAJOR,
                }
            }
            other => LoadError::Init(one_line(&other.to_string())),
        })?;

    let info = (module.library())();
    if !info.panic_unwind {
        return Err(LoadError::PanicAbort);
    }
    let services = HostServices {
        host_version: env!("CARGO_PKG_VERSION").into(),
        log: LogFn(forward_log),
        extra: "{}".into(),
    };
    (module.init())(services)
        .into_result()
        .map_err(|err| LoadError::Init(err.message.into_string()))?;
    let components = (module.components())()
        .into_result()
        .map_err(|err| LoadError::Init(err.message.into_string()))?
        .into_vec();

    let mut seen = std::collections::BTreeSet::new();
    for component in &components {
        if !seen.insert((component.info.kind.0, component.info.name.to_string())) {
            return Err(LoadError::DuplicateInLibrary {
                kind: super::kind_name(component.info.kind),
                name: component.info.name.to_string(),
            });
        }
    }
    Ok(LoadedLibrary { info, components })
}

/// Plugin log messages land in the host's log under the `plugin` target.
extern "C" fn forward_log(
    level: LogLevel,
    target: abi_stable::std_types::RStr<'_>,
    message: abi_stable::std_types::RStr<'_>,
) {
    let (target, message) = (target.as_str(), message.as_str());
    match level {
        LogLevel::ERROR => tracing::error!(target: "plugin", component = target, "{message}"),
        LogLevel::WARN => tracing::warn!(target: "plugin", component = target, "{message}"),
        LogLevel::INFO => tracing::info!(target: "plugin", component = target, "{message}"),
        _ => tracing::debug!(target: "plugin", component = target, "{message}"),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
