//! A block buffer for `O_DIRECT` writes: an aligned allocation (from the SDK) filled from the
//! front and written out in whole blocks.

use dl_plugin_api::sdk::{AlignedBuf, Result};

/// Alignment `direct://` requires of offsets, lengths and buffer addresses. 4096 satisfies
/// every logical block size in use, so the store need not ask each device.
pub const ALIGN: usize = 4096;

/// An [`ALIGN`]-aligned buffer with a fill level.
#[derive(Debug)]
pub struct BlockBuf {
    buf: AlignedBuf,
    len: usize,
}

impl BlockBuf {
    /// `capacity` bytes (rounded up to [`ALIGN`]), none in use.
    pub fn new(capacity: usize) -> Result<Self> {
        Ok(BlockBuf {
            buf: AlignedBuf::new(capacity.max(ALIGN), ALIGN)?,
            len: 0,
        })
    }

    /// Total size in bytes.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Bytes in use.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no bytes are in use.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether every byte is in use.
    pub fn is_full(&self) -> bool {
        self.len == self.capacity()
    }

    /// The bytes in use.
    pub fn filled(&self) -> &[u8] {
        &self.buf.as_slice()[..self.len]
    }

    /// The whole buffer, for test reads into it.
    #[cfg(test)]
    pub fn whole_mut(&mut self) -> &mut [u8] {
        self.buf.as_mut_slice()
    }

    /// Appends as much of `data` as fits; returns how much that was.
    pub fn push(&mut self, data: &[u8]) -> usize {
        let take = data.len().min(self.capacity() - self.len);
        let start = self.len;
        self.buf.as_mut_slice()[start..start + take].copy_from_slice(&data[..take]);
        self.len += take;
        take
    }

    /// Zero-fills up to the next multiple of [`ALIGN`], so the tail can be written with `O_DIRECT`.
    pub fn pad_to_block(&mut self) {
        let end = self.len.next_multiple_of(ALIGN);
        let start = self.len;
        self.buf.as_mut_slice()[start..end].fill(0);
        self.len = end;
    }

    /// Marks every byte unused.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_push_pad_clear() {
        let mut buf = BlockBuf::new(3 * ALIGN).unwrap();
        assert_eq!(buf.whole_mut().as_ptr() as usize % ALIGN, 0);
        assert_eq!(buf.push(&[7; 5000]), 5000);
        assert_eq!(buf.push(&vec![9; 10_000]), 3 * ALIGN - 5000);
        assert!(buf.is_full());
        buf.clear();
        buf.push(&[1; 10]);
        buf.pad_to_block();
        assert_eq!(buf.len(), ALIGN);
        assert!(
            buf.filled()[10..].iter().all(|&b| b == 0),
            "padding must not leak earlier data"
        );
        assert_eq!(BlockBuf::new(1).unwrap().capacity(), ALIGN);
    }
}
