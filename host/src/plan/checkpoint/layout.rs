//! How a job's ranks are laid out over tensor, pipeline and data parallelism (DLIO's order:
//! tensor-parallel fastest), which ranks write, which layers each pipeline stage owns, and
//! DLIO's rules on the parallelism keys (reference/dlio-spec.md §1.3 rules 7–9).

use std::ops::RangeInclusive;

use crate::{
    config::{Checkpoint, Model},
    plan::PlanError,
};

/// How the ranks of a (possibly larger, in subset mode) job are laid out: tensor-parallel
/// fastest, then pipeline, then data parallel, as DLIO lays them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Tensor-parallel degree (TP).
    pub tensor: u64,
    /// Pipeline-parallel degree (PP).
    pub pipeline: u64,
    /// Data-parallel degree (DP) of the job being emulated.
    pub data: u64,
    /// ZeRO stage 0..=3.
    pub zero_stage: u64,
}

impl Layout {
    /// Model-parallel size `mp = TP·PP`.
    pub fn model_parallel(&self) -> u64 {
        self.tensor * self.pipeline
    }

    /// Pipeline stage of `rank`.
    pub fn pp_rank(&self, rank: u64) -> u64 {
        (rank / self.tensor) % self.pipeline
    }

    /// Data-parallel replica of `rank`.
    pub fn dp_rank(&self, rank: u64) -> u64 {
        rank / self.model_parallel()
    }

    /// Position of `rank` inside its model-parallel group.
    pub fn mp_rank(&self, rank: u64) -> u64 {
        rank % self.model_parallel()
    }

    /// Whether `rank` writes anything: without ZeRO only the first model-parallel group does
    /// (the other replicas hold identical copies); with ZeRO every rank owns a shard.
    pub fn checkpoints(&self, rank: u64) -> bool {
        self.zero_stage > 0 || rank < self.model_parallel()
    }

    /// Whether `rank` holds model (layer) state: ZeRO 1 keeps the full model on every replica
    /// and only replica 0 saves it.
    pub fn holds_model(&self, rank: u64) -> bool {
        self.zero_stage != 1 || self.dp_rank(rank) == 0
    }

    /// Divisor of the model tensors: ZeRO 3 shards them over the data-parallel replicas.
    pub fn sharding(&self) -> u64 {
        if self.zero_stage >= 3 {
            self.data
        } else {
            1
        }
    }

    /// Layers owned by pipeline stage `stage` of a model with `layers` transformer layers.
    ///
    /// Transformer layers 1..=L are cut into contiguous chunks of L/PP, the first L%PP stages
    /// taking one more. With `edges` (derived mode) stage 0 also owns layer 0 (embedding) and
    /// the last stage layers L+1 (lm_head) and L+2 (final norm); DLIO's legacy explicit mode
    /// does not add them. Empty when `layers` is not positive.
    pub fn stage_layers(&self, stage: u64, layers: u64, edges: bool) -> RangeInclusive<u64> {
        if layers == 0 {
            // DLIO's Python ranges are empty here too.
            return RangeInclusive::new(1, 0);
        }
        let (chunk, extra) = (layers / self.pipeline, layers % self.pipeline);
        let mut start = stage * chunk + stage.min(extra) + 1;
        let own = chunk + u64::from(stage < extra);
        // `start + own - 1` without underflow when a stage owns no layer.
        let mut end = start + own;
        if edges {
            if stage + 1 == self.pipeline {
                end = layers + 3;
            }
            if stage == 0 {
                start = 0;
            }
        }
        if end == start {
            return RangeInclusive::new(1, 0);
        }
        start..=end - 1
    }
}

/// A [`PlanError::Invalid`] for `key`.
pub(super) fn invalid(
    key: &'static str,
    value: impl ToString,
    message: impl Into<String>,
) -> PlanError {
    PlanError::Invalid {
        key,
        value: value.to_string(),
        message: message.into(),
    }
}

