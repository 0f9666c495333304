//! Writing and reading one checkpoint: this rank's files of the
//! [`CheckpointPlan`](crate::plan::CheckpointPlan), under `global_epoch<E>_step<S>/` of the
//! checkpoint store. Content is streamed in [`CHUNK_BYTES`] pieces from one reusable buffer,
//! so a 12 GB optimizer shard needs 1 MiB of memory, not 12 GB (DLIO holds whole tensors).

use std::time::Instant;

use abi_stable::std_types::RString;
use dl_plugin_api::{
    abi::{ErrorKind, WriteOptions},
    sdk::{
        content::{ContentStream, CHUNK_BYTES},
        Dtype,
    },
};

use super::{AlignedBuf, EngineError};
use crate::{
    plan::checkpoint::{CheckpointFile, CheckpointPlan, Content, Part},
    plugins::{PluginCallError, Store},
};

/// Directory of the checkpoint taken at `step` of `epoch`, as DLIO names it.
pub fn checkpoint_dir(epoch: u64, step: u64) -> String {
    format!("global_epoch{epoch}_step{step}")
}

/// What one rank did for one checkpoint write or read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckpointIo {
    /// Bytes written or read by this rank.
    pub bytes: u64,
    /// Seconds this rank spent on all its files (monotonic clock).
    pub seconds: f64,
    /// Files written or read.
    pub files: usize,
    /// Seconds on model-state files (DLIO logs "Saved model checkpoint in x seconds").
    pub model_seconds: f64,
    /// Seconds on optimizer-state files ("Saved optimizer checkpoint in x seconds").
    pub optimizer_seconds: f64,
}

impl CheckpointIo {
    fn add(&mut self, part: Part, bytes: u64, seconds: f64) {
        self.bytes += bytes;
        self.files += 1;
        match part {
            Part::Model => self.model_seconds += seconds,
            Part::Optimizer => self.optimizer_seconds += seconds,
            Part::Metadata => {}
        }
    }
}

/// Writes `rank`'s files of the checkpoint of (`epoch`, `step`) into `store`, each published
/// only when complete and made durable first when `fsync` is set (the file backend syncs the
/// file and its directory). `randomize` gives random content (a stream per file, seeded from
/// rank, file, epoch and step), otherwise every byte is 0x01 (DLIO's "all ones").
pub fn write(
    store: &Store,
    plan: &CheckpointPlan,
    rank: u64,
    epoch: u64,
    step: u64,
    fsync: bool,
    randomize: bool,
) -> Result<CheckpointIo, EngineError> {
    let dir = checkpoint_dir(epoch, step);
    let mut content = ContentWriter::default();
    let mut io = CheckpointIo::default();
    let started = Instant::now();
    for (index, file) in plan.files_of(rank).enumerate() {
        let file_started = Instant::now();
        let key = format!("{dir}/{}", file.name);
        let at = |source: PluginCallError| EngineError::File {
            key: key.clone(),
            source,
        };
        let options = WriteOptions {
            size_hint: file.bytes,
            fsync,
            extra: RString::new(),
        };
        let mut writer = store.open_write(&key, &options).map_err(at)?;
        let seed = randomize.then(|| file_seed(rank, index as u64, epoch, step));
        // Dropping the writer on an error aborts it: no partial file is published.
        let written = content
            .stream(file, seed, |chunk| writer.write(chunk))
            .map_err(at)?;
        writer.finish().map_err(at)?;
        io.add(file.part, written, file_started.elapsed().as_secs_f64());
    }
    io.seconds = started.elapsed().as_secs_f64();
    Ok(io)
}

