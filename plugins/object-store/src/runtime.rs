//! The library's own async runtime: the host only sees the synchronous SDK traits, so every
//! store call blocks its calling thread on a future driven by this runtime.

use std::{future::Future, sync::OnceLock, time::Duration};

use dl_plugin_api::sdk::{Error, Result};

/// One runtime per loaded library, built on first use so loading the library stays cheap.
static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> = OnceLock::new();

/// Worker threads: enough to keep many requests in flight (the I/O is asynchronous), few
/// enough not to compete with the host's own I/O threads.
fn worker_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    cores.clamp(2, 4)
}

/// The library's runtime, built on first use.
pub fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    let built = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads())
            .thread_name("dl-object-store")
            .enable_all()
            .build()
            .map_err(|err| err.to_string())
    });
    built
        .as_ref()
        .map_err(|err| Error::io(format!("cannot start the object-store I/O runtime: {err}")))
}

/// Runs `future` to completion on the library's runtime and returns its output.
///
/// The host calls from plain threads; a caller already inside a runtime (a host linking this
/// crate statically, say) cannot block in place, so its call moves to a scoped thread.
pub fn block_on<F>(future: F) -> Result<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let runtime = runtime()?;
    if tokio::runtime::Handle::try_current().is_err() {
        return Ok(runtime.block_on(future));
    }
    std::thread::scope(|scope| {
        scope
            .spawn(|| runtime.block_on(future))
            .join()
            .map_err(|_| Error::io("an object-store request panicked on its helper thread"))
    })
}

/// Waits for `future` at most `limit`; `None` when it took longer.
///
/// Requests are bounded by the client's own timeouts and retry budget; this is the backstop
/// that turns anything those miss (a credential lookup that never answers) into an error.
pub async fn bounded<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    tokio::time::timeout(limit, future).await.ok()
}
