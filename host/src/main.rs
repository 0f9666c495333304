//! The `dl-driver` command line: parse, dispatch, print errors.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Result;
use clap::{Parser, Subcommand};
use dl_driver::{plugins, run};

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

#[derive(Subcommand)]
enum Command {
    /// Run a DLIO workload: generate data if asked, then train and report metrics.
    Run {
        /// Workload YAML.
        config: PathBuf,
    },
    /// Generate the workload's dataset only.
    Generate {
        /// Workload YAML.
        config: PathBuf,
    },
    /// Check a workload and print its plan without doing any I/O.
    Validate {
        /// Workload YAML.
        config: PathBuf,
        /// Plan for this many ranks.
        #[arg(long, default_value_t = 1)]
        ranks: u64,
        /// Print JSON for scripts.
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .init();
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    let dirs = run::PluginDirs {
        dirs: cli.plugins,
        defaults: !cli.no_default_plugin_dirs,
    };
    match cli.command {
        Command::Run { config } => run::run(&config, &dirs, false),
        Command::Generate { config } => run::run(&config, &dirs, true),
        Command::Validate {
            config,
            ranks,
            json,
        } => {
            let summary = run::validate(&config, &dirs, ranks)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                println!("{}: valid for {} rank(s)", config.display(), summary.ranks);
                println!("  dataset:  {} ({} format)", summary.data, summary.format);
                println!(
                    "  files:    {} train + {} eval",
                    summary.train_files, summary.eval_files
                );
                let unknown = if summary.files_of_unknown_size > 0 {
                    format!(
                        " (+{} files of unknown size)",
                        summary.files_of_unknown_size
                    )
                } else {
                    String::new()
                };
                println!("  bytes:    {}{unknown}", summary.dataset_bytes);
                println!(
                    "  steps:    {} per epoch × {} epochs",
                    summary.train_steps_per_epoch, summary.epochs
                );
                if let Some(eval) = summary.eval_steps {
                    println!("  eval:     {eval} steps per pass");
                }
            }
            Ok(())
        }
        Command::Plugins { command } => {
            let registry = run::open_registry(&dirs)?;
            match command {
                PluginsCommand::List { json } => {
                    if json {
                        println!("{}", serde_json::to_string_pretty(registry.rows())?);
                    } else {
                        print!("{}", plugins::render_table(registry.rows()));
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
