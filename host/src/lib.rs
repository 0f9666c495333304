//! dl-driver: a drop-in replacement for the MLCommons DLIO benchmark, built as a plugin host.
//!
//! The data flow is one way: [`config`] types the workload, [`plan`] derives everything the
//! run will do, [`engine`] does it through the format and backend [`plugins`], and [`metrics`]
//! turns the timings into DLIO's numbers and files. [`comm`] is the world of ranks and
//! [`run`] ties the stages together for the command line.

pub mod builtin;
pub mod comm;
pub mod config;
pub mod engine;
pub mod log;
pub mod metrics;
pub mod plan;
pub mod plugins;
pub mod profile;
pub mod run;
