//! Amazon States Language: the parser ([`definition`]), paths and payload templates
//! ([`paths`], [`payload`], [`intrinsics`]), Choice rules ([`choice`]), validation
//! ([`validate`]), the [`interpreter`] and its [`history`]. No AWS types: Task resources
//! are resolved by the caller.
#![warn(missing_docs)]

pub mod choice;
pub mod definition;
pub mod history;
pub mod interpreter;
pub mod intrinsics;
pub mod jsonata;
pub mod paths;
pub mod payload;
pub mod validate;
mod validate_jsonata;

/// Replaces each `${Key}` with its `DefinitionSubstitutions` value, as SAM does before
/// the definition reaches Step Functions.
pub fn substitute(text: &str, substitutions: &std::collections::BTreeMap<String, String>) -> String {
    substitutions
        .iter()
        .fold(text.to_string(), |t, (k, v)| t.replace(&format!("${{{k}}}"), v))
}

/// A timestamp as the States Language takes it: RFC 3339 with an uppercase `T` between
/// date and time and an uppercase `Z` for UTC (`2026-01-01 00:00:00Z`, which plain RFC
/// 3339 allows, is refused, as on AWS).
pub fn parse_timestamp(text: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    let separator_ok = text.as_bytes().get(10) == Some(&b'T');
    if !separator_ok || text.ends_with('z') {
        return None;
    }
    chrono::DateTime::parse_from_rfc3339(text).ok()
}

/// A failure inside an execution, with the ASL error name Retry/Catch match on
/// (`States.Runtime`, `States.IntrinsicFailure`, a task's own error name, …).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct Failure {
    /// The error name (`States.Timeout`, `Weighbridge.InvalidInput`, …).
    pub error: String,
    /// The cause, in words.
    pub cause: String,
}

impl Failure {
    /// A failure with this error name and cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// `States.Runtime`: a path or payload that cannot be evaluated. Not retriable by
    /// `States.ALL` in the service; the interpreter follows that.
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new("States.Runtime", cause)
    }
}

/// Errors before any execution: the text does not parse, or the definition is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AslError {
    /// The text is not an ASL definition (JSON or a field's type).
    #[error("the state machine does not parse: {0}")]
    Parse(String),
    /// The definition parses but breaks these rules.
    #[error("the state machine is invalid:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}
