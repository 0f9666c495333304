//! The SDK's error type and its conversions to and from the ABI's [`PluginError`].

use crate::abi::{ErrorKind, PluginError};

/// Result type of SDK traits.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error a plugin reports to the host.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// The class of error.
    pub kind: ErrorKind,
    /// One line naming what failed and, when known, what to do about it.
    pub message: String,
    /// Whether the same call may succeed if repeated.
    pub retryable: bool,
}

impl Error {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retryable: false,
        }
    }
    /// The options or dataset description are not acceptable.
    pub fn invalid_config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::INVALID_CONFIG, message)
    }
    /// The operation is not implemented by this component.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::UNSUPPORTED, message)
    }
    /// An I/O operation failed.
    pub fn io(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::IO, message)
    }
    /// Data is malformed.
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::CORRUPT, message)
    }
    /// The object does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NOT_FOUND, message)
    }
    /// Marks the error as worth retrying.
    pub fn retryable(mut self) -> Self {
        self.retryable = true;
        self
    }
    /// Prefixes the message with what was being done (`context: message`).
    pub fn context(mut self, context: impl std::fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        if err.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            let inner = err.into_inner().expect("checked above");
            return *inner.downcast::<Error>().expect("checked above");
        }
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NOT_FOUND,
            std::io::ErrorKind::PermissionDenied => ErrorKind::PERMISSION,
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData => {
                ErrorKind::CORRUPT
            }
            std::io::ErrorKind::TimedOut => ErrorKind::TIMEOUT,
            _ => ErrorKind::IO,
        };
        let retryable = matches!(
            err.kind(),
            std::io::ErrorKind::Interrupted | std::io::ErrorKind::TimedOut
        );
        Self {
            kind,
            message: err.to_string(),
            retryable,
        }
    }
}

impl From<Error> for std::io::Error {
    fn from(err: Error) -> Self {
        std::io::Error::other(err)
    }
}

impl From<Error> for PluginError {
    fn from(err: Error) -> Self {
        PluginError {
            kind: err.kind,
            message: err.message.into(),
            retryable: err.retryable,
        }
    }
}

impl From<PluginError> for Error {
    fn from(err: PluginError) -> Self {
        Error {
            kind: err.kind,
            message: err.message.into_string(),
            retryable: err.retryable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_round_trip_keeps_kind_and_message() {
        let original = Error::corrupt("bad crc in x.npy");
        let io: std::io::Error = original.clone().into();
        let back = Error::from(io);
        assert_eq!(back.kind, ErrorKind::CORRUPT);
        assert_eq!(back.message, "bad crc in x.npy");
    }

    #[test]
    fn io_error_kinds_map() {
        let err = Error::from(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(err.kind, ErrorKind::NOT_FOUND);
        let err = Error::from(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert_eq!(err.kind, ErrorKind::PERMISSION);
    }
}
