//! A read-only HDF5 virtual file driver whose bytes come from the host's [`Source`], so the
//! host counts the I/O and any store (local, object store range reads) can serve it.
//!
//! libhdf5 calls the driver back from inside `H5Fopen`/`H5Dread`/`H5Fclose`, always with
//! hdf5-metno's global lock held by the calling thread, so the source is only ever touched by
//! one thread at a time.
//!
//! hdf5-metno-sys declares `H5FD_class_t` and `H5FD_t` for 1.14 minus its new fields, which
//! does not match the 1.10 headers (`terminate`, `access_flags` and `paged_aggr` are missing
//! there), so this module mirrors the 1.10 layout itself and uses the driver only on a
//! library whose layout it knows; elsewhere it falls back to a local path.

use std::ffi::{c_char, c_int, c_uint, c_ulong, c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use dl_plugin_api::sdk::{Error, Result, Source};
use hdf5::file::{FileAccess, FileCloseDegree};
use hdf5_sys::h5::{haddr_t, herr_t, hsize_t};
use hdf5_sys::h5f::{H5Fclose, H5Fopen, H5F_ACC_RDONLY};
use hdf5_sys::h5fd::{H5FDregister, H5FD_FEAT_ACCUMULATE_METADATA, H5FD_FEAT_DATA_SIEVE};
use hdf5_sys::h5i::{hid_t, H5Idec_ref, H5Iinc_ref};
use hdf5_sys::h5p::{H5Pget_driver_info, H5Pset_driver};

/// Largest single request to the source: HDF5 may ask for a whole chunk or contiguous slab.
const MAX_REQUEST: u64 = 64 << 20;
/// sec2's largest address (`off_t` max), which the driver also reports.
const MAX_ADDR: haddr_t = (1 << 63) - 1;
/// `H5FD_MEM_SUPER` / `H5FD_MEM_DRAW`: sec2's free-list map (`H5FD_FLMAP_DICHOTOMY`).
const MEM_SUPER: c_int = 1;
const MEM_DRAW: c_int = 3;
/// `H5F_CLOSE_WEAK`, sec2's close degree.
const CLOSE_WEAK: c_int = 1;
/// Open flags that ask for write access (`H5F_ACC_RDWR | TRUNC | EXCL | CREAT`).
const WRITE_FLAGS: c_uint = 0x01 | 0x02 | 0x04 | 0x10;

type Unused = Option<unsafe extern "C" fn()>;
type OpenFn = unsafe extern "C" fn(*const c_char, c_uint, hid_t, haddr_t) -> *mut PublicFile;
type CloseFn = unsafe extern "C" fn(*mut PublicFile) -> herr_t;
type QueryFn = unsafe extern "C" fn(*const PublicFile, *mut c_ulong) -> herr_t;
type GetEoaFn = unsafe extern "C" fn(*const PublicFile, c_int) -> haddr_t;
type SetEoaFn = unsafe extern "C" fn(*mut PublicFile, c_int, haddr_t) -> herr_t;
type GetEofFn = unsafe extern "C" fn(*const PublicFile, c_int) -> haddr_t;
type ReadFn =
    unsafe extern "C" fn(*mut PublicFile, c_int, hid_t, haddr_t, usize, *mut c_void) -> herr_t;
type WriteFn =
    unsafe extern "C" fn(*mut PublicFile, c_int, hid_t, haddr_t, usize, *const c_void) -> herr_t;

/// `H5FD_class_t` of HDF5 1.10.7 and later 1.10 releases (field for field).
#[repr(C)]
struct DriverClass {
    name: *const c_char,
    maxaddr: haddr_t,
    fc_degree: c_int,
    terminate: Unused,
    sb_size: Unused,
    sb_encode: Unused,
    sb_decode: Unused,
    fapl_size: usize,
    fapl_get: Unused,
    fapl_copy: Unused,
    fapl_free: Unused,
    dxpl_size: usize,
    dxpl_copy: Unused,
    dxpl_free: Unused,
    open: Option<OpenFn>,
    close: Option<CloseFn>,
    cmp: Unused,
    query: Option<QueryFn>,
    get_type_map: Unused,
    alloc: Unused,
    free: Unused,
    get_eoa: Option<GetEoaFn>,
    set_eoa: Option<SetEoaFn>,
    get_eof: Option<GetEofFn>,
    get_handle: Unused,
    read: Option<ReadFn>,
    write: Option<WriteFn>,
    flush: Unused,
    truncate: Unused,
    lock: Unused,
    unlock: Unused,
    fl_map: [c_int; 7],
}

/// `H5FD_t` of HDF5 1.10 (libhdf5 fills these after `open` returns).
#[repr(C)]
struct PublicFile {
    driver_id: hid_t,
    cls: *const c_void,
    fileno: c_ulong,
    access_flags: c_uint,
    feature_flags: c_ulong,
    maxaddr: haddr_t,
    base_addr: haddr_t,
    threshold: hsize_t,
    alignment: hsize_t,
    paged_aggr: u8,
}

/// The driver's per-file state; `public` must come first, libhdf5 only knows that part.
#[repr(C)]
struct DriverFile {
    public: PublicFile,
    /// Room for fields a later patch release might append to `H5FD_t`.
    _slack: [u64; 8],
    eoa: haddr_t,
    channel: *mut Channel,
}

/// What the file access property list carries to `open` (libhdf5 copies its bytes).
#[repr(C)]
#[derive(Clone, Copy)]
struct DriverInfo {
    channel: *mut Channel,
}

/// The source of one open file and the error that made the last driver call fail.
struct Channel {
    source: Source,
    error: Option<Error>,
}

/// Whether the running libhdf5 lays out the driver structs as [`DriverClass`] does.
fn layout_known((major, minor, patch): (u8, u8, u8)) -> bool {
    // Verified against the 1.10.8 headers; `terminate` first appeared in 1.10.7.
    major == 1 && minor == 10 && patch >= 8
}

/// The driver's id, registered on first use.
fn driver_id() -> Result<hid_t> {
    static ID: OnceLock<std::result::Result<hid_t, String>> = OnceLock::new();
    let id = ID.get_or_init(|| {
        let version = hdf5::library_version();
        if !layout_known(version) {
            return Err(format!(
                "libhdf5 {}.{}.{} is not a version whose driver interface this plugin knows \
                 (1.10.8 or later 1.10)",
                version.0, version.1, version.2
            ));
        }
        let class = DriverClass {
            name: c"dl_driver_source".as_ptr(),
            maxaddr: MAX_ADDR,
            fc_degree: CLOSE_WEAK,
            terminate: None,
            sb_size: None,
            sb_encode: None,
            sb_decode: None,
            fapl_size: size_of::<DriverInfo>(),
            fapl_get: None,
            fapl_copy: None,
            fapl_free: None,
            dxpl_size: 0,
            dxpl_copy: None,
            dxpl_free: None,
            open: Some(driver_open),
            close: Some(driver_close),
            cmp: None,
            query: Some(driver_query),
            get_type_map: None,
            alloc: None,
            free: None,
            get_eoa: Some(driver_get_eoa),
            set_eoa: Some(driver_set_eoa),
            get_eof: Some(driver_get_eof),
            get_handle: None,
            read: Some(driver_read),
            write: Some(driver_write),
            flush: None,
            truncate: None,
            lock: None,
            unlock: None,
            fl_map: [
                MEM_SUPER, MEM_SUPER, MEM_SUPER, MEM_DRAW, MEM_DRAW, MEM_SUPER, MEM_SUPER,
            ],
        };
        // SAFETY: the class matches this library's layout (checked above); libhdf5 copies
        // it, and the name is a static string.
        let id = hdf5::sync::sync(|| unsafe { H5FDregister((&raw const class).cast()) });
        if id < 0 {
            Err(format!(
                "libhdf5 refused to register the read driver: {}",
                hdf5_message()
            ))
        } else {
            Ok(id)
        }
    });
    id.clone().map_err(Error::unsupported)
}

/// HDF5's description of the error on this thread's stack, right after a failed call.
pub fn hdf5_message() -> String {
    hdf5::sync::sync(|| match hdf5::Error::query() {
        Ok(err) => err.to_string(),
        Err(err) => err.to_string(),
    })
}

/// One HDF5 file opened read-only, either through the host's source or from a local path.
pub struct OpenFile {
    id: hid_t,
    /// Owned here (from `Box::into_raw`); the driver borrows it until the file is closed.
    channel: *mut Channel,
}

// SAFETY: every access to the channel, from `OpenFile` or from the driver callbacks libhdf5
// makes, happens under hdf5-metno's global lock; `Source` itself is `Send`.
unsafe impl Send for OpenFile {}

impl OpenFile {
    /// Opens `source` (`name` only labels it inside libhdf5): through the driver when the
    /// library is one it supports, else from the source's local path.
    pub fn open(source: Source, name: &str) -> Result<OpenFile> {
        let driver = driver_id();
        let local = source.local_path();
        let channel = Box::into_raw(Box::new(Channel {
            source,
            error: None,
        }));
        // From here `file` owns the channel, so every exit frees it (after H5Fclose).
        let mut file = OpenFile { id: -1, channel };
        let c_name = |text: &str| {
            CString::new(text.replace('\0', "?"))
                .map_err(|err| Error::invalid_config(format!("{name}: {err}")))
        };
        let fapl = FileAccess::build()
            .fclose_degree(FileCloseDegree::Strong)
            .finish()
            .map_err(|err| Error::io(format!("{name}: file access property list: {err}")))?;
        let path = match (driver, local) {
            (Ok(driver), _) => {
                let info = DriverInfo { channel };
                // SAFETY: libhdf5 copies `fapl_size` bytes of `info`, a live local.
                let set = hdf5::sync::sync(|| unsafe {
                    H5Pset_driver(fapl.id(), driver, (&raw const info).cast())
                });
                if set < 0 {
                    return Err(Error::io(format!(
                        "{name}: cannot select the read driver: {}",
                        hdf5_message()
                    )));
                }
                c_name(name)?
            }
            // An unknown library: read the local file directly (I/O then bypasses the host).
            (Err(_), Some(path)) => c_name(&path.to_string_lossy())?,
            (Err(err), None) => {
                return Err(err.context(format!(
                    "{name}: cannot read hdf5 through the host and the store has no local path"
                )))
            }
        };
        let (id, message) = hdf5::sync::sync(|| {
            // SAFETY: a NUL-terminated name and a valid property list.
            let id = unsafe { H5Fopen(path.as_ptr(), H5F_ACC_RDONLY, fapl.id()) };
            (
                id,
                if id < 0 {
                    hdf5_message()
                } else {
                    String::new()
                },
            )
        });
        if id < 0 {
            return Err(file.failure(format!("{name}: not a readable HDF5 file: {message}")));
        }
        file.id = id;
        Ok(file)
    }

    /// A handle for hdf5-metno's API that shares the file (dropping it leaves the file open).
    pub fn handle(&self) -> std::result::Result<hdf5::File, String> {
        hdf5::sync::sync(|| {
            // SAFETY: `self.id` is an open file; `from_id` adopts one reference, so take one
            // for it first.
            if unsafe { H5Iinc_ref(self.id) } < 0 {
                return Err(hdf5_message());
            }
            // SAFETY: as above.
            unsafe { hdf5::from_id::<hdf5::File>(self.id) }.map_err(|err| {
                // Give the reference back, or the file would outlive `OpenFile`.
                // SAFETY: the reference taken above.
                unsafe { H5Idec_ref(self.id) };
                err.to_string()
            })
        })
    }

    /// The error for a failed HDF5 call: the source's own error when a read failed (its kind
    /// tells I/O trouble from corruption), else `message` as corruption.
    pub fn failure(&mut self, message: String) -> Error {
        // SAFETY: the channel lives as long as `self`; the lock keeps callbacks out.
        let error = hdf5::sync::sync(|| unsafe { (*self.channel).error.take() });
        match error {
            Some(err) => err.context(message),
            None => Error::corrupt(message),
        }
    }
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        if self.id >= 0 {
            // A strong close degree: closing the file closes its objects and calls
            // `driver_close`, after which nothing refers to the channel any more.
            // SAFETY: the id `open` got, closed only here.
            let closed = hdf5::sync::sync(|| unsafe { H5Fclose(self.id) });
            if closed < 0 {
                // The driver may still hold the channel: leaking it beats a dangling pointer.
                return;
            }
        }
        // SAFETY: from `Box::into_raw` in `open`, freed only here.
        drop(unsafe { Box::from_raw(self.channel) });
    }
}

