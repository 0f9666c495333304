//! The workload engine: generation, the training and evaluation loops, and the host side of
//! the plugin I/O interfaces. It follows the [`RunPlan`](crate::plan::RunPlan) and never
//! recomputes names, sizes or step counts.

mod batch;
mod buffer;
mod checkpoint;
mod checkpointing;
mod dataset;
mod generate;
mod io;
mod loader;
mod progress;
mod reads;
mod staging;
mod train;

pub use batch::{Batch, SampleShapeError, SampleTemplate};
pub use buffer::{AlignedBuf, BufferPool};
pub use checkpoint::{
    checkpoint_dir, read as read_checkpoint, write as write_checkpoint, CheckpointIo,
};
pub use checkpointing::{checkpoint_only, CheckpointRecord, Checkpointer};
pub use dataset::locate_dataset;
pub use generate::{generate, GenerationReport};
pub use io::{HostOutput, HostSource};
pub use reads::{ReadLog, ReadTally, TraceError};
pub use train::{train, EpochRecord, PhaseRecord, TrainContext, TrainingReport};

use crate::plugins::PluginCallError;

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A plugin call failed on one file.
    #[error("{key}")]
    File {
        /// Key of the file.
        key: String,
        /// The plugin's error.
        source: PluginCallError,
    },
    /// A format wrote another size than it announced.
    #[error(
        "{key}: the format wrote {written} bytes but announced {planned}; the file was discarded \
         (a bug in the format plugin)"
    )]
    SizeMismatch {
        /// Key of the file.
        key: String,
        /// Announced size.
        planned: u64,
        /// Bytes written.
        written: u64,
    },
    /// Files the run must read are not there.
    #[error(
        "Not enough training dataset is found: {missing} of the {needed} files this run reads are missing \
         under {location} (first: {first}); run with ++workload.workflow.generate_data=True, \
         or set workflow.generate_data: True in the workload"
    )]
    MissingData {
        /// How many are missing.
        missing: usize,
        /// How many were checked.
        needed: usize,
        /// Where.
        location: String,
        /// The first missing key.
        first: String,
    },
    /// A checkpoint file to read is missing or shorter than planned.
    #[error("checkpoint file {key}: {message}")]
    Checkpoint {
        /// The file (its local path for local stores).
        key: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A file the format wrote by path could not be published.
    #[error("{key}: publishing the generated file")]
    Stage {
        /// Key of the file.
        key: String,
        /// What went wrong.
        source: staging::StageError,
    },
    /// A bug in dl-driver itself.
    #[error("internal error: {0}")]
    Internal(String),
}
