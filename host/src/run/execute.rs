//! `dl-driver run` and `generate`: everything that can fail on bad input (plugins, plan,
//! checkpoint layout, stores) is resolved first; only then are the output folder, the log and
//! the composed configuration written and the work done.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::Local;

use super::{connect, open_registry, output_folder, prepare, world, PluginDirs, Prepared};
use crate::{
    comm::World,
    config::{self, Composed, Workload},
    engine::{self, Checkpointer, TrainingReport},
    log,
    metrics::{
        host::HostFacts,
        summary::{self, CheckpointMetrics},
    },
    plan::{self, CheckpointPlan, Location, RunPlan},
    plugins::{Session, Store},
};

/// The phases a command runs.
struct Phases {
    generating: bool,
    training: bool,
    evaluating: bool,
    checkpointing: bool,
}

/// Generation when asked, then training with its checkpoints, or checkpoint-only mode; then
/// DLIO's output files.
pub fn run(
    composed: &Composed,
    dirs: &PluginDirs,
    generate_only: bool,
    io_trace: Option<&Path>,
) -> Result<()> {
    let world = world()?;
    // A panic must end the job too: unwinding would finalize MPI while other ranks wait.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_in(world.as_ref(), composed, dirs, generate_only, io_trace)
    }))
    .unwrap_or_else(|_| {
        Err(anyhow::anyhow!(
            "internal error in dl-driver (a panic, reported above)"
        ))
    });
    if let Err(err) = &outcome {
        if world.size() > 1 {
            // The other ranks may wait in a collective for this one: end the whole job.
            eprintln!("error: rank {}: {err:#}", world.rank());
            world.abort(1);
        }
    }
    outcome
}

