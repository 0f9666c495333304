//! Host-owned read buffers, aligned for direct I/O and reused across files.

use std::{
    alloc::{self, Layout},
    ptr::NonNull,
    sync::{Arc, Mutex},
};

/// A zero-initialised byte buffer whose address is a multiple of `align`.
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    layout: Layout,
}

// SAFETY: the buffer is uniquely owned heap memory, like a Vec<u8>.
unsafe impl Send for AlignedBuf {}

impl AlignedBuf {
    /// A buffer of at least `len` bytes aligned to `align` (a power of two).
    pub fn new(len: usize, align: usize) -> AlignedBuf {
        let layout = Layout::from_size_align(len.max(1).next_multiple_of(align), align)
            .expect("alignment is a power of two");
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(ptr).unwrap_or_else(|| alloc::handle_alloc_error(layout));
        AlignedBuf { ptr, layout }
    }

    /// Capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.layout.size()
    }

    /// Alignment of the address.
    pub fn align(&self) -> usize {
        self.layout.align()
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: ptr is valid for layout.size() initialised bytes for the buffer's lifetime.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.layout.size()) }
    }

    /// The bytes, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, and &mut self gives unique access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.layout.size()) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated with this layout in `new`.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// Buffers returned by finished readers, handed to the next file instead of reallocating.
/// It keeps at most [`BufferPool::MAX_KEPT`] buffers, so memory follows the number of readers
/// open at once (the pipeline depth), never the dataset.
#[derive(Clone, Default)]
pub struct BufferPool {
    free: Arc<Mutex<Vec<AlignedBuf>>>,
}

impl BufferPool {
    /// Buffers kept for reuse at most; more are freed.
    pub const MAX_KEPT: usize = 16;

    /// The smallest free buffer of at least `len` bytes aligned to `align`, or a new one.
    pub fn take(&self, len: usize, align: usize) -> AlignedBuf {
        let reused = self.free.lock().ok().and_then(|mut free| {
            let (at, _) = free
                .iter()
                .enumerate()
                .filter(|(_, b)| b.capacity() >= len && b.align() >= align)
                .min_by_key(|(_, b)| b.capacity())?;
            Some(free.swap_remove(at))
        });
        reused.unwrap_or_else(|| AlignedBuf::new(len, align))
    }

    /// Returns a buffer for reuse; beyond [`BufferPool::MAX_KEPT`] the largest is freed.
    pub fn give(&self, buf: AlignedBuf) {
        if let Ok(mut free) = self.free.lock() {
            free.push(buf);
            if free.len() > Self::MAX_KEPT {
                if let Some((largest, _)) =
                    free.iter().enumerate().max_by_key(|(_, b)| b.capacity())
                {
                    free.swap_remove(largest);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_aligned_and_reused() {
        let pool = BufferPool::default();
        let buf = pool.take(5000, 4096);
        assert_eq!(buf.as_slice().as_ptr() as usize % 4096, 0);
        assert_eq!(buf.capacity(), 8192);
        let addr = buf.as_slice().as_ptr();
        pool.give(buf);
        let again = pool.take(100, 4096);
        assert_eq!(again.as_slice().as_ptr(), addr);
    }

    #[test]
    fn the_pool_picks_the_best_fit_and_stays_bounded() {
        let pool = BufferPool::default();
        pool.give(AlignedBuf::new(1 << 20, 8));
        pool.give(AlignedBuf::new(4096, 8));
        assert_eq!(
            pool.take(100, 8).capacity(),
            4096,
            "a small read does not take the big buffer"
        );
        for _ in 0..3 * BufferPool::MAX_KEPT {
            pool.give(AlignedBuf::new(64, 8));
        }
        assert_eq!(pool.free.lock().unwrap().len(), BufferPool::MAX_KEPT);
    }
}
