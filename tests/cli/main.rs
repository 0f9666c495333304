//! Integration tests: the built `dl-driver` binary with plugins loaded from `.so` files,
//! checked by the readers people use (numpy) and by reading its output files.

mod check;
mod compose;
mod content;
mod dtypes;
mod formats;
mod mpi;
mod object_store;
mod plugins;
mod report;
mod run;
mod servers;
mod support;
mod workloads;
