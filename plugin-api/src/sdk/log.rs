//! Logging from inside a plugin library, forwarded to the host's log.
//!
//! Each shared library has its own copy of every logging crate's globals, so plugin messages
//! travel through the function the host hands over at load time.

use std::sync::OnceLock;

use crate::abi::{HostServices, LogLevel};

static HOST: OnceLock<HostServices> = OnceLock::new();

pub(crate) fn set_host(host: HostServices) {
    let _ = HOST.set(host);
}

/// Version of the host that loaded this library, if it was loaded by one.
pub fn host_version() -> Option<&'static str> {
    HOST.get().map(|host| host.host_version.as_str())
}

/// Sends `message` to the host's log at `level`, under `target` (usually the component name).
/// Outside a host (unit tests of the rlib) the message is dropped.
pub fn log(level: LogLevel, target: &str, message: &str) {
    if let Some(host) = HOST.get() {
        (host.log.0)(level, target.into(), message.into());
    }
}

/// Logs at warning level.
pub fn warn(target: &str, message: &str) {
    log(LogLevel::WARN, target, message);
}

/// Logs at info level.
pub fn info(target: &str, message: &str) {
    log(LogLevel::INFO, target, message);
}

/// Logs at debug level.
pub fn debug(target: &str, message: &str) {
    log(LogLevel::DEBUG, target, message);
}
