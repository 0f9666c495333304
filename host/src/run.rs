//! What the commands do end to end: workload → plugins → plan → engine → output files.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use chrono::Local;
use dl_plugin_api::abi::ComponentKind;

use crate::{
    comm::{self, Solo, World},
    config::{self, Composed, Workload},
    engine,
    metrics::{
        host::HostFacts,
        summary::{self, CheckpointMetrics},
    },
    plan::{self, Location, RunPlan},
    plugins::{discover, FormatEntry, Registry, Session, Status, Store},
};

/// Where plugins are searched.
#[derive(Debug, Clone, Default)]
pub struct PluginDirs {
    /// `--plugins` directories, in order.
    pub dirs: Vec<PathBuf>,
    /// Also search `DL_DRIVER_PLUGIN_PATH` and the executable's directory.
    pub defaults: bool,
}

/// Loads every plugin on the search path.
pub fn open_registry(dirs: &PluginDirs) -> Result<Registry> {
    let search = discover::search_dirs(&dirs.dirs, dirs.defaults);
    Ok(Registry::discover(&search)?)
}

/// The format and stores a workload needs, resolved against the registry.
pub struct Prepared {
    /// The configured format.
    pub session: Session,
    /// The plan.
    pub plan: RunPlan,
}

/// Finds the workload's format, configures it, and plans the run for `ranks` ranks.
pub fn prepare(workload: &Workload, registry: &Registry, ranks: u64) -> Result<Prepared> {
    let format = find_format(registry, &workload.dataset.format)?;
    let session = configure(&format, workload)?;
    let plan = plan::build(workload, ranks, &format.extension, |spec| {
        session.file_size(spec)
    })?;
    warn_all(&plan.warnings);
    Ok(Prepared { session, plan })
}

/// Plans `workload` for `ranks` ranks without doing I/O. Without the format's plugin the
/// plan still holds (DLIO names files by format), only file sizes are unknown.
pub fn plan_only(workload: &Workload, registry: &Registry, ranks: u64) -> Result<RunPlan> {
    let plan = match find_format(registry, &workload.dataset.format) {
        Ok(format) => {
            let session = configure(&format, workload)?;
            plan::build(workload, ranks, &format.extension, |spec| {
                session.file_size(spec)
            })?
        }
        Err(missing) => {
            tracing::warn!("{missing:#}; file sizes are unknown");
            plan::build(workload, ranks, &workload.dataset.format, |_| {
                Ok::<_, String>(None)
            })?
        }
    };
    warn_all(&plan.warnings);
    Ok(plan)
}

fn configure(format: &FormatEntry, workload: &Workload) -> Result<Session> {
    let mut dataset = serde_json::to_value(&workload.dataset).context("describing the dataset")?;
    dataset["format"] = serde_json::json!(workload.dataset.format);
    Ok(format.configure(&dataset.to_string())?)
}

fn warn_all(warnings: &[String]) {
    for warning in warnings {
        tracing::warn!("{warning}");
    }
}

fn find_format(registry: &Registry, name: &str) -> Result<std::sync::Arc<FormatEntry>> {
    if let Some(entry) = registry.format(name) {
        return Ok(entry);
    }
    let refused: Vec<String> = registry
        .problems()
        .filter(|row| row.status != Status::Shadowed && row.name.contains(name))
        .map(|row| {
            format!(
                "{} was not loaded: {}",
                row.source.display(),
                row.reason.as_deref().unwrap_or("")
            )
        })
        .collect();
    let available = registry.names(ComponentKind::FORMAT).join(", ");
    let mut message = format!(
        "dataset.format '{name}': no loaded plugin provides this format (available: {}); \
         add its plugin directory with --plugins DIR or DL_DRIVER_PLUGIN_PATH",
        if available.is_empty() {
            "none"
        } else {
            &available
        }
    );
    for line in refused {
        message.push_str("; ");
        message.push_str(&line);
    }
    bail!(message)
}

/// Connects to the store at `location` through its backend plugin.
pub fn connect(registry: &Registry, location: &Location, workload: &Workload) -> Result<Store> {
    let Some(backend) = registry.backend(&location.scheme) else {
        let available = registry.names(ComponentKind::BACKEND).join(", ");
        bail!(
            "{location}: no loaded backend plugin handles '{}://' (available: {}); add its plugin directory with --plugins DIR",
            location.scheme,
            if available.is_empty() { "none" } else { &available }
        );
    };
    let options =
        serde_json::to_string(&workload.storage.storage_options.clone().unwrap_or_default())?;
    let store = backend
        .connect(&location.root, &options)
        .map_err(|err| anyhow::anyhow!("{location}: {err}"))?;
    let info = store.info();
    if !info.alignment.is_power_of_two() || info.alignment > 1 << 20 || info.transfer_size == 0 {
        bail!(
            "{location}: backend '{}' reports alignment {} and transfer size {}; the alignment must be a power of \
             two up to 1 MiB and the transfer size positive (a bug in the backend plugin)",
            location.scheme,
            info.alignment,
            info.transfer_size
        );
    }
    Ok(store)
}

