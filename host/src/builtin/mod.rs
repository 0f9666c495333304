//! Components compiled into the host, registered ahead of the plugin search path through the
//! same ABI objects a plugin library exports, so the engine treats them like any plugin.

mod synthetic;

use dl_plugin_api::{abi::Component, sdk::export::format_component};

/// Shown as the source of built-in components in `plugins list`.
pub const SOURCE: &str = "(built-in)";

/// Every built-in component.
pub fn components() -> Vec<Component> {
    vec![format_component(
        synthetic::Synthetic,
        env!("CARGO_PKG_VERSION"),
    )]
}