/// Runs a callback body, turning a panic into `fallback` (unwinding into C is not allowed).
fn guarded<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

unsafe extern "C" fn driver_open(
    _name: *const c_char,
    flags: c_uint,
    fapl: hid_t,
    _maxaddr: haddr_t,
) -> *mut PublicFile {
    guarded(std::ptr::null_mut(), || {
        // SAFETY: `fapl` is the property list libhdf5 opens with; its driver info, when set
        // by `OpenFile::open`, is a copy of a `DriverInfo` whose channel outlives the file.
        let info = unsafe { H5Pget_driver_info(fapl) }.cast::<DriverInfo>();
        if info.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: as above.
        let channel = unsafe { (*info).channel };
        if channel.is_null() {
            return std::ptr::null_mut();
        }
        if flags & WRITE_FLAGS != 0 {
            // SAFETY: as above; the caller holds the lock.
            unsafe {
                (*channel).error = Some(Error::unsupported(
                    "the host's read driver opens files read-only",
                ))
            };
            return std::ptr::null_mut();
        }
        let file = Box::new(DriverFile {
            // SAFETY: plain integers and a null pointer; libhdf5 fills them in.
            public: unsafe { std::mem::zeroed() },
            _slack: [0; 8],
            eoa: 0,
            channel,
        });
        Box::into_raw(file).cast()
    })
}

