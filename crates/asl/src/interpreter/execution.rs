//! An execution from its start or from where it stopped: [`run`] runs one from the
//! start; [`resume`] runs one again over its journal (the recorded calls answered from
//! it) — a paused execution whose task token was answered, or a failed one redriven.
//! Task tokens (`.waitForTaskToken`, `$$.Task.Token`) and the journaled call live here.

use super::journal::{visit_of, Call, Journal, Outcome, Recorder, ReplayClock, TokenWait};
use super::*;

/// Where an execution that stopped goes on from.
#[derive(Debug, Clone)]
pub struct Continuation {
    /// Its recorded calls (for a redrive, after [`Journal::redrive`]).
    journal: Journal,
    /// When it started (the replay's clock starts there).
    started: DateTime<Utc>,
    /// Its history so far (kept as it was; the new events follow it).
    history: Vec<HistoryEvent>,
    /// A redrive (an `ExecutionRedriven` event, then the rerun from the failed state).
    redrive: bool,
}

impl Continuation {
    /// A paused execution whose task token was answered (the answer in `journal`).
    pub fn answered(journal: Journal, started: DateTime<Utc>, history: Vec<HistoryEvent>) -> Self {
        Self {
            journal,
            started,
            history,
            redrive: false,
        }
    }

    /// A failed execution redriven: its failed calls forgotten ([`Journal::redrive`]).
    pub fn redriven(mut journal: Journal, started: DateTime<Utc>, history: Vec<HistoryEvent>) -> Self {
        journal.redrive();
        Self {
            journal,
            started,
            history,
            redrive: true,
        }
    }
}

/// Runs `machine` on `input` to the end (or until it waits for a task token).
pub async fn run(
    machine: &StateMachine,
    input: Value,
    spec: &ExecutionSpec,
    resources: &dyn Resources,
    clock: &dyn Clock,
) -> ExecutionResult {
    resume(machine, input, spec, (resources, clock), None).await
}

/// Runs `machine` on `input`, answering the calls `from` recorded from its journal
/// (on a clock of its own from the recorded start) and making the others (on `clock`,
/// from the first of them on). Without `from`, the same as [`run`].
pub async fn resume(
    machine: &StateMachine,
    input: Value,
    spec: &ExecutionSpec,
    (resources, clock): (&dyn Resources, &dyn Clock),
    from: Option<Continuation>,
) -> ExecutionResult {
    let resumed_at = clock.now();
    let (journal, started, before) = match from {
        Some(c) => (c.journal, Some(c.started), Some((c.history, c.redrive))),
        None => (Journal::default(), None, None),
    };
    let replay = ReplayClock::new(clock, started);
    let mut run = Run::new(machine, input.clone(), spec, (resources, &replay));
    run.journal = Recorder::new(journal);
    run.replay = Some(&replay);
    let started = run.started;
    run.deadline = machine
        .timeout_seconds
        .map(|s| started + Duration::seconds(s as i64));
    run.history.push(
        started,
        "ExecutionStarted",
        None,
        json!({"input": input, "roleArn": spec.role_arn, "stateMachineArn": spec.state_machine_arn}),
    );
    let result = run
        .timeline
        .drive(&replay, run.scope(machine, input, Frame::default()))
        .await;
    let stopped = replay.now();
    let (status, output, error) = match result {
        None => (Status::Running, None, None),
        Some(Ok(output)) => {
            run.history
                .push(stopped, "ExecutionSucceeded", None, json!({"output": output}));
            (Status::Succeeded, Some(output), None)
        }
        Some(Err(f)) if f.error == "States.Timeout" && run.past_deadline() => {
            run.history
                .push(stopped, "ExecutionTimedOut", None, error_details(&f));
            (Status::TimedOut, None, Some(f))
        }
        Some(Err(f)) => {
            run.history
                .push(stopped, "ExecutionFailed", None, error_details(&f));
            (Status::Failed, None, Some(f))
        }
    };
    let events = run.history.events();
    let history = match before {
        Some((old, redrive)) => {
            let live_from = run.live_from.get().copied();
            spliced(
                old,
                events,
                (redrive, live_from, resumed_at),
                run.journal.redrive_count(),
            )
        }
        None => events,
    };
    ExecutionResult {
        status,
        output,
        error,
        history,
        started,
        stopped,
        journal: run.journal.journal(),
        children: run.children(),
    }
}

