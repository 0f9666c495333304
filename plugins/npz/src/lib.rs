//! The NumPy formats, byte for byte as DLIO writes them, and the reads numpy performs on them:
//!
//! * `npz`: files as `numpy.savez(path, x=records, y=labels)` writes them, read as
//!   `np.load(path)['x']`;
//! * `npy`: files as `numpy.save(path, records)` writes them, read as `np.load(path)`.
//!
//! Both store the same samples array with the same NPY header code and content stream.

mod array;
mod check;
mod generate;
mod layout;
mod literal;
mod npy;
mod npy_format;
mod read;
mod session;
mod zip;

#[cfg(test)]
mod tests;

use dl_plugin_api::sdk::{
    format_caps, DatasetSpec, Error, FormatDescription, FormatPlugin, FormatSession, Result,
};

pub use npy_format::{NpyFormat, NpySession};
pub use session::NpzSession;

/// The npz format component.
#[derive(Debug, Clone, Copy, Default)]
pub struct NpzFormat;

impl FormatPlugin for NpzFormat {
    fn describe(&self) -> FormatDescription {
        FormatDescription::new(
            "npz",
            "npz",
            "NumPy .npz archives (x: samples, y: labels) as numpy.savez writes them",
            format_caps::GENERATE
                | format_caps::READ
                | format_caps::CHECK
                | format_caps::EXACT_SIZE,
        )
    }

    fn configure(&self, dataset: &DatasetSpec) -> Result<Box<dyn FormatSession>> {
        require_uncompressed(
            dataset,
            "npz",
            "writes members stored (uncompressed) as numpy.savez does",
        )?;
        Ok(Box::new(NpzSession::new(dataset.element_type)))
    }
}

/// Rejects any `dataset.compression` but none (or absent): DLIO's numpy writers never compress.
fn require_uncompressed(dataset: &DatasetSpec, format: &str, writes: &str) -> Result<()> {
    let compression = dataset.compression.trim();
    if compression.is_empty() || compression.eq_ignore_ascii_case("none") {
        return Ok(());
    }
    Err(Error::invalid_config(format!(
        "dataset.compression: '{compression}' is not supported by the {format} format, which \
         {writes}; remove dataset.compression or set it to none"
    )))
}

dl_plugin_api::export_plugin! {
    description: "NumPy npz and npy formats for dl-driver",
    formats: [NpzFormat, NpyFormat],
    backends: [],
}
