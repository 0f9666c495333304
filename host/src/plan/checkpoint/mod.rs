//! What one checkpoint consists of (reference/dlio-spec.md §2.3): every file of every rank with
//! its name inside `global_epoch<E>_step<S>/` and its size, and the size DLIO reports. Pure:
//! the engine writes and reads exactly these files and never recomputes them.
//!
//! Three kinds of content, as in DLIO:
//! * a flat model tensor of `model_size_bytes` for non-transformer models (unet3d's 10 KiB);
//! * derived transformer state (`num_layers > 0`): layers split over the TP/PP/DP/ZeRO layout
//!   and the optimizer shards, sized from the `model.transformer` dimensions;
//! * DLIO's legacy explicit mode (`layer_parameters`, `optimization_groups`): written but not
//!   counted in the reported size.

mod layout;
mod names;
mod transformer;

use crate::{
    config::{Checkpoint, Framework, Model},
    plan::PlanError,
};

use layout::invalid;
pub use layout::{validate_parallelism, Layout};
pub use names::{TF_INDEX_BYTES, TF_STATE_FILE};
pub use transformer::DATATYPES;
use transformer::{datatype_size, Dims};

/// Which state a file holds, for the separate model and optimizer timings DLIO logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Model state: the flat tensor or layers.
    Model,
    /// Optimizer state.
    Optimizer,
    /// Framework bookkeeping (TensorFlow's `.index` and `checkpoint` files).
    Metadata,
}

/// What a file's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Tensor payload: random or all ones, as `checkpoint.randomize_tensor` says.
    Tensors,
    /// Exactly this text (TensorFlow's `checkpoint` state file).
    Text(String),
}

/// One file of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointFile {
    /// The rank that writes (and later reads) it.
    pub rank: u64,
    /// File name inside `global_epoch<E>_step<S>/`.
    pub name: String,
    /// Exact size in bytes.
    pub bytes: u64,
    /// Model, optimizer or metadata.
    pub part: Part,
    /// What to fill it with.
    pub content: Content,
}

/// Every file of one checkpoint, for all ranks, and the sizes DLIO reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointPlan {
    /// All files of one checkpoint, grouped by rank in writing order.
    pub files: Vec<CheckpointFile>,
    /// What DLIO reports as `checkpoint_size_GB · 2³⁰`: model plus optimizer bytes.
    ///
    /// Q-10 is fixed: DLIO counts ZeRO-2 model state on every data-parallel replica although
    /// only replica 0 writes it; here model bytes count only where they are written. Legacy
    /// explicit state is not counted (as in DLIO), and for non-transformer models the flat
    /// tensor counts once, not per rank (as in DLIO: MLPerf's unet3d numbers depend on it).
    pub reported_bytes: u64,
    /// The model part of [`CheckpointPlan::reported_bytes`] (DLIO's "Model size").
    pub reported_model_bytes: u64,
    /// The optimizer part of [`CheckpointPlan::reported_bytes`] ("Optimizer state size").
    pub reported_optimizer_bytes: u64,
    /// Total parameters `N` when the model has transformer layers.
    pub parameters: Option<u64>,
    /// `checkpoint.mode: subset`: the ranks emulate a slice of a larger data-parallel job.
    pub subset: bool,
    /// Ranks that run (P).
    pub ranks: u64,
    /// The parallel layout the files follow.
    pub layout: Layout,
}

impl CheckpointPlan {
    /// The files `rank` writes and reads, in order.
    pub fn files_of(&self, rank: u64) -> impl Iterator<Item = &CheckpointFile> + '_ {
        self.files.iter().filter(move |f| f.rank == rank)
    }

    /// Bytes all ranks write for one checkpoint (payload plus any framework metadata).
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// Bytes `rank` writes for one checkpoint.
    pub fn rank_bytes(&self, rank: u64) -> u64 {
        self.files_of(rank).map(|f| f.bytes).sum()
    }

    /// DLIO's `checkpoint_size_GB` (GiB, as DLIO divides by 1024³).
    pub fn reported_gb(&self) -> f64 {
        self.reported_bytes as f64 / (1u64 << 30) as f64
    }
}

/// The error for sizes beyond `u64`: only absurd dimensions get there.
fn too_large() -> PlanError {
    invalid(
        "model",
        "its dimensions",
        "the checkpoint would exceed 2⁶⁴ bytes; check model.num_layers, model.transformer, \
         model.layer_parameters and model.optimization_groups",
    )
}

/// `elements · size` as a byte count.
fn bytes_of(elements: u128, size: u64) -> Result<u64, PlanError> {
    u64::try_from(elements * u128::from(size)).map_err(|_| too_large())
}

/// Sum of byte counts, refused instead of wrapping.
fn sum_bytes(bytes: impl IntoIterator<Item = u64>) -> Result<u64, PlanError> {
    bytes
        .into_iter()
        .try_fold(0u64, u64::checked_add)
        .ok_or_else(too_large)
}

