//! What an execution's Task calls answered, by where each call was made — enough to run
//! the execution again up to where it stopped without calling anything twice. The
//! interpreter is deterministic (virtual time, seeded jitter), so running the definition
//! again with the recorded answers reproduces the execution; that is how a paused
//! execution goes on when its task token is answered (`SendTaskSuccess`), and how a
//! failed one is redriven (the failed calls forgotten, so they run again, as
//! `RedriveExecution` reruns only the unsuccessful steps).
//!
//! A call's key is its place: the frame path (`/Fan@1.0#1/Each@1.0[3]`: state `@` visit
//! `.` attempt, then `#branch` or `[item]`), the state, its visit (the how-manieth time
//! this frame entered it) and its attempt.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Clock, VirtualClock};
use crate::Failure;

/// The recorded calls of one execution.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Journal {
    /// Every call by its key.
    pub calls: BTreeMap<String, Call>,
    /// How many times the execution was redriven (`$$.Execution.RedriveCount`).
    #[serde(default)]
    pub redrive_count: u64,
    /// How many calls each Task state made, by name, counting the ones a redrive
    /// forgot ([`super::TaskContext::call_number`]).
    #[serde(default)]
    pub call_counts: BTreeMap<String, u64>,
}

/// One Task call and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    /// The Task state's name.
    pub state: String,
    /// What the resource answered.
    pub outcome: Outcome,
    /// How far the call moved the run's clock, in milliseconds (a local training job
    /// polled to its end takes virtual hours); a replay moves it as far.
    #[serde(default)]
    pub took_ms: i64,
    /// The call waits for this task token (`.waitForTaskToken`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The token's answer (`SendTaskSuccess` / `SendTaskFailure`) and when it came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<(DateTime<Utc>, Outcome)>,
    /// Its failure was caught (a Catch took it, here or in an enclosing Parallel/Map),
    /// so a redrive keeps it.
    #[serde(default)]
    pub caught: bool,
    /// What ends a token's wait unanswered (its `TimeoutSeconds`, `HeartbeatSeconds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<TokenWait>,
}

/// The limits of a wait for a task token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenWait {
    /// When `TimeoutSeconds` ends it.
    pub timeout_at: Option<DateTime<Utc>>,
    /// `HeartbeatSeconds`: it ends this long after the call or its last heartbeat.
    pub heartbeat_seconds: Option<u64>,
    /// When the call was made, or the last `SendTaskHeartbeat`.
    pub last_beat: DateTime<Utc>,
}

impl TokenWait {
    /// The wait of a call made at `made` under `TimeoutSeconds` and `HeartbeatSeconds`;
    /// `None` when neither bounds it.
    pub fn new(made: DateTime<Utc>, (timeout, heartbeat): (Option<u64>, Option<u64>)) -> Option<Self> {
        (timeout.is_some() || heartbeat.is_some()).then(|| TokenWait {
            timeout_at: timeout.map(|t| made + seconds(t)),
            heartbeat_seconds: heartbeat,
            last_beat: made,
        })
    }

    /// When it ends unanswered, and the error it ends with: the earlier of the timeout
    /// (`States.Timeout`) and a lapsed heartbeat (`States.HeartbeatTimeout`).
    pub fn end(&self) -> Option<(DateTime<Utc>, &'static str)> {
        let by_timeout = self.timeout_at.map(|at| (at, "States.Timeout"));
        let by_heartbeat = self
            .heartbeat_seconds
            .map(|h| (self.last_beat + seconds(h), "States.HeartbeatTimeout"));
        [by_timeout, by_heartbeat]
            .into_iter()
            .flatten()
            .min_by_key(|(at, _)| *at)
    }
}

/// Whole seconds as a duration (saturating far beyond any quota).
fn seconds(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000))
}

/// How an answer to a task token was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// In time: the task ends with it.
    InTime,
    /// After the wait had ended (at this time): the task ended then with its timeout,
    /// as the service would have timed it out; the answer is not used.
    TooLate(DateTime<Utc>),
}

/// A call's result or error, as kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// The resource's result.
    Result(Value),
    /// The resource's error.
    Error {
        /// The error name.
        error: String,
        /// The cause.
        cause: String,
    },
}

impl Outcome {
    /// The outcome of a call.
    pub fn of(result: &Result<Value, Failure>) -> Outcome {
        match result {
            Ok(v) => Outcome::Result(v.clone()),
            Err(f) => Outcome::Error {
                error: f.error.clone(),
                cause: f.cause.clone(),
            },
        }
    }

    /// Back to a call's result.
    pub fn result(&self) -> Result<Value, Failure> {
        match self {
            Outcome::Result(v) => Ok(v.clone()),
            Outcome::Error { error, cause } => Err(Failure::new(error.clone(), cause.clone())),
        }
    }
}

/// The key without its attempt: `/Fan@1.0#1/Work@2` for `/Fan@1.0#1/Work@2.3`.
pub(super) fn visit_of(key: &str) -> &str {
    key.rsplit_once('.').map_or(key, |(visit, _)| visit)
}

