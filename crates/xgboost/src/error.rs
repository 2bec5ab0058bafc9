//! Why a model file cannot be served.

/// A model file that cannot be loaded: what it is, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    /// The bytes are not a model of the form they start as (truncated, malformed).
    #[error("not a valid xgboost model: {0}")]
    Malformed(String),
    /// A valid model of a kind this loader does not serve (an objective, a booster, a form).
    #[error("cannot serve this xgboost model: {0}")]
    Unsupported(String),
}

impl LoadError {
    pub(crate) fn malformed(what: impl Into<String>) -> Self {
        Self::Malformed(what.into())
    }
}
