//! The host's side of the format interface: a [`Source`](abi::Source) over a store object
//! with host-owned buffers, and the generation output that streams into store writers.
//!
//! These objects are called from inside plugin code, where a host panic would unwind through
//! the ABI and end the process; every entry point therefore runs under `catch_unwind`.

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RBox, RErr, ROk, ROption, RSlice, RStr, RString},
};
use dl_plugin_api::abi::{
    self, ByteSink_TO, ErrorKind, PluginError, PluginResult, Source_TO, WriteOptions,
};

use super::{
    buffer::{AlignedBuf, BufferPool},
    reads::ReadTally,
    staging::Staged,
};
use crate::plugins::{ObjectReader, ObjectWriter, PluginCallError, Store};

use dl_plugin_api::sdk::MAX_READ_BYTES;

fn to_plugin_error(err: PluginCallError) -> PluginError {
    plugin_error(err.kind, err.to_string())
}

fn plugin_error(kind: ErrorKind, message: String) -> PluginError {
    PluginError {
        kind,
        message: message.into(),
        retryable: false,
    }
}

/// Runs host code called by a plugin; a panic becomes an error instead of crossing the ABI.
fn contained<T>(operation: &str, body: impl FnOnce() -> PluginResult<T>) -> PluginResult<T> {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        RErr(plugin_error(
            ErrorKind::OTHER,
            format!("internal error in dl-driver during {operation}"),
        ))
    })
}

/// One stored file as a format plugin reads it. Reads land in a pooled buffer aligned to the
/// store's requirement; for direct I/O the requested range is widened to aligned boundaries.
pub struct HostSource {
    store: Store,
    key: String,
    reader: ObjectReader,
    size: u64,
    alignment: u64,
    transfer_size: u64,
    local_path: Option<String>,
    buf: Option<AlignedBuf>,
    pool: BufferPool,
    tally: ReadTally,
}

impl HostSource {
    /// Opens `key` in `store`; its reads are counted in `tally`.
    pub fn open(
        store: &Store,
        key: &str,
        pool: BufferPool,
        tally: ReadTally,
    ) -> Result<HostSource, PluginCallError> {
        let mut reader = store.open_read(key)?;
        let size = reader.size()?;
        let info = store.info();
        Ok(HostSource {
            store: store.clone(),
            key: key.to_string(),
            size,
            reader,
            alignment: info.alignment.max(1),
            transfer_size: info.transfer_size.max(4096),
            local_path: store.local_path(key),
            buf: None,
            pool,
            tally,
        })
    }

    fn fill(&mut self, offset: u64, len: u64) -> Result<(usize, usize), PluginError> {
        if len > MAX_READ_BYTES {
            return Err(plugin_error(
                ErrorKind::INVALID_CONFIG,
                format!(
                    "{}: a read of {len} bytes at once is over the host's limit of {MAX_READ_BYTES} bytes per request; \
                     read in pieces (Source::read_range does)",
                    self.key
                ),
            ));
        }
        let end = offset.checked_add(len).filter(|&end| end <= self.size).ok_or_else(|| {
            plugin_error(
                ErrorKind::CORRUPT,
                format!(
                    "{}: read of {len} bytes at offset {offset} goes past the end of the object ({} bytes)",
                    self.key, self.size
                ),
            )
        })?;
        let align = self.alignment;
        let start = offset / align * align;
        let stop = end.div_ceil(align) * align;
        let want = (stop - start) as usize;
        if self.buf.as_ref().is_none_or(|b| b.capacity() < want) {
            if let Some(old) = self.buf.take() {
                self.pool.give(old);
            }
            let buf = self
                .pool
                .take(want, align as usize)
                .map_err(|err| plugin_error(err.kind, format!("{}: {err}", self.key)))?;
            self.buf = Some(buf);
        }
        let buf = self.buf.as_mut().expect("allocated above");
        let mut filled = 0usize;
        let needed = (end - start) as usize;
        while filled < needed {
            let n = self
                .reader
                .read_at(start + filled as u64, &mut buf.as_mut_slice()[filled..want])
                .map_err(to_plugin_error)?;
            if n == 0 {
                return Err(plugin_error(
                    ErrorKind::CORRUPT,
                    format!(
                        "{}: object ended after {} of {} bytes",
                        self.key,
                        start + filled as u64,
                        self.size
                    ),
                ));
            }
            filled += n as usize;
        }
        self.tally.add(&self.key, offset, len);
        Ok(((offset - start) as usize, len as usize))
    }
}

impl abi::Source for HostSource {
    fn len(&self) -> u64 {
        self.size
    }

    fn transfer_size(&self) -> u64 {
        self.transfer_size
    }

