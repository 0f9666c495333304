//! What the commands do end to end: workload → plugins → plan → engine → output files.

mod check;
mod execute;
mod validate;

pub use check::{check, CheckSummary, FileCheck};
pub use execute::run;
pub use validate::{validate, CheckpointSummary, PlanSummary};

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use chrono::Local;
use dl_plugin_api::abi::ComponentKind;

use crate::{
    comm::{self, Solo, World},
    config::Workload,
    plan::{self, Location, RunPlan},
    plugins::{discover, FormatEntry, OptionalPlugin, Registry, Session, Status, Store},
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
    if let Some(optional) = OptionalPlugin::named(name) {
        message.push_str("; ");
        message.push_str(&optional.hint());
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
    #[cfg(feature = "mpi")]
    if comm::launched_by_mpi().is_some() {
        return Ok(Box::new(
            comm::MpiWorld::init().context("starting MPI for this mpirun job")?,
        ));
    }
    #[cfg(not(feature = "mpi"))]
    if let Some((launcher, size)) = comm::launched_by_mpi() {
        bail!(
            "started by {launcher} as one of {size} ranks, but this dl-driver was built without MPI support; \
             it would run {size} independent copies — rebuild with `cargo build --release --features mpi`, \
             or run it without mpirun"
        );
    }
    Ok(Box::new(Solo))
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