/// Reads `rank`'s files of the checkpoint of (`epoch`, `step`) whole, front to back in reads
/// of the store's transfer size into one reusable buffer (aligned for direct I/O), as
/// `torch.load` reads a file. A missing file, or one shorter than planned, is an error that
/// names it.
pub fn read(
    store: &Store,
    plan: &CheckpointPlan,
    rank: u64,
    epoch: u64,
    step: u64,
) -> Result<CheckpointIo, EngineError> {
    let dir = checkpoint_dir(epoch, step);
    let mut buffer: Option<AlignedBuf> = None;
    let mut io = CheckpointIo::default();
    let started = Instant::now();
    for file in plan.files_of(rank) {
        let file_started = Instant::now();
        let key = format!("{dir}/{}", file.name);
        let at = |source: PluginCallError| EngineError::File {
            key: key.clone(),
            source,
        };
        let unusable = |message: String| EngineError::Checkpoint {
            key: store.local_path(&key).unwrap_or_else(|| key.clone()),
            message,
        };
        let mut reader = match store.open_read(&key) {
            Ok(reader) => reader,
            Err(err) if err.kind == ErrorKind::NOT_FOUND => {
                return Err(unusable(
                    "not found; reads load checkpoints written before (checkpoint.num_checkpoints_write) \
                     by a run with the same model, parallelism, framework and rank count"
                        .into(),
                ))
            }
            Err(err) => return Err(at(err)),
        };
        let size = reader.size().map_err(at)?;
        if size < file.bytes {
            return Err(unusable(short_message(size, file.bytes)));
        }
        // Allocated at the first file only: ranks without files need no buffer.
        let mut buf = match buffer.take() {
            Some(buf) => buf,
            None => read_buffer(store)?,
        };
        let mut offset = 0;
        while offset < size {
            let got = reader.read_at(offset, buf.as_mut_slice()).map_err(at)?;
            if got == 0 {
                return Err(unusable(short_message(offset, file.bytes)));
            }
            offset += got;
        }
        buffer = Some(buf);
        io.add(file.part, offset, file_started.elapsed().as_secs_f64());
    }
    io.seconds = started.elapsed().as_secs_f64();
    Ok(io)
}

fn short_message(found: u64, planned: u64) -> String {
    format!(
        "{found} bytes where the plan expects {planned}: truncated, or written by a run with another model, \
         parallelism, framework or rank count; write it again"
    )
}

/// One buffer of the store's transfer size at its alignment.
fn read_buffer(store: &Store) -> Result<AlignedBuf, EngineError> {
    let info = store.info();
    let len = match info.transfer_size {
        0 => CHUNK_BYTES,
        size => usize::try_from(size).unwrap_or(CHUNK_BYTES),
    };
    let align = usize::try_from(info.alignment.max(1)).unwrap_or(1);
    AlignedBuf::new(len, align).map_err(|err| {
        EngineError::Internal(format!("checkpoint read buffer of {len} bytes: {err}"))
    })
}

/// Seed of a file's random content: distinct for every (rank, file, epoch, step), so no two
/// files share bytes a store could deduplicate.
fn file_seed(rank: u64, index: u64, epoch: u64, step: u64) -> u64 {
    // SplitMix64's finalizer, applied after each field: cheap and well mixed.
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    [rank, index, epoch, step]
        .into_iter()
        .fold(0x636B_7074, |acc, field| mix(acc ^ field))
}

/// Produces file content chunk by chunk from one buffer of at most [`CHUNK_BYTES`].
#[derive(Default)]
struct ContentWriter {
    buf: Vec<u8>,
    /// The buffer holds ones from the previous file, so it need not be refilled.
    holds_ones: bool,
}

