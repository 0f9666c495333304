//! Full verification of one file: the datasets DLIO writes, their shapes and types, and every
//! byte of their data decoded (so filter and truncation errors surface).

use dl_plugin_api::sdk::{CheckReport, FileSpec, Result, Source};
use hdf5::types::{IntSize, TypeDescriptor};
use hdf5::Dataset;

use crate::layout::{descriptor, descriptor_name, FileLayout, Options, LABELS};
use crate::read::{read_all, read_row};
use crate::vfd::OpenFile;

/// Verifies `source` holds the file `spec` describes under `options`.
pub fn check(
    spec: &FileSpec,
    options: &Options,
    layout: &FileLayout,
    source: Source,
) -> Result<CheckReport> {
    let bytes = source.len();
    let mut file = OpenFile::open(source, &spec.key)?;
    verify(&file, options, layout)
        .map_err(|message| file.failure(format!("{}: {message}", spec.key)))?;
    Ok(CheckReport {
        samples: spec.samples,
        bytes,
    })
}

fn verify(
    file: &OpenFile,
    options: &Options,
    layout: &FileLayout,
) -> std::result::Result<(), String> {
    let handle = file.handle()?;
    let open = |name: &str| {
        handle.dataset(name).map_err(|_| {
            let present = handle.member_names().unwrap_or_default();
            format!(
                "dataset '{name}' is missing (the file holds: {})",
                if present.is_empty() {
                    "nothing".to_string()
                } else {
                    present.join(", ")
                }
            )
        })
    };
    let mut buf = Vec::new();
    let records = descriptor(options.dtype);
    for name in &layout.names {
        let dataset = open(name)?;
        expect(&dataset, name, &layout.shape, &records)?;
        for row in 0..layout.samples() {
            read_row(&dataset, row, &mut buf)
                .map_err(|err| format!("'{name}' row {row}: {err}"))?;
        }
    }
    let labels = open(LABELS)?;
    expect(
        &labels,
        LABELS,
        &[layout.samples()],
        &TypeDescriptor::Integer(IntSize::U8),
    )?;
    read_all(&labels, &mut buf).map_err(|err| format!("'{LABELS}': {err}"))
}

/// Checks the shape and element type of `dataset`.
fn expect(
    dataset: &Dataset,
    name: &str,
    shape: &[u64],
    dtype: &TypeDescriptor,
) -> std::result::Result<(), String> {
    let found: Vec<u64> = dataset.shape().iter().map(|&d| d as u64).collect();
    if found != shape {
        return Err(format!(
            "dataset '{name}' has shape {found:?}, expected {shape:?}"
        ));
    }
    let found = dataset
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(|err| format!("dataset '{name}': unreadable element type: {err}"))?;
    if &found != dtype {
        return Err(format!(
            "dataset '{name}' holds {}, expected {}",
            descriptor_name(&found),
            descriptor_name(dtype)
        ));
    }
    Ok(())
}
