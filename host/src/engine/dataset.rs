//! Finding the dataset a run reads (reference/dlio-spec.md §3.3): the planned files when they
//! are all there; otherwise, as DLIO does, the first `num_files_*` files of each split in
//! listing order, so a run can use a subset of a larger dataset generated earlier.

use std::collections::BTreeSet;

use super::EngineError;
use crate::{
    plan::{FileOrder, PhasePlan, RunPlan},
    plugins::Store,
};

/// Makes sure every file this rank reads exists, adopting an existing larger dataset's first
/// files when the planned names are absent. Returns warnings for the user.
pub fn locate_dataset(
    plan: &mut RunPlan,
    store: &Store,
    rank: u64,
) -> Result<Vec<String>, EngineError> {
    let missing = missing_files(plan, store, rank)?;
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let mut warnings = Vec::new();
    let phases: Vec<PhasePlan> = std::iter::once(plan.train.clone())
        .chain(plan.eval.clone())
        .collect();
    for phase in &phases {
        let wanted = phase.files() as usize;
        let first = phase.first_file as usize;
        let split = phase.split.folder();
        let found = list_split(plan, store, split, first)?;
        if found.len() < wanted {
            return Err(EngineError::MissingData {
                missing: wanted - found.len(),
                needed: wanted,
                location: format!("{}/{split}", plan.dataset.read_location),
                first: plan.dataset.files[first + found.len()].spec.key.to_string(),
            });
        }
        if found.len() > wanted {
            warnings.push(format!(
                "{}/{split} holds {} files; using the first {wanted}, as DLIO does",
                plan.dataset.read_location,
                found.len()
            ));
        }
        for (file, (key, size)) in plan.dataset.files[first..first + wanted]
            .iter_mut()
            .zip(found)
        {
            file.spec.key = key.into();
            file.size = Some(size);
        }
    }
    let still = missing_files(plan, store, rank)?;
    match still.first() {
        None => Ok(warnings),
        Some(first) => Err(EngineError::MissingData {
            missing: still.len(),
            needed: still.len(),
            location: plan.dataset.read_location.to_string(),
            first: first.clone(),
        }),
    }
}

/// Files of a split in DLIO's order: with subfolders, `<split>/*/*.<ext>` by file name; else
/// `<split>/*.<ext>` by path. Hidden files (unfinished writes) never count.
fn list_split(
    plan: &RunPlan,
    store: &Store,
    split: &str,
    first: usize,
) -> Result<Vec<(String, u64)>, EngineError> {
    let extension = plan.dataset.files[first]
        .spec
        .key
        .rsplit('.')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let nested = plan.dataset.files[first].spec.key.matches('/').count() > 1;
    let prefix = format!("{split}/");
    let mut found = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = store
            .list(&prefix, &cursor, 1000)
            .map_err(|source| EngineError::File {
                key: prefix.clone(),
                source,
            })?;
        for entry in page.entries.iter() {
            let key = entry.key.as_str();
            let depth = key.matches('/').count();
            let name = key.rsplit('/').next().unwrap_or(key);
            let matches = name
                .to_ascii_lowercase()
                .ends_with(&format!(".{extension}"))
                && !name.starts_with('.');
            if matches && depth == if nested { 2 } else { 1 } {
                found.push((key.to_string(), entry.size));
            }
        }
        if page.next_cursor.is_empty() {
            break;
        }
        cursor = page.next_cursor.to_string();
    }
    if nested {
        found.sort_by(|a, b| a.0.rsplit('/').next().cmp(&b.0.rsplit('/').next()));
    } else {
        found.sort();
    }
    Ok(found)
}

/// Keys of files this rank reads that are absent or not of their planned size.
fn missing_files(plan: &RunPlan, store: &Store, rank: u64) -> Result<Vec<String>, EngineError> {
    let mut needed = BTreeSet::new();
    for phase in std::iter::once(&plan.train).chain(plan.eval.as_ref()) {
        let samples = phase.rank_samples(rank);
        if samples.is_empty() {
            continue;
        }
        // Shuffled epochs may put any file of the split in this rank's range.
        if plan.file_order == FileOrder::Listed {
            let first = phase.locate(samples.start, None).0;
            let last = phase.locate(samples.end - 1, None).0;
            needed.extend(first..=last);
        } else {
            needed.extend(phase.first_file..phase.first_file + phase.files());
        }
    }
    let mut missing = Vec::new();
    for index in needed {
        let file = &plan.dataset.files[index as usize];
        let key = file.spec.key.as_str();
        let found = store.stat(key).map_err(|source| EngineError::File {
            key: key.to_string(),
            source,
        })?;
        let complete = match (found, file.size) {
            (Some(meta), Some(size)) => meta.size == size,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if !complete {
            missing.push(key.to_string());
        }
    }
    Ok(missing)
}
