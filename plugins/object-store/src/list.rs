//! Paged listings: each page is one listing that starts after the cursor (S3's `start-after`)
//! and stops as soon as the page is full, so a page costs about `max / 1000` requests however
//! many objects follow.

use dl_plugin_api::sdk::{Error, ListPage, Result};
use futures::TryStreamExt;
use object_store::path::Path;

use crate::{
    runtime::bounded,
    store::{Failure, Remote},
    uri::{dir_path, object_path},
};

/// Lists keys under the string `prefix` that sort after `cursor`, at most `max` of them.
pub async fn list_page(
    remote: &Remote,
    prefix: &str,
    cursor: Option<&str>,
    max: u32,
) -> Result<ListPage> {
    // A page of zero entries would never advance the cursor.
    let want = max.max(1) as usize;
    let shown = remote.uri(prefix);
    let invalid = |why: String| {
        Error::invalid_config(format!(
            "LIST {shown}: {why}; prefixes are `/`-separated names"
        ))
    };
    if prefix.starts_with('/') {
        return Err(invalid("the prefix starts with `/`".into()));
    }
    // Object stores list whole directories; a partial last name is filtered here.
    let (dir, partial) = prefix
        .rsplit_once('/')
        .map_or(("", prefix), |(d, p)| (d, p));
    let list_dir = dir_path(&remote.prefix, dir).map_err(invalid)?;
    let offset = if remote.native_offset {
        start_after(remote, dir, partial, cursor).map_err(invalid)?
    } else {
        None
    };

    let store = &remote.store;
    let mut stream = match &offset {
        Some(offset) => store.list_with_offset(list_dir.as_ref(), offset),
        None => store.list(list_dir.as_ref()),
    };
    let strip = if remote.prefix.is_empty() {
        String::new()
    } else {
        format!("{}/", remote.prefix)
    };
    let mut found: Vec<(String, u64)> = Vec::new();
    loop {
        let next = match bounded(remote.tuning.deadline, stream.try_next()).await {
            Some(Ok(next)) => next,
            Some(Err(err)) => return Err(remote.error("LIST", &shown, &Failure::Client(err))),
            None => {
                let failure = Failure::Deadline(remote.tuning.deadline);
                return Err(remote.error("LIST", &shown, &failure));
            }
        };
        let Some(meta) = next else { break };
        let Some(key) = meta.location.as_ref().strip_prefix(strip.as_str()) else {
            continue;
        };
        if cursor.is_some_and(|c| key <= c) {
            continue;
        }
        if !key.starts_with(prefix) {
            // In key order, everything under the prefix is contiguous: past it, nothing follows.
            if remote.sorted_listing && key > prefix {
                break;
            }
            continue;
        }
        found.push((key.to_string(), meta.size));
        if remote.sorted_listing && found.len() > want {
            break;
        }
    }
    if !remote.sorted_listing {
        found.sort_unstable();
    }
    let more = found.len() > want;
    found.truncate(want);
    let next_cursor = if more {
        found.last().map(|(key, _)| key.clone())
    } else {
        None
    };
    Ok(ListPage::new(found, next_cursor))
}

/// Where the listing may start: after the cursor, or just before the first key that can
/// carry the partial last name of the prefix (`train/img` for `train/img_`), whichever is later.
fn start_after(
    remote: &Remote,
    dir: &str,
    partial: &str,
    cursor: Option<&str>,
) -> std::result::Result<Option<Path>, String> {
    let mut candidates: Vec<String> = Vec::new();
    if let Some(cursor) = cursor {
        candidates.push(cursor.to_string());
    }
    let mut chars = partial.chars();
    if chars.next_back().is_some() {
        let shorter = chars.as_str();
        // Every key starting with `dir/partial` sorts after `dir/shorter`, its proper prefix.
        let candidate = match (dir.is_empty(), shorter.is_empty()) {
            (_, true) => dir.to_string(),
            (true, false) => shorter.to_string(),
            (false, false) => format!("{dir}/{shorter}"),
        };
        if !candidate.is_empty() {
            candidates.push(candidate);
        }
    }
    let Some(latest) = candidates.into_iter().max() else {
        return Ok(None);
    };
    object_path(&remote.prefix, &latest).map(Some)
}