/// The world this process runs in; refuses to run as one of several MPI ranks without MPI.
pub fn world() -> Result<Box<dyn World>> {
    if let Some((launcher, size)) = comm::launched_by_mpi() {
        bail!(
            "started by {launcher} as one of {size} ranks, but this dl-driver was built without MPI support; \
             it would run {size} independent copies — rebuild with `cargo build --release --features mpi`, \
             or run it without mpirun"
        );
    }
    Ok(Box::new(Solo))
}

/// `dl-driver generate` and `dl-driver run`: generation when asked, then training with its
/// checkpoints, or checkpoint-only mode; then DLIO's output files.
pub fn run(composed: &Composed, dirs: &PluginDirs, generate_only: bool) -> Result<()> {
    let world = world()?;
    let workload = &composed.loaded.workload;
    let flow = &workload.workflow;
    let announce = world.rank() == 0;
    let training = flow.train && !generate_only;
    let generating = flow.generate_data || generate_only;
    let checkpointing = flow.checkpoint && !generate_only;

    let output_dir = output_folder(workload, composed.hydra.run_dir.as_deref());
    std::fs::create_dir_all(&output_dir)
        .with_context(|| format!("creating the output folder {}", output_dir.display()))?;
    crate::log::open_file(&output_dir.join(&workload.output.log_file), announce).with_context(
        || {
            format!(
                "opening {} in {}",
                workload.output.log_file,
                output_dir.display()
            )
        },
    )?;
    if announce {
        let run_dir = composed
            .hydra
            .run_dir
            .as_deref()
            .map(PathBuf::from)
            .unwrap_or_else(|| output_dir.clone());
        let hydra_dir = run_dir.join(&composed.hydra.output_subdir);
        config::write_hydra_files(&hydra_dir, composed).with_context(|| {
            format!(
                "writing the composed configuration to {}",
                hydra_dir.display()
            )
        })?;
    }

    let registry = open_registry(dirs)?;
    for row in registry.problems() {
        tracing::warn!(
            "plugin {} ({}): {}",
            row.source.display(),
            row.status,
            row.reason.as_deref().unwrap_or("")
        );
    }
    let parts: Vec<&str> = [
        (generating, "Generating data"),
        (training, "Training"),
        (training && flow.evaluation, "Evaluation"),
        (checkpointing, "Checkpointing"),
    ]
    .iter()
    .filter_map(|&(on, name)| on.then_some(name))
    .collect();
    if announce {
        crate::log::output(&format!(
            "Running DLIO [{}] with {} process(es)",
            parts.join(" & "),
            world.size()
        ));
    }

    let prepared = if generating || training {
        Some(prepare(workload, &registry, world.size())?)
    } else {
        None
    };
    if let (true, Some(Prepared { session, plan })) = (generating, &prepared) {
        let store = connect(&registry, &plan.dataset.write_location, workload)?;
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .max(2);
        let report = engine::generate(plan, session, &store, world.as_ref(), threads)
            .with_context(|| {
                format!("generating the dataset in {}", plan.dataset.write_location)
            })?;
        if announce {
            let mib = report.bytes as f64 / (1u64 << 20) as f64;
            crate::log::output(&format!(
                "Generation done: {} files written ({mib:.1} MiB, {:.1} MiB/s), {} complete files reused",
                report.written,
                mib / report.seconds.max(1e-9),
                report.reused
            ));
        }
    }
    if !training && !checkpointing {
        return Ok(());
    }

    let checkpoint_plan = if checkpointing {
        Some(plan::checkpoint::plan(
            &workload.model,
            &workload.checkpoint,
            workload.framework,
            world.size(),
        )?)
    } else {
        plan::checkpoint::validate_parallelism(
            &workload.model,
            &workload.checkpoint,
            world.size(),
        )?;
        None
    };
    let checkpoint_store = match &checkpoint_plan {
        Some(_) => Some(connect(
            &registry,
            &Location::resolve(&workload.checkpoint.checkpoint_folder, ""),
            workload,
        )?),
        None => None,
    };
    let checkpointer = match (&checkpoint_plan, &checkpoint_store) {
        (Some(plan), Some(store)) => {
            if announce {
                crate::log::output(&format!(
                    "Total checkpoint size: {:.6} GB",
                    plan.reported_gb()
                ));
            }
            Some(engine::Checkpointer {
                store,
                plan,
                settings: &workload.checkpoint,
                world: world.as_ref(),
                announce,
            })
        }
        _ => None,
    };

    let profiler = if flow.profiling && announce {
        crate::profile::start(&workload.profiling, &output_dir)?
    } else {
        None
    };
    let start = Local::now();
    let (report, evaluation) = match (&prepared, training) {
        (Some(Prepared { session, plan }), true) => {
            let store = connect(&registry, &plan.dataset.read_location, workload)?;
            let mut plan = plan.clone();
            for warning in engine::locate_dataset(&mut plan, &store, world.rank())? {
                tracing::warn!("{warning}");
            }
            let plan = &plan;
            if announce {
                crate::log::output(&format!(
                    "Max steps per epoch: {} = {} * {} / {} / {} (samples per file * num files / batch size / comm size)",
                    plan.train.max_steps,
                    workload.dataset.num_samples_per_file,
                    workload.dataset.num_files_train,
                    workload.reader.batch_size,
                    world.size()
                ));
            }
            let ctx = engine::TrainContext {
                workload,
                plan,
                session,
                store: &store,
                world: world.as_ref(),
                checkpointer: checkpointer.as_ref(),
                announce,
            };
            let report = engine::train(&ctx)?;
            if !workload.dataset.keep_files && announce {
                delete_dataset(plan, session, &registry, workload)?;
            }
            (report, plan.eval.is_some())
        }
        _ => {
            let checkpointer = checkpointer
                .as_ref()
                .context("checkpoint-only mode without a checkpoint plan")?;
            let epoch_start = Local::now();
            let checkpoints = engine::checkpoint_only(checkpointer)?;
            let epoch = engine::EpochRecord {
                epoch: 1,
                start: epoch_start,
                end: Local::now(),
                seconds: 0.0,
                blocks: Vec::new(),
                eval: None,
                checkpoints,
                metrics: Default::default(),
            };
            (
                engine::TrainingReport {
                    epochs: vec![epoch],
                    bytes_read: 0,
                },
                false,
            )
        }
    };
    let end = Local::now();
    if let Some(profiler) = profiler {
        let written = profiler.stop()?;
        crate::log::output(&format!("Profiler output in {}", written.display()));
    }

    let metrics = summary::reduce(&report, world.as_ref());
    let checkpoint_metrics = checkpoint_plan
        .as_ref()
        .map(|plan| CheckpointMetrics::new(report.checkpoints(), plan.reported_gb()));
    let metric =
        summary::metric_object(&metrics, workload, evaluation, checkpoint_metrics.as_ref());
    let host = HostFacts::read();
    let facts = summary::RunFacts {
        workload,
        ranks: world.size(),
        epochs: report.epochs.len() as u64,
        start,
        end,
        host: &host,
    };
    summary::write_rank_files(&output_dir, world.rank(), &report, &facts)
        .with_context(|| format!("writing per-rank results in {}", output_dir.display()))?;
    if announce {
        summary::write_summary(&output_dir, &facts, &metric)
            .with_context(|| format!("writing summary.json in {}", output_dir.display()))?;
        if training {
            crate::log::output(&format!("Bytes read: {}", report.bytes_read));
        }
        crate::log::block(&summary::metric_block(&metric, world.size()));
        crate::log::output(&format!("Results in {}", output_dir.display()));
    }
    Ok(())
}