    fn local_path(&self) -> ROption<RString> {
        self.local_path.clone().map(RString::from).into()
    }

    fn read(&mut self, offset: u64, len: u64) -> PluginResult<RSlice<'_, u8>> {
        let filled = contained("read", || self.fill(offset, len).into());
        match filled {
            ROk((at, n)) => ROk(self
                .buf
                .as_ref()
                .map(|b| &b.as_slice()[at..at + n])
                .unwrap_or(&[])
                .into()),
            RErr(err) => RErr(err),
        }
    }

    fn open_related(&self, key: RStr<'_>) -> PluginResult<Source_TO<'static, RBox<()>>> {
        contained("open_related", || {
            match HostSource::open(
                &self.store,
                key.as_str(),
                self.pool.clone(),
                self.tally.clone(),
            ) {
                Ok(source) => ROk(Source_TO::from_value(source, TD_Opaque)),
                Err(err) => RErr(to_plugin_error(err)),
            }
        })
    }
}

impl Drop for HostSource {
    fn drop(&mut self) {
        if let Some(buf) = self.buf.take() {
            self.pool.give(buf);
        }
    }
}

/// Where a format generates one file: the data file's writer (or a staged path the format's
/// library writes itself), plus sidecars in the same store.
pub struct HostOutput<'a> {
    store: &'a Store,
    key: &'a str,
    writer: &'a mut ObjectWriter,
    sidecars: Vec<(String, Arc<AtomicBool>)>,
    staged: Option<Staged>,
}

impl<'a> HostOutput<'a> {
    /// Output of `key` into `writer`, with sidecars created in `store`.
    pub fn new(store: &'a Store, key: &'a str, writer: &'a mut ObjectWriter) -> Self {
        HostOutput {
            store,
            key,
            writer,
            sidecars: Vec::new(),
            staged: None,
        }
    }

    /// The staged file, if the format asked for a path and created the file there.
    pub fn take_staged(&mut self) -> Option<Staged> {
        self.staged.take().filter(|staged| staged.path().exists())
    }

    /// Sidecars the format created but did not finish.
    pub fn unfinished_sidecars(&self) -> Vec<&str> {
        self.sidecars
            .iter()
            .filter(|(_, done)| !done.load(Ordering::Acquire))
            .map(|(key, _)| key.as_str())
            .collect()
    }
}

impl abi::GenerateOutput for HostOutput<'_> {
    fn write(&mut self, data: RSlice<'_, u8>) -> PluginResult<()> {
        contained("write", || {
            self.writer
                .write(data.as_slice())
                .map_err(to_plugin_error)
                .into()
        })
    }

    fn create_sidecar(&mut self, key: RStr<'_>) -> PluginResult<ByteSink_TO<'static, RBox<()>>> {
        contained("create_sidecar", || {
            let options = WriteOptions {
                size_hint: u64::MAX,
                fsync: false,
                extra: RString::new(),
            };
            match self.store.open_write(key.as_str(), &options) {
                Ok(writer) => {
                    let finished = Arc::new(AtomicBool::new(false));
                    self.sidecars.push((key.to_string(), Arc::clone(&finished)));
                    ROk(ByteSink_TO::from_value(
                        HostSink {
                            writer: Some(writer),
                            finished,
                        },
                        TD_Opaque,
                    ))
                }
                Err(err) => RErr(to_plugin_error(err)),
            }
        })
    }

    fn local_path(&mut self) -> ROption<RString> {
        let staged = self
            .staged
            .get_or_insert_with(|| Staged::new(self.store, self.key));
        ROption::RSome(staged.path().to_string_lossy().into_owned().into())
    }
}

/// A sidecar stream: a store writer published on `finish`, discarded if dropped before.
struct HostSink {
    writer: Option<ObjectWriter>,
    finished: Arc<AtomicBool>,
}

impl abi::ByteSink for HostSink {
    fn write(&mut self, data: RSlice<'_, u8>) -> PluginResult<()> {
        contained("sidecar write", || match self.writer.as_mut() {
            Some(writer) => writer
                .write(data.as_slice())
                .map_err(to_plugin_error)
                .into(),
            None => RErr(plugin_error(
                ErrorKind::OTHER,
                "sidecar already finished".into(),
            )),
        })
    }

    fn finish(&mut self) -> PluginResult<()> {
        contained("sidecar finish", || match self.writer.take() {
            Some(writer) => {
                let published = writer.finish().map(|_| ()).map_err(to_plugin_error);
                if published.is_ok() {
                    self.finished.store(true, Ordering::Release);
                }
                published.into()
            }
            None => ROk(()),
        })
    }
}
