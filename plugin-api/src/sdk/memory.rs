//! In-memory stand-ins for the host's I/O objects, so plugins can be tested in-process
//! (through their rlib) without a host.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RBox, RErr, ROk, ROption, RSlice, RStr, RString},
};

use super::{Error, Output, Result, Source};
use crate::abi::{self, ByteSink_TO, GenerateOutput_TO, PluginResult, Source_TO};

/// Sidecars finished so far, shared with their sinks.
type Finished = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// Collects a generated file and its finished sidecars in memory.
#[derive(Debug, Default)]
pub struct MemoryOutput {
    /// Bytes of the data file.
    pub data: Vec<u8>,
    sidecars: Finished,
}

impl MemoryOutput {
    /// Runs `generate` against this buffer through a real [`Output`].
    pub fn capture(&mut self, generate: impl FnOnce(&mut Output<'_>) -> Result<()>) -> Result<()> {
        let mut host = GenerateOutput_TO::from_ptr(self, TD_Opaque);
        let mut output = Output::new(&mut host);
        generate(&mut output)
    }

    /// Finished sidecars as `(key, bytes)`, in the order they were finished.
    pub fn sidecars(&self) -> Vec<(String, Vec<u8>)> {
        self.sidecars.lock().expect("sidecar list poisoned").clone()
    }
}

impl abi::GenerateOutput for MemoryOutput {
    fn local_path(&mut self) -> ROption<RString> {
        ROption::RNone
    }

    fn write(&mut self, data: RSlice<'_, u8>) -> PluginResult<()> {
        self.data.extend_from_slice(data.as_slice());
        ROk(())
    }
    fn create_sidecar(&mut self, key: RStr<'_>) -> PluginResult<ByteSink_TO<'static, RBox<()>>> {
        let sink = MemorySidecar {
            key: key.to_string(),
            data: Vec::new(),
            done: Arc::clone(&self.sidecars),
        };
        ROk(ByteSink_TO::from_value(sink, TD_Opaque))
    }
}

struct MemorySidecar {
    key: String,
    data: Vec<u8>,
    done: Finished,
}

impl abi::ByteSink for MemorySidecar {
    fn write(&mut self, data: RSlice<'_, u8>) -> PluginResult<()> {
        self.data.extend_from_slice(data.as_slice());
        ROk(())
    }
    fn finish(&mut self) -> PluginResult<()> {
        let entry = (
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.data),
        );
        self.done.lock().expect("sidecar list poisoned").push(entry);
        ROk(())
    }
}

/// A [`Source`] over bytes in memory, with no related files.
pub fn source(bytes: Vec<u8>) -> Source {
    source_with_related(bytes, Vec::new())
}

/// A [`Source`] over bytes in memory whose `open_related` finds the given `(key, bytes)` files.
pub fn source_with_related(bytes: Vec<u8>, related: Vec<(String, Vec<u8>)>) -> Source {
    let related: Arc<BTreeMap<String, Arc<Vec<u8>>>> = Arc::new(
        related
            .into_iter()
            .map(|(key, bytes)| (key, Arc::new(bytes)))
            .collect(),
    );
    Source::new(Source_TO::from_value(
        MemorySource {
            bytes: Arc::new(bytes),
            related,
        },
        TD_Opaque,
    ))
}

struct MemorySource {
    bytes: Arc<Vec<u8>>,
    related: Arc<BTreeMap<String, Arc<Vec<u8>>>>,
}

impl abi::Source for MemorySource {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn transfer_size(&self) -> u64 {
        1 << 20
    }
    fn local_path(&self) -> ROption<RString> {
        ROption::RNone
    }
    fn read(&mut self, offset: u64, len: u64) -> PluginResult<RSlice<'_, u8>> {
        let end = offset
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len() as u64);
        match end {
            Some(end) => ROk(self.bytes[offset as usize..end as usize].into()),
            None => RErr(
                Error::corrupt(format!(
                    "read of {len} bytes at offset {offset} is past the end ({} bytes)",
                    self.bytes.len()
                ))
                .into(),
            ),
        }
    }
    fn open_related(&self, key: RStr<'_>) -> PluginResult<Source_TO<'static, RBox<()>>> {
        match self.related.get(key.as_str()) {
            Some(bytes) => {
                let related = MemorySource {
                    bytes: Arc::clone(bytes),
                    related: Arc::clone(&self.related),
                };
                ROk(Source_TO::from_value(related, TD_Opaque))
            }
            None => RErr(
                Error::not_found(format!("{key}: no such file in this in-memory dataset")).into(),
            ),
        }
    }
}