/// Checks DLIO's parallelism rules (§1.3 rules 7–9) for `ranks` ranks and returns the layout.
/// DLIO enforces them at start-up whether or not the run checkpoints.
pub fn validate_parallelism(
    model: &Model,
    checkpoint: &Checkpoint,
    ranks: u64,
) -> Result<Layout, PlanError> {
    let p = &model.parallelism;
    if ranks == 0 {
        return Err(invalid("ranks", 0, "a run needs at least one rank"));
    }
    if p.tensor < 1 {
        return Err(invalid(
            "model.parallelism.tensor",
            p.tensor,
            "must be at least 1",
        ));
    }
    if p.pipeline < 1 {
        return Err(invalid(
            "model.parallelism.pipeline",
            p.pipeline,
            "must be at least 1",
        ));
    }
    if !(0..=3).contains(&p.zero_stage) {
        return Err(invalid(
            "model.parallelism.zero_stage",
            p.zero_stage,
            "use 0, 1, 2 or 3",
        ));
    }
    let (tensor, pipeline) = (p.tensor as u64, p.pipeline as u64);
    if model.num_layers > 0 && (model.num_layers as u64) < pipeline {
        return Err(invalid(
            "model.num_layers",
            model.num_layers,
            format!("fewer layers than the {pipeline} pipeline stages; raise it or lower model.parallelism.pipeline"),
        ));
    }
    if pipeline > 1 && p.zero_stage == 3 {
        return Err(invalid(
            "model.parallelism.zero_stage",
            3,
            format!("ZeRO stage 3 is not compatible with pipeline parallelism ({pipeline}); use model.parallelism.pipeline: 1 or ZeRO 0-2"),
        ));
    }
    let model_parallel = tensor.checked_mul(pipeline).ok_or_else(|| {
        invalid(
            "model.parallelism.pipeline",
            pipeline,
            "tensor × pipeline parallelism is too large",
        )
    })?;
    let data = match checkpoint.mode.as_str() {
        "default" => {
            // 0 counts as unset like -1 (DLIO would take 0 replicas and divide by zero).
            if p.data > 0 {
                return Err(invalid(
                    "model.parallelism.data",
                    p.data,
                    "set only with checkpoint.mode: subset; in the default mode it is ranks / (tensor × pipeline); remove it",
                ));
            }
            if ranks % model_parallel != 0 {
                return Err(invalid(
                    "model.parallelism.tensor",
                    format!("{tensor} (pipeline {pipeline})"),
                    format!(
                        "the {ranks} ranks are not a multiple of tensor × pipeline = {model_parallel}; change the rank count, \
                         or emulate a slice of a larger job with checkpoint.mode: subset and model.parallelism.data"
                    ),
                ));
            }
            ranks / model_parallel
        }
        "subset" => {
            if p.data <= 0 {
                return Err(invalid(
                    "model.parallelism.data",
                    p.data,
                    "checkpoint.mode: subset needs the data parallelism of the job it emulates; set it above 0",
                ));
            }
            let data = p.data as u64;
            let job = u128::from(data) * u128::from(model_parallel);
            if job < u128::from(ranks) {
                return Err(invalid(
                    "model.parallelism.data",
                    data,
                    format!(
                        "data × tensor × pipeline = {job} is smaller than the {ranks} ranks; raise it or run fewer ranks"
                    ),
                ));
            }
            data
        }
        other => return Err(invalid("checkpoint.mode", other, "use default or subset")),
    };
    Ok(Layout {
        tensor,
        pipeline,
        data,
        zero_stage: p.zero_stage as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(tensor: u64, pipeline: u64, data: u64, zero_stage: u64) -> Layout {
        Layout {
            tensor,
            pipeline,
            data,
            zero_stage,
        }
    }

    #[test]
    fn ranks_are_laid_out_tensor_parallel_fastest() {
        let l = layout(2, 3, 4, 1);
        // rank 13 = dp 2, then pp (13/2)%3 = 0, tp 1, mp 13%6 = 1.
        assert_eq!(l.model_parallel(), 6);
        assert_eq!((l.pp_rank(13), l.dp_rank(13), l.mp_rank(13)), (0, 2, 1));
        assert_eq!((l.pp_rank(5), l.dp_rank(5), l.mp_rank(5)), (2, 0, 5));
    }

    #[test]
    fn who_checkpoints_and_who_holds_the_model() {
        let zero0 = layout(2, 1, 4, 0);
        assert!(zero0.checkpoints(1) && !zero0.checkpoints(2));
        let zero1 = layout(2, 1, 4, 1);
        assert!(zero1.checkpoints(7));
        assert!(zero1.holds_model(1) && !zero1.holds_model(2));
        let zero2 = layout(2, 1, 4, 2);
        assert!(zero2.holds_model(7));
    }

    #[test]
    fn stages_own_contiguous_chunks_and_the_edges() {
        // 10 layers over 4 stages: 3, 3, 2, 2.
        let l = layout(1, 4, 1, 1);
        assert_eq!(l.stage_layers(0, 10, true), 0..=3);
        assert_eq!(l.stage_layers(1, 10, true), 4..=6);
        assert_eq!(l.stage_layers(2, 10, true), 7..=8);
        assert_eq!(l.stage_layers(3, 10, true), 9..=12);
        assert_eq!(l.stage_layers(0, 10, false), 1..=3);
        assert_eq!(l.stage_layers(3, 10, false), 9..=10);
        let single = layout(1, 1, 1, 0);
        assert_eq!(single.stage_layers(0, 32, true), 0..=34);
        assert_eq!(single.stage_layers(0, 2, false), 1..=2);
        assert!(single.stage_layers(0, 0, false).is_empty());
        assert!(single.stage_layers(0, 0, true).is_empty());
    }
}
