//! The conformance suite: each fixture in `tests/conformance/` is a state machine, an
//! input, the expected outcome (output, or error name and a fragment of the cause), and
//! optionally the expected sequence of history events (and the second of each) and
//! virtual seconds elapsed —
//! written from the Amazon States Language specification, not from this interpreter.
//! A fixture's `then` goes on after the first run: `{"sendTaskSuccess": OUTPUT}`,
//! `{"sendTaskFailure": {"error", "cause"}}`, `{"sendTaskHeartbeat": true}` (to the first
//! waiting task token) or
//! `{"redrive": true}`, each `afterSeconds` later; `expected` is about the last run.
//! A Distributed Map reads the fixture's `s3` objects; `s3Written` names the files the
//! run wrote, and `expected.outputKeys` the output's fields when its values are ids.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};
use weighbridge_asl::interpreter::{
    resume, run, Clock, Continuation, ExecutionResult, ExecutionSpec, Outcome, Resources, Status,
    TaskContext, VirtualClock,
};
use weighbridge_asl::validate::validate_text;
use weighbridge_asl::Failure;

const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:";

/// Test resources: Echo, Add, FailWith, Flaky (fails `failures` times), FailsFirst
/// (fails the state's first `calls` calls, counted over redrives), Slow (takes `seconds`
/// of virtual time), and `lambda:invoke` (and `.waitForTaskToken`) of any of them; and
/// an S3 of the fixture's objects (`"s3": {"bucket": {"key": body}}`, a body that is not
/// a string kept as its JSON) for the Distributed Map's ItemReader and ResultWriter.
struct Fakes<'a> {
    clock: &'a VirtualClock,
    s3: Mutex<BTreeMap<(String, String), String>>,
}

impl<'a> Fakes<'a> {
    fn new(clock: &'a VirtualClock, fixture: &Value) -> Self {
        let mut objects = BTreeMap::new();
        for (bucket, keys) in fixture["s3"].as_object().into_iter().flatten() {
            for (key, body) in keys.as_object().into_iter().flatten() {
                let text = body.as_str().map_or_else(|| body.to_string(), String::from);
                objects.insert((bucket.clone(), key.clone()), text);
            }
        }
        Fakes {
            clock,
            s3: Mutex::new(objects),
        }
    }

    /// `s3:getObject`, `s3:listObjectsV2`, `s3:putObject` on the fixture's objects.
    fn s3(&self, action: &str, p: &Value) -> Result<Value, Failure> {
        let mut objects = self.s3.lock().unwrap();
        let bucket = p["Bucket"].as_str().unwrap_or_default().to_string();
        let key = p["Key"].as_str().unwrap_or_default().to_string();
        match action {
            "getObject" => objects
                .get(&(bucket, key.clone()))
                .map(|body| json!({"Body": body}))
                .ok_or_else(|| Failure::new("S3.NoSuchKey", format!("no object {key}"))),
            "listObjectsV2" => {
                let prefix = p["Prefix"].as_str().unwrap_or_default();
                let contents: Vec<Value> = objects
                    .iter()
                    .filter(|((b, k), _)| *b == bucket && k.starts_with(prefix))
                    .map(|((_, k), body)| json!({"Key": k, "Size": body.len()}))
                    .collect();
                Ok(json!({"Contents": contents}))
            }
            _ => {
                let body = p["Body"]
                    .as_str()
                    .map_or_else(|| p["Body"].to_string(), String::from);
                objects.insert((bucket, key), body);
                Ok(json!({}))
            }
        }
    }
}

#[async_trait]
impl Resources for Fakes<'_> {
    async fn call(&self, resource: &str, p: Value, task: &TaskContext) -> Result<Value, Failure> {
        if let Some(action) = resource.strip_prefix("arn:aws:states:::s3:") {
            return self.s3(action, &p);
        }
        if resource.starts_with("arn:aws:states:::lambda:invoke") {
            let function = p["FunctionName"].as_str().unwrap_or_default().to_string();
            let out = self.call(&function, p["Payload"].clone(), task).await?;
            return Ok(json!({"Payload": out, "StatusCode": 200}));
        }
        match resource.strip_prefix(FUNCTION) {
            Some("Echo") => Ok(p),
            Some("Add") => Ok(json!({"sum": p["a"].as_i64().unwrap() + p["b"].as_i64().unwrap()})),
            Some("FailWith") => Err(Failure::new(
                p["error"].as_str().unwrap(),
                p["cause"].as_str().unwrap_or(""),
            )),
            Some("Flaky") if task.retry_count < p["failures"].as_u64().unwrap() => Err(Failure::new(
                p["error"].as_str().unwrap(),
                format!("attempt {}", task.retry_count + 1),
            )),
            Some("Flaky") => Ok(json!({"attempts": task.retry_count + 1})),
            Some("FailsFirst") if task.call_number < p["calls"].as_u64().unwrap() => Err(Failure::new(
                p["error"].as_str().unwrap(),
                format!("call {}", task.call_number),
            )),
            Some("FailsFirst") => Ok(json!({"call": task.call_number})),
            Some("Slow") => {
                self.clock
                    .advance(Duration::seconds(p["seconds"].as_i64().unwrap()));
                Ok(p)
            }
            _ => Err(Failure::new("States.Runtime", format!("no fake for {resource}"))),
        }
    }
}

