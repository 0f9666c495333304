//! The run's messages: `[OUTPUT]` progress lines on stdout (rank 0), everything also appended
//! to the output folder's `dlio.log` as DLIO does, and tracing's warnings and errors on
//! stderr (`RUST_LOG` controls them; `DLIO_LOG_LEVEL` controls what reaches `dlio.log`).

use std::{
    fs::File,
    io::Write,
    path::Path,
    sync::{Mutex, OnceLock},
};

use tracing_subscriber::{
    fmt::MakeWriter, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer,
};

static LOG_FILE: OnceLock<Mutex<Option<File>>> = OnceLock::new();

fn log_file() -> &'static Mutex<Option<File>> {
    LOG_FILE.get_or_init(|| Mutex::new(None))
}

/// Starts appending to `path` (rank 0 removes a log left by an earlier run before any rank opens it).
pub fn open_file(path: &Path) -> std::io::Result<()> {
    let file = File::options().create(true).append(true).open(path)?;
    if let Ok(mut slot) = log_file().lock() {
        *slot = Some(file);
    }
    Ok(())
}

fn append(line: &str) {
    if let Ok(mut slot) = log_file().lock() {
        if let Some(file) = slot.as_mut() {
            // A full disk must not stop the benchmark; the console still has the line.
            let _ = writeln!(file, "{line}");
        }
    }
}

/// One `[OUTPUT]` line: printed and logged.
pub fn output(message: &str) {
    println!("[OUTPUT] {message}");
    append(&format!(
        "[OUTPUT] {} {message}",
        chrono::Local::now().format("%Y-%m-%dT%H:%M:%S%.6f")
    ));
}

/// A block of lines that carry their own prefix (the `[METRIC]` block): printed and logged.
pub fn block(text: &str) {
    println!("{text}");
    for line in text.lines() {
        append(line);
    }
}

/// Where tracing events for `dlio.log` go.
#[derive(Clone, Copy)]
struct LogFileWriter;

impl Write for LogFileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut slot) = log_file().lock() {
            if let Some(file) = slot.as_mut() {
                file.write_all(buf)?;
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogFileWriter {
    type Writer = LogFileWriter;
    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

/// Installs the logging: stderr filtered by `RUST_LOG` (default `warn`), and `dlio.log`
/// filtered by `DLIO_LOG_LEVEL` (`error|warning|info|debug`, default `warning`, as DLIO).
pub fn init() {
    let console = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let file_level = match std::env::var("DLIO_LOG_LEVEL")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "error" => "error",
        "info" => "info",
        "debug" => "debug",
        _ => "warn",
    };
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .without_time()
                .with_target(false)
                .with_filter(console),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(LogFileWriter)
                .with_ansi(false)
                .with_target(false)
                .with_filter(EnvFilter::new(file_level)),
        )
        .try_init();
}
