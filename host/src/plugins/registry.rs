//! The components of every library found on the search path, with the first library to
//! provide a name winning and later ones recorded as shadowed.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use abi_stable::std_types::{RBox, RStr};
use dl_plugin_api::abi::{BackendComponent_TO, Component, ComponentKind, FormatComponent_TO};

use super::{
    discover::{self, SearchDir},
    handle::{PluginCallError, Provenance, Session, Store},
    load::{self, LoadError},
    vet, Status,
};

/// How one component (or one unusable library) shows up in `plugins list`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ComponentRow {
    /// Component name (for an unusable library: its name without `libdl_plugin_` and suffix).
    pub name: String,
    /// `format`, `backend`, or `?` for an unusable library.
    pub kind: &'static str,
    /// Component version.
    pub version: String,
    /// dl-plugin-api version the library was built against.
    pub abi: String,
    /// ok, shadowed, insecure, load-error or incompatible.
    pub status: Status,
    /// Why the status is not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The library file.
    pub source: PathBuf,
    /// Capability names.
    pub capabilities: Vec<&'static str>,
    /// One-line description.
    pub description: String,
    /// File extension (formats).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub extension: String,
    /// Options the component accepts.
    pub options: serde_json::Value,
}

/// A loaded format component.
pub struct FormatEntry {
    origin: Arc<Provenance>,
    object: FormatComponent_TO<'static, RBox<()>>,
    /// File extension.
    pub extension: String,
    /// Bits from `format_caps`.
    pub capabilities: u64,
}

impl FormatEntry {
    /// Configures the format for a dataset (JSON of the resolved `dataset` section).
    pub fn configure(&self, dataset_json: &str) -> Result<Session, PluginCallError> {
        let object = self.origin.call("configure", || {
            self.object.configure(RStr::from_str(dataset_json))
        })?;
        Ok(Session::new(
            Arc::clone(&self.origin),
            object,
            self.capabilities,
        ))
    }

    /// Where the component comes from.
    pub fn origin(&self) -> &Provenance {
        &self.origin
    }
}

/// A loaded backend component.
pub struct BackendEntry {
    origin: Arc<Provenance>,
    object: BackendComponent_TO<'static, RBox<()>>,
}

impl BackendEntry {
    /// Connects to the store at `root` with `options_json`.
    pub fn connect(&self, root: &str, options_json: &str) -> Result<Store, PluginCallError> {
        let object = self.origin.call("connect", || {
            self.object
                .connect(RStr::from_str(root), RStr::from_str(options_json))
        })?;
        Ok(Store::new(Arc::clone(&self.origin), object))
    }
}

/// Everything found on the plugin search path.
#[derive(Default)]
pub struct Registry {
    /// Every vetted library stays open: it is loaded as `/proc/self/fd/N`, and the dynamic
    /// loader would take a reused descriptor number for a library it already has.
    opened: Vec<vet::Vetted>,
    formats: BTreeMap<String, Arc<FormatEntry>>,
    backends: BTreeMap<String, Arc<BackendEntry>>,
    rows: Vec<ComponentRow>,
}

/// A search directory that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("plugin directory {path}: {reason}")]
pub struct SearchError {
    /// The directory.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

impl Registry {
    /// Vets and loads every candidate library in `dirs`. Only an unreadable `--plugins`
    /// directory is an error; problems with single libraries become rows with a status.
    pub fn discover(dirs: &[SearchDir]) -> Result<Registry, SearchError> {
        let mut registry = Registry::default();
        registry.add_builtins();
        for dir in dirs {
            let files = match discover::candidates(&dir.path) {
                Ok(files) => files,
                Err(err) if dir.origin == discover::Origin::Flag => {
                    return Err(SearchError {
                        path: dir.path.clone(),
                        reason: err.to_string(),
                    })
                }
                Err(err) => {
                    tracing::debug!("skipping plugin directory {}: {err}", dir.path.display());
                    continue;
                }
            };
            for file in files {
                registry.add_library(file);
            }
        }
        Ok(registry)
    }

    fn add_library(&mut self, path: PathBuf) {
        let vetted = match vet::vet(&path) {
            Ok(vetted) => vetted,
            Err(refusal) => {
                self.rows
                    .push(problem_row(&path, Status::Insecure, refusal.to_string()));
                return;
            }
        };
        let loaded = load::load_library(&vetted);
        self.opened.push(vetted);
        let library = match loaded {
            Ok(library) => library,
            Err(err) => {
                if let LoadError::LayoutMismatch { detail, .. } = &err {
                    tracing::debug!("layout difference of {}: {detail}", path.display());
                }
                self.rows
                    .push(problem_row(&path, err.status(), err.to_string()));
                return;
            }
        };
        let abi = library.info.api_version.to_string();
        self.add_components(&path, &abi, library.components);
    }

