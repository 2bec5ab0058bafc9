//! The CLI's errors: what went wrong, where, its stable name, and the exit code.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | I/O: a file could not be read or written, or the state directory is damaged |
//! | 2 | usage: bad arguments or input (`Weighbridge.InvalidInput` and friends) |
//! | 3 | the function or the execution ran and failed |
//! | 4 | the state directory is in use by another command (try again) |

use std::path::PathBuf;

use thiserror::Error;
use weighbridge_core::CoreError;
use weighbridge_local::store::StoreError;
use weighbridge_tasks::TaskError;

#[derive(Debug, Error)]
pub enum CliError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{context}: {source} [{}]", source.name())]
    Core { context: String, source: CoreError },
    #[error("{0}")]
    Usage(String),
    #[error("{} [{}]", .0, .0.name())]
    Store(#[from] StoreError),
    #[error("{} [{}]", .0, .0.name())]
    Task(TaskError),
    /// An execution that ended other than Succeeded.
    #[error("{0}")]
    Execution(String),
    /// A request Step Functions refuses, by the service's error name (`InvalidToken`,
    /// `TaskTimedOut`, `ExecutionNotRedrivable`, …) and what to do about it.
    #[error("{message} [{name}]")]
    Service { name: &'static str, message: String },
}

impl CliError {
    /// The exit code (see the module's table).
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Read { .. } => 1,
            CliError::Store(StoreError::Busy { .. }) => 4,
            CliError::Store(StoreError::ExecutionExists(_) | StoreError::NoExecution { .. }) => 2,
            CliError::Store(_) => 1,
            CliError::Core { .. } | CliError::Usage(_) | CliError::Service { .. } => 2,
            CliError::Task(TaskError::InvalidInput(_)) => 2,
            CliError::Task(_) | CliError::Execution(_) => 3,
        }
    }

    /// A Step Functions error named `name`.
    pub fn service(name: &'static str, message: impl Into<String>) -> CliError {
        CliError::Service {
            name,
            message: message.into(),
        }
    }

    pub fn core(context: impl Into<String>) -> impl FnOnce(CoreError) -> CliError {
        let context = context.into();
        move |source| CliError::Core { context, source }
    }
}
