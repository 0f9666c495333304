//! The `npz` format: files as `numpy.savez(path, x=records, y=labels)` writes them for DLIO,
//! byte for byte, and the reads `np.load(path)['x']` performs on them.

mod check;
mod generate;
mod layout;
mod literal;
mod npy;
mod read;
mod session;
mod zip;

#[cfg(test)]
mod tests;

use dl_plugin_api::sdk::{
    format_caps, DatasetSpec, Error, FormatDescription, FormatPlugin, FormatSession, Result,
};

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
        let compression = dataset.compression.trim();
        if !(compression.is_empty() || compression.eq_ignore_ascii_case("none")) {
            return Err(Error::invalid_config(format!(
                "dataset.compression: '{compression}' is not supported by the npz format, which \
                 writes members stored (uncompressed) as numpy.savez does; remove \
                 dataset.compression or set it to none"
            )));
        }
        Ok(Box::new(NpzSession::new(dataset.element_type)))
    }
}

dl_plugin_api::export_plugin! {
    description: "NumPy npz format for dl-driver",
    formats: [NpzFormat],
    backends: [],
}
