//! The CLI's errors: what went wrong, where, and the stable core error name.

use std::path::PathBuf;

use thiserror::Error;
use weighbridge_core::CoreError;

#[derive(Debug, Error)]
pub enum CliError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{context}: {source} [{}]", source.error_name())]
    Core { context: String, source: CoreError },
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    /// 2 for bad input or usage, 1 for anything else (I/O).
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Read { .. } => 1,
            CliError::Core { .. } | CliError::Usage(_) => 2,
        }
    }

    pub fn core(context: impl Into<String>) -> impl FnOnce(CoreError) -> CliError {
        let context = context.into();
        move |source| CliError::Core { context, source }
    }
}
