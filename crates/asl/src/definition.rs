//! The state machine as written: a typed model of the ASL JSON (both query languages). Unknown fields are rejected, so a typo is a validation error with its
//! name rather than a field silently ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A whole state machine (or a Parallel branch / Map item processor, which have the
/// same shape without the top-level extras).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct StateMachine {
    /// Free text.
    #[serde(default)]
    pub comment: Option<String>,
    /// The first state.
    pub start_at: String,
    /// The states by name.
    pub states: BTreeMap<String, State>,
    /// The execution's time limit.
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// The ASL version.
    #[serde(default)]
    pub version: Option<String>,
    /// `JSONPath` (the default) or `JSONata`, for every state that does not say.
    #[serde(default)]
    pub query_language: Option<String>,
    /// Map item processors carry their mode here.
    #[serde(default)]
    pub processor_config: Option<Value>,
}

/// The state types of the specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum StateKind {
    /// Passes its input (or `Result`) on.
    Pass,
    /// Calls a resource.
    Task,
    /// Branches on rules.
    Choice,
    /// Waits a time or until a timestamp.
    Wait,
    /// Ends the execution (or branch) successfully.
    Succeed,
    /// Ends it with an error.
    Fail,
    /// Runs branches side by side.
    Parallel,
    /// Runs a processor over each item.
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
    /// `Type`.
    #[serde(rename = "Type")]
    pub kind: StateKind,
    /// `Comment`.
    #[serde(default)]
    pub comment: Option<String>,
    /// `Next`.
    #[serde(default)]
    pub next: Option<String>,
    /// `End`.
    #[serde(default)]
    pub end: Option<bool>,
    /// `InputPath` (a path, or null).
    #[serde(default, deserialize_with = "present")]
    pub input_path: Option<Value>,
    /// `OutputPath` (a path, or null).
    #[serde(default, deserialize_with = "present")]
    pub output_path: Option<Value>,
    /// `ResultPath` (a reference path, or null).
    #[serde(default, deserialize_with = "present")]
    pub result_path: Option<Value>,
    /// `Parameters` (a payload template).
    #[serde(default)]
    pub parameters: Option<Value>,
    /// `ResultSelector` (a payload template).
    #[serde(default)]
    pub result_selector: Option<Value>,
    /// `Result` (Pass).
    #[serde(default)]
    pub result: Option<Value>,
    // Task
    /// `Resource` (Task).
    #[serde(default)]
    pub resource: Option<String>,
    /// `TimeoutSeconds` (Task).
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// `TimeoutSecondsPath` (Task).
    #[serde(default)]
    pub timeout_seconds_path: Option<String>,
    /// `HeartbeatSeconds` (Task).
    #[serde(default)]
    pub heartbeat_seconds: Option<u64>,
    /// `HeartbeatSecondsPath` (Task).
    #[serde(default)]
    pub heartbeat_seconds_path: Option<String>,
    /// `Credentials` (Task).
    #[serde(default)]
    pub credentials: Option<Value>,
    /// `Retry`.
    #[serde(default)]
    pub retry: Option<Vec<Retrier>>,
    /// `Catch`.
    #[serde(default)]
    pub catch: Option<Vec<Catcher>>,
    // Choice
    /// `Choices` (Choice): rules, kept as JSON and checked by `choice`.
    #[serde(default)]
    pub choices: Option<Vec<Value>>,
    /// `Default` (Choice).
    #[serde(default)]
    pub default: Option<String>,
    // Wait
    /// `Seconds` (Wait).
    #[serde(default)]
    pub seconds: Option<Value>,
    /// `SecondsPath` (Wait).
    #[serde(default)]
    pub seconds_path: Option<String>,
    /// `Timestamp` (Wait).
    #[serde(default)]
    pub timestamp: Option<String>,
    /// `TimestampPath` (Wait).
    #[serde(default)]
    pub timestamp_path: Option<String>,
    // Fail
    /// `Error` (Fail).
    #[serde(default)]
    pub error: Option<String>,
    /// `ErrorPath` (Fail).
    #[serde(default)]
    pub error_path: Option<String>,
    /// `Cause` (Fail).
    #[serde(default)]
    pub cause: Option<String>,
    /// `CausePath` (Fail).
    #[serde(default)]
    pub cause_path: Option<String>,
    // Parallel
    /// `Branches` (Parallel).
    #[serde(default)]
    pub branches: Option<Vec<StateMachine>>,
    // Map
    /// `ItemsPath` (Map).
    #[serde(default)]
    pub items_path: Option<String>,
    /// `ItemSelector` (Map).
    #[serde(default)]
    pub item_selector: Option<Value>,
    /// `ItemProcessor` (Map).
    #[serde(default)]
    pub item_processor: Option<Box<StateMachine>>,
    /// The older name of `ItemProcessor`.
    #[serde(default)]
    pub iterator: Option<Box<StateMachine>>,
    /// `MaxConcurrency` (Map).
    #[serde(default)]
    pub max_concurrency: Option<u64>,
    /// `MaxConcurrencyPath` (Map): a path to the concurrency, read at run time.
    #[serde(default)]
    pub max_concurrency_path: Option<String>,
    /// `ToleratedFailurePercentage` (Map).
    #[serde(default)]
    pub tolerated_failure_percentage: Option<f64>,
    /// `ToleratedFailureCount` (Map).
    #[serde(default)]
    pub tolerated_failure_count: Option<u64>,
    /// `QueryLanguage`: this state's, overriding the machine's.
    #[serde(default)]
    pub query_language: Option<String>,
    // JSONata
    /// `Arguments` (Task, Parallel; JSONata): the template the task or branches receive.
    #[serde(default)]
    pub arguments: Option<Value>,
    /// `Output` (JSONata): the template of the state's output.
    #[serde(default)]
    pub output: Option<Value>,
    /// `Assign`: the variables this state sets (both query languages).
    #[serde(default)]
    pub assign: Option<Value>,
    /// `Items` (Map; JSONata): an array or an expression that gives one.
    #[serde(default)]
    pub items: Option<Value>,
    // Distributed Map
    /// `ItemReader`: the items come from S3 (`s3:getObject` of a JSON, JSON Lines or CSV
    /// object, or `s3:listObjectsV2` of a prefix).
    #[serde(default)]
    pub item_reader: Option<Value>,
    /// `ItemBatcher`: items grouped into batches (`MaxItemsPerBatch`, `BatchInput`).
    #[serde(default)]
    pub item_batcher: Option<Value>,
    /// `ResultWriter`: the child executions' results written to S3 (`s3:putObject`).
    #[serde(default)]
    pub result_writer: Option<Value>,
    /// `Label`: the Map Run's name prefix.
    #[serde(default)]
    pub label: Option<String>,
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
    /// `ErrorEquals`: error names, or `States.ALL` last.
    pub error_equals: Vec<String>,
    /// `Comment`.
    #[serde(default)]
    pub comment: Option<String>,
    /// `IntervalSeconds` (default 1).
    #[serde(default = "one")]
    pub interval_seconds: f64,
    /// `MaxAttempts` (default 3).
    #[serde(default = "three")]
    pub max_attempts: u64,
    /// `BackoffRate` (default 2.0).
    #[serde(default = "two")]
    pub backoff_rate: f64,
    /// `MaxDelaySeconds`.
    #[serde(default)]
    pub max_delay_seconds: Option<f64>,
    /// `JitterStrategy` (`FULL` or `NONE`).
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
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `Next`: the state the error goes to.
    pub next: String,
    /// `Comment`.
    #[serde(default)]
    pub comment: Option<String>,
    /// `ResultPath` for the error output.
    #[serde(default, deserialize_with = "present")]
    pub result_path: Option<Value>,
    /// `Output` (JSONata): the error output's template (`$states.errorOutput`).
    #[serde(default)]
    pub output: Option<Value>,
    /// `Assign`: variables set when this catcher handles the error.
    #[serde(default)]
    pub assign: Option<Value>,
}

/// Which query language a state's fields are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryLanguage {
    /// Paths, `.$` keys and intrinsic functions (the default).
    JsonPath,
    /// `{% … %}` expressions.
    Jsonata,
}

impl QueryLanguage {
    /// The language a state uses: its own `QueryLanguage`, else the machine's.
    pub fn of(state: &State, machine_default: QueryLanguage) -> QueryLanguage {
        match state.query_language.as_deref() {
            Some("JSONata") => QueryLanguage::Jsonata,
            Some(_) => QueryLanguage::JsonPath,
            None => machine_default,
        }
    }

    /// The machine-wide language from the top-level `QueryLanguage`.
    pub fn of_machine(machine: &StateMachine) -> QueryLanguage {
        match machine.query_language.as_deref() {
            Some("JSONata") => QueryLanguage::Jsonata,
            _ => QueryLanguage::JsonPath,
        }
    }
}

/// Parses ASL JSON text. A shape error names the field (serde's message with its path).
pub fn parse(text: &str) -> Result<StateMachine, crate::AslError> {
    serde_json::from_str(text).map_err(|e| crate::AslError::Parse(e.to_string()))
}