fn run_in(
    world: &dyn World,
    composed: &Composed,
    dirs: &PluginDirs,
    generate_only: bool,
    io_trace: Option<&Path>,
) -> Result<()> {
    let workload = &composed.loaded.workload;
    let flow = &workload.workflow;
    let phases = Phases {
        generating: flow.generate_data || generate_only,
        training: flow.train && !generate_only,
        evaluating: flow.train && flow.evaluation && !generate_only,
        checkpointing: flow.checkpoint && !generate_only,
    };
    let announce = world.rank() == 0;

    let registry = open_registry(dirs)?;
    for row in registry.problems() {
        tracing::warn!(
            "plugin {} ({}): {}",
            row.source.display(),
            row.status,
            row.reason.as_deref().unwrap_or("")
        );
    }
    let prepared = if phases.generating || phases.training {
        Some(prepare(workload, &registry, world.size())?)
    } else {
        None
    };
    let checkpoint_plan = if phases.checkpointing {
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

    // Built before any output exists, so a bad `reader.transformed_*` costs nothing.
    let sample = if phases.training {
        Some(engine::SampleTemplate::new(workload)?)
    } else {
        None
    };
    // The dataset's stores are connected before any output exists, so bad storage options
    // cost nothing.
    let connect_dataset =
        |on: bool, location: fn(&RunPlan) -> &Location| -> Result<Option<Store>> {
            match (&prepared, on) {
                (Some(prepared), true) => Ok(Some(connect(
                    &registry,
                    location(&prepared.plan),
                    workload,
                )?)),
                _ => Ok(None),
            }
        };
    let write_store = connect_dataset(phases.generating, |plan| &plan.dataset.write_location)?;
    let read_store = connect_dataset(phases.training, |plan| &plan.dataset.read_location)?;
    let reads = engine::ReadLog::new(io_trace.map(|path| rank_path(path, world)).as_deref())?;
    let output_dir = open_outputs(composed, world)?;
    if announce {
        log::output(&format!(
            "Running DLIO [{}] with {} process(es)",
            phases.names().join(" & "),
            world.size()
        ));
    }
    if let (Some(prepared), Some(store)) = (&prepared, &write_store) {
        generate(prepared, store, world, announce)?;
    }
    if !phases.training && !phases.checkpointing {
        return Ok(());
    }

    let checkpointer = match (&checkpoint_plan, &checkpoint_store) {
        (Some(plan), Some(store)) => {
            if announce {
                log::output(&format!(
                    "Total checkpoint size: {:.6} GB",
                    plan.reported_gb()
                ));
            }
            Some(Checkpointer {
                store,
                plan,
                settings: &workload.checkpoint,
                world,
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
    let (report, evaluation) = match (&prepared, &sample, &read_store) {
        (Some(prepared), Some(sample), Some(store)) => train(
            Reading {
                prepared,
                store,
                sample,
                reads: &reads,
            },
            workload,
            world,
            checkpointer.as_ref(),
            announce,
        )?,
        _ => {
            let checkpointer = checkpointer
                .as_ref()
                .context("checkpoint-only mode without a checkpoint plan")?;
            (checkpoint_only(checkpointer)?, false)
        }
    };
    let end = Local::now();
    if let Some(profiler) = profiler {
        let written = profiler.stop()?;
        log::output(&format!("Profiler output in {}", written.display()));
    }
    let results = Results {
        workload,
        report: &report,
        evaluation,
        checkpoint_plan: checkpoint_plan.as_ref(),
        start,
        end,
    };
    write_results(&output_dir, &results, world)
}

impl Phases {
    /// DLIO's banner words for the phases that run.
    fn names(&self) -> Vec<&'static str> {
        [
            (self.generating, "Generating data"),
            (self.training, "Training"),
            (self.evaluating, "Evaluation"),
            (self.checkpointing, "Checkpointing"),
        ]
        .iter()
        .filter_map(|&(on, name)| on.then_some(name))
        .collect()
    }
}

/// Rank 0 names and creates the output folder (its name, dated, goes to every rank), starts
/// `dlio.log` (replacing an old one) and writes the composed configuration under
/// `<run dir>/<output_subdir>`.
fn open_outputs(composed: &Composed, world: &dyn World) -> Result<PathBuf> {
    let workload = &composed.loaded.workload;
    let announce = world.rank() == 0;
    let mut name = String::new();
    if announce {
        let output_dir = output_folder(workload, composed.hydra.run_dir.as_deref());
        std::fs::create_dir_all(&output_dir)
            .with_context(|| format!("creating the output folder {}", output_dir.display()))?;
        // An old log goes before any rank opens the new one for appending.
        let old_log = output_dir.join(&workload.output.log_file);
        match std::fs::remove_file(&old_log) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                return Err(err).with_context(|| format!("replacing {}", old_log.display()))
            }
            _ => {}
        }
        name = output_dir.to_string_lossy().into_owned();
    }
    world.broadcast_text(&mut name);
    let output_dir = PathBuf::from(name);
    let log_file = output_dir.join(&workload.output.log_file);
    log::open_file(&log_file).with_context(|| format!("opening {}", log_file.display()))?;
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
    Ok(output_dir)
}

fn generate(prepared: &Prepared, store: &Store, world: &dyn World, announce: bool) -> Result<()> {
    let Prepared { session, plan } = prepared;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2);
    let report = engine::generate(plan, session, store, world, threads)
        .with_context(|| format!("generating the dataset in {}", plan.dataset.write_location))?;
    if announce {
        let mib = report.bytes as f64 / (1u64 << 20) as f64;
        log::output(&format!(
            "Generation done: {} files written ({mib:.1} MiB, {:.1} MiB/s), {} complete files reused",
            report.written,
            mib / report.seconds.max(1e-9),
            report.reused
        ));
    }
    Ok(())
}

/// What the training loop reads with: the format and plan, the dataset's store, the dummy
/// sample reads return, and the accounting of reads.
struct Reading<'a> {
    prepared: &'a Prepared,
    store: &'a Store,
    sample: &'a engine::SampleTemplate,
    reads: &'a engine::ReadLog,
}