unsafe extern "C" fn driver_close(file: *mut PublicFile) -> herr_t {
    guarded(-1, || {
        // SAFETY: `file` came from `driver_open`; libhdf5 closes it once.
        drop(unsafe { Box::from_raw(file.cast::<DriverFile>()) });
        0
    })
}

unsafe extern "C" fn driver_query(_file: *const PublicFile, flags: *mut c_ulong) -> herr_t {
    if !flags.is_null() {
        // SAFETY: libhdf5 passes a valid out-pointer.
        // sec2's read-side features, so that reads look like h5py's on a local file: metadata
        // is read in accumulated blocks and small raw reads through the sieve buffer.
        unsafe { *flags = c_ulong::from(H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE) };
    }
    0
}

unsafe extern "C" fn driver_get_eoa(file: *const PublicFile, _type: c_int) -> haddr_t {
    // SAFETY: `file` came from `driver_open` and is still open.
    unsafe { (*file.cast::<DriverFile>()).eoa }
}

unsafe extern "C" fn driver_set_eoa(file: *mut PublicFile, _type: c_int, addr: haddr_t) -> herr_t {
    // SAFETY: as in `driver_get_eoa`.
    unsafe { (*file.cast::<DriverFile>()).eoa = addr };
    0
}

unsafe extern "C" fn driver_get_eof(file: *const PublicFile, _type: c_int) -> haddr_t {
    // SAFETY: as in `driver_get_eoa`; the channel outlives the file (see `OpenFile`).
    guarded(haddr_t::MAX, || unsafe {
        let channel = (*file.cast::<DriverFile>()).channel;
        (*channel).source.len()
    })
}

