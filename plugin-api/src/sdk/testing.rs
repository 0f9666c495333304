//! Conveniences for testing a backend in-process through the SDK traits: objects written in
//! uneven chunks, as a format's generator writes them, and read back in requests of a chosen
//! size through a 4 KiB-aligned buffer, as the host reads them (so direct-I/O stores work).

use super::{AlignedBuf, Error, Result, Store, WriteOptions};

/// The alignment of read buffers: enough for O_DIRECT on common file systems.
const READ_ALIGN: usize = 4096;

/// Bytes that differ between objects and positions, so misplaced blocks are caught.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Writes `data` to `key` in uneven chunks; returns the size `finish` reports.
pub fn put(store: &dyn Store, key: &str, data: &[u8], options: &WriteOptions) -> Result<u64> {
    let mut writer = store.open_write(key, options)?;
    let mut rest = data;
    for chunk in [1usize, 4095, 7919, (1 << 20) + 3].iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (now, later) = rest.split_at((*chunk).min(rest.len()));
        writer.write(now)?;
        rest = later;
    }
    Ok(writer.finish()?.size)
}

/// Reads all of `key` in requests of `chunk` bytes; fails if `size()` disagrees with the
/// bytes read.
pub fn get(store: &dyn Store, key: &str, chunk: usize) -> Result<Vec<u8>> {
    let mut reader = store.open_read(key)?;
    let size = reader.size()?;
    let mut buf = AlignedBuf::new(chunk.max(1), READ_ALIGN)?;
    let mut out = Vec::new();
    loop {
        let read = reader.read_at(out.len() as u64, &mut buf.as_mut_slice()[..chunk])? as usize;
        out.extend_from_slice(&buf.as_slice()[..read]);
        if read < chunk {
            break;
        }
    }
    if out.len() as u64 != size {
        return Err(Error::corrupt(format!(
            "{key}: size() says {size} bytes, {} were read",
            out.len()
        )));
    }
    Ok(out)
}
