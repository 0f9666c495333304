//! Heap buffers whose address is aligned, for direct I/O. Shared by the host (read buffers it
//! lends to formats) and by backends that re-block writes.

use std::{
    alloc::{self, Layout},
    ptr::NonNull,
};

use super::{Error, Result};

/// A zero-initialised byte buffer whose address is a multiple of its alignment.
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    layout: Layout,
}

// SAFETY: the buffer exclusively owns its allocation, like a `Vec<u8>`.
unsafe impl Send for AlignedBuf {}

impl AlignedBuf {
    /// At least `len` bytes (rounded up to `align`) at an address aligned to `align`, which
    /// must be a power of two. Fails instead of aborting when memory is short.
    pub fn new(len: usize, align: usize) -> Result<AlignedBuf> {
        let too_big = || {
            Error::invalid_config(format!(
                "aligned buffer of {len} bytes at alignment {align} is impossible"
            ))
        };
        let size = len
            .max(1)
            .checked_next_multiple_of(align.max(1))
            .ok_or_else(too_big)?;
        let layout = Layout::from_size_align(size, align.max(1)).map_err(|_| too_big())?;
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(ptr).ok_or_else(|| {
            Error::io(format!(
                "cannot allocate an aligned buffer of {} bytes",
                layout.size()
            ))
        })?;
        Ok(AlignedBuf { ptr, layout })
    }

    /// Size in bytes.
    pub fn capacity(&self) -> usize {
        self.layout.size()
    }

    /// Alignment of the address.
    pub fn align(&self) -> usize {
        self.layout.align()
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: the allocation is `capacity` initialised bytes owned by `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.layout.size()) }
    }

    /// The bytes, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, and `&mut self` gives unique access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.layout.size()) }
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
            .field("align", &self.align())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_zeroed_and_rounded_up() {
        let buf = AlignedBuf::new(5000, 4096).unwrap();
        assert_eq!(buf.as_slice().as_ptr() as usize % 4096, 0);
        assert_eq!(buf.capacity(), 8192);
        assert!(buf.as_slice().iter().all(|&b| b == 0));
        assert_eq!(AlignedBuf::new(0, 512).unwrap().capacity(), 512);
    }

    #[test]
    fn impossible_alignment_is_an_error_not_a_panic() {
        assert!(AlignedBuf::new(10, 3).is_err());
        assert!(AlignedBuf::new(usize::MAX - 10, 4096).is_err());
    }
}
