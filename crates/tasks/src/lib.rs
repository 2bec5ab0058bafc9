//! Weighbridge's task states: one module per Step Functions task, each generic over the
//! small port traits in [`ports`], so the same logic runs on the AWS SDK
//! (`weighbridge-aws`) and on the embedded backend (`weighbridge-local`).
//!
//! Every task takes a documented JSON input (a `serde` struct, camelCase fields), returns
//! a JSON output, and fails with a [`TaskError`] whose stable name ASL `Retry`/`Catch`
//! can match. Validation happens before the first mutating call, so bad input never
//! changes an endpoint.

pub mod deploy;
mod endpoint;
pub mod error;
pub mod evaluate_model;
pub mod evaluate_variants;
pub mod experiment;
pub mod image_uris;
pub mod names;
pub mod ports;
pub mod shift_weights;
pub mod start_retraining;
pub mod train;

pub use error::TaskError;

/// Parses a task's JSON input, turning serde's complaint into `Weighbridge.InvalidInput`.
pub fn parse_input<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, TaskError> {
    serde_json::from_value(value)
        .map_err(|e| TaskError::InvalidInput(format!("the task input does not parse: {e}")))
}
