//! Where everything goes in an npz file, computed from the file spec alone (no I/O), so that
//! `file_size`, `generate` and `check` agree.

use dl_plugin_api::sdk::{Dtype, Error, FileSpec, Result};

use crate::array::{self, SamplesArray};
use crate::npy;
use crate::zip::{self, Member};

/// The member holding the samples.
pub const X_NAME: &str = "x.npy";
/// The member holding the labels.
pub const Y_NAME: &str = "y.npy";
/// Labels are a list of Python ints in DLIO, which numpy stores as int64.
pub const LABEL_DESCR: &str = "<i8";

/// The byte layout of one npz file.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Shape of `x.npy`: the sample shape with the sample count as last axis.
    pub x_shape: Vec<u64>,
    /// NPY header of `x.npy`.
    pub x_header: Vec<u8>,
    /// Bytes of array data in `x.npy`.
    pub x_data: u64,
    /// Shape of `y.npy`.
    pub y_shape: Vec<u64>,
    /// NPY header of `y.npy`.
    pub y_header: Vec<u8>,
    /// Bytes of array data in `y.npy`.
    pub y_data: u64,
    /// Offset of `y.npy`'s local header.
    pub y_offset: u64,
    /// Offset of the central directory.
    pub cd_offset: u64,
    /// Size of the whole file.
    pub total: u64,
    /// zipfile's `ZIP64_LIMIT` (smaller in tests).
    limit: u64,
}

impl Layout {
    /// The layout of `file` with elements of `dtype`; `limit` is normally [`zip::ZIP64_LIMIT`].
    pub fn new(file: &FileSpec, dtype: Dtype, limit: u64) -> Result<Layout> {
        let too_large = || {
            Error::invalid_config(format!(
                "an npz file with x.npy of shape {} and type {} is too large to address",
                npy::shape_repr(&array::samples_shape(file)),
                dtype.name()
            ))
        };
        let SamplesArray {
            shape: x_shape,
            header: x_header,
            data: x_data,
        } = SamplesArray::new(file, dtype).ok_or_else(too_large)?;
        let y_shape = vec![file.samples];
        let y_data = file.samples.checked_mul(8).ok_or_else(too_large)?;
        let y_header = npy::header(LABEL_DESCR, &y_shape);
        let sum = |parts: &[u64]| {
            parts
                .iter()
                .try_fold(0u64, |acc, &part| acc.checked_add(part))
        };
        let y_offset = sum(&[zip::local_header_len(X_NAME), x_header.len() as u64, x_data])
            .ok_or_else(too_large)?;
        let cd_offset = sum(&[
            y_offset,
            zip::local_header_len(Y_NAME),
            y_header.len() as u64,
            y_data,
        ])
        .ok_or_else(too_large)?;
        let mut layout = Layout {
            x_shape,
            x_header,
            x_data,
            y_shape,
            y_header,
            y_data,
            y_offset,
            cd_offset,
            total: 0,
            limit,
        };
        // The directory's length does not depend on the CRCs, so placeholder ones do.
        let directory_len = layout.directory(0, 0).len() as u64;
        layout.total = cd_offset.checked_add(directory_len).ok_or_else(too_large)?;
        Ok(layout)
    }

    /// Size of the `x.npy` member.
    pub fn x_size(&self) -> u64 {
        self.x_header.len() as u64 + self.x_data
    }

    /// Size of the `y.npy` member.
    pub fn y_size(&self) -> u64 {
        self.y_header.len() as u64 + self.y_data
    }

    /// Central directory and end records for members with these CRCs.
    pub fn directory(&self, x_crc: u32, y_crc: u32) -> Vec<u8> {
        let members = [
            Member {
                name: X_NAME,
                crc: x_crc,
                size: self.x_size(),
                offset: 0,
            },
            Member {
                name: Y_NAME,
                crc: y_crc,
                size: self.y_size(),
                offset: self.y_offset,
            },
        ];
        zip::directory(&members, self.cd_offset, self.limit)
    }
}
