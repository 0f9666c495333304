//! Accounting of the reads a run performs: the bytes for the report and, with
//! `dl-driver run --io-trace FILE`, one JSON line per sample listing every request the format
//! made for it, so the I/O per sample can be compared with DLIO's (reference/dlio-spec.md §4.4).

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::Path,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

/// One request a format made: file key, offset, length.
type Request = (String, u64, u64);

/// Where one sample's (or one check's) reads are counted.
#[derive(Clone, Default)]
pub struct ReadTally {
    bytes: Arc<AtomicU64>,
    requests: Option<Arc<Mutex<Vec<Request>>>>,
}

impl ReadTally {
    /// A tally that only counts bytes.
    pub fn counting() -> Self {
        ReadTally::default()
    }

    /// Counts a read of `len` bytes at `offset` of `key`.
    pub fn add(&self, key: &str, offset: u64, len: u64) {
        self.bytes.fetch_add(len, Ordering::Relaxed);
        if let Some(requests) = &self.requests {
            if let Ok(mut requests) = requests.lock() {
                requests.push((key.to_string(), offset, len));
            }
        }
    }

    /// Bytes counted so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// The run's read accounting, shared by every reader thread.
pub struct ReadLog {
    bytes: Arc<AtomicU64>,
    trace: Option<Mutex<BufWriter<File>>>,
    /// The first error writing the trace, reported by `finish`.
    trace_error: Mutex<Option<std::io::Error>>,
}

/// The trace file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("--io-trace {path}")]
pub struct TraceError {
    path: String,
    source: std::io::Error,
}

impl ReadLog {
    /// Counts bytes; traces every sample's requests into `trace` when given.
    pub fn new(trace: Option<&Path>) -> Result<ReadLog, TraceError> {
        let trace = match trace {
            Some(path) => Some(Mutex::new(BufWriter::new(File::create(path).map_err(
                |source| TraceError {
                    path: path.display().to_string(),
                    source,
                },
            )?))),
            None => None,
        };
        Ok(ReadLog {
            bytes: Arc::default(),
            trace,
            trace_error: Mutex::new(None),
        })
    }

    /// A tally for the reads of one sample.
    pub fn tally(&self) -> ReadTally {
        ReadTally {
            bytes: Arc::clone(&self.bytes),
            requests: self.trace.as_ref().map(|_| Arc::default()),
        }
    }

    /// Records the requests `tally` gathered since the last call as the reads of `sample` of
    /// `key` for batch `step` of `phase`.
    pub fn sample_done(&self, phase: &str, step: u64, key: &str, sample: u64, tally: &ReadTally) {
        let (Some(trace), Some(requests)) = (&self.trace, &tally.requests) else {
            return;
        };
        let requests = requests
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        let line = serde_json::json!({
            "phase": phase,
            "step": step,
            "key": key,
            "sample": sample,
            "requests": requests,
        });
        let written = match trace.lock() {
            Ok(mut trace) => writeln!(trace, "{line}"),
            Err(_) => Err(std::io::Error::other("trace writer poisoned")),
        };
        if let (Err(err), Ok(mut slot)) = (written, self.trace_error.lock()) {
            slot.get_or_insert(err);
        }
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Flushes the trace; fails if any line could not be written.
    pub fn finish(&self) -> std::io::Result<()> {
        if let Some(err) = self.trace_error.lock().ok().and_then(|mut e| e.take()) {
            return Err(err);
        }
        match &self.trace {
            Some(trace) => trace
                .lock()
                .map_err(|_| std::io::Error::other("trace writer poisoned"))?
                .flush(),
            None => Ok(()),
        }
    }
}
