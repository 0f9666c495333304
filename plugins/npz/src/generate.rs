//! Streams an npz file in two passes over the deterministic content: the first computes the
//! CRC that the local header needs before the data, the second writes the data.

use crc32fast::Hasher;
use dl_plugin_api::sdk::{content::CHUNK_BYTES, Dtype, Error, ErrorKind, FileSpec, Output, Result};

use crate::array::{content, zeros};
use crate::layout::{Layout, X_NAME, Y_NAME};
use crate::zip;

/// Writes the file described by `layout` with the content stream of `file` into `out`.
pub fn generate(
    layout: &Layout,
    file: &FileSpec,
    dtype: Dtype,
    out: &mut Output<'_>,
) -> Result<()> {
    let start = out.written();
    // One buffer for every pass; CHUNK_BYTES is a multiple of every element size, and a
    // shorter buffer only occurs when a whole array fits in it.
    let largest = layout.x_data.max(layout.y_data);
    let mut buf = vec![0u8; largest.min(CHUNK_BYTES as u64) as usize];

    let mut crc = Hasher::new();
    crc.update(&layout.x_header);
    content(file, dtype, layout.x_data, &mut buf, |chunk| {
        crc.update(chunk);
        Ok(())
    })?;
    let x_crc = crc.finalize();
    let mut head = zip::local_header_bytes(X_NAME, x_crc, layout.x_size());
    head.extend_from_slice(&layout.x_header);
    out.write_bytes(&head)?;
    content(file, dtype, layout.x_data, &mut buf, |chunk| {
        out.write_bytes(chunk)
    })?;

    // Labels are all zero, as DLIO writes them.
    buf.fill(0);
    let mut crc = Hasher::new();
    crc.update(&layout.y_header);
    zeros(layout.y_data, &buf, |chunk| {
        crc.update(chunk);
        Ok(())
    })?;
    let y_crc = crc.finalize();
    let mut head = zip::local_header_bytes(Y_NAME, y_crc, layout.y_size());
    head.extend_from_slice(&layout.y_header);
    out.write_bytes(&head)?;
    zeros(layout.y_data, &buf, |chunk| out.write_bytes(chunk))?;

    out.write_bytes(&layout.directory(x_crc, y_crc))?;
    let written = out.written() - start;
    if written != layout.total {
        return Err(Error::new(
            ErrorKind::OTHER,
            format!(
                "npz layout error: wrote {written} bytes but computed {}",
                layout.total
            ),
        ));
    }
    Ok(())
}
