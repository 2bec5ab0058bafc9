//! Task errors with the stable names ASL matches in `Retry` / `Catch`.

use thiserror::Error;
use weighbridge_core::CoreError;

use crate::ports::PortError;

/// Everything a task can fail with. The `Display` text says what to fix; the
/// [`TaskError::name`] is what Step Functions sees as the error type.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum TaskError {
    /// The input is wrong; retrying the same input will not help.
    #[error("{0}")]
    InvalidInput(String),
    /// A model's response could not be decoded.
    #[error("{0}")]
    InvalidPayload(String),
    /// Not enough data to decide (no test rows, a single class, too few rows).
    #[error("{0}")]
    InsufficientData(String),
    /// The endpoint is not InService (Creating, Updating, ...): retry later.
    #[error("{0}")]
    EndpointNotReady(String),
    /// A named resource does not exist.
    #[error("{0}")]
    NotFound(String),
    /// AWS throttled a call: retry with backoff.
    #[error("{0}")]
    Throttled(String),
    /// A concurrent writer or an existing resource with a different spec got there first.
    #[error("{0}")]
    Conflict(String),
    /// AWS answered with a server error or could not be reached: retry.
    #[error("{0}")]
    ServiceUnavailable(String),
}

impl TaskError {
    /// The stable error name (`Weighbridge.*`).
    pub fn name(&self) -> &'static str {
        match self {
            TaskError::InvalidInput(_) => "Weighbridge.InvalidInput",
            TaskError::InvalidPayload(_) => "Weighbridge.InvalidPayload",
            TaskError::InsufficientData(_) => "Weighbridge.InsufficientData",
            TaskError::EndpointNotReady(_) => "Weighbridge.EndpointNotReady",
            TaskError::NotFound(_) => "Weighbridge.NotFound",
            TaskError::Throttled(_) => "Weighbridge.Throttled",
            TaskError::Conflict(_) => "Weighbridge.Conflict",
            TaskError::ServiceUnavailable(_) => "Weighbridge.ServiceUnavailable",
        }
    }

    /// Every name a task can raise, for checks that ASL only matches real names.
    pub const NAMES: [&'static str; 8] = [
        "Weighbridge.InvalidInput",
        "Weighbridge.InvalidPayload",
        "Weighbridge.InsufficientData",
        "Weighbridge.EndpointNotReady",
        "Weighbridge.NotFound",
        "Weighbridge.Throttled",
        "Weighbridge.Conflict",
        "Weighbridge.ServiceUnavailable",
    ];

    /// Whether ASL should retry this error (the state machines list the same names).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            TaskError::EndpointNotReady(_)
                | TaskError::Throttled(_)
                | TaskError::Conflict(_)
                | TaskError::ServiceUnavailable(_)
        )
    }
}

impl From<CoreError> for TaskError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::InvalidInput(_) => TaskError::InvalidInput(e.to_string()),
            CoreError::InsufficientData(_) => TaskError::InsufficientData(e.to_string()),
            CoreError::Payload { .. } => TaskError::InvalidPayload(e.to_string()),
        }
    }
}

/// A value that would not serialise to JSON (maps with non-string keys; never the
/// task's own types): `Weighbridge.InvalidPayload` rather than a panic.
pub fn unserialisable(e: serde_json::Error) -> TaskError {
    TaskError::InvalidPayload(format!("cannot serialise to JSON: {e}"))
}

/// Adds what was being done to a port error: `port(call)(error)`.
pub fn port(call: impl Into<String>) -> impl FnOnce(PortError) -> TaskError {
    let call = call.into();
    move |e| {
        let msg = format!("{call}: {e}");
        match e {
            PortError::NotFound(_) => TaskError::NotFound(msg),
            PortError::AlreadyExists(_) | PortError::PreconditionFailed(_) => TaskError::Conflict(msg),
            PortError::Throttled(_) => TaskError::Throttled(msg),
            PortError::Validation(_) => TaskError::InvalidInput(msg),
            PortError::Unavailable(_) => TaskError::ServiceUnavailable(msg),
        }
    }
}

/// A create that finds its own deterministic resource already there (a retry) succeeded.
pub fn tolerate_existing<T>(result: Result<T, PortError>, call: &str) -> Result<(), TaskError> {
    match result {
        Ok(_) | Err(PortError::AlreadyExists(_)) => Ok(()),
        Err(e) => Err(port(call)(e)),
    }
}

/// A delete that finds nothing to delete (a retry) succeeded.
pub fn tolerate_missing<T>(result: Result<T, PortError>, call: &str) -> Result<(), TaskError> {
    match result {
        Ok(_) | Err(PortError::NotFound(_)) => Ok(()),
        Err(e) => Err(port(call)(e)),
    }
}
