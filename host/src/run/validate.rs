//! `dl-driver validate`: the plan of a workload for a number of ranks, without any I/O.

use anyhow::Result;

use super::{open_registry, plan_only, PluginDirs};
use crate::{
    config::{Composed, Workload},
    plan::{self, Location},
};

/// What `dl-driver validate` reports.
#[derive(Debug, serde::Serialize)]
pub struct PlanSummary {
    /// Ranks planned for.
    pub ranks: u64,
    /// Format.
    pub format: String,
    /// Where the data is written.
    pub data: String,
    /// Training files.
    pub train_files: u64,
    /// Evaluation files.
    pub eval_files: u64,
    /// Bytes of all files whose size the format knows.
    pub dataset_bytes: u64,
    /// Files of unknown size.
    pub files_of_unknown_size: usize,
    /// Training steps per epoch (every rank).
    pub train_steps_per_epoch: u64,
    /// Evaluation steps per pass, when evaluation runs.
    pub eval_steps: Option<u64>,
    /// Epochs.
    pub epochs: u64,
    /// Whether the workflow generates or trains (else the dataset part is unused).
    pub uses_dataset: bool,
    /// One checkpoint, when the workflow checkpoints.
    pub checkpoint: Option<CheckpointSummary>,
}

/// The fewest ranks a workload's model layout allows: tensor × pipeline ranks make one model
/// replica, so a default-mode layout needs a multiple of them (subset mode emulates a slice).
fn fewest_ranks(workload: &Workload) -> u64 {
    let parallelism = &workload.model.parallelism;
    if workload.checkpoint.mode == "subset" {
        return 1;
    }
    (parallelism.tensor.max(1) * parallelism.pipeline.max(1)) as u64
}

/// What one checkpoint of the plan holds.
#[derive(Debug, serde::Serialize)]
pub struct CheckpointSummary {
    /// Where checkpoints go.
    pub location: String,
    /// Files of one checkpoint, all ranks.
    pub files: usize,
    /// Bytes all ranks write per checkpoint.
    pub bytes: u64,
    /// DLIO's `checkpoint_size_GB` (GiB).
    pub size_gb: f64,
    /// Parameters of a transformer model.
    pub parameters: Option<u64>,
}

/// `dl-driver validate`: plans the workload for `ranks` ranks without any I/O.
pub fn validate(composed: &Composed, dirs: &PluginDirs, ranks: Option<u64>) -> Result<PlanSummary> {
    let loaded = &composed.loaded;
    let registry = open_registry(dirs)?;
    let workload = &loaded.workload;
    let ranks = ranks.unwrap_or_else(|| fewest_ranks(workload));
    let uses_dataset = workload.workflow.train || workload.workflow.generate_data;
    let plan = if uses_dataset {
        plan_only(workload, &registry, ranks.max(1))?
    } else {
        // Checkpoint-only workloads (llama) never touch their default dataset.
        plan::build(workload, ranks.max(1), &workload.dataset.format, |_| {
            Ok::<_, String>(None)
        })?
    };
    let (bytes, unknown) = plan.dataset.total_bytes();
    let checkpoint = if workload.workflow.checkpoint {
        let checkpoint = plan::checkpoint::plan(
            &workload.model,
            &workload.checkpoint,
            workload.framework,
            plan.ranks,
        )?;
        Some(CheckpointSummary {
            location: Location::resolve(&workload.checkpoint.checkpoint_folder, "").to_string(),
            files: checkpoint.files.len(),
            bytes: checkpoint.total_bytes(),
            size_gb: checkpoint.reported_gb(),
            parameters: checkpoint.parameters,
        })
    } else {
        plan::checkpoint::validate_parallelism(&workload.model, &workload.checkpoint, plan.ranks)?;
        None
    };
    Ok(PlanSummary {
        ranks: plan.ranks,
        format: plan.dataset.format.clone(),
        data: plan.dataset.write_location.to_string(),
        train_files: plan.dataset.train_files,
        eval_files: plan.dataset.eval_files,
        dataset_bytes: bytes,
        files_of_unknown_size: unknown,
        train_steps_per_epoch: plan.train.steps,
        eval_steps: plan.eval.as_ref().map(|e| e.steps),
        epochs: plan.epochs,
        uses_dataset,
        checkpoint,
    })
}
