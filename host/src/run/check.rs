//! `dl-driver check`: decodes and verifies every file of a workload's dataset through its
//! format plugin, in parallel, and names each missing or corrupt file.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Mutex,
};

use anyhow::Result;

use super::{connect, open_registry, prepare, PluginDirs, Prepared};
use crate::{
    config::Composed,
    engine::{BufferPool, HostSource, ReadTally},
};

/// What one file's check found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileCheck {
    /// Key of the file.
    pub key: String,
    /// `ok`, `missing` or `corrupt`.
    pub status: &'static str,
    /// Samples found (ok files).
    pub samples: u64,
    /// Bytes examined (ok files).
    pub bytes: u64,
    /// What is wrong (missing or corrupt files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The outcome of `check`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckSummary {
    /// Where the dataset is.
    pub location: String,
    /// Files checked.
    pub files: usize,
    /// Files that decoded cleanly.
    pub ok: usize,
    /// Bytes examined.
    pub bytes: u64,
    /// The files that failed, in dataset order.
    pub failures: Vec<FileCheck>,
}

/// Checks every file of the workload's dataset with `threads` workers.
pub fn check(composed: &Composed, dirs: &PluginDirs, threads: usize) -> Result<CheckSummary> {
    let workload = &composed.loaded.workload;
    let registry = open_registry(dirs)?;
    let Prepared { session, plan } = prepare(workload, &registry, 1)?;
    let store = connect(&registry, &plan.dataset.read_location, workload)?;
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    let pool = BufferPool::default();
    let read = ReadTally::counting();
    let files = &plan.dataset.files;
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, files.len().max(1)) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(file) = files.get(index) else { break };
                let key = file.spec.key.to_string();
                let outcome = match HostSource::open(&store, &key, pool.clone(), read.clone()) {
                    Err(err) if err.kind == dl_plugin_api::abi::ErrorKind::NOT_FOUND => FileCheck {
                        key,
                        status: "missing",
                        samples: 0,
                        bytes: 0,
                        problem: Some(err.message),
                    },
                    Err(err) => FileCheck {
                        key,
                        status: "corrupt",
                        samples: 0,
                        bytes: 0,
                        problem: Some(err.to_string()),
                    },
                    Ok(source) => match session.check(&file.spec, source) {
                        Ok(report) => FileCheck {
                            key,
                            status: "ok",
                            samples: report.samples,
                            bytes: report.bytes,
                            problem: None,
                        },
                        Err(err) => FileCheck {
                            key,
                            status: "corrupt",
                            samples: 0,
                            bytes: 0,
                            problem: Some(err.message),
                        },
                    },
                };
                if let Ok(mut all) = results.lock() {
                    all.push((index, outcome));
                }
            });
        }
    });
    let mut all = results.into_inner().unwrap_or_default();
    all.sort_by_key(|(index, _)| *index);
    let checked: Vec<FileCheck> = all.into_iter().map(|(_, outcome)| outcome).collect();
    Ok(CheckSummary {
        location: plan.dataset.read_location.to_string(),
        files: checked.len(),
        ok: checked.iter().filter(|c| c.status == "ok").count(),
        bytes: checked.iter().map(|c| c.bytes).sum(),
        failures: checked.into_iter().filter(|c| c.status != "ok").collect(),
    })
}