/// `dataset.keep_files: False`: rank 0 deletes the dataset (and its companion files) at the end.
fn delete_dataset(
    plan: &RunPlan,
    session: &Session,
    registry: &Registry,
    workload: &Workload,
) -> Result<()> {
    let store = connect(registry, &plan.dataset.write_location, workload)?;
    for file in &plan.dataset.files {
        let key = file.spec.key.as_str();
        let mut keys = session
            .sidecar_keys(&file.spec)
            .with_context(|| format!("listing the companions of {key}"))?;
        keys.push(key.to_string());
        for key in keys {
            store
                .delete(&key)
                .with_context(|| format!("deleting {key} (dataset.keep_files: False)"))?;
        }
    }
    crate::log::output(&format!(
        "Deleted the dataset in {} (dataset.keep_files: False)",
        plan.dataset.write_location
    ));
    Ok(())
}

/// The output folder: `output.folder` if set, else the Hydra run directory
/// (`++hydra.run.dir`), else `output/<model name>/<date>-<time>`.
pub fn output_folder(workload: &Workload, hydra_run_dir: Option<&str>) -> PathBuf {
    match (&workload.output.folder, hydra_run_dir) {
        (Some(folder), _) => PathBuf::from(folder),
        (None, Some(run_dir)) => PathBuf::from(run_dir),
        (None, None) => PathBuf::from("output")
            .join(&workload.model.name)
            .join(Local::now().format("%Y-%m-%d-%H-%M-%S").to_string()),
    }
}

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
