//! Dataset generation: this rank's files (j mod P = rank) written in parallel, each streamed
//! by the format into a store writer that publishes it only when complete. Files already
//! present with their planned size are reused; anything else is written again.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Mutex,
    },
    time::Instant,
};

use abi_stable::std_types::RString;
use dl_plugin_api::abi::WriteOptions;

use super::{io::HostOutput, progress, EngineError};
use crate::{
    comm::World,
    plan::{PlannedFile, RunPlan},
    plugins::{Session, Store},
};

/// What generation did, over all ranks.
#[derive(Debug, Clone, Default)]
pub struct GenerationReport {
    /// Files written.
    pub written: u64,
    /// Files found complete and kept.
    pub reused: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// Generates this rank's files of `plan` into `store` with `threads` writers.
pub fn generate(
    plan: &RunPlan,
    session: &Session,
    store: &Store,
    world: &dyn World,
    threads: usize,
) -> Result<GenerationReport, EngineError> {
    let started = Instant::now();
    let (rank, ranks) = (world.rank(), world.size());
    let mine: Vec<&PlannedFile> = plan
        .dataset
        .files
        .iter()
        .filter(|f| f.spec.index % ranks == rank)
        .collect();
    let planned_bytes: u64 = mine.iter().filter_map(|f| f.size).sum();
    let bar = progress::bytes_bar(planned_bytes, "generating");
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error = Mutex::new(None);
    let (written, reused, bytes) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));

    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, mine.len().max(1)) {
            scope.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let Some(file) = mine.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    match generate_one(file, session, store) {
                        Ok(Outcome::Reused(size)) => {
                            reused.fetch_add(1, Ordering::Relaxed);
                            bar.inc(size);
                        }
                        Ok(Outcome::Written(size)) => {
                            written.fetch_add(1, Ordering::Relaxed);
                            bytes.fetch_add(size, Ordering::Relaxed);
                            bar.inc(size);
                        }
                        Err(err) => {
                            failed.store(true, Ordering::Relaxed);
                            first_error.lock().expect("error slot").get_or_insert(err);
                        }
                    }
                }
            });
        }
    });
    bar.finish_and_clear();
    if let Some(err) = first_error.into_inner().expect("error slot") {
        return Err(err);
    }
    // Totals over all ranks (each wrote its own files): also the barrier DLIO has here.
    let mut totals = [
        written.into_inner() as f64,
        reused.into_inner() as f64,
        bytes.into_inner() as f64,
    ];
    world.all_reduce_sum(&mut totals);
    Ok(GenerationReport {
        written: totals[0] as u64,
        reused: totals[1] as u64,
        bytes: totals[2] as u64,
        seconds: started.elapsed().as_secs_f64(),
    })
}

enum Outcome {
    Reused(u64),
    Written(u64),
}

fn generate_one(
    file: &PlannedFile,
    session: &Session,
    store: &Store,
) -> Result<Outcome, EngineError> {
    let key = file.spec.key.as_str();
    let at = |source| EngineError::File {
        key: key.to_string(),
        source,
    };
    if let Some(existing) = store.stat(key).map_err(at)? {
        let size_ok = file.size.is_none_or(|size| size == existing.size);
        let missing = missing_sidecars(file, session, store)?;
        match (size_ok, missing.first()) {
            (true, None) => return Ok(Outcome::Reused(existing.size)),
            (false, _) => tracing::warn!(
                "{key}: found {} bytes, the plan says {}; writing it again",
                existing.size,
                file.size.unwrap_or_default()
            ),
            (true, Some(sidecar)) => {
                tracing::warn!("{key}: its companion file {sidecar} is missing; writing both again")
            }
        }
    }
    let options = WriteOptions {
        size_hint: file.size.unwrap_or(u64::MAX),
        fsync: false,
        extra: RString::new(),
    };
    let mut writer = store.open_write(key, &options).map_err(at)?;
    let (written, staged) = {
        let mut output = HostOutput::new(store, key, &mut writer);
        let written = session.generate(&file.spec, &mut output).map_err(at)?;
        if let Some(sidecar) = output.unfinished_sidecars().first() {
            // Dropping the writer discards the data file: a file set is published whole or not at all.
            return Err(EngineError::Internal(format!(
                "{key}: the format created {sidecar} but never finished it; nothing was published (a bug in the format plugin)"
            )));
        }
        (written, output.take_staged())
    };
    if let Some(staged) = staged {
        if written > 0 {
            return Err(EngineError::Internal(format!(
                "{key}: the format both wrote {written} bytes and created the file at its local path; \
                 nothing was published (a bug in the format plugin)"
            )));
        }
        let size = staged.publish(writer).map_err(|err| EngineError::Stage {
            key: key.to_string(),
            source: err,
        })?;
        return Ok(Outcome::Written(size));
    }
    if let Some(size) = file.size.filter(|&size| size != written) {
        return Err(EngineError::SizeMismatch {
            key: key.to_string(),
            planned: size,
            written,
        });
    }
    // Sidecars are finished first, so a published data file always has its companions.
    let meta = writer.finish().map_err(at)?;
    Ok(Outcome::Written(meta.size))
}

/// Companion files of `file` that the format writes but the store lacks.
fn missing_sidecars(
    file: &PlannedFile,
    session: &Session,
    store: &Store,
) -> Result<Vec<String>, EngineError> {
    let key = file.spec.key.as_str();
    let at = |source| EngineError::File {
        key: key.to_string(),
        source,
    };
    let mut missing = Vec::new();
    for sidecar in session.sidecar_keys(&file.spec).map_err(at)? {
        if store.stat(&sidecar).map_err(at)?.is_none() {
            missing.push(sidecar);
        }
    }
    Ok(missing)
}
