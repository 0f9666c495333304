//! The DLIO workload schema: every section and key, typed, with the defaults of DLIO's code
//! (`ConfigArguments`), not of its documentation, where the two disagree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::distribution::TimeSpec;

/// One workload: the content of a DLIO workload YAML.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Workload {
    /// `tensorflow` or `pytorch`; selects the default data loader.
    pub framework: Framework,
    /// Model description (checkpoint sizes).
    pub model: Model,
    /// Which phases run.
    pub workflow: Workflow,
    /// Where data lives.
    pub storage: Storage,
    /// The dataset's files.
    pub dataset: Dataset,
    /// How training reads the dataset (alias `data_reader`).
    pub reader: Reader,
    /// The training loop.
    pub train: Train,
    /// The evaluation loop.
    pub evaluation: Evaluation,
    /// Checkpoint cadence and layout.
    pub checkpoint: Checkpoint,
    /// Output folder and metric exclusions.
    pub output: Output,
    /// Profiler selection.
    pub profiling: Profiling,
    /// Pass thresholds.
    pub metric: Metric,
}

/// Framework whose loader and checkpoint mechanism are emulated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Framework {
    /// TensorFlow (DLIO's default).
    #[default]
    Tensorflow,
    /// PyTorch.
    Pytorch,
}

/// `model` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Model {
    /// Label used in the output folder name.
    pub name: String,
    /// `transformer` switches checkpoints to the layer/optimizer layout.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Size of the flat model tensor for non-transformer models.
    pub model_size_bytes: i64,
    /// Legacy explicit optimizer groups.
    pub optimization_groups: Vec<i64>,
    /// Transformer layer count (> 0 enables layer-derived state).
    pub num_layers: i64,
    /// Legacy explicit per-layer parameter counts.
    pub layer_parameters: Vec<i64>,
    /// Element type of model tensors.
    pub model_datatype: String,
    /// Element type of optimizer tensors.
    pub optimizer_datatype: String,
    /// Tensor, pipeline and data parallelism, ZeRO stage.
    pub parallelism: Parallelism,
    /// Transformer dimensions.
    pub transformer: Transformer,
}

impl Default for Model {
    fn default() -> Self {
        Model {
            name: "default".into(),
            kind: None,
            model_size_bytes: 10240,
            optimization_groups: Vec::new(),
            num_layers: -1,
            layer_parameters: Vec::new(),
            model_datatype: "fp16".into(),
            optimizer_datatype: "fp32".into(),
            parallelism: Parallelism::default(),
            transformer: Transformer::default(),
        }
    }
}

/// `model.parallelism`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Parallelism {
    /// Tensor parallel degree.
    pub tensor: i64,
    /// Pipeline parallel degree.
    pub pipeline: i64,
    /// Data parallel degree; -1 derives it from the rank count.
    pub data: i64,
    /// ZeRO stage 0..3.
    pub zero_stage: i64,
}

impl Default for Parallelism {
    fn default() -> Self {
        Parallelism {
            tensor: 1,
            pipeline: 1,
            data: -1,
            zero_stage: 0,
        }
    }
}

/// `model.transformer`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Transformer {
    /// Vocabulary size.
    pub vocab_size: i64,
    /// Hidden size.
    pub hidden_size: i64,
    /// Feed-forward hidden size (DLIO's code default, not its docs').
    pub ffn_hidden_size: i64,
    /// Attention heads.
    pub num_attention_heads: i64,
    /// Key/value heads.
    pub num_kv_heads: i64,
}

impl Default for Transformer {
    fn default() -> Self {
        Transformer {
            vocab_size: 32000,
            hidden_size: 2048,
            ffn_hidden_size: 8192,
            num_attention_heads: 32,
            num_kv_heads: 8,
        }
    }
}

/// `workflow` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Workflow {
    /// Generate the dataset first.
    pub generate_data: bool,
    /// Run the training loop.
    pub train: bool,
    /// Run evaluation inside training.
    pub evaluation: bool,
    /// Write checkpoints.
    pub checkpoint: bool,
    /// Start the profiler.
    pub profiling: bool,
}

impl Default for Workflow {
    fn default() -> Self {
        Workflow {
            generate_data: false,
            train: true,
            evaluation: false,
            checkpoint: false,
            profiling: false,
        }
    }
}