impl Journal {
    /// Prepares a redrive: every visit whose last attempt failed and was not caught is
    /// forgotten (all its attempts: the state runs again with its retries from zero),
    /// and the redrive is counted.
    pub fn redrive(&mut self) {
        let mut last: BTreeMap<&str, (&str, &Call)> = BTreeMap::new();
        for (key, call) in &self.calls {
            let attempt = |k: &str| k.rsplit_once('.').and_then(|(_, a)| a.parse::<u64>().ok());
            let visit = visit_of(key);
            let later = last.get(visit).is_none_or(|(k, _)| attempt(key) > attempt(k));
            if later {
                last.insert(visit, (key.as_str(), call));
            }
        }
        let failed: Vec<String> = last
            .into_iter()
            .filter(|(_, (_, call))| !call.caught && call.final_outcome().result().is_err())
            .map(|(visit, _)| format!("{visit}."))
            .collect();
        self.calls
            .retain(|key, _| !failed.iter().any(|v| key.starts_with(v.as_str())));
        self.redrive_count += 1;
    }

    /// The call that waits for `token` and has no answer yet.
    pub fn waiting_for(&self, token: &str) -> Option<&str> {
        self.calls
            .iter()
            .find(|(_, c)| c.token.as_deref() == Some(token) && c.answer.is_none())
            .map(|(k, _)| k.as_str())
    }

    /// The tokens still waiting for an answer.
    pub fn waiting_tokens(&self) -> Vec<String> {
        self.calls
            .values()
            .filter(|c| c.answer.is_none())
            .filter_map(|c| c.token.clone())
            .collect()
    }

    /// The tokens whose wait ran out before `now` without an answer.
    pub fn lapsed(&self, now: DateTime<Utc>) -> Vec<String> {
        self.calls
            .values()
            .filter(|c| c.answer.is_none() && c.end().is_some_and(|(end, _)| end < now))
            .filter_map(|c| c.token.clone())
            .collect()
    }

    /// Answers the call waiting for `token` at `at`; `None` when none waits for it. An
    /// answer after the wait's end is kept as the timeout at its end.
    pub fn answer(&mut self, token: &str, at: DateTime<Utc>, outcome: Outcome) -> Option<Answer> {
        let key = self.waiting_for(token).map(String::from)?;
        let call = self.calls.get_mut(&key)?;
        if let Some(end) = call.timed_out(at) {
            return Some(Answer::TooLate(end));
        }
        call.answer = Some((at, outcome));
        Some(Answer::InTime)
    }

    /// `SendTaskHeartbeat` at `at` to the call waiting for `token`: its heartbeat starts
    /// again (`TooLate` if its wait had already ended); `None` when none waits for it.
    pub fn heartbeat(&mut self, token: &str, at: DateTime<Utc>) -> Option<Answer> {
        let key = self.waiting_for(token).map(String::from)?;
        let call = self.calls.get_mut(&key)?;
        if let Some(end) = call.timed_out(at) {
            return Some(Answer::TooLate(end));
        }
        if let Some(wait) = &mut call.wait {
            wait.last_beat = at;
        }
        Some(Answer::InTime)
    }
}

impl Call {
    /// When its token's wait ends unanswered, and the error.
    pub fn end(&self) -> Option<(DateTime<Utc>, &'static str)> {
        self.wait.as_ref().and_then(TokenWait::end)
    }

    /// If its wait ended before `at`: answers it with the timeout, at the end, and says when.
    fn timed_out(&mut self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let (end, error) = self.end().filter(|(end, _)| at > *end)?;
        let cause = format!("the task token was not answered by {}", end.to_rfc3339());
        self.answer = Some((
            end,
            Outcome::Error {
                error: error.to_string(),
                cause,
            },
        ));
        Some(end)
    }

    /// What the state got: the token's answer for a call that waited, else the call's.
    pub fn final_outcome(&self) -> &Outcome {
        match (&self.token, &self.answer, &self.outcome) {
            (Some(_), Some((_, answer)), Outcome::Result(_)) => answer,
            _ => &self.outcome,
        }
    }
}

/// The journal being read and written by a run.
#[derive(Debug, Default)]
pub(super) struct Recorder {
    journal: Mutex<Journal>,
}