/// Execution `name` of the state machine `conformance`.
fn spec(name: &str) -> ExecutionSpec {
    ExecutionSpec {
        state_machine_name: "conformance".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:conformance".into(),
        name: name.into(),
        role_arn: "arn:aws:iam::123456789012:role/sfn".into(),
        seed: 1,
    }
}

fn known(resource: &str) -> bool {
    resource.starts_with("arn:aws:states:::lambda:invoke") || resource.starts_with(FUNCTION)
}

#[tokio::test]
async fn every_fixture_behaves_as_the_specification_says() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut checked = 0;
    for path in names {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let fixture: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let machine = validate_text(&fixture["definition"].to_string(), &known)
            .unwrap_or_else(|e| panic!("{name}: the fixture's definition is invalid: {e}"));
        let start = Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap();
        let clock = VirtualClock::starting_at(start);
        let spec = spec("conformance");
        let fakes = Fakes::new(&clock, &fixture);
        let mut result = run(&machine, fixture["input"].clone(), &spec, &fakes, &clock).await;
        for step in fixture["then"].as_array().into_iter().flatten() {
            clock.advance(Duration::seconds(step["afterSeconds"].as_i64().unwrap_or(0)));
            let from = go_on(step, result, clock.now());
            result = resume(
                &machine,
                fixture["input"].clone(),
                &spec,
                (&fakes, &clock),
                Some(from),
            )
            .await;
        }
        check_outcome(&name, &fixture, &result);
        check_written(&name, &fixture, &fakes);
        check_events(&name, &fixture, &result, start);
        if let Some(seconds) = fixture["advancedSeconds"].as_i64() {
            assert_eq!(
                (clock.now() - start).num_seconds(),
                seconds,
                "{name}: virtual time"
            );
        }
        checked += 1;
    }
    assert!(checked >= 75, "{checked} fixtures");
}

/// A fixture's list of strings.
fn strings(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

/// `expected`: the status, the output (or its fields), the error and its cause.
fn check_outcome(name: &str, fixture: &Value, result: &ExecutionResult) {
    let expected = &fixture["expected"];
    let status = match result.status {
        Status::Succeeded => "Succeeded",
        Status::Failed => "Failed",
        Status::TimedOut => "TimedOut",
        Status::Running => "Running",
    };
    assert_eq!(status, expected["status"], "{name}: {:?}", result.error);
    if let Some(output) = expected.get("output") {
        assert_eq!(result.output.as_ref(), Some(output), "{name}");
    }
    if let Some(keys) = expected.get("outputKeys") {
        let output = result.output.as_ref().unwrap();
        let got: Vec<&str> = output.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(got, strings(keys), "{name}: the output's fields");
    }
    if let Some(error) = expected.get("error") {
        let failure = result.error.as_ref().unwrap();
        assert_eq!(failure.error, error.as_str().unwrap(), "{name}: {failure}");
        if let Some(fragment) = expected["causeContains"].as_str() {
            assert!(
                failure.cause.contains(fragment),
                "{name}: {:?} lacks {fragment:?}",
                failure.cause
            );
        }
    }
}

/// `s3Written`: per bucket, the file names (a key's last part) the run wrote, in order.
fn check_written(name: &str, fixture: &Value, fakes: &Fakes) {
    let Some(written) = fixture.get("s3Written") else {
        return;
    };
    let objects = fakes.s3.lock().unwrap();
    for (bucket, files) in written.as_object().unwrap() {
        let before = &fixture["s3"][bucket];
        let got: Vec<&str> = objects
            .keys()
            .filter(|(b, k)| b == bucket && before.get(k).is_none())
            .map(|(_, k)| k.rsplit('/').next().unwrap())
            .collect();
        assert_eq!(got, strings(files), "{name}: the objects written to {bucket}");
    }
}

/// `events`, `children` (a Distributed Map's child executions: status and events) and
/// `eventSeconds`; and event ids that count up from 1 without gaps.
fn check_events(name: &str, fixture: &Value, result: &ExecutionResult, start: chrono::DateTime<Utc>) {
    let kinds = |history: &[weighbridge_asl::history::HistoryEvent]| -> Vec<String> {
        history.iter().map(|e| e.kind.clone()).collect()
    };
    if let Some(events) = fixture.get("events") {
        assert_eq!(kinds(&result.history), strings(events), "{name}");
    }
    if let Some(children) = fixture.get("children") {
        let got: Vec<Value> = result
            .children
            .iter()
            .map(|c| json!({"status": c.status.service_name(), "events": kinds(&c.history)}))
            .collect();
        assert_eq!(&Value::Array(got), children, "{name}: child executions");
    }
    if let Some(seconds) = fixture.get("eventSeconds") {
        let got: Vec<i64> = result
            .history
            .iter()
            .map(|e| (e.timestamp - start).num_seconds())
            .collect();
        let want: Vec<i64> = seconds
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_i64().unwrap())
            .collect();
        assert_eq!(got, want, "{name}: when each event happened");
    }
    assert!(
        result
            .history
            .iter()
            .enumerate()
            .all(|(i, e)| e.id == i as u64 + 1),
        "{name}: event ids"
    );
}

