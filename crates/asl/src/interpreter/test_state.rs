//! What the TestState API answers for one state: its output or error, the next state,
//! the status (`SUCCEEDED`, `FAILED`, `RETRIABLE` when a Retry would run it again,
//! `CAUGHT_ERROR` when a Catch took the error) and, at `DEBUG`/`TRACE`, the data after
//! each processing step (`afterInputPath`, `afterParameters`, `result`,
//! `afterResultSelector`, `afterResultPath`; `afterArguments` and `variables` for JSONata).
//! The state runs once: no retry is attempted, as TestState does.

use super::*;

/// How much TestState tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InspectionLevel {
    /// Output, error, next state, status.
    Info,
    /// And the data after each processing step.
    Debug,
    /// As DEBUG (the HTTP request and response of HTTP tasks are not modelled).
    Trace,
}

/// The data recorded while the state runs, and how it ended.
#[derive(Debug, Default)]
pub(super) struct Inspection {
    data: Mutex<Map<String, Value>>,
    status: Mutex<Option<&'static str>>,
}

impl Inspection {
    pub(super) fn record(&self, step: &str, value: &Value) {
        self.data
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(step.to_string(), value.clone());
    }

    /// Marks the outcome (`RETRIABLE`, `CAUGHT_ERROR`); the first mark stands.
    pub(super) fn mark(&self, status: &'static str) {
        let mut s = self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if s.is_none() {
            *s = Some(status);
        }
    }

    pub(super) fn marked(&self) -> Option<&'static str> {
        *self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// TestState's answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestStateResult {
    /// `SUCCEEDED`, `FAILED`, `RETRIABLE` or `CAUGHT_ERROR`.
    pub status: String,
    /// The state's output (also after a caught error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// The error name, when it failed or is retriable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// The state that would run next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_state: Option<String>,
    /// The data after each step (DEBUG and TRACE).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspection_data: Option<Value>,
}

/// Runs `state_name` of `machine` once on `input` with `variables` in scope, as the
/// TestState API does.
pub async fn test_state(
    machine: &StateMachine,
    state_name: &str,
    (input, variables): (Value, Map<String, Value>),
    (spec, resources, clock): (&ExecutionSpec, &dyn Resources, &dyn Clock),
    level: InspectionLevel,
) -> Result<TestStateResult, Failure> {
    let state = machine.states.get(state_name).ok_or_else(|| {
        let names: Vec<&str> = machine.states.keys().map(String::as_str).collect();
        Failure::new(
            "States.InvalidDefinition",
            format!(
                "no state {state_name:?} at the top level; it has: {}",
                names.join(", ")
            ),
        )
    })?;
    let mut run = Run::new(machine, input.clone(), spec, (resources, clock));
    run.inspection = Some(Inspection::default());
    let frame = Frame::with_variables(variables);
    if level != InspectionLevel::Info {
        run.inspect(&frame, "input", &input);
    }
    let outcome = run
        .timeline
        .drive(clock, run.run_state(state_name, state, input, &frame))
        .await;
    let inspection = run.inspection.as_ref();
    let marked = inspection.and_then(Inspection::marked);
    // A state that waits for a task token has not answered yet: TestState does not
    // wait, so the run ends with the state still running.
    let outcome = outcome.unwrap_or_else(|| {
        Err(Failure::new(
            "States.TaskTokenPending",
            "the state waits for a task token (.waitForTaskToken); test-state does not wait: mock the state's answer instead",
        ))
    });
    let mut result = match outcome {
        Ok(step) => {
            let (next, output) = match step {
                Step::Next(next, output) => (Some(next), output),
                Step::End(output) => (None, output),
            };
            TestStateResult {
                status: marked.unwrap_or("SUCCEEDED").to_string(),
                output: Some(output),
                error: None,
                cause: None,
                next_state: next,
                inspection_data: None,
            }
        }
        Err(f) => TestStateResult {
            status: marked.unwrap_or("FAILED").to_string(),
            output: None,
            error: Some(f.error),
            cause: Some(f.cause),
            next_state: None,
            inspection_data: None,
        },
    };
    if level != InspectionLevel::Info {
        let mut data = inspection
            .map(|i| {
                i.data
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone()
            })
            .unwrap_or_default();
        let variables = frame.variables();
        if !variables.is_empty() {
            data.insert("variables".into(), Value::Object(variables));
        }
        result.inspection_data = Some(Value::Object(data));
    }
    Ok(result)
}
