//! The `dl-driver` command line: parse, dispatch, print errors.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand};
use dl_driver::{
    config::{self, overrides, Composed, WorkloadSource},
    plugins, run,
};

/// A drop-in replacement for the MLCommons DLIO benchmark, built as a plugin host.
#[derive(Parser)]
#[command(name = "dl-driver", version, about, propagate_version = true)]
struct Cli {
    /// Search this directory for plugins first (repeatable).
    #[arg(long = "plugins", value_name = "DIR", global = true)]
    plugins: Vec<PathBuf>,

    /// Search only --plugins directories (not DL_DRIVER_PLUGIN_PATH or the executable's directory).
    #[arg(long, global = true)]
    no_default_plugin_dirs: bool,

    #[command(subcommand)]
    command: Command,
}

/// How a command names its workload and overrides, in dl-driver's spelling
/// (`CONFIG` or `--workload NAME`) or DLIO's (`workload=NAME --config-dir=DIR`).
#[derive(Args)]
struct WorkloadArgs {
    /// A workload by name: DIR/workload/NAME.yaml of --config-dir, else a bundled one
    /// (DLIO's `workload=NAME` works too).
    #[arg(long, value_name = "NAME")]
    workload: Option<String>,

    /// Search DIR/workload/ for the named workload before the bundled ones.
    #[arg(long = "config-dir", value_name = "DIR")]
    config_dir: Option<PathBuf>,

    /// A workload YAML (CONFIG) or `workload=NAME`, then Hydra overrides:
    /// `++workload.SECTION.KEY=VALUE` (add or set), `workload.SECTION.KEY=VALUE` (set),
    /// `+workload.SECTION.KEY=VALUE` (add), `~workload.SECTION.KEY` (delete),
    /// `++hydra.run.dir=DIR`, `++hydra.output_subdir=NAME`.
    #[arg(value_name = "CONFIG|OVERRIDE")]
    args: Vec<String>,
}

const WORKLOAD_USAGE: &str =
    "(CONFIG | --workload NAME [--config-dir DIR] | workload=NAME) [OVERRIDE]...";

#[derive(Subcommand)]
enum Command {
    /// Run a DLIO workload: generate data if asked, then train and report metrics.
    #[command(override_usage = format!("dl-driver run [OPTIONS] {WORKLOAD_USAGE}"))]
    Run {
        #[command(flatten)]
        workload: WorkloadArgs,
        /// Write one JSON line per sample read, listing each request (file, offset, length);
        /// ranks other than 0 write FILE.<rank>.
        #[arg(long, value_name = "FILE")]
        io_trace: Option<PathBuf>,
    },
    /// Generate the workload's dataset only.
    #[command(override_usage = format!("dl-driver generate [OPTIONS] {WORKLOAD_USAGE}"))]
    Generate {
        #[command(flatten)]
        workload: WorkloadArgs,
    },
    /// Check a workload and print its plan without doing any I/O.
    #[command(override_usage = format!("dl-driver validate [OPTIONS] {WORKLOAD_USAGE}"))]
    Validate {
        #[command(flatten)]
        workload: WorkloadArgs,
        /// Plan for this many ranks (default: 1, or the fewest the model layout allows).
        #[arg(long)]
        ranks: Option<u64>,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Decode and verify every file of the workload's dataset; name each missing or corrupt one.
    #[command(override_usage = format!("dl-driver check [OPTIONS] {WORKLOAD_USAGE}"))]
    Check {
        #[command(flatten)]
        workload: WorkloadArgs,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Print the effective value of one key, as DLIO's dlio_benchmark_query does.
    ///
    /// KEY is dotted (`dataset.record_length_bytes`, `model.parallelism.tensor`); DLIO's
    /// `++workload.workflow.query=KEY` works too. Absent keys print `None`.
    #[command(
        override_usage = "dl-driver query [OPTIONS] (CONFIG | --workload NAME [--config-dir DIR] | workload=NAME) KEY [OVERRIDE]..."
    )]
    Query {
        #[command(flatten)]
        workload: WorkloadArgs,
    },
    /// Summarise a finished run's output folder into DLIO_<model>_report.txt, as DLIO's
    /// dlio_postprocessor does, and print it.
    ///
    /// Reads summary.json, every <rank>_output.json, the per-epoch phase times, iostat.json
    /// (if profiled) and the composed Hydra config.yaml.
    Report {
        /// The run's output folder (the Hydra run dir unless output.folder was set).
        #[arg(value_name = "OUTPUT_DIR", default_value = ".")]
        output_dir: PathBuf,
        /// Folder of config.yaml inside OUTPUT_DIR (default: dlio_config, then .hydra).
        #[arg(long = "hydra-folder", value_name = "NAME")]
        hydra_folder: Option<PathBuf>,
        /// Print the statistics as JSON instead of the text report.
        #[arg(long)]
        json: bool,
    },
    /// Inspect the plugins found on the search path.
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
}

