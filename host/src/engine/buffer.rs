//! Host-owned read buffers ([`AlignedBuf`] from the SDK), aligned for direct I/O and reused across files.

use std::sync::{Arc, Mutex};

pub use dl_plugin_api::sdk::AlignedBuf;

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

    /// The smallest free buffer of at least `len` bytes aligned to `align`, or a new one
    /// (an error only when memory is short).
    pub fn take(&self, len: usize, align: usize) -> dl_plugin_api::sdk::Result<AlignedBuf> {
        let reused = self.free.lock().ok().and_then(|mut free| {
            let (at, _) = free
                .iter()
                .enumerate()
                .filter(|(_, b)| b.capacity() >= len && b.align() >= align)
                .min_by_key(|(_, b)| b.capacity())?;
            Some(free.swap_remove(at))
        });
        match reused {
            Some(buf) => Ok(buf),
            None => AlignedBuf::new(len, align),
        }
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
        let buf = pool.take(5000, 4096).unwrap();
        assert_eq!(buf.as_slice().as_ptr() as usize % 4096, 0);
        assert_eq!(buf.capacity(), 8192);
        let addr = buf.as_slice().as_ptr();
        pool.give(buf);
        let again = pool.take(100, 4096).unwrap();
        assert_eq!(again.as_slice().as_ptr(), addr);
    }

    #[test]
    fn the_pool_picks_the_best_fit_and_stays_bounded() {
        let pool = BufferPool::default();
        pool.give(AlignedBuf::new(1 << 20, 8).unwrap());
        pool.give(AlignedBuf::new(4096, 8).unwrap());
        assert_eq!(
            pool.take(100, 8).unwrap().capacity(),
            4096,
            "a small read does not take the big buffer"
        );
        for _ in 0..3 * BufferPool::MAX_KEPT {
            pool.give(AlignedBuf::new(64, 8).unwrap());
        }
        assert_eq!(pool.free.lock().unwrap().len(), BufferPool::MAX_KEPT);
    }
}