/// `storage` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Storage {
    /// `local_fs`, `parallel_fs`, `s3`, `aistore` (dl-driver chooses backends by URI instead).
    pub storage_type: String,
    /// Prefix of relative dataset paths.
    pub storage_root: String,
    /// Backend options (credentials, endpoint), passed to the backend plugin.
    pub storage_options: Option<BTreeMap<String, serde_json::Value>>,
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            storage_type: "local_fs".into(),
            storage_root: "./".into(),
            storage_options: None,
        }
    }
}

/// `dataset` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Dataset {
    /// Dataset root: a path (under `storage_root`) or a URI choosing the backend.
    pub data_folder: String,
    /// Format plugin name; also the file extension in DLIO's naming.
    pub format: String,
    /// Training files.
    pub num_files_train: u64,
    /// Evaluation files.
    pub num_files_eval: u64,
    /// Samples per file.
    pub num_samples_per_file: u64,
    /// Nominal bytes per sample (may be fractional).
    pub record_length_bytes: f64,
    /// Standard deviation of the sample size.
    pub record_length_bytes_stdev: f64,
    /// Size of the dummy tensor readers hand to compute.
    pub record_length_bytes_resize: f64,
    /// Explicit sample shape.
    pub record_dims: Vec<u64>,
    /// Element type of samples (numpy name).
    pub record_element_type: String,
    /// Parsed but recomputed from the element type, as in DLIO.
    pub record_element_bytes: Option<u64>,
    /// Training subfolders (files spread round-robin when > 1).
    pub num_subfolders_train: u64,
    /// Evaluation subfolders.
    pub num_subfolders_eval: u64,
    /// File name prefix.
    pub file_prefix: String,
    /// Compression (format-dependent).
    pub compression: String,
    /// Compression level.
    pub compression_level: i64,
    /// Parsed, unused (as in DLIO).
    pub enable_chunking: bool,
    /// Parsed, unused (as in DLIO).
    pub chunk_size: i64,
    /// Write buffer of indexed_binary generation.
    pub generation_buffer_size: u64,
    /// Keep the dataset after the run.
    pub keep_files: bool,
    /// Seed of generated content (dl-driver; DLIO's content is unseeded).
    pub seed: u64,
    /// Fraction of every 4 KiB block of generated content that is zero, for storage that
    /// compresses (dl-driver; 0 = incompressible).
    pub content_zero_fraction: f64,
    /// Every file gets the same content stream, for storage that deduplicates (dl-driver).
    pub content_shared: bool,
    /// HDF5 layout options.
    pub hdf5: Hdf5,
}

impl Default for Dataset {
    fn default() -> Self {
        Dataset {
            data_folder: "./data/".into(),
            format: "tfrecord".into(),
            num_files_train: 8,
            num_files_eval: 0,
            num_samples_per_file: 1,
            record_length_bytes: 65536.0,
            record_length_bytes_stdev: 0.0,
            record_length_bytes_resize: 0.0,
            record_dims: Vec::new(),
            record_element_type: "uint8".into(),
            record_element_bytes: None,
            num_subfolders_train: 0,
            num_subfolders_eval: 0,
            file_prefix: "img".into(),
            compression: "none".into(),
            compression_level: 4,
            enable_chunking: false,
            chunk_size: 0,
            generation_buffer_size: 2 * 1024 * 1024 * 1024,
            keep_files: true,
            seed: 0,
            content_zero_fraction: 0.0,
            content_shared: false,
            hdf5: Hdf5::default(),
        }
    }
}

/// `dataset.hdf5`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Hdf5 {
    /// Chunk shape.
    pub chunk_dims: Vec<u64>,
    /// `records_i` datasets per file.
    pub num_dset_per_record: u64,
    /// Resizable maximum shape.
    pub max_shape: Vec<u64>,
}

impl Default for Hdf5 {
    fn default() -> Self {
        Hdf5 {
            chunk_dims: Vec::new(),
            num_dset_per_record: 1,
            max_shape: Vec::new(),
        }
    }
}

