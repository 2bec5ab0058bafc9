//! An execution as the state directory keeps it: what `weighbridge history` shows, and
//! enough to go on with it later — its journal of Task calls (a task token's answer, a
//! redrive) and, for a definition file's machine, the definition and mocks it ran with
//! (the file may change or go away; a redriven execution runs the definition it started
//! with, as Step Functions' does).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use weighbridge_asl::history::HistoryEvent;
use weighbridge_asl::interpreter::{ChildExecution, ExecutionResult, Journal, Status};
use weighbridge_asl::Failure;

/// Where an execution's definition comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Source {
    /// One of the project's state machines, by the record's `machine` name.
    Project,
    /// A definition file as it was when the execution started.
    File(FileSource),
}

/// A definition file's text and the mocks it ran with (`weighbridge run FILE --mock`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileSource {
    /// The definition's JSON text.
    pub definition: String,
    /// The mock config's text.
    #[serde(default)]
    pub mock: Option<String>,
    /// The mock config's test case.
    #[serde(default)]
    pub test_case: Option<String>,
}

/// One execution, finished or paused, as `weighbridge history` shows it (with its
/// Distributed Maps' child executions).
#[derive(Debug, Clone)]
pub struct ExecutionRecord {
    /// The execution's name.
    pub name: String,
    /// The state machine (`retrain`, `ab-evaluation`, or the definition file's name).
    pub machine: String,
    /// The execution's input.
    pub input: Value,
    /// How it ended (or where it paused), with its history and journal.
    pub result: ExecutionResult,
    /// Its definition.
    pub source: Source,
}

/// The record's JSON, read back.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    name: String,
    machine: String,
    status: Status,
    started: chrono::DateTime<chrono::Utc>,
    stopped: chrono::DateTime<chrono::Utc>,
    input: Value,
    #[serde(default)]
    output: Option<Value>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    cause: Option<String>,
    events: Vec<HistoryEvent>,
    journal: Option<Journal>,
    #[serde(default)]
    source: Option<Source>,
    #[serde(default)]
    children: Vec<ChildExecution>,
}

impl ExecutionRecord {
    /// An execution of one of the project's state machines.
    pub fn project(name: String, machine: &str, input: Value, result: ExecutionResult) -> Self {
        Self {
            name,
            machine: machine.to_string(),
            input,
            result,
            source: Source::Project,
        }
    }

    /// The JSON kept in the state directory.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "machine": self.machine,
            "status": self.result.status,
            "started": self.result.started,
            "stopped": self.result.stopped,
            "input": self.input,
            "output": self.result.output,
            "error": self.result.error.as_ref().map(|f| &f.error),
            "cause": self.result.error.as_ref().map(|f| &f.cause),
            "events": self.result.history,
            "journal": self.result.journal,
            "source": self.source,
            "children": self.result.children,
        })
    }

    /// A record read back from [`Self::to_json`]'s JSON. `Ok(None)` for one written
    /// before records kept their journal (it cannot go on: its calls are not known).
    pub fn from_json(value: &Value) -> Result<Option<Self>, String> {
        let stored: Stored = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
        let Some(journal) = stored.journal else {
            return Ok(None);
        };
        let error = match (stored.error, stored.cause) {
            (None, None) => None,
            (error, cause) => Some(Failure::new(error.unwrap_or_default(), cause.unwrap_or_default())),
        };
        Ok(Some(Self {
            name: stored.name,
            machine: stored.machine,
            input: stored.input,
            result: ExecutionResult {
                status: stored.status,
                output: stored.output,
                error,
                history: stored.events,
                started: stored.started,
                stopped: stored.stopped,
                journal,
                children: stored.children,
            },
            source: stored.source.unwrap_or(Source::Project),
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use weighbridge_asl::interpreter::{Call, Outcome};

    #[test]
    fn a_record_reads_back_as_it_was_written() {
        let mut journal = Journal::default();
        journal.calls.insert(
            "/Ask@1.0".into(),
            Call {
                state: "Ask".into(),
                outcome: Outcome::Result(json!({})),
                took_ms: 5,
                token: Some("wbt-00".into()),
                answer: None,
                caught: false,
                wait: None,
            },
        );
        let at = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let record = ExecutionRecord {
            name: "x-001".into(),
            machine: "x".into(),
            input: json!({"a": 1}),
            result: ExecutionResult {
                status: Status::Failed,
                output: None,
                error: Some(Failure::new("E", "why")),
                history: Vec::new(),
                started: at,
                stopped: at,
                journal,
                children: Vec::new(),
            },
            source: Source::File(FileSource {
                definition: "{}".into(),
                mock: Some("{}".into()),
                test_case: None,
            }),
        };
        let back = ExecutionRecord::from_json(&record.to_json()).unwrap().unwrap();
        assert_eq!(back.to_json(), record.to_json());
        assert_eq!(back.result.error.unwrap().cause, "why");
        let mut old = record.to_json();
        old.as_object_mut().unwrap().remove("journal");
        assert!(ExecutionRecord::from_json(&old).unwrap().is_none());
    }
}
