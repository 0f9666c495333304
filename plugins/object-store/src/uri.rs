//! Store roots (`s3://bucket/prefix`) and keys, and how they become object paths.

use dl_plugin_api::sdk::{Error, Result};
use object_store::path::Path;

/// A root URI split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// Scheme, lowercase (`s3`, `az`, …).
    pub scheme: String,
    /// Bucket, container, or `host[:port]` for `http`; may be empty (`az:///prefix`).
    pub authority: String,
    /// Path below the authority without leading or trailing `/`; empty for none.
    pub prefix: String,
}

impl Root {
    /// Splits `root`, which must use one of `schemes`.
    pub fn parse(root: &str, schemes: &[&str]) -> Result<Root> {
        let wanted = || {
            schemes
                .iter()
                .map(|s| format!("{s}://"))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        let Some((scheme, rest)) = root.split_once("://") else {
            return Err(Error::invalid_config(format!(
                "storage root {root:?}: expected a {} URI",
                wanted()
            )));
        };
        let scheme = scheme.to_ascii_lowercase();
        if !schemes.contains(&scheme.as_str()) {
            return Err(Error::invalid_config(format!(
                "storage root {root:?}: this backend takes {} URIs",
                wanted()
            )));
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        // Credentials in a URI would be echoed by every message that names the root.
        if authority.contains('@') {
            return Err(Error::invalid_config(format!(
                "storage root {scheme}://…: credentials in the URI are not supported; \
                 put them in storage.storage_options or the environment"
            )));
        }
        if rest.contains(['?', '#']) {
            return Err(Error::invalid_config(format!(
                "storage root {root:?}: query strings and fragments are not supported"
            )));
        }
        let prefix = path.trim_matches('/').to_string();
        if !prefix.is_empty() {
            check_key(&prefix).map_err(|why| {
                Error::invalid_config(format!("storage root {root:?}: the path {why}"))
            })?;
        }
        Ok(Root {
            scheme,
            authority: authority.to_string(),
            prefix,
        })
    }
}

/// Why `key` is not a valid object key, if it is not.
pub fn check_key(key: &str) -> std::result::Result<(), String> {
    if key.is_empty() {
        return Err("is empty".into());
    }
    if key
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err("has an empty, `.` or `..` part".into());
    }
    if key.chars().any(|c| c.is_control()) {
        return Err("contains control characters".into());
    }
    Ok(())
}

/// The object path of `key` under `prefix` (`prefix/key`).
pub fn object_path(prefix: &str, key: &str) -> std::result::Result<Path, String> {
    check_key(key)?;
    let full = if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}/{key}")
    };
    Path::parse(&full).map_err(|err| err.to_string())
}

/// The path a listing of `dir` (a prefix ending in `/`, or empty) starts from, under `prefix`.
pub fn dir_path(prefix: &str, dir: &str) -> std::result::Result<Option<Path>, String> {
    let dir = dir.trim_end_matches('/');
    if !dir.is_empty() {
        check_key(dir)?;
    }
    let full = match (prefix.is_empty(), dir.is_empty()) {
        (true, true) => return Ok(None),
        (true, false) => dir.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}/{dir}"),
    };
    Path::parse(&full).map(Some).map_err(|err| err.to_string())
}

/// `url` without `user:password@` and without a query string, for messages.
pub fn display_url(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let path = path.trim_end_matches('/');
            if path.is_empty() {
                format!("{scheme}://{host}")
            } else {
                format!("{scheme}://{host}/{path}")
            }
        }
        None => url.to_string(),
    }
}

/// `endpoint` with `bucket.` put in front of its host, as virtual-hosted-style requests to an
/// S3-compatible endpoint address a bucket (boto3 does the same).
pub fn virtual_host(endpoint: &str, bucket: &str) -> String {
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return endpoint.to_string();
    };
    if rest.starts_with(&format!("{bucket}.")) {
        return endpoint.to_string();
    }
    format!("{scheme}://{bucket}.{rest}")
}
