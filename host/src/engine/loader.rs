//! Batches for the training thread, read the way PyTorch's DataLoader reads them: batch i goes
//! to worker i mod W, at most `W · prefetch_factor` batches are outstanding, and batches are
//! handed over in order. With no workers, the training thread reads each batch itself.

use std::{
    collections::BTreeMap,
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc,
    },
    thread::Scope,
};

use rand::{rngs::SmallRng, SeedableRng};

use super::{
    batch::{Batch, SampleTemplate},
    buffer::BufferPool,
    io::HostSource,
    reads::{ReadLog, ReadTally},
    EngineError,
};
use crate::{
    config::TimeSpec,
    plan::{PhasePlan, PlannedFile, RecordStream},
    plugins::{Reader, Session, Store},
};

/// Everything needed to read one batch of a phase.
pub struct BatchReader<'a> {
    /// The phase being read.
    pub phase: &'a PhasePlan,
    /// All files of the dataset.
    pub files: &'a [PlannedFile],
    /// The configured format.
    pub session: &'a Session,
    /// The store the dataset is read from.
    pub store: &'a Store,
    /// This rank.
    pub rank: u64,
    /// Per-sample preprocessing sleep.
    pub preprocess: TimeSpec,
    /// Reusable read buffers.
    pub pool: BufferPool,
    /// Where reads are counted and traced.
    pub reads: &'a ReadLog,
    /// `train` or `eval`, for the trace.
    pub phase_name: &'static str,
    /// This epoch's file order of the split, when shuffled.
    pub order: Option<Vec<u64>>,
    /// The dummy sample every read returns.
    pub sample: &'a SampleTemplate,
    /// This rank's record stream, for TensorFlow's TFRecord pipeline.
    pub stream: Option<RecordStream>,
}

impl BatchReader<'_> {
    /// Reads the samples of batch `step` and collates them. By index (DLIO's default
    /// `on_demand` read type), each sample opens its file, performs the format's reads for it
    /// and closes it; a TFRecord stream keeps a file open while its records follow each other.
    pub fn read_batch(&self, step: u64, rng: &mut SmallRng) -> Result<Batch, EngineError> {
        let mut open = None;
        let mut read = |(file_index, in_file): (u64, u64)| -> Result<(), EngineError> {
            self.read_sample(step, file_index, in_file, &mut open)?;
            let pause = self.preprocess.sample(rng);
            if pause > 0.0 {
                std::thread::sleep(std::time::Duration::from_secs_f64(pause));
            }
            Ok(())
        };
        match &self.stream {
            Some(stream) => {
                for position in stream.batch(step) {
                    if let Some(record) = stream.locate(position) {
                        read(record)?;
                    }
                }
            }
            None => {
                for sample in self.phase.batch(self.rank, step) {
                    read(self.phase.locate(sample, self.order.as_deref()))?;
                }
            }
        }
        drop(open);
        Ok(self.sample.collate(self.phase.batch_size))
    }

    /// Performs the format's reads for one sample, opening its file unless `open` already
    /// holds it (streams only) or the format reads without I/O.
    fn read_sample(
        &self,
        step: u64,
        file_index: u64,
        in_file: u64,
        open: &mut Option<OpenFile>,
    ) -> Result<(), EngineError> {
        let file = &self.files[file_index as usize];
        let key = file.spec.key.as_str();
        let at = |source| EngineError::File {
            key: key.to_string(),
            source,
        };
        if self.session.reads_without_io() {
            self.reads
                .sample_done(self.phase_name, step, key, in_file, &self.reads.tally());
            return Ok(());
        }
        let current = match open.take() {
            Some(kept) if self.stream.is_some() && kept.file == file_index => open.insert(kept),
            other => {
                // Any other file is closed before the next is opened, as a reader does.
                drop(other);
                let tally = self.reads.tally();
                let source = HostSource::open(self.store, key, self.pool.clone(), tally.clone())
                    .map_err(at)?;
                let reader = self.session.open(&file.spec, source).map_err(at)?;
                open.insert(OpenFile {
                    file: file_index,
                    reader,
                    tally,
                })
            }
        };
        current.reader.read_sample(in_file).map_err(at)?;
        self.reads
            .sample_done(self.phase_name, step, key, in_file, &current.tally);
        if self.stream.is_none() {
            *open = None;
        }
        Ok(())
    }
}

/// A file a stream keeps open between consecutive records.
struct OpenFile {
    file: u64,
    reader: Reader,
    tally: ReadTally,
}