/// One logical file (a `torch.save` or `tf.train.Checkpoint.save` call) before the framework
/// turns it into files.
struct Logical {
    name: String,
    bytes: u64,
    part: Part,
}

/// What every rank's files are derived from, worked out once.
struct Sources {
    layout: Layout,
    ext: &'static str,
    /// Transformer layers (0 when the model has none).
    layers: u64,
    /// Derived transformer state, when `num_layers > 0`.
    dims: Option<Dims>,
    /// Bytes of one model and one optimizer element.
    model_size: u64,
    optimizer_size: u64,
    /// Bytes of the flat tensor of a non-transformer model.
    flat: Option<u64>,
    /// Legacy explicit state: bytes of one layer, bytes of the optimizer dict.
    legacy_layer: Option<u64>,
    legacy_optimizer: Option<u64>,
}

impl Sources {
    fn new(model: &Model, layout: Layout, ext: &'static str) -> Result<Sources, PlanError> {
        let dims = (model.num_layers > 0)
            .then(|| Dims::of(model))
            .transpose()?;
        let legacy_layer = (!model.layer_parameters.is_empty())
            .then(|| {
                // DLIO's legacy dict holds the same tensors under every layer key; torch.save
                // and tf.train.Checkpoint store shared tensors once, so a file holds one copy.
                sum_bytes(
                    model
                        .layer_parameters
                        .iter()
                        .filter(|&&p| p > 0)
                        .map(|&p| p as u64 / layout.tensor),
                )
            })
            .transpose()?;
        let legacy_optimizer = (!model.optimization_groups.is_empty())
            .then(|| {
                // Each group as two int8 tensors `a` and `b`, plus one `combined` of them all.
                let groups = model.optimization_groups.iter().filter(|&&g| g > 0);
                sum_bytes(groups.flat_map(|&g| [g as u64; 3]))
            })
            .transpose()?;
        // Datatypes are checked only where DLIO uses them (derived state), so every config
        // DLIO runs still runs.
        let model_size = match (dims, legacy_layer) {
            (Some(_), None) => datatype_size("model.model_datatype", &model.model_datatype)?,
            _ => 1,
        };
        let optimizer_size = match (dims, legacy_optimizer) {
            (Some(_), None) => {
                datatype_size("model.optimizer_datatype", &model.optimizer_datatype)?
            }
            _ => 1,
        };
        let flat = (model.kind.as_deref() != Some("transformer") && model.model_size_bytes > 0)
            .then_some(model.model_size_bytes as u64);
        Ok(Sources {
            layout,
            ext,
            layers: dims.map_or(0, |d| d.layers),
            dims,
            model_size,
            optimizer_size,
            flat,
            legacy_layer,
            legacy_optimizer,
        })
    }

    /// Per-layer bytes of the layer state `rank` holds, in layer order.
    fn owned_layers(&self, rank: u64) -> Result<Vec<(u64, u64)>, PlanError> {
        let stage = self.layout.pp_rank(rank);
        if let Some(bytes) = self.legacy_layer {
            // Legacy layers need num_layers > 0 too, and have no embedding or lm_head.
            return Ok(self
                .layout
                .stage_layers(stage, self.layers, false)
                .map(|i| (i, bytes))
                .collect());
        }
        let Some(dims) = self.dims.filter(|_| self.layout.holds_model(rank)) else {
            return Ok(Vec::new());
        };
        self.layout
            .stage_layers(stage, self.layers, true)
            .map(|i| {
                let elements = dims.layer_tensors(i, &self.layout).iter().sum();
                Ok((i, bytes_of(elements, self.model_size)?))
            })
            .collect()
    }

    /// The model-state files `rank` writes of the layers it holds (DeepSpeed's layout).
    fn layer_files(&self, rank: u64) -> Result<Vec<Logical>, PlanError> {
        let owned = self.owned_layers(rank)?;
        if owned.is_empty() {
            return Ok(Vec::new());
        }
        let (dp, mp, ext) = (
            self.layout.dp_rank(rank),
            self.layout.mp_rank(rank),
            self.ext,
        );
        let whole = match self.legacy_layer {
            Some(one_copy) => one_copy,
            None => sum_bytes(owned.iter().map(|&(_, b)| b))?,
        };
        let file = |name, bytes| Logical {
            name,
            bytes,
            part: Part::Model,
        };
        Ok(match self.layout.zero_stage {
            // ZeRO 1 and 2: data-parallel replica 0 saves the model, per layer when pipelined.
            // (ZeRO-2 replicas other than 0 hold model state but never write it: Q-10.)
            1 | 2 if dp != 0 || self.layers == 0 => Vec::new(),
            1 | 2 if self.layout.pipeline > 1 => owned
                .into_iter()
                .map(|(i, bytes)| file(names::layer(i, mp, ext), bytes))
                .collect(),
            1 | 2 => vec![file(names::model(mp, ext), whole)],
            // ZeRO 0 and 3: every checkpointing rank saves its layers in one file.
            _ => vec![file(names::zero_model(dp, mp, ext), whole)],
        })
    }