/// The history of an execution that went on: what it had, then what the replay added.
/// A replay writes the recorded part again as it was, so an answered execution's new
/// events are those past the old ones; a redriven one's begin where its first new call
/// was made, from the entry of that call's state, after an `ExecutionRedriven` event.
fn spliced(
    old: Vec<HistoryEvent>,
    new: Vec<HistoryEvent>,
    (redrive, live_from, at): (bool, Option<usize>, DateTime<Utc>),
    redrive_count: u64,
) -> Vec<HistoryEvent> {
    let from = if redrive {
        let live = live_from.unwrap_or(new.len().saturating_sub(1)).min(new.len());
        new[..live]
            .iter()
            .rposition(|e| e.kind.ends_with("StateEntered"))
            .unwrap_or(live)
    } else {
        old.len().min(new.len())
    };
    let mut events = old;
    if redrive {
        events.push(HistoryEvent {
            id: 0,
            timestamp: at,
            kind: "ExecutionRedriven".into(),
            state: None,
            details: json!({"redriveCount": redrive_count}),
        });
    }
    // The rerun's first events were written while replaying, on the replay's clock:
    // they happened when the redrive did.
    let floor = if redrive { at } else { DateTime::<Utc>::MIN_UTC };
    events.extend(new.into_iter().skip(from).map(|mut e| {
        e.timestamp = e.timestamp.max(floor);
        e
    }));
    for (i, e) in events.iter_mut().enumerate() {
        e.id = i as u64 + 1;
    }
    events
}

/// A task token: the execution and the call it answers, written so the token alone
/// finds them (`wbt-` and hex), like the service's opaque tokens.
pub fn task_token(execution: &str, visit: &str, redrive_count: u64) -> String {
    let plain = format!("{execution}\n{visit}\n{redrive_count}");
    let hex: String = plain.bytes().map(|b| format!("{b:02x}")).collect();
    format!("wbt-{hex}")
}

/// Where state `name` is in `frame`, for the journal's keys: `/Fan@1.0#1/Work`. The
/// name is escaped (`%`, `/`, `@`, `.`, `#`, `[`, `]` as `%XX`), so a state named like a
/// path (`Fan@1.0#1/Work`) cannot take another state's calls.
fn state_key(frame: &Frame, name: &str) -> String {
    let mut key = format!("{}/", frame.path());
    for c in name.chars() {
        match c {
            '%' | '/' | '@' | '.' | '#' | '[' | ']' => key.push_str(&format!("%{:02X}", c as u32)),
            c => key.push(c),
        }
    }
    key
}

/// The execution a task token belongs to, if it is one of ours.
pub fn token_execution(token: &str) -> Option<String> {
    let hex = token.strip_prefix("wbt-")?;
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<Vec<u8>>>()?;
    let text = String::from_utf8(bytes).ok()?;
    text.split('\n').next().map(String::from)
}