/// The training loop over the dataset found in the store; returns the report and whether
/// evaluation ran.
fn train(
    reading: Reading,
    workload: &Workload,
    world: &dyn World,
    checkpointer: Option<&Checkpointer>,
    announce: bool,
) -> Result<(TrainingReport, bool)> {
    let Reading {
        prepared: Prepared { session, plan },
        store,
        sample,
        reads,
    } = reading;
    let mut plan = plan.clone();
    // Every rank must permute the files alike, or some would be read twice and some never.
    if let plan::FileOrder::Random { seed } = &mut plan.file_order {
        let mut shared = seed.to_string();
        world.broadcast_text(&mut shared);
        *seed = shared.parse().unwrap_or(*seed);
    }
    for warning in engine::locate_dataset(&mut plan, store, world.rank())? {
        tracing::warn!("{warning}");
    }
    if announce {
        log::output(&format!(
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
        plan: &plan,
        session,
        store,
        world,
        checkpointer,
        announce,
        sample,
        reads,
    };
    let report = engine::train(&ctx)?;
    reads.finish().context("writing the --io-trace file")?;
    if !workload.dataset.keep_files {
        // Other ranks may still be evaluating; nothing goes before every rank is done.
        world.barrier();
        if announce {
            delete_dataset(&plan, session, store)?;
        }
    }
    Ok((report, plan.eval.is_some()))
}

/// Checkpoint-only mode as one epoch holding the checkpoint records.
fn checkpoint_only(checkpointer: &Checkpointer) -> Result<TrainingReport> {
    let start = Local::now();
    let checkpoints = engine::checkpoint_only(checkpointer)?;
    let epoch = engine::EpochRecord {
        epoch: 1,
        start,
        end: Local::now(),
        seconds: 0.0,
        blocks: Vec::new(),
        eval: None,
        checkpoints,
        metrics: Default::default(),
    };
    Ok(TrainingReport {
        epochs: vec![epoch],
        bytes_read: 0,
    })
}

/// `dataset.keep_files: False`: rank 0 deletes the dataset (and its companion files) at the end.
fn delete_dataset(plan: &RunPlan, session: &Session, store: &Store) -> Result<()> {
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
    log::output(&format!(
        "Deleted the dataset in {} (dataset.keep_files: False)",
        plan.dataset.read_location
    ));
    Ok(())
}

/// What the output files are made of.
struct Results<'a> {
    workload: &'a Workload,
    report: &'a TrainingReport,
    evaluation: bool,
    checkpoint_plan: Option<&'a CheckpointPlan>,
    start: chrono::DateTime<Local>,
    end: chrono::DateTime<Local>,
}

/// Per-rank files on every rank; summary.json, the byte count and the `[METRIC]` block on rank 0.
fn write_results(dir: &Path, results: &Results, world: &dyn World) -> Result<()> {
    let workload = results.workload;
    let metrics = summary::reduce(results.report, world);
    let checkpoints = results
        .checkpoint_plan
        .map(|plan| CheckpointMetrics::new(results.report.checkpoints(), plan.reported_gb()));
    let metric =
        summary::metric_object(&metrics, workload, results.evaluation, checkpoints.as_ref());
    let host = HostFacts::read();
    let hosts = world.host_rows(host.cpu_count, host.memory_gib);
    let facts = summary::RunFacts {
        workload,
        ranks: world.size(),
        hosts,
        epochs: results.report.epochs.len() as u64,
        start: results.start,
        end: results.end,
        host: &host,
    };
    summary::write_rank_files(dir, world.rank(), results.report, &facts)
        .with_context(|| format!("writing per-rank results in {}", dir.display()))?;
    if world.rank() == 0 {
        summary::write_summary(dir, &facts, &metric)
            .with_context(|| format!("writing summary.json in {}", dir.display()))?;
        if workload.workflow.train {
            log::output(&format!("Bytes read: {}", results.report.bytes_read));
        }
        log::block(&summary::metric_block(&metric, world.size()));
        log::output(&format!("Results in {}", dir.display()));
    }
    Ok(())
}

/// Rank 0 traces into `path`; other ranks into `path.<rank>`.
fn rank_path(path: &Path, world: &dyn World) -> PathBuf {
    match world.rank() {
        0 => path.to_path_buf(),
        rank => {
            let mut name = path.as_os_str().to_owned();
            name.push(format!(".{rank}"));
            PathBuf::from(name)
        }
    }
}
