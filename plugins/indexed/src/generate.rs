//! Writing a data file and its two index files, in memory that does not grow with the file.

use dl_plugin_api::sdk::{
    content::{ContentStream, CHUNK_BYTES},
    Dtype, FileSpec, Output, Result, Sink,
};

use crate::layout::{offsets_key, sizes_key, Layout};

/// Index entries buffered before each write to a sidecar.
const INDEX_BATCH: usize = 8192;

/// Streams the samples of `file` (content seeded by `file.seed`) into `out`, then writes and
/// finishes `<key>.off.idx` and `<key>.sz.idx`.
pub fn generate(
    file: &FileSpec,
    dtype: Dtype,
    layout: &Layout,
    out: &mut Output<'_>,
) -> Result<()> {
    let mut content = ContentStream::for_file(file, dtype);
    let mut chunk = vec![0u8; CHUNK_BYTES.min(layout.data_bytes as usize)];
    let mut left = layout.data_bytes;
    while left > 0 {
        let n = left.min(CHUNK_BYTES as u64) as usize;
        content.fill(&mut chunk[..n]);
        out.write_bytes(&chunk[..n])?;
        left -= n as u64;
    }
    let offsets = out.sidecar(&offsets_key(file))?;
    write_index(offsets, layout.samples, |sample| layout.offset(sample))?;
    let sizes = out.sidecar(&sizes_key(file))?;
    write_index(sizes, layout.samples, |_| layout.sample_bytes)
}

/// Writes `value(0..samples)` as native-endian u64 and finishes the sidecar.
fn write_index(mut sink: Sink, samples: u64, value: impl Fn(u64) -> u64) -> Result<()> {
    let mut buf = Vec::with_capacity(INDEX_BATCH.min(samples as usize) * 8);
    for sample in 0..samples {
        buf.extend_from_slice(&value(sample).to_ne_bytes());
        if buf.len() == INDEX_BATCH * 8 {
            sink.write_bytes(&buf)?;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        sink.write_bytes(&buf)?;
    }
    sink.finish()
}