impl Run<'_> {
    /// The current visit of state `name` in `frame` (1 on the first entry).
    pub(super) fn visit(&self, frame: &Frame, name: &str) -> u64 {
        let visits = self
            .visits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        visits.get(&state_key(frame, name)).copied().unwrap_or(0)
    }

    /// Counts an entry of state `name` in `frame` (a new visit).
    pub(super) fn count_visit(&self, frame: &Frame, name: &str) {
        let mut visits = self
            .visits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *visits.entry(state_key(frame, name)).or_insert(0) += 1;
    }

    /// The key prefix of the current visit of `name` in `frame`: `/Fan@1.`.
    pub(super) fn visit_key(&self, frame: &Frame, name: &str) -> String {
        format!("{}@{}.", state_key(frame, name), self.visit(frame, name))
    }

    /// The task token of the visit keyed `visit` (`/Ask@1.`), in this redrive.
    fn token(&self, visit: &str) -> String {
        task_token(&self.spec.name, visit, self.journal.redrive_count())
    }

    /// `$$.Task.Token` for a Task state that waits for one.
    pub(super) fn add_task_token(&self, name: &str, s: &State, frame: &Frame, ctx: &mut Value) {
        if s.kind == StateKind::Task && waits_for_token(s) {
            ctx["Task"] = json!({"Token": self.token(&self.visit_key(frame, name))});
        }
    }

    /// The failures at and under the current visit of `name` are handled (the state
    /// succeeded, or a Catch took its error): a redrive keeps them.
    pub(super) fn handled(&self, frame: &Frame, name: &str) {
        self.journal.caught(&self.visit_key(frame, name));
    }

    /// A Task call, answered from the journal when it was made before, else made now
    /// and recorded. A call that waits for a task token parks until the token's answer
    /// is in the journal; the answer comes at the time it was sent. The wait ends by
    /// the Task's `TimeoutSeconds` or `HeartbeatSeconds` (`limits`, whichever comes
    /// first, the heartbeat counted from the last `SendTaskHeartbeat`): an answer after that is
    /// the timeout.
    pub(super) async fn journaled_call(
        &self,
        (work, s): (&Frame, &State),
        resource: &str,
        parameters: Value,
        task: &TaskContext,
        limits: (Option<u64>, Option<u64>),
    ) -> Result<Value, Failure> {
        let key = work.path();
        if let Some(call) = self.journal.recorded(key) {
            return self.replayed(work, call, resource).await;
        }
        if let Some(replay) = self.replay {
            self.live_from.get_or_init(|| self.history.len());
            replay.go_live();
        }
        let task = &TaskContext {
            call_number: self.journal.next_call_number(&task.state_name),
            ..task.clone()
        };
        let before = self.clock.now();
        let result = self.call(resource, parameters, task).await;
        let took = self.clock.now() - before;
        let token = waits_for_token(s).then(|| self.token(&format!("{}.", visit_of(key))));
        let wait = token.as_ref().and_then(|_| TokenWait::new(before, limits));
        self.journal.record(
            key,
            Call {
                state: task.state_name.clone(),
                outcome: Outcome::of(&result),
                took_ms: took.num_milliseconds(),
                token: token.clone(),
                answer: None,
                caught: false,
                wait,
            },
        );
        match (token, result) {
            (Some(_), Ok(submitted)) => {
                self.submitted(work, &task.state_name, resource, &submitted);
                self.timeline.park().await
            }
            (_, result) => result,
        }
    }

    /// A recorded call answered again: as long as it took, and for a call that waits for
    /// a task token, the token's answer at the time it came (or a pause until it comes).
    async fn replayed(&self, frame: &Frame, call: Call, resource: &str) -> Result<Value, Failure> {
        self.clock.advance(Duration::milliseconds(call.took_ms));
        let submitted = call.outcome.result();
        let (Some(_), Ok(submitted)) = (&call.token, &submitted) else {
            return submitted;
        };
        self.submitted(frame, &call.state, resource, submitted);
        match call.answer {
            Some((at, answer)) => {
                self.sleep(at - self.clock.now()).await;
                answer.result()
            }
            None => self.timeline.park().await,
        }
    }

    /// `TaskSubmitted`: the service took a call that waits for its task token.
    fn submitted(&self, frame: &Frame, state: &str, resource: &str, output: &Value) {
        self.events(frame).push(
            self.clock.now(),
            "TaskSubmitted",
            Some(state),
            json!({"resource": resource, "output": output}),
        );
    }
}

/// Whether a Task state waits for a task token (`….waitForTaskToken`).
pub(super) fn waits_for_token(s: &State) -> bool {
    s.resource
        .as_deref()
        .is_some_and(|r| r.ends_with(".waitForTaskToken"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_named_like_a_path_has_a_key_of_its_own() {
        let branch = Frame::default().working("/Fan@1.0".into()).child("#0", None);
        let inside = state_key(&branch, "Work");
        let lookalike = state_key(&Frame::default(), "Fan@1.0#0/Work");
        assert_eq!(inside, "/Fan@1.0#0/Work");
        assert_eq!(lookalike, "/Fan%401%2E0%230%2FWork");
        assert_ne!(inside, lookalike);
        assert_eq!(state_key(&Frame::default(), "100%[x]"), "/100%25%5Bx%5D");
    }

    #[test]
    fn a_token_names_its_execution() {
        let token = task_token("buy-1", "/Ask@1.", 2);
        assert_eq!(token_execution(&token).as_deref(), Some("buy-1"));
        assert_eq!(token_execution("wbt-zz"), None);
        assert_eq!(token_execution("nonsense"), None);
    }
}