/// `reader` section (also spelled `data_reader`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Reader {
    /// Loader emulated: tensorflow, pytorch, dali, native_dali, synthetic.
    pub data_loader: Option<String>,
    /// Custom loader class (not supported; plugins replace it).
    pub data_loader_classname: Option<String>,
    /// Sampler: iterative, index, none.
    pub data_loader_sampler: Option<String>,
    /// Custom reader class (not supported; plugins replace it).
    pub reader_classname: Option<String>,
    /// Training batch size per rank.
    pub batch_size: u64,
    /// Evaluation batch size per rank.
    pub batch_size_eval: u64,
    /// Reader workers per rank (0 = read in the training thread).
    pub read_threads: u64,
    /// TensorFlow map parallelism.
    pub computation_threads: u64,
    /// Batches prefetched.
    pub prefetch_size: i64,
    /// File shuffle: off, seed, random.
    pub file_shuffle: String,
    /// Sample shuffle: off, seed, random.
    pub sample_shuffle: String,
    /// TFRecord shuffle buffer.
    pub shuffle_size: u64,
    /// memory or on_demand.
    pub read_type: String,
    /// Parsed, unused (as in DLIO).
    pub file_access: String,
    /// TFRecord read buffer.
    pub transfer_size: Option<u64>,
    /// Read npz/npy with O_DIRECT.
    pub odirect: bool,
    /// DALI only.
    pub dont_use_mmap: bool,
    /// PyTorch pin_memory (no effect here).
    pub pin_memory: bool,
    /// PyTorch worker start method (no effect here).
    pub multiprocessing_context: String,
    /// Per-sample preprocessing sleep.
    pub preprocess_time: TimeSpec,
    /// Adds a standard deviation to `preprocess_time`.
    pub preprocess_time_stdev: Option<f64>,
    /// Shape of the dummy tensor handed to compute.
    pub transformed_record_dims: Vec<u64>,
    /// Its element type.
    pub transformed_record_element_type: String,
}

impl Default for Reader {
    fn default() -> Self {
        Reader {
            data_loader: None,
            data_loader_classname: None,
            data_loader_sampler: None,
            reader_classname: None,
            batch_size: 1,
            batch_size_eval: 1,
            read_threads: 1,
            computation_threads: 1,
            prefetch_size: 2,
            file_shuffle: "off".into(),
            sample_shuffle: "off".into(),
            shuffle_size: 1024,
            read_type: "on_demand".into(),
            file_access: "multi".into(),
            transfer_size: None,
            odirect: false,
            dont_use_mmap: false,
            pin_memory: true,
            multiprocessing_context: "fork".into(),
            preprocess_time: TimeSpec::default(),
            preprocess_time_stdev: None,
            transformed_record_dims: Vec::new(),
            transformed_record_element_type: "uint8".into(),
        }
    }
}

/// `train` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Train {
    /// Epochs.
    pub epochs: u64,
    /// Emulated compute per step.
    pub computation_time: TimeSpec,
    /// Adds a standard deviation to `computation_time`.
    pub computation_time_stdev: Option<f64>,
    /// Cap on steps per epoch when > 0.
    pub total_training_steps: i64,
    /// Shuffle seed changes each epoch.
    pub seed_change_epoch: bool,
    /// Shuffle seed.
    pub seed: u64,
}

impl Default for Train {
    fn default() -> Self {
        Train {
            epochs: 1,
            computation_time: TimeSpec::default(),
            computation_time_stdev: None,
            total_training_steps: -1,
            seed_change_epoch: true,
            seed: 123,
        }
    }
}

/// `evaluation` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Evaluation {
    /// Emulated compute per eval step.
    pub eval_time: TimeSpec,
    /// Adds a standard deviation to `eval_time`.
    pub eval_time_stdev: Option<f64>,
    /// First epoch followed by evaluation.
    pub eval_after_epoch: u64,
    /// Evaluation period in epochs.
    pub epochs_between_evals: u64,
}

impl Default for Evaluation {
    fn default() -> Self {
        Evaluation {
            eval_time: TimeSpec::default(),
            eval_time_stdev: None,
            eval_after_epoch: 1,
            epochs_between_evals: 1,
        }
    }
}

