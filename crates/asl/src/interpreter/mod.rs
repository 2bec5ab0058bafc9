//! The interpreter: runs a validated state machine over caller-provided Task resources
//! and a virtual clock, with the specification's data flow (InputPath → Parameters →
//! task → ResultSelector → ResultPath → OutputPath), Retry with backoff and jitter,
//! Catch, timeouts, Parallel and inline Map, and a history with the service's events.

mod distributed;
mod execution;
mod frame;
mod journal;
mod jsonata_state;
mod jsonpath_state;
mod map;
mod recovery;
mod test_state;
mod timeline;
mod work;

pub use distributed::ChildExecution;
pub use execution::{resume, run, token_execution, Continuation};
pub use journal::{Answer, Call, Journal, Outcome, TokenWait};
pub use test_state::{test_state, InspectionLevel, TestStateResult};

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

use crate::definition::{Catcher, QueryLanguage, Retrier, State, StateKind, StateMachine};
use crate::history::{History, HistoryEvent};
use crate::{choice, paths, payload, Failure};
use frame::Frame;

/// What a Task state calls: the caller maps `Resource` (and the evaluated parameters)
/// to real work — a task function in process, a backend's SDK action.
#[async_trait]
pub trait Resources: Send + Sync {
    /// Calls `resource` with the state's effective parameters; a `Failure` is the task's error.
    async fn call(&self, resource: &str, parameters: Value, task: &TaskContext) -> Result<Value, Failure>;
}

/// What a resource may want to know about the call.
#[derive(Debug, Clone)]
pub struct TaskContext {
    /// `$$.Execution.Name`.
    pub execution_name: String,
    /// The Task state's name.
    pub state_name: String,
    /// How many times this state has been retried (0 on the first attempt).
    pub retry_count: u64,
    /// How many calls this state (by name) made before this one in the execution, over
    /// all its visits, branches and iterations, and before a redrive (mock configs
    /// answer by it, so a redriven state gets the mock's next answer).
    pub call_number: u64,
}

/// Virtual time: Wait states and Retry intervals advance it instead of sleeping, so a
/// day of polling costs no wall time. The caller's backend reads the same clock.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
    /// Moves time on (a Wait, a Retry interval).
    fn advance(&self, by: Duration);
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct VirtualClock {
    now: Mutex<DateTime<Utc>>,
}

impl VirtualClock {
    /// A clock that starts at `start` and moves only when advanced.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    fn advance(&self, by: Duration) {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += by;
    }
}

/// Real time, for running a state machine against a real account (`--aws`): a Wait
/// state or a Retry interval sleeps.
#[derive(Debug, Default)]
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn advance(&self, by: Duration) {
        if let Ok(d) = by.to_std() {
            std::thread::sleep(d);
        }
    }
}

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Status {
    /// Reached a Succeed state or an End.
    Succeeded,
    /// Failed with an error (a Fail state or an uncaught failure).
    Failed,
    /// Ran past the machine's `TimeoutSeconds`.
    TimedOut,
    /// Paused: it cannot go on until a task token is answered (`SendTaskSuccess`).
    Running,
}

impl Status {
    /// The service's name for it (`DescribeExecution`'s `status`).
    pub fn service_name(self) -> &'static str {
        match self {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Running => "RUNNING",
        }
    }
}

/// The result of [`run`].
#[derive(Debug, Clone)]
pub struct ExecutionResult {
    /// How it ended.
    pub status: Status,
    /// The output, when it succeeded.
    pub output: Option<Value>,
    /// The error, when it did not.
    pub error: Option<Failure>,
    /// Every event, with the service's names.
    pub history: Vec<HistoryEvent>,
    /// When it started.
    pub started: DateTime<Utc>,
    /// When it stopped (or paused).
    pub stopped: DateTime<Utc>,
    /// Its Task calls, to go on from (a task token's answer, a redrive).
    pub journal: Journal,
    /// Its Distributed Maps' child executions, by Map Run and item.
    pub children: Vec<ChildExecution>,
}

/// Identity of an execution, for the context object.
#[derive(Debug, Clone)]
pub struct ExecutionSpec {
    /// `$$.StateMachine.Name`.
    pub state_machine_name: String,
    /// `$$.StateMachine.Id`.
    pub state_machine_arn: String,
    /// `$$.Execution.Name`.
    pub name: String,
    /// `$$.Execution.RoleArn`.
    pub role_arn: String,
    /// Seeds the retry jitter, so a run is repeatable.
    pub seed: u64,
}