impl ContentWriter {
    /// Feeds `file`'s content to `sink` in pieces of at most [`CHUNK_BYTES`]: its text, or
    /// `file.bytes` bytes of the random stream of `seed` (all 0x01 when `None`). Returns the
    /// bytes fed; stops at the first error of `sink`.
    fn stream<E>(
        &mut self,
        file: &CheckpointFile,
        seed: Option<u64>,
        mut sink: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<u64, E> {
        if let Content::Text(text) = &file.content {
            for piece in text.as_bytes().chunks(CHUNK_BYTES) {
                sink(piece)?;
            }
            return Ok(text.len() as u64);
        }
        if self.buf.is_empty() && file.bytes > 0 {
            self.buf = vec![0; CHUNK_BYTES];
            self.holds_ones = false;
        }
        // Random bytes: uint8 elements are the cheapest the stream makes and compress no better.
        let mut random = seed.map(|seed| ContentStream::new(seed, Dtype::Uint8));
        if random.is_none() && !self.holds_ones {
            self.buf.fill(1);
            self.holds_ones = true;
        }
        let mut left = file.bytes;
        while left > 0 {
            let len = usize::try_from(left).map_or(CHUNK_BYTES, |l| l.min(CHUNK_BYTES));
            let chunk = &mut self.buf[..len];
            if let Some(stream) = &mut random {
                stream.fill(chunk);
                self.holds_ones = false;
            }
            sink(chunk)?;
            left -= len as u64;
        }
        Ok(file.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor_file(bytes: u64) -> CheckpointFile {
        CheckpointFile {
            rank: 0,
            name: "zero_pp_rank_0_mp_rank_0_optim_states.pt".into(),
            bytes,
            part: Part::Optimizer,
            content: Content::Tensors,
        }
    }

    /// Streams `file` and returns its bytes and the largest piece handed to the sink.
    fn collect(
        writer: &mut ContentWriter,
        file: &CheckpointFile,
        seed: Option<u64>,
    ) -> (Vec<u8>, usize) {
        let (mut out, mut largest) = (Vec::new(), 0);
        let fed = writer
            .stream(file, seed, |chunk| {
                largest = largest.max(chunk.len());
                out.extend_from_slice(chunk);
                Ok::<_, ()>(())
            })
            .unwrap();
        assert_eq!(fed, out.len() as u64);
        (out, largest)
    }

    #[test]
    fn directories_are_named_like_dlios() {
        assert_eq!(checkpoint_dir(5, 5), "global_epoch5_step5");
        assert_eq!(checkpoint_dir(1, 12), "global_epoch1_step12");
    }

    #[test]
    fn files_get_their_planned_size_in_bounded_pieces() {
        let mut writer = ContentWriter::default();
        for bytes in [0, 1, 4095, CHUNK_BYTES as u64, 2 * CHUNK_BYTES as u64 + 3] {
            for seed in [None, Some(7)] {
                let (out, largest) = collect(&mut writer, &tensor_file(bytes), seed);
                assert_eq!(out.len() as u64, bytes, "{bytes} bytes, seed {seed:?}");
                assert!(largest <= CHUNK_BYTES);
            }
        }
        assert!(writer.buf.len() <= CHUNK_BYTES, "memory stays one chunk");
    }

    #[test]
    fn without_randomize_every_byte_is_one_even_after_random_content() {
        let mut writer = ContentWriter::default();
        let size = CHUNK_BYTES as u64 + 10;
        let (ones, _) = collect(&mut writer, &tensor_file(size), None);
        assert!(ones.iter().all(|&b| b == 1));
        collect(&mut writer, &tensor_file(size), Some(3));
        let (again, _) = collect(&mut writer, &tensor_file(size), None);
        assert!(
            again.iter().all(|&b| b == 1),
            "the buffer is refilled after random data"
        );
    }

    #[test]
    fn random_content_is_deterministic_per_seed_and_differs_between_seeds() {
        let file = tensor_file(3 * CHUNK_BYTES as u64 / 2);
        let mut writer = ContentWriter::default();
        let (first, _) = collect(&mut writer, &file, Some(file_seed(0, 1, 2, 3)));
        let (second, _) = collect(
            &mut ContentWriter::default(),
            &file,
            Some(file_seed(0, 1, 2, 3)),
        );
        assert_eq!(first, second);
        let (other, _) = collect(&mut writer, &file, Some(file_seed(0, 1, 2, 4)));
        assert_ne!(first, other);
        let (head, tail) = first.split_at(CHUNK_BYTES / 2);
        assert_ne!(head, &tail[..CHUNK_BYTES / 2], "chunks do not repeat");
        let ones = first.iter().filter(|&&b| b == 1).count();
        assert!(ones < first.len() / 64, "random, not ones: {ones}");
    }

    #[test]
    fn seeds_differ_for_every_field() {
        let base = file_seed(1, 2, 3, 4);
        for other in [
            file_seed(0, 2, 3, 4),
            file_seed(1, 0, 3, 4),
            file_seed(1, 2, 0, 4),
            file_seed(1, 2, 3, 0),
            file_seed(2, 1, 3, 4),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn text_files_hold_exactly_their_text() {
        let text = "model_checkpoint_path: \"x.pb-1\"\n".to_string();
        let file = CheckpointFile {
            rank: 0,
            name: "checkpoint".into(),
            bytes: text.len() as u64,
            part: Part::Metadata,
            content: Content::Text(text.clone()),
        };
        let (out, _) = collect(&mut ContentWriter::default(), &file, Some(1));
        assert_eq!(out, text.as_bytes());
    }

    #[test]
    fn a_sink_error_stops_the_stream() {
        let mut calls = 0;
        let result =
            ContentWriter::default().stream(&tensor_file(4 * CHUNK_BYTES as u64), None, |_| {
                calls += 1;
                if calls == 2 {
                    Err("disk full")
                } else {
                    Ok(())
                }
            });
        assert_eq!(result, Err("disk full"));
        assert_eq!(calls, 2);
    }

    #[test]
    fn io_records_split_time_by_part() {
        let mut io = CheckpointIo::default();
        io.add(Part::Model, 10, 1.0);
        io.add(Part::Optimizer, 20, 2.0);
        io.add(Part::Metadata, 1, 0.5);
        assert_eq!((io.bytes, io.files), (31, 3));
        assert_eq!((io.model_seconds, io.optimizer_seconds), (1.0, 2.0));
    }
}
