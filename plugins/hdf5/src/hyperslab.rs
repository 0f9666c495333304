//! The block selection both the write and the read path make before moving rows.

use hdf5::Dataspace;
use hdf5_sys::h5s::{H5S_seloper_t, H5Sselect_hyperslab};

/// Selects the block at `start` of `count` elements per axis in `space`; a negative status
/// on failure (libhdf5's error stack says why).
///
/// # Safety
///
/// Call under hdf5-metno's lock (`hdf5::sync::sync`), with `start` and `count` of the
/// dataspace's rank.
pub unsafe fn select_block(space: &Dataspace, start: &[u64], count: &[u64]) -> i32 {
    // SAFETY: a valid dataspace id and arrays of its rank (the caller's contract); null stride
    // and block mean 1.
    unsafe {
        H5Sselect_hyperslab(
            space.id(),
            H5S_seloper_t::H5S_SELECT_SET,
            start.as_ptr(),
            std::ptr::null(),
            count.as_ptr(),
            std::ptr::null(),
        )
    }
}
