//! Typed errors. Every error has a stable name (`Weighbridge.*`) so a Step Functions
//! `Retry`/`Catch` can match it, and a message that says what to fix.

use thiserror::Error;

/// Result alias used across the core.
pub type Result<T> = std::result::Result<T, CoreError>;

/// What can go wrong in the core. Variants map onto the stable error names used by ASL.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CoreError {
    /// The caller passed something malformed: fix the input and call again.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The input is well formed but there is not enough of it to compute an answer
    /// (for example AUC with a single class). More data will fix it.
    #[error("insufficient data: {0}")]
    InsufficientData(String),
    /// A prediction or request payload could not be decoded; `line` is 1-based.
    #[error("malformed payload at line {line}: {problem}")]
    Payload {
        /// The line (1-based).
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
}

impl CoreError {
    /// The stable error name ASL matches on in `ErrorEquals`.
    pub fn name(&self) -> &'static str {
        match self {
            CoreError::InvalidInput(_) => "Weighbridge.InvalidInput",
            CoreError::InsufficientData(_) => "Weighbridge.InsufficientData",
            CoreError::Payload { .. } => "Weighbridge.InvalidPayload",
        }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        CoreError::InvalidInput(msg.into())
    }

    pub(crate) fn insufficient(msg: impl Into<String>) -> Self {
        CoreError::InsufficientData(msg.into())
    }

    /// A one-line record that does not decode (its reader names the object and line).
    pub(crate) fn invalid_payload(msg: impl Into<String>) -> Self {
        CoreError::Payload {
            line: 1,
            problem: msg.into(),
        }
    }

    /// What is wrong, without the error's kind (for messages that add their own place).
    pub fn problem(&self) -> &str {
        match self {
            CoreError::InvalidInput(m) | CoreError::InsufficientData(m) => m,
            CoreError::Payload { problem, .. } => problem,
        }
    }
}

/// Checks that predictions and labels pair up row by row and are all finite.
/// Every metric and comparison starts here so the messages are the same everywhere.
pub fn check_paired(what: &str, predictions: &[f64], labels: &[f64]) -> Result<()> {
    if predictions.len() != labels.len() {
        return Err(CoreError::invalid(format!(
            "{what}: {} predictions but {} labels; every row needs exactly one prediction",
            predictions.len(),
            labels.len()
        )));
    }
    if labels.is_empty() {
        return Err(CoreError::insufficient(format!("{what}: no rows")));
    }
    check_finite(&format!("{what} labels"), labels)?;
    check_finite(&format!("{what} predictions"), predictions)
}

/// Rejects NaN and infinities, naming the first offending row (1-based).
pub fn check_finite(what: &str, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(CoreError::invalid(format!(
            "{what}: row {} is {}; remove or impute non-finite values",
            i + 1,
            values[i]
        ))),
    }
}

/// Checks that every label is 0 or 1 (binary classification), naming the first bad row.
pub fn check_binary_labels(labels: &[f64]) -> Result<()> {
    match labels.iter().position(|&y| y != 0.0 && y != 1.0) {
        None => Ok(()),
        Some(i) => Err(CoreError::invalid(format!(
            "labels: row {} is {}; binary classification needs labels 0 or 1",
            i + 1,
            labels[i]
        ))),
    }
}