unsafe extern "C" fn driver_read(
    file: *mut PublicFile,
    _type: c_int,
    _dxpl: hid_t,
    addr: haddr_t,
    size: usize,
    buffer: *mut c_void,
) -> herr_t {
    guarded(-1, || {
        // SAFETY: `file` came from `driver_open` and its channel outlives it (see `OpenFile`).
        let channel = unsafe { &mut *(*file.cast::<DriverFile>()).channel };
        // SAFETY: libhdf5 passes a buffer of `size` bytes.
        let out = unsafe { std::slice::from_raw_parts_mut(buffer.cast::<u8>(), size) };
        match read_into(&mut channel.source, addr, out) {
            Ok(()) => 0,
            Err(err) => {
                channel.error = Some(err);
                -1
            }
        }
    })
}

unsafe extern "C" fn driver_write(
    _file: *mut PublicFile,
    _type: c_int,
    _dxpl: hid_t,
    _addr: haddr_t,
    _size: usize,
    _buffer: *const c_void,
) -> herr_t {
    -1
}

/// Fills `out` from `addr`; like sec2, bytes past the end of the file read as zeros.
fn read_into(source: &mut Source, addr: u64, out: &mut [u8]) -> Result<()> {
    let len = source.len();
    if addr.checked_add(out.len() as u64).is_none() {
        return Err(Error::corrupt(format!(
            "read of {} bytes at address {addr} overflows",
            out.len()
        )));
    }
    let inside = len.saturating_sub(addr).min(out.len() as u64) as usize;
    let (data, past_end) = out.split_at_mut(inside);
    let mut at = addr;
    for piece in data.chunks_mut(MAX_REQUEST as usize) {
        piece.copy_from_slice(source.read(at, piece.len() as u64)?);
        at += piece.len() as u64;
    }
    past_end.fill(0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_sizes_match_the_1_10_headers() {
        // 32 pointer-sized fields plus fl_map, and H5FD_t with its padding (x86-64 / aarch64).
        // Sizes and offsets as gcc reports them for the installed 1.10.8 headers.
        assert_eq!(size_of::<DriverClass>(), 280);
        assert_eq!(std::mem::offset_of!(DriverClass, read), 200);
        assert_eq!(std::mem::offset_of!(DriverClass, fl_map), 248);
        assert_eq!(size_of::<PublicFile>(), 80);
    }

    #[test]
    fn only_known_layouts_use_the_driver() {
        assert!(layout_known((1, 10, 8)));
        assert!(layout_known((1, 10, 11)));
        assert!(!layout_known((1, 10, 6)));
        assert!(!layout_known((1, 12, 2)));
        assert!(!layout_known((1, 14, 0)));
    }

    #[test]
    fn reads_past_the_end_are_zeros() {
        let mut source = dl_plugin_api::sdk::memory::source(vec![1, 2, 3, 4]);
        let mut out = [9u8; 6];
        read_into(&mut source, 2, &mut out).unwrap();
        assert_eq!(out, [3, 4, 0, 0, 0, 0]);
        read_into(&mut source, 10, &mut out).unwrap();
        assert_eq!(out, [0; 6]);
        assert!(read_into(&mut source, u64::MAX, &mut out).is_err());
    }
}