impl ExecutionSpec {
    /// `$$.Execution.Id`: the state machine's ARN with `execution` and the name.
    pub fn arn(&self) -> String {
        self.state_machine_arn
            .replacen(":stateMachine:", ":execution:", 1)
            + ":"
            + &self.name
    }
}

struct Run<'a> {
    resources: &'a dyn Resources,
    clock: &'a dyn Clock,
    history: History,
    spec: &'a ExecutionSpec,
    input: Value,
    started: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
    rng: Mutex<rand::rngs::StdRng>,
    /// The machine's query language, for states that do not name theirs.
    language: QueryLanguage,
    /// TestState: the data after each processing step, and the outcome's kind.
    inspection: Option<test_state::Inspection>,
    /// Who sleeps until when: waits in side-by-side branches overlap.
    timeline: timeline::Timeline,
    /// The Task calls recorded before (answered from here) and made now.
    journal: journal::Recorder,
    /// The clock that replays the recorded part, when going on from a journal.
    replay: Option<&'a journal::ReplayClock<'a>>,
    /// How many times each Task, Parallel and Map state was entered, by frame path and name.
    visits: Mutex<std::collections::HashMap<String, u64>>,
    /// How many history events the replay had written when the first unrecorded call
    /// was made (where a redriven execution's new events begin).
    live_from: std::sync::OnceLock<usize>,
    /// The Distributed Maps' child executions, as they finished.
    children: Mutex<Vec<distributed::ChildExecution>>,
}

/// Which kind of step ends a state.
enum Step {
    Next(String, Value),
    End(Value),
}

/// Whether a Retry or Catch entry's names match an error. `States.ALL` and
/// `States.TaskFailed` never match `States.DataLimitExceeded` (a terminal error only its
/// own name catches) or `States.Runtime`.
fn matches_error(names: &[String], error: &str) -> bool {
    let wildcard_ok = error != "States.DataLimitExceeded" && error != "States.Runtime";
    names.iter().any(|n| {
        n == error
            || (wildcard_ok && n == "States.ALL")
            || (wildcard_ok && n == "States.TaskFailed" && error != "States.Timeout")
    })
}

/// The payload quota: a state's input after Parameters, a task's result and a state's
/// output may each be at most 256 KiB of UTF-8 JSON.
const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// `States.DataLimitExceeded` when `value` is over the payload quota.
fn within_payload_limit(what: &str, value: &Value) -> Result<(), Failure> {
    let bytes = serde_json::to_string(value).map(|t| t.len()).unwrap_or(0);
    if bytes > MAX_PAYLOAD_BYTES {
        return Err(Failure::new(
            "States.DataLimitExceeded",
            format!("{what} is {bytes} bytes, over the {MAX_PAYLOAD_BYTES}-byte payload quota"),
        ));
    }
    Ok(())
}

impl<'a> Run<'a> {
    /// A run of `machine` starting now, without a deadline or an inspection.
    fn new(
        machine: &StateMachine,
        input: Value,
        spec: &'a ExecutionSpec,
        (resources, clock): (&'a dyn Resources, &'a dyn Clock),
    ) -> Self {
        Run {
            resources,
            clock,
            history: History::default(),
            spec,
            input,
            started: clock.now(),
            deadline: None,
            rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(spec.seed)),
            language: QueryLanguage::of_machine(machine),
            inspection: None,
            timeline: timeline::Timeline::default(),
            journal: journal::Recorder::default(),
            replay: None,
            visits: Mutex::default(),
            live_from: std::sync::OnceLock::new(),
            children: Mutex::default(),
        }
    }
}