impl Recorder {
    pub(super) fn new(journal: Journal) -> Self {
        Self {
            journal: Mutex::new(journal),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Journal> {
        self.journal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The recorded call at `key`, if any.
    pub(super) fn recorded(&self, key: &str) -> Option<Call> {
        self.lock().calls.get(key).cloned()
    }

    /// Records a call.
    pub(super) fn record(&self, key: &str, call: Call) {
        self.lock().calls.insert(key.to_string(), call);
    }

    /// Marks the failed calls at and under `visit` (`/Work@2.`) as caught.
    pub(super) fn caught(&self, visit: &str) {
        // The keys under a visit sort together: read only those, not the whole journal
        // (this runs each time a Task, Parallel or Map state succeeds).
        let mut journal = self.lock();
        let under = journal
            .calls
            .range_mut(visit.to_string()..)
            .take_while(|(key, _)| key.starts_with(visit));
        for (_, call) in under {
            if call.final_outcome().result().is_err() {
                call.caught = true;
            }
        }
    }

    /// The number of the next call state `name` makes (0 the first time).
    pub(super) fn next_call_number(&self, name: &str) -> u64 {
        let mut journal = self.lock();
        let n = journal.call_counts.entry(name.to_string()).or_insert(0);
        *n += 1;
        *n - 1
    }

    pub(super) fn redrive_count(&self) -> u64 {
        self.lock().redrive_count
    }

    pub(super) fn journal(&self) -> Journal {
        self.lock().clone()
    }
}

/// The run's clock while it replays recorded calls: its own virtual time from the
/// execution's start, then — from the first call that is not recorded — the caller's
/// clock (the backend's, which has moved on since: a paused execution goes on when its
/// answer comes, a redriven one when it is redriven).
pub(super) struct ReplayClock<'a> {
    replay: VirtualClock,
    live: &'a dyn Clock,
    replaying: AtomicBool,
}

impl<'a> ReplayClock<'a> {
    /// Replays from `started` when there is anything to replay, else runs live.
    pub(super) fn new(live: &'a dyn Clock, started: Option<DateTime<Utc>>) -> Self {
        Self {
            replay: VirtualClock::starting_at(started.unwrap_or_else(|| live.now())),
            live,
            replaying: AtomicBool::new(started.is_some()),
        }
    }

    /// From now on, the caller's clock.
    pub(super) fn go_live(&self) {
        self.replaying.store(false, Ordering::SeqCst);
    }

    fn replaying(&self) -> bool {
        self.replaying.load(Ordering::SeqCst)
    }
}

impl Clock for ReplayClock<'_> {
    fn now(&self) -> DateTime<Utc> {
        if self.replaying() {
            self.replay.now()
        } else {
            self.live.now()
        }
    }
    fn advance(&self, by: Duration) {
        if self.replaying() {
            self.replay.advance(by);
        } else {
            self.live.advance(by);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn call(outcome: Outcome) -> Call {
        Call {
            state: "S".into(),
            outcome,
            took_ms: 0,
            token: None,
            answer: None,
            caught: false,
            wait: None,
        }
    }

    fn failed() -> Outcome {
        Outcome::Error {
            error: "Boom".into(),
            cause: "".into(),
        }
    }

    #[test]
    fn a_redrive_forgets_only_visits_that_ended_in_an_uncaught_failure() {
        let mut j = Journal::default();
        j.calls.insert("/A@1.0".into(), call(Outcome::Result(json!(1))));
        // Retried and recovered: kept.
        j.calls.insert("/B@1.0".into(), call(failed()));
        j.calls.insert("/B@1.1".into(), call(Outcome::Result(json!(2))));
        // Caught: kept.
        j.calls.insert(
            "/C@1.0".into(),
            Call {
                caught: true,
                ..call(failed())
            },
        );
        // Failed for good after a retry: both attempts forgotten.
        j.calls.insert("/D@1.0".into(), call(failed()));
        j.calls.insert("/D@1.1".into(), call(failed()));
        // Attempt 10 sorts before attempt 2 as text; the last attempt still decides.
        j.calls.insert("/E@1.2".into(), call(failed()));
        j.calls.insert("/E@1.10".into(), call(Outcome::Result(json!(3))));
        j.redrive();
        let keys: Vec<&str> = j.calls.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["/A@1.0", "/B@1.0", "/B@1.1", "/C@1.0", "/E@1.10", "/E@1.2"]
        );
        assert_eq!(j.redrive_count, 1);
    }

    #[test]
    fn a_token_is_answered_once() {
        let mut j = Journal::default();
        j.calls.insert(
            "/W@1.0".into(),
            Call {
                token: Some("t".into()),
                ..call(Outcome::Result(json!({})))
            },
        );
        assert_eq!(j.waiting_tokens(), ["t"]);
        let at = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(
            j.answer("t", at, Outcome::Result(json!("done"))),
            Some(Answer::InTime)
        );
        assert_eq!(j.answer("t", at, Outcome::Result(json!("again"))), None);
        assert_eq!(j.calls["/W@1.0"].final_outcome(), &Outcome::Result(json!("done")));
    }

    #[test]
    fn an_answer_after_the_wait_ended_is_the_timeout_at_its_end() {
        let end = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(60);
        let mut j = Journal::default();
        j.calls.insert(
            "/W@1.0".into(),
            Call {
                token: Some("t".into()),
                wait: TokenWait::new(DateTime::<Utc>::UNIX_EPOCH, (None, Some(60))),
                ..call(Outcome::Result(json!({})))
            },
        );
        let late = end + chrono::Duration::seconds(1);
        assert_eq!(
            j.answer("t", late, Outcome::Result(json!("done"))),
            Some(Answer::TooLate(end))
        );
        let (at, outcome) = j.calls["/W@1.0"].answer.clone().unwrap();
        assert_eq!(at, end);
        assert!(matches!(outcome, Outcome::Error { error, .. } if error == "States.HeartbeatTimeout"));
    }
}