/// Hands batches `0..steps` to the training thread in order.
pub struct Loader<'a> {
    reader: &'a BatchReader<'a>,
    steps: u64,
    next_step: u64,
    next_dispatch: u64,
    tasks: Vec<mpsc::Sender<u64>>,
    results: Option<mpsc::Receiver<(u64, Result<Batch, EngineError>)>>,
    ready: BTreeMap<u64, Result<Batch, EngineError>>,
    cancel: Arc<AtomicBool>,
    rng: SmallRng,
}

impl<'a> Loader<'a> {
    /// Starts `workers` reader threads in `scope` (none: the caller reads) keeping up to
    /// `workers · prefetch_factor` batches in flight.
    pub fn start<'scope>(
        scope: &'scope Scope<'scope, '_>,
        reader: &'a BatchReader<'a>,
        steps: u64,
        workers: u64,
        prefetch_factor: u64,
    ) -> Self
    where
        'a: 'scope,
    {
        let cancel = Arc::new(AtomicBool::new(false));
        let mut loader = Loader {
            reader,
            steps,
            next_step: 0,
            next_dispatch: 0,
            tasks: Vec::new(),
            results: None,
            ready: BTreeMap::new(),
            cancel: Arc::clone(&cancel),
            rng: SmallRng::from_os_rng(),
        };
        if workers == 0 {
            return loader;
        }
        let (result_tx, result_rx) = mpsc::channel();
        for _ in 0..workers {
            let (task_tx, task_rx) = mpsc::channel::<u64>();
            let result_tx = result_tx.clone();
            let cancel = Arc::clone(&cancel);
            scope.spawn(move || {
                let mut rng = SmallRng::from_os_rng();
                while let Ok(step) = task_rx.recv() {
                    if cancel.load(Ordering::Relaxed) {
                        break;
                    }
                    // A panic here would leave the training thread waiting for this step forever.
                    let result =
                        catch_unwind(AssertUnwindSafe(|| reader.read_batch(step, &mut rng)))
                            .unwrap_or_else(|_| {
                                Err(EngineError::Internal(format!(
                                    "reader worker panicked on batch {step}"
                                )))
                            });
                    if result_tx.send((step, result)).is_err() {
                        break;
                    }
                }
            });
            loader.tasks.push(task_tx);
        }
        loader.results = Some(result_rx);
        for _ in 0..workers * prefetch_factor.max(1) {
            loader.dispatch();
        }
        loader
    }

    fn dispatch(&mut self) {
        if self.next_dispatch < self.steps && !self.tasks.is_empty() {
            let worker = (self.next_dispatch % self.tasks.len() as u64) as usize;
            // A worker that stopped has already reported its error; nothing to do here.
            let _ = self.tasks[worker].send(self.next_dispatch);
            self.next_dispatch += 1;
        }
    }

    /// Waits for the next batch; `None` after the last one.
    pub fn next_batch(&mut self) -> Option<Result<Batch, EngineError>> {
        if self.next_step >= self.steps {
            return None;
        }
        let step = self.next_step;
        self.next_step += 1;
        let Some(results) = &self.results else {
            return Some(self.reader.read_batch(step, &mut self.rng));
        };
        let outcome = loop {
            if let Some(result) = self.ready.remove(&step) {
                break result;
            }
            match results.recv() {
                Ok((done, result)) => {
                    self.ready.insert(done, result);
                }
                Err(_) => {
                    break Err(EngineError::Internal(
                        "reader workers stopped unexpectedly".into(),
                    ))
                }
            }
        };
        if outcome.is_err() {
            self.cancel.store(true, Ordering::Relaxed);
        } else {
            self.dispatch();
        }
        Some(outcome)
    }
}

impl Drop for Loader<'_> {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.tasks.clear();
    }
}

/// PyTorch's `prefetch_factor = ceil(prefetch_size / read_threads)`, 2 when not positive.
pub fn prefetch_factor(prefetch_size: i64, read_threads: u64) -> u64 {
    if prefetch_size <= 0 || read_threads == 0 {
        2
    } else {
        (prefetch_size as u64).div_ceil(read_threads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetch_factor_follows_pytorch() {
        assert_eq!(prefetch_factor(2, 1), 2);
        assert_eq!(prefetch_factor(2, 4), 1);
        assert_eq!(prefetch_factor(5, 2), 3);
        assert_eq!(prefetch_factor(0, 4), 2);
        assert_eq!(prefetch_factor(-1, 4), 2);
    }
}