impl Run<'_> {
    /// Sleeps for `by` of the run's time (a Wait, a Retry interval): other branches run
    /// meanwhile, and the clock moves only when all of them wait.
    async fn sleep(&self, by: Duration) {
        self.timeline.sleep(self.clock, by).await;
    }

    /// Calls a Task resource; the clock does not move while the call is in flight.
    async fn call(&self, resource: &str, parameters: Value, task: &TaskContext) -> Result<Value, Failure> {
        let _in_flight = self.timeline.calling();
        self.resources.call(resource, parameters, task).await
    }

    fn past_deadline(&self) -> bool {
        self.deadline.is_some_and(|d| self.clock.now() >= d)
    }

    /// The context object (`$$`), as recorded on AWS: `Execution.RedriveCount` is 0 until
    /// a redrive; `State.RetryCount` exists only in states that retry (Task, Parallel,
    /// Map) — a Pass state's `State` holds only `Name` and `EnteredTime`.
    /// The variables in scope travel inside it, under [`paths::VARIABLES_KEY`] (what a
    /// JSONPath `$name` reads; a `$$` read and `$states.context` do not show them).
    fn context(&self, state: &str, entered: DateTime<Utc>, retry: Option<u64>, frame: &Frame) -> Value {
        let item = frame.item();
        let mut ctx = json!({
            "Execution": {
                "Id": self.spec.arn(),
                "Input": self.input,
                "Name": self.spec.name,
                "RoleArn": self.spec.role_arn,
                "StartTime": self.started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "RedriveCount": self.journal.redrive_count(),
            },
            "State": {
                "EnteredTime": entered.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "Name": state,
            },
            "StateMachine": {"Id": self.spec.state_machine_arn, "Name": self.spec.state_machine_name},
        });
        if let Some(retry) = retry {
            ctx["State"]["RetryCount"] = json!(retry);
        }
        if let Some((index, value)) = item {
            ctx["Map"] = json!({"Item": {"Index": index, "Value": value}});
        }
        let variables = frame.variables();
        if !variables.is_empty() {
            ctx[paths::VARIABLES_KEY] = Value::Object(variables);
        }
        ctx
    }

    /// Runs one scope (the machine, a branch, an iteration) from StartAt to its end.
    fn scope<'s>(
        &'s self,
        machine: &'s StateMachine,
        input: Value,
        frame: Frame,
    ) -> BoxFuture<'s, Result<Value, Failure>> {
        Box::pin(async move {
            let mut name = machine.start_at.clone();
            let mut data = input;
            loop {
                if self.past_deadline() {
                    return Err(Failure::new(
                        "States.Timeout",
                        "the execution exceeded its TimeoutSeconds",
                    ));
                }
                let state = machine
                    .states
                    .get(&name)
                    .ok_or_else(|| Failure::runtime(format!("no state {name:?}")))?;
                match self.run_state(&name, state, data, &frame).await? {
                    Step::Next(next, output) => {
                        name = next;
                        data = output;
                    }
                    Step::End(output) => return Ok(output),
                }
            }
        })
    }

    /// One state, in its query language.
    async fn run_state(
        &self,
        name: &str,
        state: &State,
        data: Value,
        frame: &Frame,
    ) -> Result<Step, Failure> {
        match QueryLanguage::of(state, self.language) {
            QueryLanguage::JsonPath => self.jsonpath_state(name, state, data, frame).await,
            QueryLanguage::Jsonata => self.jsonata_state(name, state, data, frame).await,
        }
    }

    /// A state's start, in either query language: its entered event and its context
    /// object (with `RetryCount` in the states that retry).
    fn begin(&self, name: &str, s: &State, raw: &Value, frame: &Frame) -> (DateTime<Utc>, Value) {
        let entered = self.clock.now();
        self.enter(frame, name, s.kind, raw);
        let works = matches!(s.kind, StateKind::Task | StateKind::Parallel | StateKind::Map);
        if works {
            self.count_visit(frame, name);
        }
        let mut ctx = self.context(name, entered, works.then_some(0), frame);
        self.add_task_token(name, s, frame, &mut ctx);
        (entered, ctx)
    }

    /// TestState: records the data after a processing step of the tested state (nothing
    /// in a normal run, nothing for the states inside a tested Map or Parallel).
    fn inspect(&self, frame: &Frame, step: &str, value: &Value) {
        if let Some(i) = self.tested(frame) {
            i.record(step, value);
        }
    }

    /// The inspection, when `frame` runs the state under test.
    fn tested(&self, frame: &Frame) -> Option<&test_state::Inspection> {
        self.inspection.as_ref().filter(|_| !frame.is_nested())
    }

    /// Where `frame`'s events go: its child execution's history, or the execution's.
    fn events<'s>(&'s self, frame: &'s Frame) -> &'s History {
        frame.history().unwrap_or(&self.history)
    }

    fn enter(&self, frame: &Frame, name: &str, kind: StateKind, input: &Value) {
        self.events(frame).push(
            self.clock.now(),
            &format!("{}StateEntered", kind.event_prefix()),
            Some(name),
            json!({"input": input}),
        );
    }

    fn exit(&self, frame: &Frame, name: &str, kind: StateKind, output: &Value) {
        self.events(frame).push(
            self.clock.now(),
            &format!("{}StateExited", kind.event_prefix()),
            Some(name),
            json!({"output": output}),
        );
    }
}

/// Where a state that succeeded goes: its `Next`, or the end of its scope.
fn advance(s: &State, output: Value) -> Step {
    match &s.next {
        Some(next) if s.end != Some(true) => Step::Next(next.clone(), output),
        _ => Step::End(output),
    }
}

/// A failure as history events carry it.
fn error_details(f: &Failure) -> Value {
    json!({"error": f.error, "cause": f.cause})
}
