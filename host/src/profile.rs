//! DLIO's profilers (`workflow.profiling` with `profiling.profiler`): `iostat` runs beside the
//! run on rank 0 and its JSON lands in the output folder as `iostat.json`; `none` does nothing.
//! DLIO's darshan and tensorboard hooks belong to its Python stack and are refused clearly.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

use anyhow::{bail, Context, Result};

use crate::config::Profiling;

/// A running profiler; [`Profiler::stop`] finishes its output.
pub struct Profiler {
    child: Child,
    partial: PathBuf,
    output: PathBuf,
}

/// Starts the profiler `settings` selects, writing into `dir`; `None` when there is none.
pub fn start(settings: &Profiling, dir: &Path) -> Result<Option<Profiler>> {
    match settings.profiler.as_str() {
        "none" | "" => Ok(None),
        "iostat" => iostat(settings, dir).map(Some),
        other => bail!(
            "profiling.profiler = {other}: dl-driver runs iostat (or none); {other} hooks into DLIO's Python \
             stack — set profiling.profiler: iostat, or workflow.profiling: False"
        ),
    }
}

fn iostat(settings: &Profiling, dir: &Path) -> Result<Profiler> {
    let devices: Vec<String> = match &settings.iostat_devices {
        serde_json::Value::String(one) => vec![one.clone()],
        serde_json::Value::Array(list) => list
            .iter()
            .filter_map(|d| d.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let output = dir.join("iostat.json");
    let partial = dir.join(".iostat.json.partial");
    let file = std::fs::File::create(&partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    let child = Command::new("iostat")
        .args(["-mdxtcy", "-o", "JSON"])
        .args(&devices)
        .arg("1")
        .stdout(file)
        .stderr(Stdio::null())
        .spawn()
        .map_err(|err| {
            let _ = std::fs::remove_file(&partial);
            anyhow::anyhow!(
                "profiling.profiler = iostat: cannot start iostat ({err}); install it (apt-get install sysstat) \
                 or set workflow.profiling: False"
            )
        })?;
    Ok(Profiler {
        child,
        partial,
        output,
    })
}

impl Profiler {
    /// Interrupts the profiler as DLIO does (SIGINT, so iostat closes its JSON), waits, and
    /// publishes its output.
    pub fn stop(mut self) -> Result<PathBuf> {
        let pid = libc::pid_t::try_from(self.child.id()).context("profiler pid")?;
        // SAFETY: signalling our own child, which has not been waited for yet.
        unsafe {
            libc::kill(pid, libc::SIGINT);
        }
        self.child.wait().context("waiting for iostat")?;
        std::fs::rename(&self.partial, &self.output)
            .with_context(|| format!("publishing {}", self.output.display()))?;
        Ok(self.output.clone())
    }
}

impl Drop for Profiler {
    fn drop(&mut self) {
        // A run that fails still stops its profiler rather than leaving it behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
