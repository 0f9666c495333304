//! Checkpoints inside a run: the timed save and load steps the training loop calls, and DLIO's
//! checkpoint-only mode (reference/dlio-spec.md §4.7) used by the llama workloads.

use std::time::{Duration, Instant};

use chrono::{DateTime, Local};

use super::{
    checkpoint::{checkpoint_dir, read, write, CheckpointIo},
    EngineError,
};
use crate::{comm::World, config::Checkpoint, plan::CheckpointPlan, plugins::Store};

/// One timed checkpoint save or load of this rank.
#[derive(Debug, Clone)]
pub struct CheckpointRecord {
    /// `save_ckpt<k>` or `load_ckpt<k>`, DLIO's key in the per-epoch stats.
    pub name: String,
    /// Wall-clock start.
    pub start: DateTime<Local>,
    /// Wall-clock end.
    pub end: DateTime<Local>,
    /// Seconds this rank spent, including the barrier when `rank_sync` is set.
    pub seconds: f64,
    /// Bytes this rank wrote or read.
    pub bytes: u64,
    /// The whole job's checkpoint size over this rank's duration, GiB/s (DLIO's formula).
    pub gib_per_second: f64,
    /// True for a save, false for a load.
    pub save: bool,
}

/// Saves and loads checkpoints of one run for one rank.
pub struct Checkpointer<'a> {
    /// Where checkpoints go.
    pub store: &'a Store,
    /// Every file of one checkpoint.
    pub plan: &'a CheckpointPlan,
    /// The `checkpoint` section.
    pub settings: &'a Checkpoint,
    /// The ranks.
    pub world: &'a dyn World,
    /// Print progress lines (rank 0).
    pub announce: bool,
}

impl Checkpointer<'_> {
    /// Saves the checkpoint of `epoch`/`step` as `name` (`save_ckpt<k>`).
    pub fn save(
        &self,
        name: String,
        epoch: u64,
        step: u64,
    ) -> Result<CheckpointRecord, EngineError> {
        let (rank, fsync, randomize) = (
            self.world.rank(),
            self.settings.fsync,
            self.settings.randomize_tensor,
        );
        self.timed(name, epoch, step, || {
            write(self.store, self.plan, rank, epoch, step, fsync, randomize)
        })
    }

    /// Loads the checkpoint of `epoch`/`step` as `name` (`load_ckpt<k>`).
    pub fn load(
        &self,
        name: String,
        epoch: u64,
        step: u64,
    ) -> Result<CheckpointRecord, EngineError> {
        let rank = self.world.rank();
        self.timed(name, epoch, step, || {
            read(self.store, self.plan, rank, epoch, step)
        })
    }

    /// Runs one save or load (a `save_…` name is a save) between DLIO's progress lines and
    /// times it, including the barrier when `rank_sync` is set.
    fn timed(
        &self,
        name: String,
        epoch: u64,
        step: u64,
        io: impl FnOnce() -> Result<CheckpointIo, EngineError>,
    ) -> Result<CheckpointRecord, EngineError> {
        let save = name.starts_with("save");
        let verb = if save { "saving" } else { "loading" };
        self.say(&format!(
            "Starting {verb} checkpoint {step} after total step {step} for epoch {epoch}"
        ));
        let start = Local::now();
        let clock = Instant::now();
        let done = io()?;
        if self.settings.rank_sync {
            self.world.barrier();
        }
        let seconds = clock.elapsed().as_secs_f64();
        let gib_per_second = if seconds > 0.0 {
            self.plan.reported_gb() / seconds
        } else {
            0.0
        };
        self.say(&format!(
            "Finished {verb} checkpoint {step} for epoch {epoch} in {seconds:.4} s; Throughput: {gib_per_second:.4} GB/s"
        ));
        Ok(CheckpointRecord {
            name,
            start,
            end: Local::now(),
            seconds,
            bytes: done.bytes,
            gib_per_second,
            save,
        })
    }

    fn say(&self, message: &str) {
        if self.announce {
            crate::log::output(message);
        }
    }
}

/// DLIO sleeps `abs(time_between_checkpoints)` seconds, so its default of −1 sleeps one
/// second; dl-driver does the same, since MLPerf timings include it.
fn pause(settings: &Checkpoint) {
    let seconds = settings.time_between_checkpoints.abs();
    if seconds > 0.0 && seconds.is_finite() {
        std::thread::sleep(Duration::from_secs_f64(seconds));
    }
}

/// Checkpoint-only mode: `num_checkpoints_write` saves, then `num_checkpoints_read` loads of
/// `global_epoch1_step<i>`, each after `time_between_checkpoints` and a barrier.
pub fn checkpoint_only(checkpointer: &Checkpointer) -> Result<Vec<CheckpointRecord>, EngineError> {
    let settings = checkpointer.settings;
    let writes = settings.num_checkpoints_write.max(0) as u64;
    let reads = settings.num_checkpoints_read.max(0) as u64;
    let mut records = Vec::new();
    if writes > 0 {
        checkpointer.say("Checkpointing write started");
    }
    for i in 1..=writes {
        pause(settings);
        checkpointer.world.barrier();
        records.push(checkpointer.save(format!("save_ckpt{i}"), 1, i)?);
    }
    if reads > 0 {
        checkpointer.say("Checkpointing read started");
        for i in 1..=reads {
            let dir = checkpoint_dir(1, i);
            let first = checkpointer.plan.files_of(checkpointer.world.rank()).next();
            if let Some(file) = first {
                let key = format!("{dir}/{}", file.name);
                let present =
                    checkpointer
                        .store
                        .stat(&key)
                        .map_err(|source| EngineError::File {
                            key: key.clone(),
                            source,
                        })?;
                if present.is_none() {
                    return Err(EngineError::Checkpoint {
                        key,
                        message: format!(
                            "checkpoint {i} of the {reads} to read is missing; write them first \
                             (checkpoint.num_checkpoints_write ≥ {reads}) with the same model and ranks"
                        ),
                    });
                }
            }
        }
    }
    for i in 1..=reads {
        pause(settings);
        checkpointer.world.barrier();
        records.push(checkpointer.load(format!("load_ckpt{i}"), 1, i)?);
    }
    Ok(records)
}
