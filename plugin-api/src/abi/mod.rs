//! The frozen ABI: `#[repr(C)]` types and `#[sabi_trait]` interfaces shared by the host and every
//! plugin library. Nothing here may change within a major version of `dl-plugin-api`; new needs
//! go through capability flags, JSON option text and open-ended error kinds instead.

mod interfaces;
mod types;

pub use interfaces::*;
pub use types::*;

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings,
    sabi_types::VersionStrings,
    std_types::{RResult, RVec},
    StableAbi,
};

/// Major version of the plugin ABI this crate defines (equal to the crate's major version).
pub const ABI_MAJOR: u32 = 1;

/// The root module every plugin library exports; the host reads it once after `dlopen`.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModule_Ref)))]
#[sabi(missing_field(panic))]
pub struct PluginModule {
    /// Describes the library itself (package, version, build facts).
    pub library: extern "C" fn() -> LibraryInfo,
    /// Called once by the host before anything else, with services the plugin may use.
    pub init: extern "C" fn(host: HostServices) -> RResult<(), PluginError>,
    /// Every component (format or backend) the library provides.
    #[sabi(last_prefix_field)]
    pub components: extern "C" fn() -> RResult<RVec<Component>, PluginError>,
}

impl RootModule for PluginModule_Ref {
    declare_root_module_statics! {PluginModule_Ref}
    const BASE_NAME: &'static str = "dl_plugin";
    const NAME: &'static str = "dl-driver plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}
