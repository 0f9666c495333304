//! What the commands do end to end: workload → plugins → plan → engine → output files.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use chrono::Local;
use dl_plugin_api::abi::ComponentKind;

use crate::{
    comm::{self, Solo, World},
    config::{Composed, Workload},
    engine,
    metrics::{host::HostFacts, summary},
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

/// `dl-driver generate` and `dl-driver run`: generation when asked, then training.
pub fn run(composed: &Composed, dirs: &PluginDirs, generate_only: bool) -> Result<()> {
    let world = world()?;
    let loaded = &composed.loaded;
    let workload = &loaded.workload;
    let registry = open_registry(dirs)?;
    for row in registry.problems() {
        tracing::warn!(
            "plugin {} ({}): {}",
            row.source.display(),
            row.status,
            row.reason.as_deref().unwrap_or("")
        );
    }
    let Prepared { session, plan } = prepare(workload, &registry, world.size())?;
    let announce = world.rank() == 0;
    if workload.workflow.checkpoint {
        tracing::warn!("workflow.checkpoint: checkpointing is not implemented in this version; the run continues without it");
    }

    if workload.workflow.generate_data || generate_only {
        let store = connect(&registry, &plan.dataset.write_location, workload)?;
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .max(2);
        let report = engine::generate(&plan, &session, &store, world.as_ref(), threads)
            .with_context(|| {
                format!("generating the dataset in {}", plan.dataset.write_location)
            })?;
        if announce {
            let mb = report.bytes as f64 / (1u64 << 20) as f64;
            println!(
                "[OUTPUT] Generation done: {} files written ({mb:.1} MiB, {:.1} MiB/s), {} complete files reused",
                report.written,
                mb / report.seconds.max(1e-9),
                report.reused
            );
        }
    }
    if generate_only || !workload.workflow.train {
        return Ok(());
    }

    let store = connect(&registry, &plan.dataset.read_location, workload)?;
    engine::check_dataset(&plan, &store, world.rank())?;
    let output_dir = output_folder(workload);
    std::fs::create_dir_all(&output_dir)
        .with_context(|| format!("creating the output folder {}", output_dir.display()))?;
    if announce {
        println!(
            "[OUTPUT] Running DLIO [Training{}] with {} process(es)",
            if plan.eval.is_some() {
                " & Evaluation"
            } else {
                ""
            },
            world.size()
        );
        println!(
            "[OUTPUT] Max steps per epoch: {} = {} * {} / {} / {} (samples per file * num files / batch size / comm size)",
            plan.train.max_steps,
            workload.dataset.num_samples_per_file,
            workload.dataset.num_files_train,
            workload.reader.batch_size,
            world.size()
        );
    }
    let start = Local::now();
    let ctx = engine::TrainContext {
        workload,
        plan: &plan,
        session: &session,
        store: &store,
        world: world.as_ref(),
        announce,
    };
    let report = engine::train(&ctx)?;
    let end = Local::now();
    let metrics = summary::reduce(&report, world.as_ref());
    let metric = summary::metric_object(&metrics, workload, plan.eval.is_some());
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
    if world.rank() == 0 {
        summary::write_summary(&output_dir, &facts, &metric)
            .with_context(|| format!("writing summary.json in {}", output_dir.display()))?;
        println!("[OUTPUT] Bytes read: {}", report.bytes_read);
        println!("{}", summary::metric_block(&metric, world.size()));
        println!("[OUTPUT] Results in {}", output_dir.display());
    }
    Ok(())
}

/// `output.folder` if set, else `output/<model>/<timestamp>`.
pub fn output_folder(workload: &Workload) -> PathBuf {
    match &workload.output.folder {
        Some(folder) => PathBuf::from(folder),
        None => PathBuf::from("output")
            .join(&workload.model.name)
            .join(Local::now().format("%Y%m%d-%H%M%S").to_string()),
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
}

/// `dl-driver validate`: plans the workload for `ranks` ranks without any I/O.
pub fn validate(composed: &Composed, dirs: &PluginDirs, ranks: u64) -> Result<PlanSummary> {
    let loaded = &composed.loaded;
    let registry = open_registry(dirs)?;
    let plan = plan_only(&loaded.workload, &registry, ranks.max(1))?;
    let (bytes, unknown) = plan.dataset.total_bytes();
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
    })
}
