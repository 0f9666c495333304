//! The `hdf5` format: DLIO's `HDF5Generator` / `HDF5Reader`.
//!
//! # Layout
//!
//! One file per [`FileSpec`], written with libhdf5 as h5py does with `libver='latest'`. With
//! `k = dataset.hdf5.num_dset_per_record` and a sample shape `dims`, `dims[0]` is divided by
//! `k` (it must divide) and a leading 1 left by the division is dropped (`dims'`). The file
//! holds:
//!
//! * `records_0 .. records_{k-1}`: shape `(N_s, *dims')`, the `record_element_type` as h5py
//!   stores it (bool as h5py's `FALSE`/`TRUE` int8 enum, float16 as IEEE half);
//! * `labels`: int64 zeros of shape `(N_s,)`.
//!
//! `hdf5.chunk_dims` chunks the records as given; `hdf5.max_shape` makes them resizable to
//! `(N_s, *max_shape)`; `compression` is none, gzip (at `compression_level`) or lzf. Filters
//! and resizing need chunks, so without `chunk_dims` those use one sample per chunk. DLIO
//! passes `compression: none` to h5py, which fails; here it means no filter.
//!
//! # Writing
//!
//! libhdf5 writes files by path: into [`Output::local_path`] when the host offers one (the
//! host publishes it), otherwise into a private temporary file that is streamed into the
//! output and removed. Samples are written one row (in pieces of about a MiB) at a time, so
//! memory does not grow with the file.
//!
//! # Reading
//!
//! Like DLIO's reader, opening a reader opens the file (superblock, root group) and a sample
//! read reads row `i` of every `records_k`. The bytes come through the host's [`Source`] via a
//! small read-only virtual file driver (`vfd.rs`), so the host counts the I/O and every
//! store works, including object stores through range reads. libhdf5 is not reentrant:
//! every call runs under hdf5-metno's global lock, so hdf5 reads are serialized across
//! reader threads, as h5py's global lock serializes them in DLIO.

mod check;
mod generate;
mod hyperslab;
mod layout;
mod read;
mod vfd;

#[cfg(test)]
mod h5py_tests;
#[cfg(test)]
mod tests;

use dl_plugin_api::sdk::{
    format_caps, CheckReport, DatasetSpec, FileSpec, FormatDescription, FormatPlugin,
    FormatSession, Output, Result, SampleReader, Source,
};

use crate::layout::Options;
use crate::read::Hdf5Reader;

/// The `hdf5` format component.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hdf5Format;

impl FormatPlugin for Hdf5Format {
    fn describe(&self) -> FormatDescription {
        FormatDescription::new(
            "hdf5",
            "hdf5",
            "HDF5 files of records_k and labels datasets, as DLIO writes them with h5py",
            format_caps::GENERATE | format_caps::READ | format_caps::CHECK,
        )
        .with_options(layout::option_specs())
    }

    fn configure(&self, dataset: &DatasetSpec) -> Result<Box<dyn FormatSession>> {
        Ok(Box::new(Hdf5Session {
            options: Options::parse(dataset)?,
        }))
    }
}

/// Generates, reads and checks the hdf5 files of one dataset.
#[derive(Debug, Clone)]
pub struct Hdf5Session {
    options: Options,
}

impl FormatSession for Hdf5Session {
    fn generate(&self, file: &FileSpec, out: &mut Output<'_>) -> Result<()> {
        let layout = self.options.layout(file)?;
        generate::generate(&self.options, &layout, file, out)
    }

    fn open(&self, file: &FileSpec, source: Source) -> Result<Box<dyn SampleReader>> {
        let layout = self.options.layout(file)?;
        Ok(Box::new(Hdf5Reader::open(file, layout, source)?))
    }

    fn check(&self, file: &FileSpec, source: Source) -> Result<CheckReport> {
        let layout = self.options.layout(file)?;
        check::check(file, &self.options, &layout, source)
    }
}

dl_plugin_api::export_plugin! {
    description: "hdf5 format: records_k and labels datasets, as DLIO writes them with h5py",
    formats: [Hdf5Format],
    backends: [],
}