    /// The components compiled into dl-driver, ahead of any plugin library.
    fn add_builtins(&mut self) {
        self.add_components(
            Path::new(crate::builtin::SOURCE),
            dl_plugin_api::VERSION,
            crate::builtin::components(),
        );
    }

    fn add_components(&mut self, path: &Path, abi: &str, components: Vec<Component>) {
        let path = path.to_path_buf();
        for component in components {
            let info = component.info;
            let name = info.name.to_string();
            let kind = info.kind;
            let shadowed_by = match kind {
                ComponentKind::FORMAT => self.formats.get(&name).map(|e| e.origin.library.clone()),
                ComponentKind::BACKEND => {
                    self.backends.get(&name).map(|e| e.origin.library.clone())
                }
                _ => None,
            };
            let mut row = ComponentRow {
                name: name.clone(),
                kind: super::kind_name(kind),
                version: info.version.to_string(),
                abi: abi.to_string(),
                status: Status::Ok,
                reason: None,
                source: path.clone(),
                capabilities: super::capability_names(kind, info.capabilities),
                description: info.description.to_string(),
                extension: info.extension.to_string(),
                options: serde_json::from_str(info.options_schema.as_str())
                    .unwrap_or(serde_json::Value::Null),
            };
            if let Some(first) = shadowed_by {
                row.status = Status::Shadowed;
                row.reason = Some(format!(
                    "ignored: '{name}' is already provided by {}, found earlier on the search path; \
                     remove one of the two, or put the directory you want first with --plugins",
                    first.display()
                ));
                self.rows.push(row);
                continue;
            }
            let origin = Provenance::new(path.clone(), name.clone(), kind);
            match (
                kind,
                component.format.into_option(),
                component.backend.into_option(),
            ) {
                (ComponentKind::FORMAT, Some(object), _) => {
                    let extension = if info.extension.is_empty() {
                        name.clone()
                    } else {
                        info.extension.to_string()
                    };
                    self.formats.insert(
                        name,
                        Arc::new(FormatEntry {
                            origin,
                            object,
                            extension,
                            capabilities: info.capabilities,
                        }),
                    );
                }
                (ComponentKind::BACKEND, _, Some(object)) => {
                    self.backends
                        .insert(name, Arc::new(BackendEntry { origin, object }));
                }
                _ => {
                    row.status = Status::Incompatible;
                    row.reason = Some("component of an unknown kind, or without its object".into());
                }
            }
            self.rows.push(row);
        }
    }

    /// The format component called `name`.
    pub fn format(&self, name: &str) -> Option<Arc<FormatEntry>> {
        self.formats.get(name).cloned()
    }

    /// The backend component for URI scheme `scheme`.
    pub fn backend(&self, scheme: &str) -> Option<Arc<BackendEntry>> {
        self.backends.get(scheme).cloned()
    }

    /// Every row for `plugins list`, in search order.
    pub fn rows(&self) -> &[ComponentRow] {
        &self.rows
    }

    /// Rows that are not ok, for warnings at the start of a run.
    pub fn problems(&self) -> impl Iterator<Item = &ComponentRow> {
        self.rows.iter().filter(|row| row.status != Status::Ok)
    }

    /// Names of the usable components of `kind`, for "did you mean" messages.
    pub fn names(&self, kind: ComponentKind) -> Vec<String> {
        match kind {
            ComponentKind::FORMAT => self.formats.keys().cloned().collect(),
            _ => self.backends.keys().cloned().collect(),
        }
    }
}

fn problem_row(path: &std::path::Path, status: Status, reason: String) -> ComponentRow {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = file
        .strip_prefix("libdl_plugin_")
        .and_then(|rest| rest.strip_suffix(std::env::consts::DLL_SUFFIX))
        .unwrap_or(&file)
        .to_string();
    ComponentRow {
        name,
        kind: "?",
        version: "-".into(),
        abi: "-".into(),
        status,
        reason: Some(reason),
        source: path.to_path_buf(),
        capabilities: Vec::new(),
        description: String::new(),
        extension: String::new(),
        options: serde_json::Value::Null,
    }
}
