//! First-party plugins that `cargo build` leaves out because they need a system library;
//! `plugins list` names the missing ones and a workload that needs one says how to get it.

use std::path::PathBuf;

use super::{ComponentRow, Status};

/// A first-party component built only on request.
#[derive(Debug, Clone, Copy)]
pub struct OptionalPlugin {
    /// The component name (`dataset.format` or URI scheme).
    pub component: &'static str,
    /// `format` or `backend`.
    pub kind: &'static str,
    /// What it needs that a default build does not.
    pub needs: &'static str,
    /// The commands that install it beside the dl-driver binary.
    pub install: &'static str,
}

/// Every optional first-party component.
pub const OPTIONAL_PLUGINS: &[OptionalPlugin] = &[OptionalPlugin {
    component: "hdf5",
    kind: "format",
    needs: "libhdf5",
    install: "apt-get install libhdf5-dev && cargo build --release -p dl-plugin-hdf5",
}];

impl OptionalPlugin {
    /// The optional component called `name`, if there is one.
    pub fn named(name: &str) -> Option<&'static OptionalPlugin> {
        OPTIONAL_PLUGINS.iter().find(|p| p.component == name)
    }

    /// One sentence saying the plugin is missing and how to build it.
    pub fn hint(&self) -> String {
        format!(
            "the {} {} plugin is not built by default because it needs {}: {} \
             (it lands in target/release beside dl-driver, where dl-driver finds it)",
            self.component, self.kind, self.needs, self.install
        )
    }
}

/// `rows` followed by a `not-installed` row for each optional component none of them provides.
pub fn with_missing(rows: &[ComponentRow]) -> Vec<ComponentRow> {
    let mut all = rows.to_vec();
    for plugin in OPTIONAL_PLUGINS {
        let provided = rows
            .iter()
            .any(|row| row.name == plugin.component && row.status == Status::Ok);
        if !provided {
            all.push(ComponentRow {
                name: plugin.component.to_string(),
                kind: plugin.kind,
                version: "-".into(),
                abi: "-".into(),
                status: Status::NotInstalled,
                reason: Some(plugin.hint()),
                source: PathBuf::new(),
                capabilities: Vec::new(),
                description: String::new(),
                extension: String::new(),
                options: serde_json::Value::Array(Vec::new()),
            });
        }
    }
    all
}