/// `checkpoint` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Checkpoint {
    /// Where checkpoints go (not prefixed by `storage_root`, as in DLIO).
    pub checkpoint_folder: String,
    /// First epoch with an end-of-epoch checkpoint.
    pub checkpoint_after_epoch: u64,
    /// Epoch checkpoint period.
    pub epochs_between_checkpoints: u64,
    /// Step checkpoint period (>= 0 switches to step checkpoints).
    pub steps_between_checkpoints: i64,
    /// rank_zero or all_ranks (parsed, unused as in DLIO).
    #[serde(rename = "type")]
    pub kind: String,
    /// default or subset.
    pub mode: String,
    /// fsync every checkpoint file (honoured, unlike DLIO).
    pub fsync: bool,
    /// Sleep before each checkpoint in checkpoint-only mode.
    pub time_between_checkpoints: f64,
    /// Writes in checkpoint-only mode.
    pub num_checkpoints_write: i64,
    /// Reads in checkpoint-only mode.
    pub num_checkpoints_read: i64,
    /// Read checkpoints of another node.
    pub recovery_rank_shift: bool,
    /// Barrier after each checkpoint write/read.
    pub rank_sync: bool,
    /// Random tensor content instead of ones.
    pub randomize_tensor: bool,
    /// Custom mechanism (not supported; plugins replace it).
    pub checkpoint_mechanism_classname: Option<String>,
    /// KSM settings; present (even empty) enables KSM.
    pub ksm: Option<Ksm>,
}

impl Default for Checkpoint {
    fn default() -> Self {
        Checkpoint {
            checkpoint_folder: "./checkpoints/".into(),
            checkpoint_after_epoch: 1,
            epochs_between_checkpoints: 1,
            steps_between_checkpoints: -1,
            kind: "rank_zero".into(),
            mode: "default".into(),
            fsync: false,
            time_between_checkpoints: -1.0,
            num_checkpoints_write: -1,
            num_checkpoints_read: -1,
            recovery_rank_shift: false,
            rank_sync: false,
            randomize_tensor: true,
            checkpoint_mechanism_classname: None,
            ksm: None,
        }
    }
}

/// `checkpoint.ksm`: Linux kernel same-page merging of checkpoint buffers. Present (even as
/// `{}`) means on; absent keys take DLIO's defaults. Parsed for compatibility: dl-driver streams
/// checkpoint bytes instead of holding tensors, so there is nothing to merge.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Ksm {
    /// `madvise` advice number for MADV_MERGEABLE.
    pub madv_mergeable_id: i64,
    /// Memory use (%) above which merging starts.
    pub high_ram_trigger: f64,
    /// Memory use (%) below which merging stops.
    pub low_ram_exit: f64,
    /// Seconds to wait for merging.
    pub await_time: i64,
}

impl Default for Ksm {
    fn default() -> Self {
        Ksm {
            madv_mergeable_id: 12,
            high_ram_trigger: 30.0,
            low_ram_exit: 15.0,
            await_time: 200,
        }
    }
}

/// `output` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Output {
    /// Output folder; default `output/<model>/<timestamp>`.
    pub folder: Option<String>,
    /// Log file inside the output folder.
    pub log_file: String,
    /// Step exclusions for AU.
    pub metric: OutputMetric,
}

impl Default for Output {
    fn default() -> Self {
        Output {
            folder: None,
            log_file: "dlio.log".into(),
            metric: OutputMetric::default(),
        }
    }
}

/// `output.metric`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct OutputMetric {
    /// Steps excluded at the start of each block.
    pub exclude_start_steps: u64,
    /// Steps excluded at the end of each block.
    pub exclude_end_steps: u64,
}

impl Default for OutputMetric {
    fn default() -> Self {
        OutputMetric {
            exclude_start_steps: 1,
            exclude_end_steps: 0,
        }
    }
}

/// `profiling` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Profiling {
    /// iostat, darshan, tensorboard or none.
    pub profiler: String,
    /// Devices for iostat (a list or one name).
    pub iostat_devices: serde_json::Value,
}

impl Default for Profiling {
    fn default() -> Self {
        Profiling {
            profiler: "iostat".into(),
            iostat_devices: serde_json::Value::Array(Vec::new()),
        }
    }
}

/// `metric` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Metric {
    /// Pass threshold of mean AU, as a fraction.
    pub au: f64,
}

impl Default for Metric {
    fn default() -> Self {
        Metric { au: 0.90 }
    }
}