#[derive(Subcommand)]
enum PluginsCommand {
    /// One row per component: NAME, KIND, VERSION, ABI, STATUS, SOURCE, CAPABILITIES.
    List {
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Description and options of one component.
    Info {
        /// Component name (a format, or a backend's URI scheme).
        name: String,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when stdout is closed (`dl-driver plugins list | head`).
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error in dl-driver (please report it): {info}");
    }));
    dl_driver::log::init();
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Loads `./.env` (credentials for object stores, say) without overriding the environment.
fn load_dotenv() -> Result<()> {
    let path = std::path::Path::new(".env");
    if !path.is_file() {
        return Ok(());
    }
    // Values are not repeated in the message: a .env file holds credentials.
    dotenvy::from_path(path).map_err(|err| match err {
        dotenvy::Error::LineParse(_, index) => {
            anyhow::anyhow!(".env: cannot parse it at byte {index}; write one KEY=VALUE per line")
        }
        other => anyhow::anyhow!(".env: {other}"),
    })
}

fn dispatch(cli: Cli) -> Result<()> {
    load_dotenv()?;
    let dirs = run::PluginDirs {
        dirs: cli.plugins,
        defaults: !cli.no_default_plugin_dirs,
    };
    match cli.command {
        Command::Run { workload, io_trace } => {
            run::run(&composed(workload)?, &dirs, false, io_trace.as_deref())
        }
        Command::Generate { workload } => run::run(&composed(workload)?, &dirs, true, None),
        Command::Query { workload } => {
            let invocation = resolve(workload, true)?;
            let (key, overrides) = query_key(invocation.key, invocation.overrides)?;
            let composed = compose(&invocation.source, &overrides)?;
            println!("{}", config::query(&composed, &key));
            Ok(())
        }
        Command::Check { workload, json } => {
            let composed = composed(workload)?;
            let threads = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2);
            let summary = run::check(&composed, &dirs, threads)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                for failure in &summary.failures {
                    println!(
                        "{} {}: {}",
                        failure.status,
                        failure.key,
                        failure.problem.as_deref().unwrap_or("")
                    );
                }
                println!(
                    "{}: {} of {} files ok ({} bytes examined)",
                    summary.location, summary.ok, summary.files, summary.bytes
                );
            }
            if !summary.failures.is_empty() {
                anyhow::bail!(
                    "{} of {} files failed the check",
                    summary.failures.len(),
                    summary.files
                );
            }
            Ok(())
        }
        Command::Validate {
            workload,
            ranks,
            json,
        } => {
            let composed = composed(workload)?;
            let summary = run::validate(&composed, &dirs, ranks)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                let chosen = if ranks.is_none() && summary.ranks > 1 {
                    " (the fewest its model layout allows; set --ranks P)"
                } else {
                    ""
                };
                println!(
                    "{}: valid for {} rank(s){chosen}",
                    composed.loaded.path.display(),
                    summary.ranks
                );
                if summary.uses_dataset {
                    print!("{}", dataset_lines(&summary));
                }
                if let Some(checkpoint) = &summary.checkpoint {
                    println!(
                        "  checkpoint: {} files, {} bytes per checkpoint",
                        checkpoint.files, checkpoint.bytes
                    );
                    println!(
                        "              {:.2} GB (DLIO's checkpoint_size_GB) in {}",
                        checkpoint.size_gb, checkpoint.location
                    );
                    if let Some(parameters) = checkpoint.parameters {
                        println!("              {parameters} model parameters");
                    }
                }
            }
            Ok(())
        }
        Command::Report {
            output_dir,
            hydra_folder,
            json,
        } => dl_driver::metrics::report::command(&output_dir, hydra_folder.as_deref(), json),
        Command::Plugins { command } => {
            let registry = run::open_registry(&dirs)?;
            match command {
                PluginsCommand::List { json } => {
                    let rows = plugins::with_missing(registry.rows());
                    if json {
                        println!("{}", serde_json::to_string_pretty(&rows)?);
                    } else {
                        print!("{}", plugins::render_table(&rows));
                    }
                }
                PluginsCommand::Info { name, json } => {
                    let rows: Vec<_> = registry
                        .rows()
                        .iter()
                        .filter(|row| row.name == name)
                        .collect();
                    if rows.is_empty() {
                        let names: Vec<_> = registry
                            .rows()
                            .iter()
                            .map(|row| row.name.as_str())
                            .collect();
                        anyhow::bail!(
                            "no plugin component named '{name}' (found: {})",
                            names.join(", ")
                        );
                    }
                    if json {
                        println!("{}", serde_json::to_string_pretty(&rows)?);
                    } else {
                        for row in rows {
                            print!("{}", plugins::render_info(row));
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

/// The workload, key and overrides of a command line, DLIO's spellings resolved.
struct Invocation {
    source: WorkloadSource,
    key: Option<String>,
    overrides: Vec<String>,
}

/// An argument that is an override rather than a file or a key.
fn looks_like_override(arg: &str) -> bool {
    arg.starts_with(['+', '~']) || arg.contains('=')
}

/// Splits the positional arguments into the workload (a file, `--workload NAME` or DLIO's
/// `workload=NAME`), the query KEY when `takes_key`, and the overrides.
fn resolve(args: WorkloadArgs, takes_key: bool) -> Result<Invocation> {
    let mut name = args.workload;
    let mut rest = Vec::new();
    for arg in args.args {
        // Hydra takes the config-group selection `workload=NAME` at any position.
        match arg.strip_prefix("workload=") {
            Some(selected) => {
                if let Some(first) = &name {
                    bail!(
                        "the workload is chosen twice ('{first}' and '{selected}'); \
                         give one workload=NAME or --workload NAME"
                    );
                }
                if selected.is_empty() {
                    bail!("'workload=' needs a name, e.g. workload=unet3d_h100");
                }
                name = Some(selected.to_string());
            }
            None => rest.push(arg),
        }
    }
    let mut rest = rest.into_iter().peekable();
    let source = match name {
        Some(name) => {
            if let Some(first) = rest
                .peek()
                .filter(|a| !takes_key && !looks_like_override(a))
            {
                bail!(
                    "'{first}' is not an override (KEY=VALUE), and the workload is already chosen \
                     by name ('{name}'); give either a workload file or a workload name"
                );
            }
            WorkloadSource::Named {
                name,
                config_dir: args.config_dir,
            }
        }
        None => {
            let Some(first) = rest.next() else {
                bail!("no workload given: give a workload YAML (CONFIG), --workload NAME or workload=NAME");
            };
            if looks_like_override(&first) && !Path::new(&first).is_file() {
                bail!(
                    "'{first}' is an override, but no workload comes before it: give a workload YAML \
                     (CONFIG), --workload NAME or workload=NAME first (DLIO's default workload is \
                     workload=default)"
                );
            }
            if args.config_dir.is_some() {
                tracing::warn!(
                    "--config-dir is searched for a workload given by name; {first} is read as a file"
                );
            }
            WorkloadSource::File(PathBuf::from(first))
        }
    };
    let mut rest: Vec<String> = rest.collect();
    // The query's KEY is the one argument that is not an override, wherever it stands.
    let key = match rest.iter().position(|arg| !looks_like_override(arg)) {
        Some(at) if takes_key => Some(rest.remove(at)),
        _ => None,
    };
    Ok(Invocation {
        source,
        key,
        overrides: rest,
    })
}

/// The query's KEY: the positional one, or DLIO's `++workload.workflow.query=KEY` (taken out
/// of the overrides, since it is an instruction to the query, not a workload key).
fn query_key(key: Option<String>, overrides: Vec<String>) -> Result<(String, Vec<String>)> {
    let mut from_override = None;
    let mut rest = Vec::new();
    for text in overrides {
        match overrides::parse(&text) {
            Ok(ov)
                if ov.scope == overrides::Scope::Workload
                    && ov.path == ["workflow", "query"]
                    && ov.mode != overrides::Mode::Delete =>
            {
                from_override = Some(match ov.value {
                    Some(serde_json::Value::String(key)) => key,
                    Some(other) => other.to_string(),
                    None => String::new(),
                });
            }
            _ => rest.push(text),
        }
    }
    match key.or(from_override).filter(|k| !k.is_empty()) {
        Some(key) => Ok((key, rest)),
        None => bail!(
            "which key? give it after the workload (e.g. `dl-driver query CONFIG dataset.record_length_bytes`) \
             or as ++workload.workflow.query=KEY"
        ),
    }
}

/// Composes the workload and prints its warnings once.
fn compose(source: &WorkloadSource, overrides: &[String]) -> Result<Composed> {
    let composed = config::compose(source, overrides)?;
    for warning in &composed.loaded.warnings {
        tracing::warn!("{}: {warning}", composed.loaded.path.display());
    }
    Ok(composed)
}

/// Resolves and composes the workload of `run`, `generate` and `validate`.
fn composed(args: WorkloadArgs) -> Result<Composed> {
    let invocation = resolve(args, false)?;
    compose(&invocation.source, &invocation.overrides)
}

/// The dataset part of `validate`'s text output.
fn dataset_lines(summary: &run::PlanSummary) -> String {
    let unknown = match summary.files_of_unknown_size {
        0 => String::new(),
        n => format!(" (+{n} files of unknown size)"),
    };
    let mut text = format!(
        "  dataset:  {} ({} format)\n  files:    {} train + {} eval\n  bytes:    {}{unknown}\n  steps:    {} per epoch × {} epochs\n",
        summary.data,
        summary.format,
        summary.train_files,
        summary.eval_files,
        summary.dataset_bytes,
        summary.train_steps_per_epoch,
        summary.epochs
    );
    if let Some(eval) = summary.eval_steps {
        text.push_str(&format!("  eval:     {eval} steps per pass\n"));
    }
    text
}
