//! A heap buffer whose address is aligned for `O_DIRECT` transfers.

use std::{
    alloc::{self, Layout},
    ptr::NonNull,
};

use dl_plugin_api::sdk::{Error, Result};

/// Alignment `direct://` requires of offsets, lengths and buffer addresses. 4096 satisfies
/// every logical block size in use, so the store need not ask each device.
pub const ALIGN: usize = 4096;

/// A zero-initialised, [`ALIGN`]-aligned buffer filled from the front.
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    layout: Layout,
    len: usize,
}

// SAFETY: the buffer exclusively owns its allocation, like a `Vec<u8>`.
unsafe impl Send for AlignedBuf {}

impl AlignedBuf {
    /// Allocates `capacity` bytes (a multiple of [`ALIGN`]), all zero, none in use.
    pub fn new(capacity: usize) -> Result<Self> {
        let layout = Layout::from_size_align(capacity.max(ALIGN).next_multiple_of(ALIGN), ALIGN)
            .map_err(|err| Error::io(format!("aligned buffer of {capacity} bytes: {err}")))?;
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(ptr).ok_or_else(|| {
            Error::io(format!(
                "cannot allocate an aligned buffer of {} bytes",
                layout.size()
            ))
        })?;
        Ok(Self {
            ptr,
            layout,
            len: 0,
        })
    }

    /// Total size in bytes.
    pub fn capacity(&self) -> usize {
        self.layout.size()
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
        &self.whole()[..self.len]
    }

    /// The whole buffer, for reads into it.
    pub fn whole_mut(&mut self) -> &mut [u8] {
        // SAFETY: the allocation is `capacity` initialised bytes owned by `self`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.capacity()) }
    }

    fn whole(&self) -> &[u8] {
        // SAFETY: as in `whole_mut`, shared.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.capacity()) }
    }

    /// Appends as much of `data` as fits; returns how much that was.
    pub fn push(&mut self, data: &[u8]) -> usize {
        let take = data.len().min(self.capacity() - self.len);
        let start = self.len;
        self.whole_mut()[start..start + take].copy_from_slice(&data[..take]);
        self.len += take;
        take
    }

    /// Zero-fills up to the next multiple of [`ALIGN`], so the tail can be written with `O_DIRECT`.
    pub fn pad_to_block(&mut self) {
        let end = self.len.next_multiple_of(ALIGN);
        let start = self.len;
        self.whole_mut()[start..end].fill(0);
        self.len = end;
    }

    /// Marks every byte unused.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout and not freed before.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("capacity", &self.capacity())
            .field("len", &self.len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_push_pad_clear() {
        let mut buf = AlignedBuf::new(3 * ALIGN).unwrap();
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
        assert_eq!(AlignedBuf::new(1).unwrap().capacity(), ALIGN);
    }
}
