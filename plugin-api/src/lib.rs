//! The dl-driver plugin interface.
//!
//! * [`abi`] is the frozen, `#[repr(C)]` contract between the host and plugin libraries.
//! * [`sdk`] is what plugin authors write against: safe Rust traits, plain types, and the
//!   [`export_plugin!`] macro that turns them into a loadable library. Authors never name
//!   `abi_stable`.
#![allow(non_local_definitions, non_camel_case_types)]

pub mod abi;
pub mod sdk;

/// This crate's version: the plugin ABI version a library built against it reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[doc(hidden)]
pub mod __private {
    pub use abi_stable;
}
