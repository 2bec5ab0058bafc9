//! The state machine as written: a typed model of the ASL JSON (JSONPath query
//! language). Unknown fields are rejected, so a typo is a validation error with its
//! name rather than a field silently ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A whole state machine (or a Parallel branch / Map item processor, which have the
/// same shape without the top-level extras).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct StateMachine {
    #[serde(default)]
    pub comment: Option<String>,
    pub start_at: String,
    pub states: BTreeMap<String, State>,
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    #[serde(default)]
    pub version: Option<String>,
    /// Only `JSONPath` is supported; `JSONata` is rejected by validation.
    #[serde(default)]
    pub query_language: Option<String>,
    /// Map item processors carry their mode here.
    #[serde(default)]
    pub processor_config: Option<Value>,
}

/// The state types of the specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum StateKind {
    Pass,
    Task,
    Choice,
    Wait,
    Succeed,
    Fail,
    Parallel,
    Map,
}

impl StateKind {
    /// The prefix of this state type's history events (`TaskStateEntered`, …).
    pub fn event_prefix(self) -> &'static str {
        match self {
            StateKind::Pass => "Pass",
            StateKind::Task => "Task",
            StateKind::Choice => "Choice",
            StateKind::Wait => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail => "Fail",
            StateKind::Parallel => "Parallel",
            StateKind::Map => "Map",
        }
    }
}

/// A field that distinguishes "absent" (`None`) from "null" (`Some(Value::Null)`): for
/// InputPath, OutputPath and ResultPath, null means "discard", absent means "$".
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// One state. Which fields may appear depends on `kind`; validation checks that.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct State {
    #[serde(rename = "Type")]
    pub kind: StateKind,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub end: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub input_path: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub output_path: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub result_path: Option<Value>,
    #[serde(default)]
    pub parameters: Option<Value>,
    #[serde(default)]
    pub result_selector: Option<Value>,
    #[serde(default)]
    pub result: Option<Value>,
    // Task
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    #[serde(default)]
    pub timeout_seconds_path: Option<String>,
    #[serde(default)]
    pub heartbeat_seconds: Option<u64>,
    #[serde(default)]
    pub heartbeat_seconds_path: Option<String>,
    #[serde(default)]
    pub credentials: Option<Value>,
    #[serde(default)]
    pub retry: Option<Vec<Retrier>>,
    #[serde(default)]
    pub catch: Option<Vec<Catcher>>,
    // Choice
    #[serde(default)]
    pub choices: Option<Vec<Value>>,
    #[serde(default)]
    pub default: Option<String>,
    // Wait
    #[serde(default)]
    pub seconds: Option<Value>,
    #[serde(default)]
    pub seconds_path: Option<String>,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub timestamp_path: Option<String>,
    // Fail
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_path: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
    #[serde(default)]
    pub cause_path: Option<String>,
    // Parallel
    #[serde(default)]
    pub branches: Option<Vec<StateMachine>>,
    // Map
    #[serde(default)]
    pub items_path: Option<String>,
    #[serde(default)]
    pub item_selector: Option<Value>,
    #[serde(default)]
    pub item_processor: Option<Box<StateMachine>>,
    /// The older name of `ItemProcessor`.
    #[serde(default)]
    pub iterator: Option<Box<StateMachine>>,
    #[serde(default)]
    pub max_concurrency: Option<u64>,
    #[serde(default)]
    pub tolerated_failure_percentage: Option<f64>,
    #[serde(default)]
    pub tolerated_failure_count: Option<u64>,
    #[serde(default)]
    pub query_language: Option<String>,
}

impl State {
    /// The Map state's item processor, under either name.
    pub fn processor(&self) -> Option<&StateMachine> {
        self.item_processor.as_deref().or(self.iterator.as_deref())
    }

    /// Whether the state ends the execution (or branch) when it succeeds.
    pub fn is_terminal(&self) -> bool {
        matches!(self.kind, StateKind::Succeed | StateKind::Fail) || self.end == Some(true)
    }
}

/// A `Retry` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default = "one")]
    pub interval_seconds: f64,
    #[serde(default = "three")]
    pub max_attempts: u64,
    #[serde(default = "two")]
    pub backoff_rate: f64,
    #[serde(default)]
    pub max_delay_seconds: Option<f64>,
    #[serde(default)]
    pub jitter_strategy: Option<String>,
}

fn one() -> f64 {
    1.0
}
fn three() -> u64 {
    3
}
fn two() -> f64 {
    2.0
}

/// A `Catch` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub result_path: Option<Value>,
}

/// Parses ASL JSON text. A shape error names the field (serde's message with its path).
pub fn parse(text: &str) -> Result<StateMachine, crate::AslError> {
    serde_json::from_str(text).map_err(|e| crate::AslError::Parse(e.to_string()))
}