    /// The optimizer file of `rank`, if it has optimizer state.
    fn optimizer_file(&self, rank: u64) -> Result<Option<Logical>, PlanError> {
        let bytes = match (self.legacy_optimizer, self.dims) {
            (Some(bytes), _) => bytes,
            (None, Some(dims)) => {
                let tensors = dims.optimizer_tensors(&self.layout);
                if tensors.is_empty() {
                    return Ok(None);
                }
                bytes_of(tensors.iter().sum(), self.optimizer_size)?
            }
            (None, None) => return Ok(None),
        };
        let (dp, mp) = (self.layout.dp_rank(rank), self.layout.mp_rank(rank));
        Ok(Some(Logical {
            name: names::optimizer(dp, mp, self.ext),
            bytes,
            part: Part::Optimizer,
        }))
    }
}

/// Plans one checkpoint of `model` for `ranks` ranks (see the module documentation).
pub fn plan(
    model: &Model,
    checkpoint: &Checkpoint,
    framework: Framework,
    ranks: u64,
) -> Result<CheckpointPlan, PlanError> {
    let layout = validate_parallelism(model, checkpoint, ranks)?;
    let sources = Sources::new(model, layout, names::extension(framework))?;
    let parameters = sources
        .dims
        .map(|d| u64::try_from(d.parameters()).map_err(|_| too_large()))
        .transpose()?;
    let (mut counted_model, mut counted_optimizer) = (0u64, 0u64);
    let mut files = Vec::new();
    // The last logical file of rank 0 and of anyone, for TensorFlow's state file.
    let (mut rank_zero_last, mut last) = (None, None);
    for rank in (0..ranks).filter(|&r| layout.checkpoints(r)) {
        let mut logical = Vec::new();
        if let Some(bytes) = sources.flat {
            logical.push(Logical {
                name: names::flat_model(rank, sources.ext),
                bytes,
                part: Part::Model,
            });
        }
        let layers = sources.layer_files(rank)?;
        if sources.legacy_layer.is_none() {
            // Only what is written counts (the fix of Q-10).
            counted_model = sum_bytes([counted_model, sum_bytes(layers.iter().map(|l| l.bytes))?])?;
        }
        logical.extend(layers);
        if let Some(optimizer) = sources.optimizer_file(rank)? {
            if sources.legacy_optimizer.is_none() {
                counted_optimizer = sum_bytes([counted_optimizer, optimizer.bytes])?;
            }
            logical.push(optimizer);
        }
        if let Some(l) = logical.last() {
            last = Some(l.name.clone());
            if rank == 0 {
                rank_zero_last = Some(l.name.clone());
            }
        }
        expand(framework, rank, logical, &mut files);
    }
    if framework == Framework::Tensorflow {
        // Every rank's save rewrites the one `checkpoint` file of the directory; rank 0 writes
        // it once, after its own files, so ranks never race on it.
        if let Some(name) = rank_zero_last.or(last) {
            let text = names::tf_state_text(&name);
            files.push(CheckpointFile {
                rank: 0,
                name: TF_STATE_FILE.to_string(),
                bytes: text.len() as u64,
                part: Part::Metadata,
                content: Content::Text(text),
            });
        }
    }
    // Every total the engine and the metrics take must fit as well.
    sum_bytes(files.iter().map(|f| f.bytes))?;
    // DLIO reports a non-transformer model's flat tensor once, whatever else it writes.
    let reported_model_bytes = sources.flat.unwrap_or(counted_model);
    Ok(CheckpointPlan {
        files,
        reported_bytes: sum_bytes([reported_model_bytes, counted_optimizer])?,
        reported_model_bytes,
        reported_optimizer_bytes: counted_optimizer,
        parameters,
        subset: checkpoint.mode == "subset",
        ranks,
        layout,
    })
}

/// Turns logical files into the files the framework writes: one `.pt` each for PyTorch; a
/// data file and an index file each for TensorFlow.
fn expand(framework: Framework, rank: u64, logical: Vec<Logical>, files: &mut Vec<CheckpointFile>) {
    for l in logical {
        match framework {
            Framework::Pytorch => files.push(CheckpointFile {
                rank,
                name: l.name,
                bytes: l.bytes,
                part: l.part,
                content: Content::Tensors,
            }),
            Framework::Tensorflow => {
                files.push(CheckpointFile {
                    rank,
                    name: names::tf_data(&l.name),
                    bytes: l.bytes,
                    part: l.part,
                    content: Content::Tensors,
                });
                files.push(CheckpointFile {
                    rank,
                    name: names::tf_index(&l.name),
                    bytes: TF_INDEX_BYTES,
                    part: Part::Metadata,
                    content: Content::Tensors,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
