//! Weighbridge's task states: one module per Step Functions task, each generic over the
//! small port traits in [`ports`], so the same logic runs on the AWS SDK
//! (`weighbridge-aws`) and on the embedded backend (`weighbridge-local`).
//!
//! Every task takes a documented JSON input (a `serde` struct, camelCase fields), returns
//! a JSON output, and fails with a [`TaskError`] whose stable name ASL `Retry`/`Catch`
//! can match. Validation happens before the first mutating call, so bad input never
//! changes an endpoint.
#![warn(missing_docs)]

pub mod alarms;
pub mod deploy;
mod endpoint;
pub mod error;
pub mod evaluate_model;
pub mod evaluate_variants;
pub mod experiment;
pub mod functions;
mod guardrails;
pub mod image_uris;
pub mod input;
mod interventions;
pub mod names;
pub mod ports;
pub mod registration;
pub mod scaling;
pub mod shift_weights;
pub mod start_retraining;
pub mod train;
pub mod validation;
pub mod verdicts;

pub use error::TaskError;
pub use input::parse_input;