/// Where a `then` step goes on from: the first waiting token answered, or a redrive.
fn go_on(step: &Value, result: ExecutionResult, now: chrono::DateTime<Utc>) -> Continuation {
    let mut journal = result.journal;
    if step["redrive"] == true {
        return Continuation::redriven(journal, result.started, result.history);
    }
    if step["sendTaskHeartbeat"] == true {
        let token = journal
            .waiting_tokens()
            .into_iter()
            .next()
            .expect("a waiting task token");
        assert!(journal.heartbeat(&token, now).is_some());
        return Continuation::answered(journal, result.started, result.history);
    }
    let outcome = match (&step["sendTaskSuccess"], &step["sendTaskFailure"]) {
        (Value::Null, f) => Outcome::Error {
            error: f["error"].as_str().unwrap().into(),
            cause: f["cause"].as_str().unwrap_or("").into(),
        },
        (output, _) => Outcome::Result(output.clone()),
    };
    let token = journal
        .waiting_tokens()
        .into_iter()
        .next()
        .expect("a waiting task token");
    assert!(journal.answer(&token, now, outcome).is_some());
    Continuation::answered(journal, result.started, result.history)
}

/// Found by the fuzzer (`weighbridge-fuzz`, target jsonpath): a cut `\u` escape made the
/// JSONPath parser panic; it is an invalid path instead.
#[test]
fn a_cut_unicode_escape_in_a_path_is_invalid_not_a_panic() {
    let doc = serde_json::json!({"a": 1});
    for path in ["$[\"\\u", "$['\\u12", "$.h[?(@ > \"\\u", "$[\"\\u00zz\"]"] {
        let e = weighbridge_asl::paths::read(path, &doc, &doc).unwrap_err();
        assert!(e.to_string().contains("invalid JSONPath"), "{path}: {e}");
        assert!(!weighbridge_asl::paths::is_path(path), "{path}");
    }
}

/// The token a waiting Task hands out (`$$.Task.Token`, here in the Payload) is the one
/// its execution waits for, it names the execution, and it answers only once.
#[tokio::test]
async fn a_task_token_is_handed_out_waited_for_and_answered_once() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/conformance/wait_for_task_token_still_running.json"
    );
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let machine = validate_text(&fixture["definition"].to_string(), &known).unwrap();
    let clock = VirtualClock::starting_at(Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap());
    let spec = spec("order-7");
    let fakes = Fakes::new(&clock, &fixture);
    let result = run(&machine, json!({}), &spec, &fakes, &clock).await;
    assert_eq!(result.status, Status::Running);
    let submitted = result.history.last().unwrap();
    let handed_out = submitted.details["output"]["Payload"]["token"].as_str().unwrap();
    assert_eq!(result.journal.waiting_tokens(), [handed_out]);
    assert_eq!(
        weighbridge_asl::interpreter::token_execution(handed_out).as_deref(),
        Some("order-7")
    );
    let mut journal = result.journal;
    assert!(journal
        .answer(handed_out, clock.now(), Outcome::Result(json!(1)))
        .is_some());
    assert!(journal
        .answer(handed_out, clock.now(), Outcome::Result(json!(2)))
        .is_none());
    assert!(journal.waiting_tokens().is_empty());
}
